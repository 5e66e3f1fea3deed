// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s

// Encoding: per level, a generic over the pairs (2j, 2j + 1) of the level
// below that codes the f64 angle against the codebook's cell boundaries
// (compile-time constants equal to kvq.reference.polar_codebook's to
// ~1e-10; the digits checked are those of the NumPy codebooks) and keeps
// the pair's radius, then a generic packing the codes LSB first.
// Level 1 (4 bits): the uniform quantizer of [0, 2 pi), boundaries k pi / 8.
// CHECK-DAG:     #[[EVEN:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 * 2)>
// CHECK-DAG:     #[[ODD:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 * 2 + 1)>
// CHECK-LABEL: func @encode
// CHECK-DAG:     arith.constant 0.392699081{{[0-9]*}} : f64
// CHECK-DAG:     arith.constant 5.890486225{{[0-9]*}} : f64
// Level 2 (2 bits, density sin(2 psi)): 0.4718682, pi / 4, 1.0989281.
// CHECK-DAG:     arith.constant 0.4718681{{[0-9]*}} : f64
// CHECK-DAG:     arith.constant 1.0989281{{[0-9]*}} : f64
// Level 3 (sin^3): 0.5503173, 1.0204790; level 4 (sin^7): 0.6150618, 0.9557346.
// CHECK-DAG:     arith.constant 0.5503173{{[0-9]*}} : f64
// CHECK-DAG:     arith.constant 1.020478{{[0-9]*}} : f64
// CHECK-DAG:     arith.constant 0.6150617{{[0-9]*}} : f64
// CHECK-DAG:     arith.constant 0.9557345{{[0-9]*}} : f64
// CHECK-DAG:     %[[TWOPI:.*]] = arith.constant 6.2831853071795862 : f64
// CHECK:         %[[L1:.*]]:2 = linalg.generic {indexing_maps = [#[[EVEN]], #[[ODD]], #{{.*}}, #{{.*}}]
// CHECK-SAME:        ins(%{{.*}}, %{{.*}} : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x2x?x16xi8>, tensor<1x2x?x16xf64>)
// CHECK:           math.atan2 {{.*}} : f64
// CHECK:           arith.addf %{{.*}}, %[[TWOPI]] : f64
// CHECK-COUNT-15:  arith.cmpf ogt
// CHECK:           math.sqrt {{.*}} : f64
// Two 4-bit codes per byte, the first in the low nibble.
// CHECK:         linalg.generic {{.*}} ins(%[[L1]]#0, %[[L1]]#0 : tensor<1x2x?x16xi8>, tensor<1x2x?x16xi8>) outs(%{{.*}} : tensor<1x2x?x8xi8>)
// CHECK-NEXT:    ^bb0(%[[FIRST:.*]]: i8, %[[SECOND:.*]]: i8, %{{.*}}: i8):
// CHECK-NEXT:      %[[HIGH:.*]] = arith.shli %[[SECOND]], %c4_i8 : i8
// CHECK-NEXT:      %[[BYTE:.*]] = arith.ori %[[FIRST]], %[[HIGH]] : i8
// CHECK-NEXT:      linalg.yield %[[BYTE]] : i8
// CHECK:         %[[L2:.*]]:2 = linalg.generic {{.*}} ins(%[[L1]]#1, %[[L1]]#1 : tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>)
// CHECK-NOT:       arith.addf %{{.*}}, %[[TWOPI]]
// CHECK-COUNT-3:   arith.cmpf ogt
// CHECK:         linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x?x2xi8>)
// The radius: f64 -> f32 -> f16.
// CHECK:         arith.truncf {{.*}} : f64 to f32
// CHECK:         return
// CHECK-NOT:     kvq.polar_encode
func.func @encode(%k: tensor<1x2x?x32xf32>) -> (tensor<1x2x?x2xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8>, tensor<1x2x?x1xi8>) {
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %k : tensor<1x2x?x32xf32>
      -> tensor<1x2x?x2xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8>, tensor<1x2x?x1xi8>
  return %r, %c1, %c2, %c3, %c4 : tensor<1x2x?x2xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8>, tensor<1x2x?x1xi8>
}

// -----

// A row of 3 one-bit codes is padded to a byte before packing.
// CHECK-LABEL: func @encode_padded
// CHECK:         %[[Z:.*]] = linalg.fill ins(%{{.*}} : i8) outs(%{{.*}} : tensor<2x1x3x8xi8>)
// CHECK:         %[[P:.*]] = tensor.insert_slice %{{.*}} into %[[Z]][0, 0, 0, 0] [2, 1, 3, 3] [1, 1, 1, 1]
// CHECK:         linalg.generic {{.*}} ins(%[[P]], %[[P]], %[[P]], %[[P]], %[[P]], %[[P]], %[[P]], %[[P]] : {{.*}}) outs(%{{.*}} : tensor<2x1x3x1xi8>)
func.func @encode_padded(%x: tensor<2x1x3x12xf32>) -> (tensor<2x1x3x3xf32>, tensor<2x1x3x3xi8>, tensor<2x1x3x1xi8>) {
  %r, %a, %b = kvq.polar_encode %x {levels = 2, bits = array<i64: 4, 1>}
      : tensor<2x1x3x12xf32> -> tensor<2x1x3x3xf32>, tensor<2x1x3x3xi8>, tensor<2x1x3x1xi8>
  return %r, %a, %b : tensor<2x1x3x3xf32>, tensor<2x1x3x3xi8>, tensor<2x1x3x1xi8>
}

// -----

// Decoding: one elementwise generic; channel c reads its block's radius,
// byte (c >> l) / (8 / bits) of each level and (cos, sin) tables of the
// centroids (cos / sin of the level-4 codebook 0.5242141, 0.7059094,
// 0.8648869, 1.0465822).
// CHECK-DAG:     #[[BLOCK:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 16)>
// CHECK-DAG:     #[[B1:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 4)>
// CHECK-DAG:     #[[B3:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 32)>
// CHECK-DAG:     #[[B4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 64)>
// CHECK-LABEL: func @decode
// CHECK-DAG:     arith.constant dense<[0.865717{{[0-9]*}}, 0.500532{{[0-9]*}}, 0.761021{{[0-9]*}}, 0.648726{{[0-9]*}}, 0.648726{{[0-9]*}}, 0.761021{{[0-9]*}}, 0.500532{{[0-9]*}}, 0.865717{{[0-9]*}}]> : tensor<8xf32>
// CHECK-DAG:     arith.constant dense<[0.98078525, 0.19509032{{[0-9]*}}, {{.*}}]> : tensor<32xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[BLOCK]], #[[B1]], #[[BLOCK]], #[[B3]], #[[B4]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:        outs(%{{.*}} : tensor<1x2x?x32xf32>)
// CHECK:           linalg.index 3
// CHECK-COUNT-4:   tensor.extract
// CHECK-NOT:       math.
// CHECK:           linalg.yield
func.func @decode(%r: tensor<1x2x?x2xf16>, %c1: tensor<1x2x?x8xi8>, %c2: tensor<1x2x?x2xi8>, %c3: tensor<1x2x?x1xi8>, %c4: tensor<1x2x?x1xi8>) -> tensor<1x2x?x32xf32> {
  %d = kvq.polar_decode %r, %c1, %c2, %c3, %c4 : tensor<1x2x?x2xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8>, tensor<1x2x?x1xi8> -> tensor<1x2x?x32xf32>
  return %d : tensor<1x2x?x32xf32>
}
