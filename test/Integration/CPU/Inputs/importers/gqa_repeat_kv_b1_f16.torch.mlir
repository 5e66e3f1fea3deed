#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module @module {
  func.func @main(%arg0: tensor<1x4x7x8xf16>, %arg1: tensor<1x2x7x8xf16>, %arg2: tensor<1x2x7x8xf16>, %arg3: tensor<1x1x7x7xf16>) -> tensor<1x4x7x8xf16> {
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant 0.35355339059327379 : f64
    %0 = tensor.empty() : tensor<1x4x7x8xf16>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x4x7x8xf16>) outs(%0 : tensor<1x4x7x8xf16>) {
    ^bb0(%in: f16, %out: f16):
      %32 = arith.truncf %cst_1 : f64 to f16
      %33 = arith.mulf %in, %32 : f16
      linalg.yield %33 : f16
    } -> tensor<1x4x7x8xf16>
    %2 = tensor.empty() : tensor<1x2x2x7x8xf16>
    %3 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<1x2x7x8xf16>) outs(%2 : tensor<1x2x2x7x8xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<1x2x2x7x8xf16>
    %collapsed = tensor.collapse_shape %3 [[0], [1, 2], [3], [4]] : tensor<1x2x2x7x8xf16> into tensor<1x4x7x8xf16>
    %4 = tensor.empty() : tensor<1x4x8x7xf16>
    %transposed = linalg.transpose ins(%collapsed : tensor<1x4x7x8xf16>) outs(%4 : tensor<1x4x8x7xf16>) permutation = [0, 1, 3, 2] 
    %collapsed_2 = tensor.collapse_shape %1 [[0, 1], [2], [3]] : tensor<1x4x7x8xf16> into tensor<4x7x8xf16>
    %collapsed_3 = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x4x8x7xf16> into tensor<4x8x7xf16>
    %5 = tensor.empty() : tensor<4x7x7xf32>
    %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %7 = linalg.batch_matmul ins(%collapsed_2, %collapsed_3 : tensor<4x7x8xf16>, tensor<4x8x7xf16>) outs(%6 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %8 = tensor.empty() : tensor<4x7x7xf16>
    %9 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%7 : tensor<4x7x7xf32>) outs(%8 : tensor<4x7x7xf16>) {
    ^bb0(%in: f32, %out: f16):
      %32 = arith.truncf %in : f32 to f16
      linalg.yield %32 : f16
    } -> tensor<4x7x7xf16>
    %expanded = tensor.expand_shape %9 [[0, 1], [2], [3]] output_shape [1, 4, 7, 7] : tensor<4x7x7xf16> into tensor<1x4x7x7xf16>
    %10 = tensor.empty() : tensor<1x4x7x7xf16>
    %11 = linalg.generic {indexing_maps = [#map, #map4, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %arg3 : tensor<1x4x7x7xf16>, tensor<1x1x7x7xf16>) outs(%10 : tensor<1x4x7x7xf16>) {
    ^bb0(%in: f16, %in_8: f16, %out: f16):
      %32 = arith.addf %in, %in_8 : f16
      linalg.yield %32 : f16
    } -> tensor<1x4x7x7xf16>
    %12 = tensor.empty() : tensor<1x4x7x7xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11 : tensor<1x4x7x7xf16>) outs(%12 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f16, %out: f32):
      %32 = arith.extf %in : f16 to f32
      linalg.yield %32 : f32
    } -> tensor<1x4x7x7xf32>
    %14 = tensor.empty() : tensor<1x4x7xi64>
    %15 = linalg.fill ins(%c0_i64 : i64) outs(%14 : tensor<1x4x7xi64>) -> tensor<1x4x7xi64>
    %16 = tensor.empty() : tensor<1x4x7xf32>
    %17 = linalg.fill ins(%cst_0 : f32) outs(%16 : tensor<1x4x7xf32>) -> tensor<1x4x7xf32>
    %18:2 = linalg.generic {indexing_maps = [#map, #map5, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%13 : tensor<1x4x7x7xf32>) outs(%17, %15 : tensor<1x4x7xf32>, tensor<1x4x7xi64>) {
    ^bb0(%in: f32, %out: f32, %out_8: i64):
      %32 = linalg.index 3 : index
      %33 = arith.index_cast %32 : index to i64
      %34 = arith.maximumf %in, %out : f32
      %35 = arith.cmpf ogt, %in, %out : f32
      %36 = arith.select %35, %33, %out_8 : i64
      linalg.yield %34, %36 : f32, i64
    } -> (tensor<1x4x7xf32>, tensor<1x4x7xi64>)
    %expanded_4 = tensor.expand_shape %18#0 [[0], [1], [2, 3]] output_shape [1, 4, 7, 1] : tensor<1x4x7xf32> into tensor<1x4x7x1xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%13, %expanded_4 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%12 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_8: f32, %out: f32):
      %32 = arith.subf %in, %in_8 : f32
      linalg.yield %32 : f32
    } -> tensor<1x4x7x7xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%19 : tensor<1x4x7x7xf32>) outs(%12 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %32 = math.exp %in : f32
      linalg.yield %32 : f32
    } -> tensor<1x4x7x7xf32>
    %21 = tensor.empty() : tensor<1x4x7x1xf32>
    %22 = linalg.fill ins(%cst : f32) outs(%21 : tensor<1x4x7x1xf32>) -> tensor<1x4x7x1xf32>
    %23 = linalg.generic {indexing_maps = [#map, #map6], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%20 : tensor<1x4x7x7xf32>) outs(%22 : tensor<1x4x7x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %32 = arith.addf %in, %out : f32
      linalg.yield %32 : f32
    } -> tensor<1x4x7x1xf32>
    %24 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%20, %23 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%12 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_8: f32, %out: f32):
      %32 = arith.divf %in, %in_8 : f32
      linalg.yield %32 : f32
    } -> tensor<1x4x7x7xf32>
    %25 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%24 : tensor<1x4x7x7xf32>) outs(%10 : tensor<1x4x7x7xf16>) {
    ^bb0(%in: f32, %out: f16):
      %32 = arith.truncf %in : f32 to f16
      linalg.yield %32 : f16
    } -> tensor<1x4x7x7xf16>
    %26 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg2 : tensor<1x2x7x8xf16>) outs(%2 : tensor<1x2x2x7x8xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<1x2x2x7x8xf16>
    %collapsed_5 = tensor.collapse_shape %25 [[0, 1], [2], [3]] : tensor<1x4x7x7xf16> into tensor<4x7x7xf16>
    %collapsed_6 = tensor.collapse_shape %26 [[0, 1, 2], [3], [4]] : tensor<1x2x2x7x8xf16> into tensor<4x7x8xf16>
    %27 = tensor.empty() : tensor<4x7x8xf32>
    %28 = linalg.fill ins(%cst : f32) outs(%27 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %29 = linalg.batch_matmul ins(%collapsed_5, %collapsed_6 : tensor<4x7x7xf16>, tensor<4x7x8xf16>) outs(%28 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %30 = tensor.empty() : tensor<4x7x8xf16>
    %31 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%29 : tensor<4x7x8xf32>) outs(%30 : tensor<4x7x8xf16>) {
    ^bb0(%in: f32, %out: f16):
      %32 = arith.truncf %in : f32 to f16
      linalg.yield %32 : f16
    } -> tensor<4x7x8xf16>
    %expanded_7 = tensor.expand_shape %31 [[0, 1], [2], [3]] output_shape [1, 4, 7, 8] : tensor<4x7x8xf16> into tensor<1x4x7x8xf16>
    return %expanded_7 : tensor<1x4x7x8xf16>
  }
}

