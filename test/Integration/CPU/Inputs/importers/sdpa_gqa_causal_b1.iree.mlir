module @module {
  util.func public @main(%arg0: tensor<1x4x7x8xf32>, %arg1: tensor<1x2x7x8xf32>, %arg2: tensor<1x2x7x8xf32>) -> tensor<1x4x7x8xf32> {
    %c0_i64 = arith.constant 0 : i64
    %false = arith.constant false
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %true = arith.constant true
    %cst_1 = arith.constant 0xFF800000 : f32
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_3 = arith.constant dense<0xFF800000> : tensor<f32>
    %cst_4 = arith.constant dense<true> : tensor<7x7xi1>
    %cst_5 = arith.constant 0.594603539 : f32
    %0 = tensor.empty() : tensor<1x4x7x8xf32>
    %1 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x4x7x8xf32>) outs(%0 : tensor<1x4x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %36 = arith.mulf %in, %cst_5 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x8xf32>
    %2 = tensor.empty() : tensor<7x7xi1>
    %3 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%cst_4 : tensor<7x7xi1>) outs(%2 : tensor<7x7xi1>) {
    ^bb0(%in: i1, %out: i1):
      %36 = linalg.index 0 : index
      %37 = arith.index_cast %36 : index to i64
      %38 = linalg.index 1 : index
      %39 = arith.index_cast %38 : index to i64
      %40 = arith.cmpi sle, %39, %37 : i64
      %41 = arith.select %40, %in, %false : i1
      linalg.yield %41 : i1
    } -> tensor<7x7xi1>
    %4 = tensor.empty() : tensor<7x7xf32>
    %5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%3, %cst_2, %cst_3 : tensor<7x7xi1>, tensor<f32>, tensor<f32>) outs(%4 : tensor<7x7xf32>) {
    ^bb0(%in: i1, %in_12: f32, %in_13: f32, %out: f32):
      %36 = arith.select %in, %in_12, %in_13 : f32
      linalg.yield %36 : f32
    } -> tensor<7x7xf32>
    %6 = tensor.empty() : tensor<1x2x2x7x8xf32>
    %7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<1x2x7x8xf32>) outs(%6 : tensor<1x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x7x8xf32>
    %collapsed = tensor.collapse_shape %7 [[0], [1, 2], [3], [4]] : tensor<1x2x2x7x8xf32> into tensor<1x4x7x8xf32>
    %8 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg2 : tensor<1x2x7x8xf32>) outs(%6 : tensor<1x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x7x8xf32>
    %9 = tensor.empty() : tensor<1x4x8x7xf32>
    %transposed = linalg.transpose ins(%collapsed : tensor<1x4x7x8xf32>) outs(%9 : tensor<1x4x8x7xf32>) permutation = [0, 1, 3, 2] 
    %10 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed : tensor<1x4x8x7xf32>) outs(%9 : tensor<1x4x8x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %36 = arith.mulf %in, %cst_5 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x8x7xf32>
    %collapsed_6 = tensor.collapse_shape %1 [[0, 1], [2], [3]] : tensor<1x4x7x8xf32> into tensor<4x7x8xf32>
    %collapsed_7 = tensor.collapse_shape %10 [[0, 1], [2], [3]] : tensor<1x4x8x7xf32> into tensor<4x8x7xf32>
    %11 = tensor.empty() : tensor<4x7x7xf32>
    %12 = linalg.fill ins(%cst : f32) outs(%11 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %13 = linalg.batch_matmul ins(%collapsed_6, %collapsed_7 : tensor<4x7x8xf32>, tensor<4x8x7xf32>) outs(%12 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %expanded = tensor.expand_shape %13 [[0, 1], [2], [3]] output_shape [1, 4, 7, 7] : tensor<4x7x7xf32> into tensor<1x4x7x7xf32>
    %14 = tensor.empty() : tensor<1x4x7x7xf32>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %5 : tensor<1x4x7x7xf32>, tensor<7x7xf32>) outs(%14 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %36 = arith.addf %in, %in_12 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x7xf32>
    %16 = tensor.empty() : tensor<1x4x7xi64>
    %17 = linalg.fill ins(%c0_i64 : i64) outs(%16 : tensor<1x4x7xi64>) -> tensor<1x4x7xi64>
    %18 = tensor.empty() : tensor<1x4x7xf32>
    %19 = linalg.fill ins(%cst_0 : f32) outs(%18 : tensor<1x4x7xf32>) -> tensor<1x4x7xf32>
    %20:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%15 : tensor<1x4x7x7xf32>) outs(%19, %17 : tensor<1x4x7xf32>, tensor<1x4x7xi64>) {
    ^bb0(%in: f32, %out: f32, %out_12: i64):
      %36 = linalg.index 3 : index
      %37 = arith.index_cast %36 : index to i64
      %38 = arith.maximumf %in, %out : f32
      %39 = arith.cmpf ogt, %in, %out : f32
      %40 = arith.select %39, %37, %out_12 : i64
      linalg.yield %38, %40 : f32, i64
    } -> (tensor<1x4x7xf32>, tensor<1x4x7xi64>)
    %expanded_8 = tensor.expand_shape %20#0 [[0], [1], [2, 3]] output_shape [1, 4, 7, 1] : tensor<1x4x7xf32> into tensor<1x4x7x1xf32>
    %21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %expanded_8 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%14 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %36 = arith.subf %in, %in_12 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x7xf32>
    %22 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%21 : tensor<1x4x7x7xf32>) outs(%14 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %36 = math.exp %in : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x7xf32>
    %23 = tensor.empty() : tensor<1x4x7x1xf32>
    %24 = linalg.fill ins(%cst : f32) outs(%23 : tensor<1x4x7x1xf32>) -> tensor<1x4x7x1xf32>
    %25 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%22 : tensor<1x4x7x7xf32>) outs(%24 : tensor<1x4x7x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %36 = arith.addf %in, %out : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x1xf32>
    %26 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %25 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%14 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_12: f32, %out: f32):
      %36 = arith.divf %in, %in_12 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x7xf32>
    %27 = tensor.empty() : tensor<1x4x7x7xi1>
    %28 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15 : tensor<1x4x7x7xf32>) outs(%27 : tensor<1x4x7x7xi1>) {
    ^bb0(%in: f32, %out: i1):
      %36 = arith.cmpf oeq, %in, %cst_1 : f32
      linalg.yield %36 : i1
    } -> tensor<1x4x7x7xi1>
    %29 = tensor.empty() : tensor<1x4x7x1xi1>
    %30 = linalg.fill ins(%true : i1) outs(%29 : tensor<1x4x7x1xi1>) -> tensor<1x4x7x1xi1>
    %31 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%28 : tensor<1x4x7x7xi1>) outs(%30 : tensor<1x4x7x1xi1>) {
    ^bb0(%in: i1, %out: i1):
      %36 = arith.andi %in, %out : i1
      linalg.yield %36 : i1
    } -> tensor<1x4x7x1xi1>
    %32 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> ()>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%31, %cst_2, %26 : tensor<1x4x7x1xi1>, tensor<f32>, tensor<1x4x7x7xf32>) outs(%14 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: i1, %in_12: f32, %in_13: f32, %out: f32):
      %36 = arith.select %in, %in_12, %in_13 : f32
      linalg.yield %36 : f32
    } -> tensor<1x4x7x7xf32>
    %collapsed_9 = tensor.collapse_shape %32 [[0, 1], [2], [3]] : tensor<1x4x7x7xf32> into tensor<4x7x7xf32>
    %collapsed_10 = tensor.collapse_shape %8 [[0, 1, 2], [3], [4]] : tensor<1x2x2x7x8xf32> into tensor<4x7x8xf32>
    %33 = tensor.empty() : tensor<4x7x8xf32>
    %34 = linalg.fill ins(%cst : f32) outs(%33 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %35 = linalg.batch_matmul ins(%collapsed_9, %collapsed_10 : tensor<4x7x7xf32>, tensor<4x7x8xf32>) outs(%34 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %expanded_11 = tensor.expand_shape %35 [[0, 1], [2], [3]] output_shape [1, 4, 7, 8] : tensor<4x7x8xf32> into tensor<1x4x7x8xf32>
    util.return %expanded_11 : tensor<1x4x7x8xf32>
  }
}