// RUN: kvq-opt %s --convert-kvq-to-linalg -split-input-file | FileCheck %s

// Key encoding (D = 6, three high and three low channels, groups of 4
// tokens): ranges, ranks, slots and their inverse as reductions over
// [B, H, D, D]; the keys gathered in slot order; 2-bit statistics per token
// group, codes OR-ed four per byte; the low channels' DFT as a contraction
// with a constant 3 x 3 matrix (rows Re X0, Re X1, Im X1); mean |r| per
// group and sign bits OR-ed eight per byte.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[GRP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 4, d3)>
// CHECK-DAG: #[[B2:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 4)>
// CHECK-DAG: #[[B1:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 8)>
// CHECK-LABEL: func @encode_key
// CHECK-SAME: (%[[K:.*]]: tensor<1x2x?x6xf32>)
// CHECK: %[[MM:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[CH]], #[[CH]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[K]] :
// CHECK:   arith.maxnumf
// CHECK:   arith.minnumf
// CHECK: %[[RANK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[MM]]#0, %[[MM]]#1, %[[MM]]#0, %[[MM]]#1 :
// CHECK:   arith.cmpf ogt
// CHECK:   arith.cmpf oeq
// CHECK: %[[BEFORE:.*]] = linalg.generic {{.*}} ins(%[[RANK]] : tensor<1x2x6xi32>)
// CHECK: %[[SLOT:.*]] = linalg.generic {{.*}} ins(%[[RANK]], %[[BEFORE]] :
// CHECK: %[[SRC:.*]] = linalg.generic {{.*}} ins(%[[SLOT]] :
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[SRC]] : tensor<1x2x6xi32>) outs({{.*}} : tensor<1x2x?x6xf32>)
// CHECK:   tensor.extract %[[K]]
// CHECK-DAG: %[[HI:.*]] = tensor.extract_slice %[[G]][0, 0, 0, 0] [1, 2, %{{.*}}, 3]
// CHECK-DAG: %[[LO:.*]] = tensor.extract_slice %[[G]][0, 0, 0, 3] [1, 2, %{{.*}}, 3]
// CHECK: %[[ST:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[GRP]], #[[GRP]]], {{.*}} ins(%[[HI]] :
// CHECK: %[[SIDE:.*]]:2 = linalg.generic {{.*}} ins(%[[ST]]#0, %[[ST]]#1 :
// CHECK: %[[HC:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GRP]], #[[GRP]], #[[B2]]], {{.*}} ins(%[[HI]], %[[SIDE]]#0, %[[SIDE]]#1 : {{.*}} outs({{.*}} : tensor<1x2x?x1xi8>)
// CHECK:   arith.shli
// CHECK:   arith.ori
// CHECK: %[[F:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, -5.000000e-01, -5.000000e-01], [-0.000000e+00, -0.866025388, 0.866025388]]> : tensor<3x3xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[LO]], %[[F]] :
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GRP]]], {{.*}} ins(%[[R]] :
// CHECK:   math.absf
// CHECK: %[[LS:.*]] = linalg.generic {{.*}} ins(%[[SUM]] :
// CHECK:   arith.divf
// CHECK: %[[LC:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[B1]]], {{.*}} ins(%[[R]] :
// CHECK:   arith.cmpf oge
// CHECK: return %[[HC]], %[[SIDE]]#0, %[[SIDE]]#1, %[[LC]], %[[LS]], %[[SLOT]]
func.func @encode_key(%k: tensor<1x2x?x6xf32>) -> (tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x?x3xf32>,
                                                  tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x6xi32>) {
  %e:6 = kvq.vidkv_encode_key %k {group_size = 4} : tensor<1x2x?x6xf32> -> tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>,
      tensor<1x2x?x3xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x6xi32>
  return %e#0, %e#1, %e#2, %e#3, %e#4, %e#5 : tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x?x3xf32>,
      tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x6xi32>
}

// -----

// Key decoding: the low spectrum dequantized (sign bit -> +-scale), the
// inverse DFT as a contraction, then every channel read from its slot.

// CHECK-LABEL: func @decode_key
// CHECK-SAME: (%[[HC:[^:]*]]: tensor<1x2x?x1xi8>, %[[HS:[^:]*]]: tensor<1x2x?x3xf32>, %[[LC:[^:]*]]: tensor<1x2x?x1xi8>, %[[CH:[^:]*]]: tensor<1x2x6xi32>)
// CHECK: %[[SP:.*]] = linalg.generic {{.*}} ins(%[[LC]], %[[HS]] :
// CHECK:   arith.negf
// CHECK: %[[G:.*]] = arith.constant dense<{{\[\[}}0.333333343, 0.666666686, -0.000000e+00], [0.333333343, -0.333333343, -0.577350259], [0.333333343, -0.333333343, 0.577350259]]> : tensor<3x3xf32>
// CHECK: %[[LO:.*]] = linalg.generic {{.*}} ins(%[[SP]], %[[G]] :
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[CH]] : tensor<1x2x6xi32>) outs({{.*}} : tensor<1x2x?x6xf32>)
// CHECK:   tensor.extract %[[HC]]
// CHECK:   tensor.extract %[[LO]]
// CHECK:   arith.select
// CHECK: return %[[OUT]]
func.func @decode_key(%hc: tensor<1x2x?x1xi8>, %hs: tensor<1x2x?x3xf32>, %lc: tensor<1x2x?x1xi8>,
                      %ch: tensor<1x2x6xi32>) -> tensor<1x2x?x6xf32> {
  %r = kvq.vidkv_decode_key %hc, %hs, %hs, %lc, %hs, %ch {group_size = 4} : tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>,
      tensor<1x2x?x3xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x3xf32>, tensor<1x2x6xi32> -> tensor<1x2x?x6xf32>
  return %r : tensor<1x2x?x6xf32>
}

// -----

// Value encoding: sum |v| per token group, the mean (f32 for the threshold,
// f16 as the stored scale), then base-3 digits summed five per byte.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[GRP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 4, d3)>
// CHECK-DAG: #[[B5:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 floordiv 5)>
// CHECK-LABEL: func @encode_value
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GRP]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: %[[M:.*]]:2 = linalg.generic {{.*}} ins(%[[SUM]] : {{.*}}) outs({{.*}} : tensor<1x2x?x7xf32>, tensor<1x2x?x7xf16>)
// CHECK: %[[C:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GRP]], #[[B5]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[M]]#0 :
// CHECK:   arith.cmpf ogt
// CHECK:   arith.cmpf olt
// CHECK:   arith.addi {{.*}} : i8
// CHECK: return %[[C]], %[[M]]#1
func.func @encode_value(%v: tensor<1x2x?x7xf32>) -> (tensor<1x2x?x2xi8>, tensor<1x2x?x7xf16>) {
  %c, %s = kvq.vidkv_encode_value %v {group_size = 4} : tensor<1x2x?x7xf32> -> tensor<1x2x?x2xi8>, tensor<1x2x?x7xf16>
  return %c, %s : tensor<1x2x?x2xi8>, tensor<1x2x?x7xf16>
}

// -----

// Value decoding: one elementwise op.

// CHECK-LABEL: func @decode_value
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK:   arith.divui
// CHECK:   arith.remui
// CHECK:   arith.sitofp
// CHECK: return %[[R]]
// CHECK-NOT: kvq.vidkv
func.func @decode_value(%c: tensor<1x2x?x2xi8>, %s: tensor<1x2x?x7xf32>) -> tensor<1x2x?x7xf32> {
  %v = kvq.vidkv_decode_value %c, %s {group_size = 4} : tensor<1x2x?x2xi8>, tensor<1x2x?x7xf32> -> tensor<1x2x?x7xf32>
  return %v : tensor<1x2x?x7xf32>
}

// -----

// Keys in slot coordinates (4 high slots, 3 spectral components, groups of
// 4 tokens): one elementwise op; slot j < 4 reads the decoded high value,
// the others the sign bit of component j - 4 selecting +scale or -scale.

// CHECK-LABEL: func @decode_key_slots
// CHECK-SAME: (%[[H:.*]]: tensor<1x2x?x4xf32>, %[[LC:.*]]: tensor<1x2x?x1xi8>, %[[LS:.*]]: tensor<1x2x?x3xf16>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x?x7xf32>)
// CHECK:   %[[J:.*]] = linalg.index 3
// CHECK:   %[[HIGH:.*]] = arith.cmpi ult, %[[J]], %[[C4:.*]] : index
// CHECK:   %[[M:.*]] = arith.subi %{{.*}}, %[[C4]]
// CHECK:   %[[HV:.*]] = tensor.extract %[[H]]
// CHECK:   tensor.extract %[[LC]]
// CHECK:   %[[S:.*]] = tensor.extract %[[LS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[M]]]
// CHECK:   %[[SET:.*]] = arith.cmpi ne
// CHECK:   %[[S32:.*]] = arith.extf %[[S]]
// CHECK:   %[[NEG:.*]] = arith.negf %[[S32]]
// CHECK:   %[[LOW:.*]] = arith.select %[[SET]], %[[S32]], %[[NEG]]
// CHECK:   arith.select %[[HIGH]], %[[HV]], %[[LOW]]
func.func @decode_key_slots(%h: tensor<1x2x?x4xf32>, %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x3xf16>)
    -> tensor<1x2x?x7xf32> {
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls {group_size = 4}
      : tensor<1x2x?x4xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x3xf16> -> tensor<1x2x?x7xf32>
  return %k : tensor<1x2x?x7xf32>
}

// -----

// Queries into slot coordinates (D = 6, 3 high slots, GQA 4 / 2): a
// contraction over the channels c with the slot j innermost; channel c
// reads row slot(c) of the constant map (identity, then the 3 x 3 inverse
// DFT), a slot outside [0, 6) contributes 0; f16 results are rounded once.

// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-LABEL: func @project_query
// CHECK-SAME: (%[[Q0:.*]]: tensor<1x4x1x6xf32>, %[[CH:.*]]: tensor<1x2x6xi32>)
// CHECK: %[[MAP:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], {{.*}}, [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.333333343, 0.666666686, -0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.333333343, -0.333333343, -0.577350259], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.333333343, -0.333333343, 0.577350259]]> : tensor<6x6xf32>
// CHECK: %[[GROUP:.*]] = arith.divui
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[Q0]] : tensor<1x4x1x6xf32>)
// CHECK:   %[[HK:.*]] = arith.divui %{{.*}}, %[[GROUP]]
// CHECK:   %[[SLOT:.*]] = tensor.extract %[[CH]][%{{.*}}, %[[HK]], %{{.*}}]
// CHECK:   %[[VALID:.*]] = arith.cmpi ult, %[[SLOT]], %c6_i32
// CHECK:   %[[COEF:.*]] = tensor.extract %[[MAP]]
// CHECK:   arith.select %[[VALID]], %[[COEF]]
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x4x1x6xf32>) outs(%{{.*}} : tensor<1x4x1x6xf16>)
func.func @project_query(%q: tensor<1x4x1x6xf32>, %ch: tensor<1x2x6xi32>) -> tensor<1x4x1x6xf16> {
  %p = kvq.vidkv_project_query %q, %ch {n_high = 3} : tensor<1x4x1x6xf32>, tensor<1x2x6xi32> -> tensor<1x4x1x6xf16>
  return %p : tensor<1x4x1x6xf16>
}
