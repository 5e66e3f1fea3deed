// RUN: kvq-opt %s -split-input-file -kvq-tile-attention -canonicalize | FileCheck %s

// Attention over a GEAR-compressed K: kvq.gear_decode (through
// KVDecoderOpInterface) and the kvq.dequantize of its base are decoded
// inside the key loop. Each key row reads its packed INT4 codes, adds the
// rank-2 correction (a scalar of `a` times a row of `b` per rank) and the
// token's outliers that fall in the chunk (one comparison with the channel
// numbers of the lanes per outlier); no decoded K exists in memory.
// CHECK-LABEL: func @gear_key
// CHECK-NOT: kvq.gear_decode
// CHECK-NOT: kvq.dequantize
// CHECK-NOT: memref.alloc{{.*}}x?x64
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} : memref<1x2x?x32xi8, {{.*}}>, vector<8xi8>
// CHECK: tensor.extract {{.*}} : tensor<1x2x?x2xf32>
// CHECK: vector.transfer_read {{.*}} : memref<1x2x2x64xf32, {{.*}}>, vector<16xf32>
// CHECK: vector.fma
// CHECK: tensor.extract {{.*}} : tensor<1x2x?x3xi32>
// CHECK: arith.cmpi eq, %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: arith.select {{.*}} : vector<16xi1>, vector<16xf32>
func.func @gear_key(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x64xf16>,
                    %kz: tensor<1x2x?x64xf16>, %a: tensor<1x2x?x2xf32>, %b: tensor<1x2x2x64xf32>,
                    %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x1x64xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x64xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x64xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}
