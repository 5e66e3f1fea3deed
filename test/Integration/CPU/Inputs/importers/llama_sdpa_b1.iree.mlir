module @module {
  util.func public @main(%arg0: tensor<1x7x16xf32>) -> tensor<1x7x16xf32> {
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %true = arith.constant true
    %cst_1 = arith.constant 0xFF800000 : f32
    %cst_2 = arith.constant dense<-3.40282347E+38> : tensor<f32>
    %cst_3 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_4 = arith.constant dense_resource<torch_tensor_16_32_torch.float32> : tensor<16x32xf32>
    %cst_5 = arith.constant 0.594603539 : f32
    %cst_6 = arith.constant dense_resource<torch_tensor_16_16_torch.float32_1> : tensor<16x16xf32>
    %cst_7 = arith.constant dense_resource<torch_tensor_16_16_torch.float32> : tensor<16x16xf32>
    %cst_8 = arith.constant dense_resource<torch_tensor_32_16_torch.float32> : tensor<32x16xf32>
    %cst_9 = arith.constant dense_resource<torch_tensor_4_torch.float32> : tensor<4xf32>
    %0 = tensor.empty() : tensor<7xi64>
    %1 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%0 : tensor<7xi64>) {
    ^bb0(%out: i64):
      %75 = linalg.index 0 : index
      %76 = arith.index_cast %75 : index to i64
      linalg.yield %76 : i64
    } -> tensor<7xi64>
    %expanded = tensor.expand_shape %1 [[0, 1]] output_shape [1, 7] : tensor<7xi64> into tensor<1x7xi64>
    %expanded_10 = tensor.expand_shape %1 [[0, 1, 2]] output_shape [1, 7, 1] : tensor<7xi64> into tensor<1x7x1xi64>
    %2 = tensor.empty() : tensor<1x7x1xf32>
    %3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_10 : tensor<1x7x1xi64>) outs(%2 : tensor<1x7x1xf32>) {
    ^bb0(%in: i64, %out: f32):
      %75 = arith.sitofp %in : i64 to f32
      linalg.yield %75 : f32
    } -> tensor<1x7x1xf32>
    %4 = tensor.empty() : tensor<1x7x4xf32>
    %5 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%3, %cst_9 : tensor<1x7x1xf32>, tensor<4xf32>) outs(%4 : tensor<1x7x4xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.mulf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x7x4xf32>
    %concat = tensor.concat dim(2) %5, %5 : (tensor<1x7x4xf32>, tensor<1x7x4xf32>) -> tensor<1x7x8xf32>
    %6 = tensor.empty() : tensor<1x7x8xf32>
    %7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat : tensor<1x7x8xf32>) outs(%6 : tensor<1x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = math.cos %in : f32
      linalg.yield %75 : f32
    } -> tensor<1x7x8xf32>
    %8 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat : tensor<1x7x8xf32>) outs(%6 : tensor<1x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = math.sin %in : f32
      linalg.yield %75 : f32
    } -> tensor<1x7x8xf32>
    %expanded_11 = tensor.expand_shape %1 [[0, 1]] output_shape [7, 1] : tensor<7xi64> into tensor<7x1xi64>
    %9 = tensor.empty() : tensor<7x7xi1>
    %10 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%expanded, %expanded_11 : tensor<1x7xi64>, tensor<7x1xi64>) outs(%9 : tensor<7x7xi1>) {
    ^bb0(%in: i64, %in_39: i64, %out: i1):
      %75 = arith.cmpi sle, %in, %in_39 : i64
      linalg.yield %75 : i1
    } -> tensor<7x7xi1>
    %11 = tensor.empty() : tensor<7x7xf32>
    %12 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%10, %cst_3, %cst_2 : tensor<7x7xi1>, tensor<f32>, tensor<f32>) outs(%11 : tensor<7x7xf32>) {
    ^bb0(%in: i1, %in_39: f32, %in_40: f32, %out: f32):
      %75 = arith.select %in, %in_39, %in_40 : f32
      linalg.yield %75 : f32
    } -> tensor<7x7xf32>
    %expanded_12 = tensor.expand_shape %12 [[0, 1, 2], [3]] output_shape [1, 1, 7, 7] : tensor<7x7xf32> into tensor<1x1x7x7xf32>
    %13 = tensor.empty() : tensor<16x32xf32>
    %transposed = linalg.transpose ins(%cst_8 : tensor<32x16xf32>) outs(%13 : tensor<16x32xf32>) permutation = [1, 0] 
    %14 = tensor.empty() : tensor<1x16x32xf32>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed : tensor<16x32xf32>) outs(%14 : tensor<1x16x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x16x32xf32>
    %16 = tensor.empty() : tensor<1x7x32xf32>
    %17 = linalg.fill ins(%cst : f32) outs(%16 : tensor<1x7x32xf32>) -> tensor<1x7x32xf32>
    %18 = linalg.batch_matmul ins(%arg0, %15 : tensor<1x7x16xf32>, tensor<1x16x32xf32>) outs(%17 : tensor<1x7x32xf32>) -> tensor<1x7x32xf32>
    %expanded_13 = tensor.expand_shape %18 [[0], [1], [2, 3]] output_shape [1, 7, 4, 8] : tensor<1x7x32xf32> into tensor<1x7x4x8xf32>
    %19 = tensor.empty() : tensor<1x4x7x8xf32>
    %transposed_14 = linalg.transpose ins(%expanded_13 : tensor<1x7x4x8xf32>) outs(%19 : tensor<1x4x7x8xf32>) permutation = [0, 2, 1, 3] 
    %20 = tensor.empty() : tensor<16x16xf32>
    %transposed_15 = linalg.transpose ins(%cst_7 : tensor<16x16xf32>) outs(%20 : tensor<16x16xf32>) permutation = [1, 0] 
    %21 = tensor.empty() : tensor<1x16x16xf32>
    %22 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_15 : tensor<16x16xf32>) outs(%21 : tensor<1x16x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x16x16xf32>
    %23 = tensor.empty() : tensor<1x7x16xf32>
    %24 = linalg.fill ins(%cst : f32) outs(%23 : tensor<1x7x16xf32>) -> tensor<1x7x16xf32>
    %25 = linalg.batch_matmul ins(%arg0, %22 : tensor<1x7x16xf32>, tensor<1x16x16xf32>) outs(%24 : tensor<1x7x16xf32>) -> tensor<1x7x16xf32>
    %expanded_16 = tensor.expand_shape %25 [[0], [1], [2, 3]] output_shape [1, 7, 2, 8] : tensor<1x7x16xf32> into tensor<1x7x2x8xf32>
    %26 = tensor.empty() : tensor<1x2x7x8xf32>
    %transposed_17 = linalg.transpose ins(%expanded_16 : tensor<1x7x2x8xf32>) outs(%26 : tensor<1x2x7x8xf32>) permutation = [0, 2, 1, 3] 
    %transposed_18 = linalg.transpose ins(%cst_6 : tensor<16x16xf32>) outs(%20 : tensor<16x16xf32>) permutation = [1, 0] 
    %27 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_18 : tensor<16x16xf32>) outs(%21 : tensor<1x16x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x16x16xf32>
    %28 = linalg.batch_matmul ins(%arg0, %27 : tensor<1x7x16xf32>, tensor<1x16x16xf32>) outs(%24 : tensor<1x7x16xf32>) -> tensor<1x7x16xf32>
    %expanded_19 = tensor.expand_shape %28 [[0], [1], [2, 3]] output_shape [1, 7, 2, 8] : tensor<1x7x16xf32> into tensor<1x7x2x8xf32>
    %transposed_20 = linalg.transpose ins(%expanded_19 : tensor<1x7x2x8xf32>) outs(%26 : tensor<1x2x7x8xf32>) permutation = [0, 2, 1, 3] 
    %expanded_21 = tensor.expand_shape %7 [[0], [1, 2], [3]] output_shape [1, 1, 7, 8] : tensor<1x7x8xf32> into tensor<1x1x7x8xf32>
    %expanded_22 = tensor.expand_shape %8 [[0], [1, 2], [3]] output_shape [1, 1, 7, 8] : tensor<1x7x8xf32> into tensor<1x1x7x8xf32>
    %29 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed_14, %expanded_21 : tensor<1x4x7x8xf32>, tensor<1x1x7x8xf32>) outs(%19 : tensor<1x4x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.mulf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x8xf32>
    %extracted_slice = tensor.extract_slice %transposed_14[0, 0, 0, 0] [1, 4, 7, 4] [1, 1, 1, 1] : tensor<1x4x7x8xf32> to tensor<1x4x7x4xf32>
    %extracted_slice_23 = tensor.extract_slice %transposed_14[0, 0, 0, 4] [1, 4, 7, 4] [1, 1, 1, 1] : tensor<1x4x7x8xf32> to tensor<1x4x7x4xf32>
    %30 = tensor.empty() : tensor<1x4x7x4xf32>
    %31 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%extracted_slice_23 : tensor<1x4x7x4xf32>) outs(%30 : tensor<1x4x7x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = arith.negf %in : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x4xf32>
    %concat_24 = tensor.concat dim(3) %31, %extracted_slice : (tensor<1x4x7x4xf32>, tensor<1x4x7x4xf32>) -> tensor<1x4x7x8xf32>
    %32 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%concat_24, %expanded_22 : tensor<1x4x7x8xf32>, tensor<1x1x7x8xf32>) outs(%19 : tensor<1x4x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.mulf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x8xf32>
    %33 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%29, %32 : tensor<1x4x7x8xf32>, tensor<1x4x7x8xf32>) outs(%19 : tensor<1x4x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.addf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x8xf32>
    %34 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed_17, %expanded_21 : tensor<1x2x7x8xf32>, tensor<1x1x7x8xf32>) outs(%26 : tensor<1x2x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.mulf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x2x7x8xf32>
    %extracted_slice_25 = tensor.extract_slice %transposed_17[0, 0, 0, 0] [1, 2, 7, 4] [1, 1, 1, 1] : tensor<1x2x7x8xf32> to tensor<1x2x7x4xf32>
    %extracted_slice_26 = tensor.extract_slice %transposed_17[0, 0, 0, 4] [1, 2, 7, 4] [1, 1, 1, 1] : tensor<1x2x7x8xf32> to tensor<1x2x7x4xf32>
    %35 = tensor.empty() : tensor<1x2x7x4xf32>
    %36 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%extracted_slice_26 : tensor<1x2x7x4xf32>) outs(%35 : tensor<1x2x7x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = arith.negf %in : f32
      linalg.yield %75 : f32
    } -> tensor<1x2x7x4xf32>
    %concat_27 = tensor.concat dim(3) %36, %extracted_slice_25 : (tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>) -> tensor<1x2x7x8xf32>
    %37 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%concat_27, %expanded_22 : tensor<1x2x7x8xf32>, tensor<1x1x7x8xf32>) outs(%26 : tensor<1x2x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.mulf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x2x7x8xf32>
    %38 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%34, %37 : tensor<1x2x7x8xf32>, tensor<1x2x7x8xf32>) outs(%26 : tensor<1x2x7x8xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.addf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x2x7x8xf32>
    %39 = tensor.empty() : tensor<1x2x2x7x8xf32>
    %40 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%38 : tensor<1x2x7x8xf32>) outs(%39 : tensor<1x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x7x8xf32>
    %collapsed = tensor.collapse_shape %40 [[0], [1, 2], [3], [4]] : tensor<1x2x2x7x8xf32> into tensor<1x4x7x8xf32>
    %41 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%transposed_20 : tensor<1x2x7x8xf32>) outs(%39 : tensor<1x2x2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x2x7x8xf32>
    %42 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%33 : tensor<1x4x7x8xf32>) outs(%19 : tensor<1x4x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = arith.mulf %in, %cst_5 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x8xf32>
    %43 = tensor.empty() : tensor<1x4x8x7xf32>
    %transposed_28 = linalg.transpose ins(%collapsed : tensor<1x4x7x8xf32>) outs(%43 : tensor<1x4x8x7xf32>) permutation = [0, 1, 3, 2] 
    %44 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed_28 : tensor<1x4x8x7xf32>) outs(%43 : tensor<1x4x8x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = arith.mulf %in, %cst_5 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x8x7xf32>
    %collapsed_29 = tensor.collapse_shape %42 [[0, 1], [2], [3]] : tensor<1x4x7x8xf32> into tensor<4x7x8xf32>
    %collapsed_30 = tensor.collapse_shape %44 [[0, 1], [2], [3]] : tensor<1x4x8x7xf32> into tensor<4x8x7xf32>
    %45 = tensor.empty() : tensor<4x7x7xf32>
    %46 = linalg.fill ins(%cst : f32) outs(%45 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %47 = linalg.batch_matmul ins(%collapsed_29, %collapsed_30 : tensor<4x7x8xf32>, tensor<4x8x7xf32>) outs(%46 : tensor<4x7x7xf32>) -> tensor<4x7x7xf32>
    %expanded_31 = tensor.expand_shape %47 [[0, 1], [2], [3]] output_shape [1, 4, 7, 7] : tensor<4x7x7xf32> into tensor<1x4x7x7xf32>
    %48 = tensor.empty() : tensor<1x4x7x7xf32>
    %49 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_31, %expanded_12 : tensor<1x4x7x7xf32>, tensor<1x1x7x7xf32>) outs(%48 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.addf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x7xf32>
    %50 = tensor.empty() : tensor<1x4x7xi64>
    %51 = linalg.fill ins(%c0_i64 : i64) outs(%50 : tensor<1x4x7xi64>) -> tensor<1x4x7xi64>
    %52 = tensor.empty() : tensor<1x4x7xf32>
    %53 = linalg.fill ins(%cst_0 : f32) outs(%52 : tensor<1x4x7xf32>) -> tensor<1x4x7xf32>
    %54:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%49 : tensor<1x4x7x7xf32>) outs(%53, %51 : tensor<1x4x7xf32>, tensor<1x4x7xi64>) {
    ^bb0(%in: f32, %out: f32, %out_39: i64):
      %75 = linalg.index 3 : index
      %76 = arith.index_cast %75 : index to i64
      %77 = arith.maximumf %in, %out : f32
      %78 = arith.cmpf ogt, %in, %out : f32
      %79 = arith.select %78, %76, %out_39 : i64
      linalg.yield %77, %79 : f32, i64
    } -> (tensor<1x4x7xf32>, tensor<1x4x7xi64>)
    %expanded_32 = tensor.expand_shape %54#0 [[0], [1], [2, 3]] output_shape [1, 4, 7, 1] : tensor<1x4x7xf32> into tensor<1x4x7x1xf32>
    %55 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%49, %expanded_32 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%48 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.subf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x7xf32>
    %56 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%55 : tensor<1x4x7x7xf32>) outs(%48 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = math.exp %in : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x7xf32>
    %57 = tensor.empty() : tensor<1x4x7x1xf32>
    %58 = linalg.fill ins(%cst : f32) outs(%57 : tensor<1x4x7x1xf32>) -> tensor<1x4x7x1xf32>
    %59 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%56 : tensor<1x4x7x7xf32>) outs(%58 : tensor<1x4x7x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %75 = arith.addf %in, %out : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x1xf32>
    %60 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%56, %59 : tensor<1x4x7x7xf32>, tensor<1x4x7x1xf32>) outs(%48 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %75 = arith.divf %in, %in_39 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x7xf32>
    %61 = tensor.empty() : tensor<1x4x7x7xi1>
    %62 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%49 : tensor<1x4x7x7xf32>) outs(%61 : tensor<1x4x7x7xi1>) {
    ^bb0(%in: f32, %out: i1):
      %75 = arith.cmpf oeq, %in, %cst_1 : f32
      linalg.yield %75 : i1
    } -> tensor<1x4x7x7xi1>
    %63 = tensor.empty() : tensor<1x4x7x1xi1>
    %64 = linalg.fill ins(%true : i1) outs(%63 : tensor<1x4x7x1xi1>) -> tensor<1x4x7x1xi1>
    %65 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%62 : tensor<1x4x7x7xi1>) outs(%64 : tensor<1x4x7x1xi1>) {
    ^bb0(%in: i1, %out: i1):
      %75 = arith.andi %in, %out : i1
      linalg.yield %75 : i1
    } -> tensor<1x4x7x1xi1>
    %66 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> ()>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%65, %cst_3, %60 : tensor<1x4x7x1xi1>, tensor<f32>, tensor<1x4x7x7xf32>) outs(%48 : tensor<1x4x7x7xf32>) {
    ^bb0(%in: i1, %in_39: f32, %in_40: f32, %out: f32):
      %75 = arith.select %in, %in_39, %in_40 : f32
      linalg.yield %75 : f32
    } -> tensor<1x4x7x7xf32>
    %collapsed_33 = tensor.collapse_shape %66 [[0, 1], [2], [3]] : tensor<1x4x7x7xf32> into tensor<4x7x7xf32>
    %collapsed_34 = tensor.collapse_shape %41 [[0, 1, 2], [3], [4]] : tensor<1x2x2x7x8xf32> into tensor<4x7x8xf32>
    %67 = tensor.empty() : tensor<4x7x8xf32>
    %68 = linalg.fill ins(%cst : f32) outs(%67 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %69 = linalg.batch_matmul ins(%collapsed_33, %collapsed_34 : tensor<4x7x7xf32>, tensor<4x7x8xf32>) outs(%68 : tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
    %expanded_35 = tensor.expand_shape %69 [[0, 1], [2], [3]] output_shape [1, 4, 7, 8] : tensor<4x7x8xf32> into tensor<1x4x7x8xf32>
    %70 = tensor.empty() : tensor<1x7x4x8xf32>
    %transposed_36 = linalg.transpose ins(%expanded_35 : tensor<1x4x7x8xf32>) outs(%70 : tensor<1x7x4x8xf32>) permutation = [0, 2, 1, 3] 
    %collapsed_37 = tensor.collapse_shape %transposed_36 [[0], [1], [2, 3]] : tensor<1x7x4x8xf32> into tensor<1x7x32xf32>
    %71 = tensor.empty() : tensor<32x16xf32>
    %transposed_38 = linalg.transpose ins(%cst_4 : tensor<16x32xf32>) outs(%71 : tensor<32x16xf32>) permutation = [1, 0] 
    %72 = tensor.empty() : tensor<1x32x16xf32>
    %73 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_38 : tensor<32x16xf32>) outs(%72 : tensor<1x32x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x32x16xf32>
    %74 = linalg.batch_matmul ins(%collapsed_37, %73 : tensor<1x7x32xf32>, tensor<1x32x16xf32>) outs(%24 : tensor<1x7x16xf32>) -> tensor<1x7x16xf32>
    util.return %74 : tensor<1x7x16xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      torch_tensor_16_32_torch.float32: "0x04000000C8EE4ABCF7F82ABEFFBED0BD8ED1923DE59675BDBDE3F93D5E1A0F3EB5A9D23C600665BC81D765BD4E7412BC16CC033D95450ABE250D2DBD729216BEF733DE3D328FE6BD7D5E253E3AA73ABD2B67CFBD4FF1AD3DBBE3D73C23B2FA3DE323973D10622EBE69FCE43D925A08BDB802A0BD00EAE53DDC05043E7B1A1FBE6EF282BC7EA7143E79368C3DD480183EEE2378BD44B7C7BD08A91B3EF0E7963D80C62D3EEA3897BDF973E8BD0EBEA9BCB5712ABE01E98D3D8C84053EDAD12D3D6E168FBC4680B33DF5CDE5BDB714313ED4FE33BE17682DBEC6192BBD59DD133E65FF903C160A8B3D3CB004BEC507843D61D2A1BC171D913DE7AFFF3DFD5E9D3D465F76BC006932BC4110E3BD3CF382BD3A44EB3D1F2D91BD25D7E03D558F8FBD03A328BD2E8F763B7D1D26BE435BE7BAC4F791BCD11882BC01BF10BD27B60E3E0797053ED45FF5BD392DA83D09FD0DBE0A1B1ABE5E565D3D1F432A3BB2E4A8BD05982EBE82288CBD6BD7713D408D27BEA2DA2FBE27BBB73C366802BE64961EBE0F7D8BBD7527E9BC437E24BE46BEF1BDA0E73D3C34B22ABE688BCBBCF4C4E9BD8DFAFABDDC4A8E3D26540BBEC22E09BEC676CE3DC960073D4CDB243EE88A41BDC1DEAEBD870586BCA3746A3AA90D0A3E4A4F34BE26384EBC0A26A03D595EC7BD74F7B7BD2DF6AE3D36732DBE05932B3D89240CBEA3F4B33D63C71ABE4595DE3DDB5B2BBEA92818BEFABA2A3B22A40E3E2F061BBEA97DA1BD72FC1E3E11DAF2BCAFFC953DE9232EBE60B563BDD9DAB7BD429C183EB042963DDD1504BE4B7BE93C7F2705BB32C094BD77C0CEBDDD4670BD2AAF0E3E9EC301BEABF200BE47645FBD668A493B3C1A453D4AD3AD3BD14D2EBDB085DBBD50EC01BD68BD91BD3040123EB93430BEFBEDE6BD8A4613BE7E5404BD45100D3EA9AB1E3E5C961DBED8F9FABB2381D43DF2959F3D0D46143E49ADA0BB4C40F3BDE77FEF3DF34B78BD6775BB3D677032BD88E6993D41D0223E6352283E47BD24BE407BEFBDE4B095BD58DFE6BD25B02D3E73CC7FBCAA27F0BD771AA1BD33FAC7BD3BB5933DF2E41DBE72C828BE1C7132BECBDD9B3DFE02B33DCADAE0BD408E333D2EA0053E386BD23C913319BD72FC553C43489BBC4249B63D0FD4F5BD3997B73DB30DCC3D9D59DBBD55D0133E60CB313EDDB98EBD5CCF4ABD896CB43D72D00DBECC2B8F3D41EE283D2834E43D103C1DBE5B6316BE239AA23D0569823D977C28BEF1E4C9BDF9A025BEB8AF01BE0A5AA3BDEBCC153ED52010BDF5EFCF3D1EE92B3E21FEA43DE60C22BEA32FB63D14188A3D464D0C3E4C9032BED9A8DE3DFC2B143EFC6928BEDB83973C06881A3E26A803BE6F956D3D08FA9F3D03C63D3DAFFB333E0637143E704E1B3E0082B4BCBDD2173EB8B128BEDF5DC3BDD2DD1ABD931757BDE434273ED5C2AA3DD015E93D1943F63DDB3807BE0BBAA7BC5877D33CBC533C3D0F2CBA3DC10E90BD90555ABD6377173EBD5442BDAE7CFBBD047AF53D0F28F53DF50B63BDF1C110BD0F9205BE092B17BEFC24883D05A99ABDD21B103ECFF110BEDA2BC8BC5B257A3B9811BA3D2781123E992CF53D345E9F3D6B2CA6BD484601BE35F121BEA1AB0F3C2C912F3E768809BD56DCF3BBB08B03BE7C4C5E3DC886E53D477832BE62EBFEBD1A15063E936F2B3DD79234BC4F6F013D222EDCBC660DFDBD5E2629BE9F1DEE3D1A3DACBCE07486BD35E53ABDD876C5BDAB7556BDBD631BBEF476073EF5D5933D7895B6BD1E2377BD936CA23D9C1086BD43EF3E3D595E473DA1E6E3BDE961353D5235313C70191E3E2AFE82BD32233ABD64F71B3E21D213BEFF40513C9C692E3E9853A2BD3E8A2D3E35A0203ED368283EFA2F8ABC91C1233E4CBF9DBDFDDA77BD51EF883D96F5183D4595C73DB3062C3EDBA1E2BDC124C03D2940723D0300BF3D32ABAB3D836D87BDD9110FBE97E2103E8572CEBD0E76E73D68722CBEC088FABCDD94F53A9E90FA3C4F1D6A3C4C29643D823EA1BC6954313D4722333E0342EABD11211EBCD1328ABDECD41E3EB3F51A3ED8F59DBB23FD7ABD02B1DFBDC886013E4C7347BC597C2A3EF674CE3D72721E3E262C0F3E9D44EBBD64F0533D601F96BD71A7B53D0A3482BCB5BB7A3C9E63FABD18C821BE7F55883DD743283DE0947B3C0BE5F53D972D97BD4C84803DA165C7BD5E07163D494E25BD9B8BFD3D5A4C1E3E37381D3EC949023CE07DD53D05DD34BEAB5ED4BDD068013D9338813A061D0EBE153EA0BD7717A9BDDB5833BE931C8A3CB2CCF63D31F0923D3904ACBD483926BED00A12BE9DE5563B1C0DF93DA09D92BD6400C5BDC221C1BDD2BA7ABCE6E72BBE51BD1FBE9831323E7DA9ACBDE49802BD97BA41BDCF061FBEBB4CFFBCF4A65D3D300293BD61E1F6BB26AC5DBAA43434BEBA8C033EF538123E07D7F63D2AC96DBD2730BD3DE09929BE892033BD154413BD29B57FBD680E983D3CF7A4BDC2D8A7BC6D1451BDFFFD29BE3026EFBCDB6819BE331BD33D0A7FC13DD593293EAE2573BD9D48133C0AD70D3D65B2343EBDEC253E8B5EBBBDA3071ABE8E2623BEDF57AEBDD932183E5D2E733D36A82E3EE02C063E65F5273BF661E0BDF7C3303E6035113EFABD9C3DBCC4C5BD719A0E3E1ECE833C6A64EF3D581A973DDD3EC03D12D71EBE5EBEC8BDF623D93DEED916BDB07B1DBE6D9E243E6A897ABB7F06123EDD7C0DBE9D4B793D5F5E88BDF75998BD490517BDD40186BDFD61C63DF59209BD8740093EE538253D13C3DFBC021DD1BD28C125BEC13A53BD2FA127BE792606BD4A5A3D3B36A63ABCEAD6B1BD2347FB3D94E4CB3D666532BD290B8FBD329CE33DC17D1D3E8FBF25BE8E711CBD536486BC7E1483BDB1891A3EB1E8D5BC1B7A193E6F17653A4B159DBC812DD3BD",
      torch_tensor_16_16_torch.float32_1: "0x040000007E6944BE5CA595BD08EDA73D1C4760BEB8560C3E9C42053ECAC51E3E4A3623BEECF97E3E38BF17BE3E937F3E46AE75BE9C1664BEF83B1D3EE00AD63CA04B6C3C1CC30DBE7CC5D6BDD0B395BD406279BE20DD543C801A353D00F05DB92057A53DE6E7723EF421883DD86DBBBD40B6D2BD4CCA23BECA7631BE40EA24BD401C35BD04C5E33D00D9DABD8A154C3E50A133BE00443A3A9E1F663E06907E3E884A14BE7067363D50EAF13C540DF0BDB4E4B0BD60AD8A3D740332BEA0F4283D188EDD3D90C3C9BDE6A4543EA0C786BC084DE83DB8847D3E90809CBDCC1C0B3E6C7292BD289415BDD8892DBD0093CBBADC6AC1BD2003703DC0561A3C9A46223E58434FBDB05FCD3C8475BEBD5E6356BE8C30CF3D6807033D340CCDBD181CADBD20E6853D102839BD324A273EA002683CB466C13D9413DF3D50417BBD4086DD3D32E93C3EC07D3C3CB863483DA0D4143CFE3E313EFC29D8BDF61408BE181BDF3DE8CC5EBE8056833BD876EBBDF6F7283E94586EBE9C381B3E7C467D3E40324F3D907388BC5AFE7B3EECCDDABD101DA4BC1435E0BDB05A0DBD188E5E3D50C4083D706841BD8EF57FBE60BB513CC0A9F2BB180C1A3DFA28443E9CD5783E5CE117BE60677FBC1825CDBDF8F06BBEDE473ABE8A45703E7E43153EBC82093E30450E3EFA624BBE5014D73C50436E3EB8DE0EBE74BC633EC492863D6E1B343EA055DBBD840AEC3DDCF062BEF00982BC38C7AA3DC48B993D0E39563E6A8F7B3ED6E5683E5CE02B3EE0FB333E602004BD02AB46BE7C11BEBDF0EAE5BCC6560ABE18DC023ED8B9B33D7039253DB05B773D40E2603E887CBA3D1A7F60BE52D339BEF0A9E13DC88C0B3DB8B2F93D1CAC7FBE2A416CBE68FC1C3ED2BF233E249B67BE0059C23D68E547BEECDE413E24A9A03D24217D3EF8697CBEF27176BE06152D3E6048633E98D81C3E4A322A3E189F57BEDA4B393EA0B371BE68C3643D5CB027BE345DCBBD8851353DE44EC9BD300522BD9EA472BE246071BE7454C63DF4B7D8BD6CBF1BBEB006CABD2C4C51BE7EA54CBEEE2E193E281C023E8066083DACD70BBEC857AA3D8003383CCCF436BEB85A5C3D6819693EA0CD7BBE7C907EBE3033033D12C6403EFCC51BBEA06B613DD8F6333EA4DB9D3DC89A5D3DF86A7F3EEAC6263E38FB0FBEA005B13C88C8023ED2C4613EECB37EBE18A00A3E60A694BD3EAE7ABE284D633DB25E0BBE001D113D0C3526BEBEA540BE60C6ADBC74FEABBDB2B9153E2093B03CB0D2473E90E63F3DB0A3A4BDBC652D3E80D35F3C4032403DB8ABA4BD00326B3A40E344BD901DAEBC2CA647BE0085C9BAC87D54BE404B5CBD245D143E7A0232BEA88E2CBE68097ABD4C5B8CBDB0592D3D00002A3D14D1013E7A5A30BEA08790BCB62D0F3EC66E5D3E706495BC742014BE4C2E933D44C9113E9CEF1FBE1C8E14BE984DE23D",
      torch_tensor_16_16_torch.float32: "0x04000000880E8EBD14DFBEBD40E5803D689AB53D1026FABD300AB53C745C143EF0C4CBBCA8D19B3DB8F976BDB074B33DE67139BE0E8916BE74F101BE4C446B3E64C589BD00F032BACC0FF8BDF08F7F3E0E077A3E601241BE10884FBED40B42BE00089EBAC48282BD4E9027BEE0A3B7BD1877413DF4C105BE88E6623DC8D16ABDB018F8BDC8AE0C3D847F523E88132DBE00323E3C20CFBCBDE4367B3E26E272BED26A75BE30427C3EF8F721BE2053443D40C1B0BC78B657BD48B564BD3CAC223EC0C6433CCE3E79BED82117BE7C8AAEBDCAD2003E8EAA25BE2E63713E281364BD18DF37BD4297483EE6AA003E6A1E593EEE14143E34519BBD54D929BEA06098BC0EE0533E5CD6ABBD1E686DBE24E2D13D6C35793E00C291BD5AF953BE103568BE904E803DF0129BBCD84601BEA8FB4E3DC06FC23D069A4B3EFCC0463EB04619BD7EBB61BED85367BE48066F3E1055E23D402FDF3D207F5DBE5E0F6D3E1485723EDA21673E30F557BE8830C1BD4A1130BE566C723E04FFDBBD84C1E9BD281F063EE8D8ECBDDC2BFCBD4024B3BC50DAC4BC226B47BE466B553EB4DAE1BD309DB53D24AA5E3EE21A013E50FA103DC4D1593E08A7093D54E1ECBD062D723E605C723D38C679BE18C391BDFE602EBEE272603E001C29BDB25969BE80BE80BC74C5203E9004853D8CE5A13D5034BE3C18E2BE3DE87F79BD78ACCBBD0E496FBEB0DA40BEF0E6DD3DBE9417BEE0E8123D106DA33DA001913C40FA25BEF0D1743E26DD14BE668F523E6EA64BBE585276BD8A410B3E7C31D1BD0E0D573E062B30BE44FB56BEE0DEE6BDB087253DA8B66B3EE46DF4BD0C1BB73DAC5C80BD28115EBDD83C3C3E7A6546BE6086D93CA8BE703EC8B50CBDA6C4463E84AC9DBD00124E3EF6A277BE289513BDA8DC33BD78EEA53D24DFC83DA68F443EC88F18BD606D22BCCA4F2F3E90888ABD106B603EAA722ABE209DDDBC00005CBCA075E43D66052F3ED04E22BD4E1754BE28B1FD3DCC27993D88ABCD3D0AEB1DBEAEC2243EC078723E30B5B13CCC1D6FBE9CB5333EC0CF3DBE98636B3D30CE143D7CA2EFBDB046B23D8AF964BEC839693D9C4A22BE3075DDBC48B7033D08195A3E1C49F4BDBA00243E281502BDBC29F3BDBAEC5EBE7CE26ABE28037A3E98627FBD20974C3C3CCF8A3DEE022E3E487D5A3ED29E4F3E84AA3DBEE00F24BD1E7C17BE1C4412BE68E6723D3C4B703E26154DBEAEEE1A3E3CBA04BEE87247BD92344B3E309967BD707BBA3CCCF332BEECEA593E505F04BD683C3BBE3CEB953D3C0536BE4C234BBE6086793CCCF74A3E48E390BD40FBF03D7AFC5B3E78CB293EA24906BE6080E0BC601EA1BD00DB4DBE00A0D838969F403E1AAF573E7014BF3CF092683DE8A7DDBD5A3D413E2C0CD5BDC4D431BE78B01D3D5271193EB4CE66BE6A6A673EAC2EB83D5C5B33BEC8935CBDB8195E3E",
      torch_tensor_32_16_torch.float32: "0x040000000054F5BA5E54093E16B352BE80663CBEF432C5BDEC4B893D404FA2BBCEFA4A3E70BFB5BC4C7B873DACBB9ABD704849BDB89174BE528B29BEE80ED3BD00BB173C6069CA3D189B193E8C8D2DBEFCF4DEBD98F7B93D4E94543E48BD52BD5C913F3E400D25BD10B5D83C4ACD673ECE7B6DBE662921BEE09E81BDDC93C7BD282F5D3E1AEF25BEC0B0EBBD1ADA32BE76C26FBE047015BE9E0E5C3EBC76E43D0027F83D406A573C3A3F03BEC03E2D3D9E066FBE1AFA38BEC6F903BE2685213E2619163EC811E3BD20CB13BC40BA233E827F7E3E2434CB3DC8550A3DFEA42B3EC0BB16BEF8D03E3D6C7A46BE186E31BED23E04BE8CAAE73DF8E7CD3D6AA417BEC8AD9A3D6E890C3E203F01BD40641C3C00446D3D00D11E3E48CF753E964745BEECA1BBBD9838C93DD01B543EE8C55E3E22E2613E78CA4B3DF89C5EBE9066BC3CAC2720BE8C946EBE3E74633EF0A6423EFE5D7FBE08AA3F3DC8802CBDB88228BD1C5FEABD8CE4C43D34A117BEDCB1BB3D1676013E5C43373E4871BF3D4A5F7DBE001126BE38A6FF3D1853563D96B347BEE86813BEF2D4703E547F2C3EB03EDFBDD4DC80BD78DD73BE803E93BB78C840BEA27745BE20B061BCA0BF193DF4ADD1BD98E7173E38C91BBE6849683ED06F2F3E64E157BE88DB7EBD80D2383C1867153DD0DD723D5CECC83DE059753CCCD1F9BDD445F23D569175BEA0BB17BE3C2B80BDEC66F9BD5C1DB3BDBAD251BE00D259BDF8E25A3D76C626BE403452BC0042373EF088D2BC80ACE33BC0ADB0BC103D4F3D60C6223EBA7E723E0693223EC40C733E601D94BC66F865BE40BAF2BDCE4F2E3E006BD4BADC7CFEBD022D44BE00946FBEEC1058BE70B44FBD56640C3E74670A3E02E576BE2EB01F3E8A5248BEF07B58BD1C9ACFBDF03C45BD100E49BDBAB865BE440A5DBE283C20BD80E1533BB896E8BDB8DEC03D3A6A66BEC0368ABCA221613E38D7D0BD362B673E386CB93DAE0767BE74F8213EF053ECBC708FE4BD14B64C3E54DF4EBEB0C2DB3CC06456BD16D0363E08EC8E3DCC04F63D40D1B43D003F76BD505A57BD00F752BE4CB60A3E26424B3E5C292F3EAC9334BE60AE363C907634BE88EC0CBE302C15BE34F9AE3DC48D18BE00BAB2BBA04F2C3C0406253EFA8341BE44BF2FBE3CA614BED62E333ECC0BB8BDE0EE573EA024B93D40AA013D00EDF3BA086D4ABD407A003D30D369BD003EE6BAC0A7023D983E48BE7A2D06BED8B74E3E86C14FBE200F93BCC03E7D3E10F4B83DC0F0E73B26DA5DBE2CA2FD3D085836BEA85691BDCCC8ABBD38A417BD8036333B9626533E80ABFF3C204C653E30991C3EC6D821BE54A2E53D24F734BE9CFFD8BD4097963DF00EA93DF20E403E28D2A4BD00D4D1397ACB033E5A9377BE4215393E30B153BE00D0613BE0182EBD0AD406BED857073DF2B0533EE8AA95BD56FC17BE845BBDBDE6BB7DBE1C1DE73D20E5F5BDD0D62ABE627B13BE5230133E2492073E507C443ED8B6B93DC4FCAABDD4138FBD9842973DDE70523E74358B3D1C40F2BDFCADF0BD420A72BEB03B5D3DA8A90FBE503E64BEFA7A603ED03F26BED0FBE8BC48AF923DE07D023CFA412CBE2CEE4EBE980D4C3E30BF263D4662543EA8A4ABBDF8CF963D182A6ABD602736BC52EA1BBEAC28AD3D80E0A13D40FDA8BBC04C66BD58CE1DBE1409313E94923EBEACBFD13D6C29ACBD0C06F7BDE0F4373D22FB04BE40EF6B3D1018493DCA133EBE987E2A3D6413DA3D5CAACA3D58E600BD9ADD51BE90DA1DBD50D2B13D2CD1BABD7458C23D867C2A3EBAAB05BE8093213B24B6D33D9084A03C9012AB3C70B9FF3CFA4049BEE0F2A03CB445313E64AF663ED876163E1838093D7C1CEF3DDC13F9BDEC2454BECA235CBE5A637F3E8E81223EB2F430BEF450C83DAA52413EC2E67F3E58D85F3E4456463EF0C26ABDA0AEB3BD4230523E0A750F3E300E1ABEFE25663E9060F73D008E0B3E6A7420BE88E4923DEC7CB3BDFC06483E584238BDF853C73D80E2353DF8D6D93DE0FDADBDF4A2F93DFECE32BE8846673D20352DBEBA8D7CBE10954DBEB61A4A3E50810A3EE82E703E48164D3EA09E64BECEB32EBEE87525BD324126BEF8C3313EBA8941BE38CEF9BDC45177BEC65711BEE28D523E429A513E2441373E22AA453EBAA1633EB01A83BDF447E13D0414643E1461A93DCAEA7F3E18C7043E58241F3E2C32B3BDF4ABF53D2054EB3C888C74BD4A4F10BE56A50FBEB2FC44BE4EDC2B3E96FF353EA016E9BCC42414BE22DD453E8CB5233E703C983CB8BBF1BDB8466B3EAC60D13D5A5742BE6203753E5266423E8C9EBABD5CE90F3ED67411BEB87920BDB25E593E403E293C400C35BE9420ABBDDCFA8ABD208F45BDB0FEC33CA2C16C3E204D5B3C8C101EBE00F0513C587FF53DFCF8FD3DE0F769BEB03C37BDB83E3EBE8876DABD6078B83D18CB35BEFC52BE3D8649593E3053863CF09E2ABE2071B7BDD89A5F3D462743BEEC5DFE3D246A68BE521776BEC0BE78BE68BB4FBD90242C3E724C72BEAEC8543ECCCFCCBDE8F4953D20CA3A3C10D766BEE84E543E6ED7093E80767E3E9655013E48FA28BE48A7553E20235C3C80CCF23DAC444DBEC84393BD545C7BBE906BC7BDA0E85C3D5C0049BE1035A33D2C6C093E18A70E3D0C492BBE5A7B46BEE4F59DBD20BFE03D7A847C3E1A35133EB09FE6BC0084B33DF0267BBE62A65ABE3CE7EE3D960011BE2C52F63DF8B734BE6499FDBD48DD52BE5A97053E60AED0BC9404453E686E1E3EDCA70D3E20B6033C944C9EBD68A65EBD1817083DA4CDFD3DDC5933BEEADA563EE0ADDEBC9A8356BEC4820ABE6A83623E741E6A3EAA206DBE6E8E343EF84B003EF887173E24B6583EA6F809BE5CADA13D0487D13DE84A97BDA857AB3D2C4F93BD60461E3E",
      torch_tensor_4_torch.float32: "0x040000000000803FCDCCCC3D0AD7233C6F12833A"
    }
  }
#-}
