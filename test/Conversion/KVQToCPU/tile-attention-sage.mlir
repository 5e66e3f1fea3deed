// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s

// Quantized queries are decoded like K rows (codes read from their own
// buffer, times the scale of the row's block, times the softmax scale),
// Delta-S of the row's group is added under the softmax scale, and the
// probabilities that multiply V are rounded to f16 (the row sums take the
// unrounded ones).
// CHECK-LABEL: func @sage_operands
// CHECK-DAG: %[[QC:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x5x16xi8>
// CHECK-DAG: %[[QS:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x1x1xf32>
// CHECK-DAG: %[[DS:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x3x9xf32>
// CHECK: scf.parallel
// CHECK: vector.transfer_read %[[QC]]{{.*}} vector<16xi8>
// CHECK: arith.sitofp
// CHECK: memref.load %[[QS]]
// CHECK: arith.mulf
// CHECK: %[[G:.*]] = arith.divui %{{.*}}, %c2{{(_[0-9]+)?}} : index
// CHECK: memref.load %[[DS]][%{{.*}}, %{{.*}}, %[[G]], %{{.*}}]
// CHECK: math.fma
// CHECK: math.exp
// CHECK: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// The rows' sums of the unrounded probabilities: one shuffle tree.
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
func.func @sage_operands(%qc: tensor<1x2x5x16xi8>, %qs: tensor<1x2x1x1xf32>, %k: tensor<1x2x9x16xf32>,
                         %ds: tensor<1x2x3x9xf32>) -> tensor<1x2x5x16xf32> {
  %o = kvq.attention q(%qc : tensor<1x2x5x16xi8>, #kvq.quant<i8, symmetric, block(rows = 128, cols = 16)>, scale %qs : tensor<1x2x1x1xf32>)
      k(%k : tensor<1x2x9x16xf32>) v(%k : tensor<1x2x9x16xf32>) delta_s(%ds : tensor<1x2x3x9xf32>)
      {delta_s_rows = 2 : i64, p_type = f16} -> tensor<1x2x5x16xf32>
  return %o : tensor<1x2x5x16xf32>
}
