module @module {
  util.func public @main(%arg0: tensor<2x4x7x8xf32>, %arg1: tensor<2x2x7x8xf32>, %arg2: tensor<2x2x7x8xf32>) -> tensor<2x4x7x8xf32> {
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant dense<0xFF800000> : tensor<f32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_3 = arith.constant 0.353553385 : f32
    %0 = tensor.empty() : tensor<2x2x2x7x8xf32>
    %1 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<2x2x7x8xf32>) outs(%0 : tensor<2x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x2x2x7x8xf32>
    %collapsed = tensor.collapse_shape %1 [[0], [1, 2], [3], [4]] : tensor<2x2x2x7x8xf32> into tensor<2x4x7x8xf32>
    %2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg2 : tensor<2x2x7x8xf32>) outs(%0 : tensor<2x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x2x2x7x8xf32>
    %3 = tensor.empty() : tensor<2x4x8x7xf32>
    %transposed = linalg.transpose ins(%collapsed : tensor<2x4x7x8xf32>) outs(%3 : tensor<2x4x8x7xf32>) permutation = [0, 1, 3, 2] 
    %collapsed_4 = tensor.collapse_shape %arg0 [[0, 1], [2], [3]] : tensor<2x4x7x8xf32> into tensor<8x7x8xf32>
    %collapsed_5 = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<2x4x8x7xf32> into tensor<8x8x7xf32>
    %4 = tensor.empty() : tensor<8x7x7xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
    %6 = linalg.batch_matmul ins(%collapsed_4, %collapsed_5 : tensor<8x7x8xf32>, tensor<8x8x7xf32>) outs(%5 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
    %expanded = tensor.expand_shape %6 [[0, 1], [2], [3]] output_shape [2, 4, 7, 7] : tensor<8x7x7xf32> into tensor<2x4x7x7xf32>
    %7 = tensor.empty() : tensor<7xi64>
    %8 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%7 : tensor<7xi64>) {
    ^bb0(%out: i64):
      %30 = linalg.index 0 : index
      %31 = arith.index_cast %30 : index to i64
      linalg.yield %31 : i64
    } -> tensor<7xi64>
    %expanded_6 = tensor.expand_shape %8 [[0, 1]] output_shape [7, 1] : tensor<7xi64> into tensor<7x1xi64>
    %expanded_7 = tensor.expand_shape %8 [[0, 1]] output_shape [1, 7] : tensor<7xi64> into tensor<1x7xi64>
    %9 = tensor.empty() : tensor<7x7xi1>
    %10 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%expanded_7, %expanded_6 : tensor<1x7xi64>, tensor<7x1xi64>) outs(%9 : tensor<7x7xi1>) {
    ^bb0(%in: i64, %in_12: i64, %out: i1):
      %30 = arith.cmpi sle, %in, %in_12 : i64
      linalg.yield %30 : i1
    } -> tensor<7x7xi1>
    %11 = tensor.empty() : tensor<7x7xf32>
    %12 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%10, %cst_2, %cst_1 : tensor<7x7xi1>, tensor<f32>, tensor<f32>) outs(%11 : tensor<7x7xf32>) {
    ^bb0(%in: i1, %in_12: f32, %in_13: f32, %out: f32):
      %30 = arith.select %in, %in_12, %in_13 : f32
      linalg.yield %30 : f32
    } -> tensor<7x7xf32>
    %13 = tensor.empty() : tensor<2x4x7x7xf32>
    %14 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %12 : tensor<2x4x7x7xf32>, tensor<7x7xf32>) outs(%13 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %30 = arith.addf %in, %in_12 : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x7xf32>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14 : tensor<2x4x7x7xf32>) outs(%13 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = arith.mulf %in, %cst_3 : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x7xf32>
    %16 = tensor.empty() : tensor<2x4x7xi64>
    %17 = linalg.fill ins(%c0_i64 : i64) outs(%16 : tensor<2x4x7xi64>) -> tensor<2x4x7xi64>
    %18 = tensor.empty() : tensor<2x4x7xf32>
    %19 = linalg.fill ins(%cst_0 : f32) outs(%18 : tensor<2x4x7xf32>) -> tensor<2x4x7xf32>
    %20:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%15 : tensor<2x4x7x7xf32>) outs(%19, %17 : tensor<2x4x7xf32>, tensor<2x4x7xi64>) {
    ^bb0(%in: f32, %out: f32, %out_12: i64):
      %30 = linalg.index 3 : index
      %31 = arith.index_cast %30 : index to i64
      %32 = arith.maximumf %in, %out : f32
      %33 = arith.cmpf ogt, %in, %out : f32
      %34 = arith.select %33, %31, %out_12 : i64
      linalg.yield %32, %34 : f32, i64
    } -> (tensor<2x4x7xf32>, tensor<2x4x7xi64>)
    %expanded_8 = tensor.expand_shape %20#0 [[0], [1], [2, 3]] output_shape [2, 4, 7, 1] : tensor<2x4x7xf32> into tensor<2x4x7x1xf32>
    %21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %expanded_8 : tensor<2x4x7x7xf32>, tensor<2x4x7x1xf32>) outs(%13 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %30 = arith.subf %in, %in_12 : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x7xf32>
    %22 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%21 : tensor<2x4x7x7xf32>) outs(%13 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = math.exp %in : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x7xf32>
    %23 = tensor.empty() : tensor<2x4x7x1xf32>
    %24 = linalg.fill ins(%cst : f32) outs(%23 : tensor<2x4x7x1xf32>) -> tensor<2x4x7x1xf32>
    %25 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%22 : tensor<2x4x7x7xf32>) outs(%24 : tensor<2x4x7x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = arith.addf %in, %out : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x1xf32>
    %26 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %25 : tensor<2x4x7x7xf32>, tensor<2x4x7x1xf32>) outs(%13 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %30 = arith.divf %in, %in_12 : f32
      linalg.yield %30 : f32
    } -> tensor<2x4x7x7xf32>
    %collapsed_9 = tensor.collapse_shape %26 [[0, 1], [2], [3]] : tensor<2x4x7x7xf32> into tensor<8x7x7xf32>
    %collapsed_10 = tensor.collapse_shape %2 [[0, 1, 2], [3], [4]] : tensor<2x2x2x7x8xf32> into tensor<8x7x8xf32>
    %27 = tensor.empty() : tensor<8x7x8xf32>
    %28 = linalg.fill ins(%cst : f32) outs(%27 : tensor<8x7x8xf32>) -> tensor<8x7x8xf32>
    %29 = linalg.batch_matmul ins(%collapsed_9, %collapsed_10 : tensor<8x7x7xf32>, tensor<8x7x8xf32>) outs(%28 : tensor<8x7x8xf32>) -> tensor<8x7x8xf32>
    %expanded_11 = tensor.expand_shape %29 [[0, 1], [2], [3]] output_shape [2, 4, 7, 8] : tensor<8x7x8xf32> into tensor<2x4x7x8xf32>
    util.return %expanded_11 : tensor<2x4x7x8xf32>
  }
}