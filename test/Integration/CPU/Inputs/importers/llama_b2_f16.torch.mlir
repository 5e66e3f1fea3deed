#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1) -> (d1)>
#map2 = affine_map<(d0, d1) -> (d0, d1)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map5 = affine_map<(d0, d1, d2) -> (d2)>
#map6 = affine_map<(d0, d1) -> (0, d1)>
#map7 = affine_map<(d0, d1) -> (d0, 0)>
#map8 = affine_map<(d0, d1) -> ()>
#map9 = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
#map10 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map11 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map12 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#map13 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#map14 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map15 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map16 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module @module {
  func.func @main(%arg0: tensor<2x7x16xf16>) -> tensor<2x7x16xf16> {
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant dense<-6.550400e+04> : tensor<f16>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f16>
    %cst_3 = arith.constant dense_resource<torch_tensor_16_32_torch.float16> : tensor<16x32xf16>
    %cst_4 = arith.constant 0.35355339059327379 : f64
    %cst_5 = arith.constant dense_resource<torch_tensor_16_16_torch.float16_1> : tensor<16x16xf16>
    %cst_6 = arith.constant dense_resource<torch_tensor_16_16_torch.float16> : tensor<16x16xf16>
    %cst_7 = arith.constant dense_resource<torch_tensor_32_16_torch.float16> : tensor<32x16xf16>
    %cst_8 = arith.constant dense_resource<torch_tensor_4_torch.float16> : tensor<4xf16>
    %0 = tensor.empty() : tensor<7xi64>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<7xi64>) {
    ^bb0(%out: i64):
      %90 = linalg.index 0 : index
      %91 = arith.index_cast %90 : index to i64
      linalg.yield %91 : i64
    } -> tensor<7xi64>
    %2 = tensor.empty() : tensor<2x7xi64>
    %3 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<7xi64>) outs(%2 : tensor<2x7xi64>) {
    ^bb0(%in: i64, %out: i64):
      linalg.yield %in : i64
    } -> tensor<2x7xi64>
    %expanded = tensor.expand_shape %3 [[0], [1, 2]] output_shape [2, 7, 1] : tensor<2x7xi64> into tensor<2x7x1xi64>
    %4 = tensor.empty() : tensor<2x7x1xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<2x7x1xi64>) outs(%4 : tensor<2x7x1xf32>) {
    ^bb0(%in: i64, %out: f32):
      %90 = arith.sitofp %in : i64 to f32
      linalg.yield %90 : f32
    } -> tensor<2x7x1xf32>
    %6 = tensor.empty() : tensor<4xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%cst_8 : tensor<4xf16>) outs(%6 : tensor<4xf32>) {
    ^bb0(%in: f16, %out: f32):
      %90 = arith.extf %in : f16 to f32
      linalg.yield %90 : f32
    } -> tensor<4xf32>
    %8 = tensor.empty() : tensor<2x7x4xf32>
    %9 = linalg.generic {indexing_maps = [#map4, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5, %7 : tensor<2x7x1xf32>, tensor<4xf32>) outs(%8 : tensor<2x7x4xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %90 = arith.mulf %in, %in_38 : f32
      linalg.yield %90 : f32
    } -> tensor<2x7x4xf32>
    %concat = tensor.concat dim(2) %9, %9 : (tensor<2x7x4xf32>, tensor<2x7x4xf32>) -> tensor<2x7x8xf32>
    %10 = tensor.empty() : tensor<2x7x8xf32>
    %11 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat : tensor<2x7x8xf32>) outs(%10 : tensor<2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %90 = math.cos %in : f32
      linalg.yield %90 : f32
    } -> tensor<2x7x8xf32>
    %12 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat : tensor<2x7x8xf32>) outs(%10 : tensor<2x7x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %90 = math.sin %in : f32
      linalg.yield %90 : f32
    } -> tensor<2x7x8xf32>
    %13 = tensor.empty() : tensor<2x7x8xf16>
    %14 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%11 : tensor<2x7x8xf32>) outs(%13 : tensor<2x7x8xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x8xf16>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%12 : tensor<2x7x8xf32>) outs(%13 : tensor<2x7x8xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x8xf16>
    %expanded_9 = tensor.expand_shape %1 [[0, 1]] output_shape [7, 1] : tensor<7xi64> into tensor<7x1xi64>
    %expanded_10 = tensor.expand_shape %1 [[0, 1]] output_shape [1, 7] : tensor<7xi64> into tensor<1x7xi64>
    %16 = tensor.empty() : tensor<7x7xi1>
    %17 = linalg.generic {indexing_maps = [#map6, #map7, #map2], iterator_types = ["parallel", "parallel"]} ins(%expanded_10, %expanded_9 : tensor<1x7xi64>, tensor<7x1xi64>) outs(%16 : tensor<7x7xi1>) {
    ^bb0(%in: i64, %in_38: i64, %out: i1):
      %90 = arith.cmpi sle, %in, %in_38 : i64
      linalg.yield %90 : i1
    } -> tensor<7x7xi1>
    %18 = tensor.empty() : tensor<7x7xf16>
    %19 = linalg.generic {indexing_maps = [#map2, #map8, #map8, #map2], iterator_types = ["parallel", "parallel"]} ins(%17, %cst_2, %cst_1 : tensor<7x7xi1>, tensor<f16>, tensor<f16>) outs(%18 : tensor<7x7xf16>) {
    ^bb0(%in: i1, %in_38: f16, %in_39: f16, %out: f16):
      %90 = arith.select %in, %in_38, %in_39 : f16
      linalg.yield %90 : f16
    } -> tensor<7x7xf16>
    %20 = tensor.empty() : tensor<2x1x7x7xf16>
    %expanded_11 = tensor.expand_shape %19 [[0, 1], [2]] output_shape [1, 7, 7] : tensor<7x7xf16> into tensor<1x7x7xf16>
    %21 = linalg.generic {indexing_maps = [#map9, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_11 : tensor<1x7x7xf16>) outs(%20 : tensor<2x1x7x7xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x1x7x7xf16>
    %22 = tensor.empty() : tensor<16x32xf16>
    %transposed = linalg.transpose ins(%cst_7 : tensor<32x16xf16>) outs(%22 : tensor<16x32xf16>) permutation = [1, 0] 
    %23 = tensor.empty() : tensor<2x16x32xf16>
    %24 = linalg.generic {indexing_maps = [#map11, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed : tensor<16x32xf16>) outs(%23 : tensor<2x16x32xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x16x32xf16>
    %25 = tensor.empty() : tensor<2x7x32xf32>
    %26 = linalg.fill ins(%cst : f32) outs(%25 : tensor<2x7x32xf32>) -> tensor<2x7x32xf32>
    %27 = linalg.batch_matmul ins(%arg0, %24 : tensor<2x7x16xf16>, tensor<2x16x32xf16>) outs(%26 : tensor<2x7x32xf32>) -> tensor<2x7x32xf32>
    %28 = tensor.empty() : tensor<2x7x32xf16>
    %29 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%27 : tensor<2x7x32xf32>) outs(%28 : tensor<2x7x32xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x32xf16>
    %expanded_12 = tensor.expand_shape %29 [[0], [1], [2, 3]] output_shape [2, 7, 4, 8] : tensor<2x7x32xf16> into tensor<2x7x4x8xf16>
    %30 = tensor.empty() : tensor<2x4x7x8xf16>
    %transposed_13 = linalg.transpose ins(%expanded_12 : tensor<2x7x4x8xf16>) outs(%30 : tensor<2x4x7x8xf16>) permutation = [0, 2, 1, 3] 
    %31 = tensor.empty() : tensor<16x16xf16>
    %transposed_14 = linalg.transpose ins(%cst_6 : tensor<16x16xf16>) outs(%31 : tensor<16x16xf16>) permutation = [1, 0] 
    %32 = tensor.empty() : tensor<2x16x16xf16>
    %33 = linalg.generic {indexing_maps = [#map11, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_14 : tensor<16x16xf16>) outs(%32 : tensor<2x16x16xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x16x16xf16>
    %34 = tensor.empty() : tensor<2x7x16xf32>
    %35 = linalg.fill ins(%cst : f32) outs(%34 : tensor<2x7x16xf32>) -> tensor<2x7x16xf32>
    %36 = linalg.batch_matmul ins(%arg0, %33 : tensor<2x7x16xf16>, tensor<2x16x16xf16>) outs(%35 : tensor<2x7x16xf32>) -> tensor<2x7x16xf32>
    %37 = tensor.empty() : tensor<2x7x16xf16>
    %38 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%36 : tensor<2x7x16xf32>) outs(%37 : tensor<2x7x16xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x16xf16>
    %expanded_15 = tensor.expand_shape %38 [[0], [1], [2, 3]] output_shape [2, 7, 2, 8] : tensor<2x7x16xf16> into tensor<2x7x2x8xf16>
    %39 = tensor.empty() : tensor<2x2x7x8xf16>
    %transposed_16 = linalg.transpose ins(%expanded_15 : tensor<2x7x2x8xf16>) outs(%39 : tensor<2x2x7x8xf16>) permutation = [0, 2, 1, 3] 
    %transposed_17 = linalg.transpose ins(%cst_5 : tensor<16x16xf16>) outs(%31 : tensor<16x16xf16>) permutation = [1, 0] 
    %40 = linalg.generic {indexing_maps = [#map11, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_17 : tensor<16x16xf16>) outs(%32 : tensor<2x16x16xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x16x16xf16>
    %41 = linalg.batch_matmul ins(%arg0, %40 : tensor<2x7x16xf16>, tensor<2x16x16xf16>) outs(%35 : tensor<2x7x16xf32>) -> tensor<2x7x16xf32>
    %42 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%41 : tensor<2x7x16xf32>) outs(%37 : tensor<2x7x16xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x16xf16>
    %expanded_18 = tensor.expand_shape %42 [[0], [1], [2, 3]] output_shape [2, 7, 2, 8] : tensor<2x7x16xf16> into tensor<2x7x2x8xf16>
    %transposed_19 = linalg.transpose ins(%expanded_18 : tensor<2x7x2x8xf16>) outs(%39 : tensor<2x2x7x8xf16>) permutation = [0, 2, 1, 3] 
    %expanded_20 = tensor.expand_shape %14 [[0], [1, 2], [3]] output_shape [2, 1, 7, 8] : tensor<2x7x8xf16> into tensor<2x1x7x8xf16>
    %expanded_21 = tensor.expand_shape %15 [[0], [1, 2], [3]] output_shape [2, 1, 7, 8] : tensor<2x7x8xf16> into tensor<2x1x7x8xf16>
    %43 = linalg.generic {indexing_maps = [#map10, #map12, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed_13, %expanded_20 : tensor<2x4x7x8xf16>, tensor<2x1x7x8xf16>) outs(%30 : tensor<2x4x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.mulf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x8xf16>
    %extracted_slice = tensor.extract_slice %transposed_13[0, 0, 0, 0] [2, 4, 7, 4] [1, 1, 1, 1] : tensor<2x4x7x8xf16> to tensor<2x4x7x4xf16>
    %extracted_slice_22 = tensor.extract_slice %transposed_13[0, 0, 0, 4] [2, 4, 7, 4] [1, 1, 1, 1] : tensor<2x4x7x8xf16> to tensor<2x4x7x4xf16>
    %44 = tensor.empty() : tensor<2x4x7x4xf16>
    %45 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%extracted_slice_22 : tensor<2x4x7x4xf16>) outs(%44 : tensor<2x4x7x4xf16>) {
    ^bb0(%in: f16, %out: f16):
      %90 = arith.negf %in : f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x4xf16>
    %concat_23 = tensor.concat dim(3) %45, %extracted_slice : (tensor<2x4x7x4xf16>, tensor<2x4x7x4xf16>) -> tensor<2x4x7x8xf16>
    %46 = linalg.generic {indexing_maps = [#map10, #map12, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%concat_23, %expanded_21 : tensor<2x4x7x8xf16>, tensor<2x1x7x8xf16>) outs(%30 : tensor<2x4x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.mulf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x8xf16>
    %47 = linalg.generic {indexing_maps = [#map10, #map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%43, %46 : tensor<2x4x7x8xf16>, tensor<2x4x7x8xf16>) outs(%30 : tensor<2x4x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.addf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x8xf16>
    %48 = linalg.generic {indexing_maps = [#map10, #map12, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%transposed_16, %expanded_20 : tensor<2x2x7x8xf16>, tensor<2x1x7x8xf16>) outs(%39 : tensor<2x2x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.mulf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x2x7x8xf16>
    %extracted_slice_24 = tensor.extract_slice %transposed_16[0, 0, 0, 0] [2, 2, 7, 4] [1, 1, 1, 1] : tensor<2x2x7x8xf16> to tensor<2x2x7x4xf16>
    %extracted_slice_25 = tensor.extract_slice %transposed_16[0, 0, 0, 4] [2, 2, 7, 4] [1, 1, 1, 1] : tensor<2x2x7x8xf16> to tensor<2x2x7x4xf16>
    %49 = tensor.empty() : tensor<2x2x7x4xf16>
    %50 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%extracted_slice_25 : tensor<2x2x7x4xf16>) outs(%49 : tensor<2x2x7x4xf16>) {
    ^bb0(%in: f16, %out: f16):
      %90 = arith.negf %in : f16
      linalg.yield %90 : f16
    } -> tensor<2x2x7x4xf16>
    %concat_26 = tensor.concat dim(3) %50, %extracted_slice_24 : (tensor<2x2x7x4xf16>, tensor<2x2x7x4xf16>) -> tensor<2x2x7x8xf16>
    %51 = linalg.generic {indexing_maps = [#map10, #map12, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%concat_26, %expanded_21 : tensor<2x2x7x8xf16>, tensor<2x1x7x8xf16>) outs(%39 : tensor<2x2x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.mulf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x2x7x8xf16>
    %52 = linalg.generic {indexing_maps = [#map10, #map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%48, %51 : tensor<2x2x7x8xf16>, tensor<2x2x7x8xf16>) outs(%39 : tensor<2x2x7x8xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.addf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x2x7x8xf16>
    %53 = tensor.empty() : tensor<2x2x2x7x8xf16>
    %54 = linalg.generic {indexing_maps = [#map13, #map14], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%52 : tensor<2x2x7x8xf16>) outs(%53 : tensor<2x2x2x7x8xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x2x2x7x8xf16>
    %collapsed = tensor.collapse_shape %54 [[0], [1, 2], [3], [4]] : tensor<2x2x2x7x8xf16> into tensor<2x4x7x8xf16>
    %55 = linalg.generic {indexing_maps = [#map13, #map14], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%transposed_19 : tensor<2x2x7x8xf16>) outs(%53 : tensor<2x2x2x7x8xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x2x2x7x8xf16>
    %56 = tensor.empty() : tensor<2x4x8x7xf16>
    %transposed_27 = linalg.transpose ins(%collapsed : tensor<2x4x7x8xf16>) outs(%56 : tensor<2x4x8x7xf16>) permutation = [0, 1, 3, 2] 
    %collapsed_28 = tensor.collapse_shape %47 [[0, 1], [2], [3]] : tensor<2x4x7x8xf16> into tensor<8x7x8xf16>
    %collapsed_29 = tensor.collapse_shape %transposed_27 [[0, 1], [2], [3]] : tensor<2x4x8x7xf16> into tensor<8x8x7xf16>
    %57 = tensor.empty() : tensor<8x7x7xf32>
    %58 = linalg.fill ins(%cst : f32) outs(%57 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
    %59 = linalg.batch_matmul ins(%collapsed_28, %collapsed_29 : tensor<8x7x8xf16>, tensor<8x8x7xf16>) outs(%58 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
    %60 = tensor.empty() : tensor<8x7x7xf16>
    %61 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%59 : tensor<8x7x7xf32>) outs(%60 : tensor<8x7x7xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<8x7x7xf16>
    %expanded_30 = tensor.expand_shape %61 [[0, 1], [2], [3]] output_shape [2, 4, 7, 7] : tensor<8x7x7xf16> into tensor<2x4x7x7xf16>
    %62 = tensor.empty() : tensor<2x4x7x7xf16>
    %63 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_30 : tensor<2x4x7x7xf16>) outs(%62 : tensor<2x4x7x7xf16>) {
    ^bb0(%in: f16, %out: f16):
      %90 = arith.truncf %cst_4 : f64 to f16
      %91 = arith.mulf %in, %90 : f16
      linalg.yield %91 : f16
    } -> tensor<2x4x7x7xf16>
    %64 = linalg.generic {indexing_maps = [#map10, #map12, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%63, %21 : tensor<2x4x7x7xf16>, tensor<2x1x7x7xf16>) outs(%62 : tensor<2x4x7x7xf16>) {
    ^bb0(%in: f16, %in_38: f16, %out: f16):
      %90 = arith.addf %in, %in_38 : f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x7xf16>
    %65 = tensor.empty() : tensor<2x4x7x7xf32>
    %66 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%64 : tensor<2x4x7x7xf16>) outs(%65 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f16, %out: f32):
      %90 = arith.extf %in : f16 to f32
      linalg.yield %90 : f32
    } -> tensor<2x4x7x7xf32>
    %67 = tensor.empty() : tensor<2x4x7xi64>
    %68 = linalg.fill ins(%c0_i64 : i64) outs(%67 : tensor<2x4x7xi64>) -> tensor<2x4x7xi64>
    %69 = tensor.empty() : tensor<2x4x7xf32>
    %70 = linalg.fill ins(%cst_0 : f32) outs(%69 : tensor<2x4x7xf32>) -> tensor<2x4x7xf32>
    %71:2 = linalg.generic {indexing_maps = [#map10, #map15, #map15], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%66 : tensor<2x4x7x7xf32>) outs(%70, %68 : tensor<2x4x7xf32>, tensor<2x4x7xi64>) {
    ^bb0(%in: f32, %out: f32, %out_38: i64):
      %90 = linalg.index 3 : index
      %91 = arith.index_cast %90 : index to i64
      %92 = arith.maximumf %in, %out : f32
      %93 = arith.cmpf ogt, %in, %out : f32
      %94 = arith.select %93, %91, %out_38 : i64
      linalg.yield %92, %94 : f32, i64
    } -> (tensor<2x4x7xf32>, tensor<2x4x7xi64>)
    %expanded_31 = tensor.expand_shape %71#0 [[0], [1], [2, 3]] output_shape [2, 4, 7, 1] : tensor<2x4x7xf32> into tensor<2x4x7x1xf32>
    %72 = linalg.generic {indexing_maps = [#map10, #map16, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%66, %expanded_31 : tensor<2x4x7x7xf32>, tensor<2x4x7x1xf32>) outs(%65 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %90 = arith.subf %in, %in_38 : f32
      linalg.yield %90 : f32
    } -> tensor<2x4x7x7xf32>
    %73 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%72 : tensor<2x4x7x7xf32>) outs(%65 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %out: f32):
      %90 = math.exp %in : f32
      linalg.yield %90 : f32
    } -> tensor<2x4x7x7xf32>
    %74 = tensor.empty() : tensor<2x4x7x1xf32>
    %75 = linalg.fill ins(%cst : f32) outs(%74 : tensor<2x4x7x1xf32>) -> tensor<2x4x7x1xf32>
    %76 = linalg.generic {indexing_maps = [#map10, #map16], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%73 : tensor<2x4x7x7xf32>) outs(%75 : tensor<2x4x7x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %90 = arith.addf %in, %out : f32
      linalg.yield %90 : f32
    } -> tensor<2x4x7x1xf32>
    %77 = linalg.generic {indexing_maps = [#map10, #map16, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%73, %76 : tensor<2x4x7x7xf32>, tensor<2x4x7x1xf32>) outs(%65 : tensor<2x4x7x7xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %90 = arith.divf %in, %in_38 : f32
      linalg.yield %90 : f32
    } -> tensor<2x4x7x7xf32>
    %78 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%77 : tensor<2x4x7x7xf32>) outs(%62 : tensor<2x4x7x7xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x4x7x7xf16>
    %collapsed_32 = tensor.collapse_shape %78 [[0, 1], [2], [3]] : tensor<2x4x7x7xf16> into tensor<8x7x7xf16>
    %collapsed_33 = tensor.collapse_shape %55 [[0, 1, 2], [3], [4]] : tensor<2x2x2x7x8xf16> into tensor<8x7x8xf16>
    %79 = tensor.empty() : tensor<8x7x8xf32>
    %80 = linalg.fill ins(%cst : f32) outs(%79 : tensor<8x7x8xf32>) -> tensor<8x7x8xf32>
    %81 = linalg.batch_matmul ins(%collapsed_32, %collapsed_33 : tensor<8x7x7xf16>, tensor<8x7x8xf16>) outs(%80 : tensor<8x7x8xf32>) -> tensor<8x7x8xf32>
    %82 = tensor.empty() : tensor<8x7x8xf16>
    %83 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%81 : tensor<8x7x8xf32>) outs(%82 : tensor<8x7x8xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<8x7x8xf16>
    %expanded_34 = tensor.expand_shape %83 [[0, 1], [2], [3]] output_shape [2, 4, 7, 8] : tensor<8x7x8xf16> into tensor<2x4x7x8xf16>
    %84 = tensor.empty() : tensor<2x7x4x8xf16>
    %transposed_35 = linalg.transpose ins(%expanded_34 : tensor<2x4x7x8xf16>) outs(%84 : tensor<2x7x4x8xf16>) permutation = [0, 2, 1, 3] 
    %collapsed_36 = tensor.collapse_shape %transposed_35 [[0], [1], [2, 3]] : tensor<2x7x4x8xf16> into tensor<2x7x32xf16>
    %85 = tensor.empty() : tensor<32x16xf16>
    %transposed_37 = linalg.transpose ins(%cst_3 : tensor<16x32xf16>) outs(%85 : tensor<32x16xf16>) permutation = [1, 0] 
    %86 = tensor.empty() : tensor<2x32x16xf16>
    %87 = linalg.generic {indexing_maps = [#map11, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%transposed_37 : tensor<32x16xf16>) outs(%86 : tensor<2x32x16xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<2x32x16xf16>
    %88 = linalg.batch_matmul ins(%collapsed_36, %87 : tensor<2x7x32xf16>, tensor<2x32x16xf16>) outs(%35 : tensor<2x7x16xf32>) -> tensor<2x7x16xf32>
    %89 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%88 : tensor<2x7x16xf32>) outs(%37 : tensor<2x7x16xf16>) {
    ^bb0(%in: f32, %out: f16):
      %90 = arith.truncf %in : f32 to f16
      linalg.yield %90 : f16
    } -> tensor<2x7x16xf16>
    return %89 : tensor<2x7x16xf16>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_16_32_torch.float16: "0x0200000057A258B186AE972CADABCF2F7930952628A32FAB94A01E2852B068A9B5B0F22E34AF2B31D5A97BAE702DBF26D62FB92C73B1282F43A800AD2F2F2030F9B018A4A530622CC430C1AB3EAEDD30B72C6E31BAAC44AF4EA554B16F2C2C306F2979A49C2D2EAF8931A0B16BB159A99F308824582C26B0202C0FA5892CFD2FEB2CB3A393A119AF18AC5A2F89AC072F7CAC45A9B41B31B13B9790A411A486A876302D30ABAF412D70B0D1B0EB2A521947AD75B161AC8F2B3CB17FB1BE2513B0F5B05CAC49A724B18EAFEF2156B15CA64EAFD8AF722C5BB049B0742E3B2827310CAA77AD30A454135030A2B172A2012D3BAEC0AD782D6CB15D2961B0A02DD6B0F52E5BB1C1B056197530D8B00CADF83097A7B02C71B11EABBFADC530B22C21B04C272998A6AC76AE82AB75300EB008B0FBAA4C1A292A6F1D72A9DCAE0FA88EAC923082B137AF9AB023A86930F530EDB0D89FA42EFD2CA230059D9AAF7C2FC2ABDC2D94A9CF2C1731433126B17CAFAEAC37AF6E31FEA381AF09AD40AE9E2CEFB046B194B1DF2C982D07AF9C292D309326CAA8B022DAA4B22DAFAFBD2D602EDBAE9F308E3176AC56AAA32D6FB0792C4729222FEAB0B3B0152D132C44B14FAE2DB10DB01BADAE3081A87F2E5F31282D10B1B12D512C623095B1F52EA13043B1BC24D4301DB06D2B002DEE29A031A230DA30A4A5BF3046B11BAED7A8B9AA3A31562D492FB22F3AB03EA59C26E329D12D80ACD3AABC3013AADCAFAC2FA92F18AB86A82DB0B9B0412CD5AC813088B041A6D11BD12D9430A92FFB2C31AD0AB010B17D207D314CA89F9F1CB0F22A2C2F94B1F7AF31305B29A5A10B28E1A6E8AF49B1712F62A534ACD7A92CAEB4AADBB03C309F2CB5ADB9AB132D31ACF7293B2A1FAFAB298A21F13018ACD1A9E0309FB08A22733113AD6C310531433151A41E31EEACBFAB472CC8283D2E603115AF012E922BF82D5D2D3BAC79B0873074AE3C2F64B1D4A7AD17D5275123212B0AA58B29993152AFF1A052ACF730D830F09CD8ABFEAE0C303CA25431742EF43079305AAFA02AB1ACAD2D12A4D623D3AF0EB1432C4229DD23AF2FB9AC042C3BAEB0282AA9EC2FF230EA301220AC2EA7B1A3AE0B280A1471B002AD49AD9BB15124B62F982C60AD32B190B0B71AC82F95AC28AE09AED6A35FB1FEB0923165AD15A80EAAF8B0FAA7ED2A98ACB79FED92A2B11C309230B72F6EABEA2D4DB199A99AA8FEABC02C28AD3FA589AA50B179A7CBB0992E0C2E4D3199AB9A206F28A6312F31DBADD0B019B173ADC230992B75313130401903AF86318A30E62C2EAE75301E247B2FB92C022EF7B046AEC92EB7A8ECB02531D49B90306CB0CA2B43ACC3ACB8A830AC332E4DA84A302A29FEA689AE2EB19AAA3DB131A8EB19D5A18FADDA2F5F2E93A978AC1D2FEC302EB1E4A833A419ACD430AFA6CC302913E9A499AE",
      torch_tensor_16_16_torch.float16_1: "0x0200000023B2ADAC3F2D02B363302A30F6301AB1F833BEB0FD33ADB321B3EA30B02662236EB0B6AEAEACCBB3A722A929F08A2B2D9733412CDBAD96AE1EB18CB127A9A9A91E2FD7AE61329DB1D2113133F533A2B0B3298F2780AF87AD552C90B14829EC2E4EAEA53236A4422FEC33E4AC593094ACADA86CA95D960BAE802BD32012317AAA6B26F4ADB3B27A2E182868AE69AD2F2CC9A93A3140230B2EF92EDAABEC2EE731E421432AA7208A31C1AE41B0F92EF6B21B1C5CAF483173B3DA30EA337A2A44A4E033D6AE21A502AF6BA8F42A46280BAA00B48E22959FD0282132C733BFB0FBA369AE60B3D2B18233AA304C3072305BB2B926723377B01E33352CA131DBAE602F18B310A4562DCC2CB232DC3347335F31A03121A835B2F1AD2FA753B017309E2D2A29BB2B0733D42D04B3CFB10D2F5C28CE2FFDB362B3E8301E313DB3132E3FB20F32052DE933E3B3B4B369311A33E7305231BDB2CA318EB3262B3EB15BAEAB294AAE10A995B38BB3332EC6AEDEB050AE8AB265B2C930113043285FB0532DC021B8B1E32A4933DEB3F5B31A280632DEB00B2BA031EF2CED2AFB33363180B0882516300E33F6B35530A5ACD5B31A2B5BB0892832B105B26EA560ADAE3085253F32FF2925AD6B31FF22022A25AD5A1327AA71A53DB24C96A4B2E2AAA33090B164B1D0AB63AC6B2950290F3083B184A47930EB32ABA4A1B0992C8E30FFB0A4B0122F",
      torch_tensor_16_16_torch.float16: "0x0200000070ACF7AD072CAD2DD1AFA825A3305EA6DF2CB8AB9C2DCCB1B4B010B05A334EAC9891C0AFFC33D03309B27CB210B2F09414AC3DB1BDAD0C2A2EB0172B57ABC1AF6528943269B1F221E6ADDA3397B3ABB3E23310B1232A86A5BEAA26AB15311E22CAB3B9B074AD07302DB18B3321ABBFA945320530C932A130DBAC4FB1C3A49F325FAD6BB38F2ECA338EACA0B242B3022CD9A40AB0782A132E5D323632CAA80EB33BB37833132FF92EECB2683394333933C0B20AAE81B19333E0AE4EAF313067AFE1AF99A527A63BB2AB320FAFAD2DF53209308828CF324D2867AF9133932BCEB38EAC73B1043349A94BB306A40631282C0F2DF225F72DCCAB5DAE7AB307B2EF2EBDB097281B2D882430B1A733A7B094325DB2B3AB5A308AAEB83281B1B8B237AF2C295E33A3AFB92D03ACF1AAE23133B2CC26863366A83632EDAC7132BDB39DA89FA92F2D472E2432C4A813A17A3154AC033354B1EDA6E0A2242F783112A9A1B2EE2FC92C6D2EEFB0263194338E2579B39E31EEB15B2BA6287DAF922D28B34A2B12B1ECA61E28D132A2AF203111A899AFF7B257B3D033FBAB6522562C7031D4327D32EDB120A9BCB092B0972B823369B2D73026B03CAA5A323DABD42598B1CF3223A8DAB1AF2CB0B159B2CC23583287AC882FE0324E3132B004A709AD6FB2C5060532BD32F925452BEDAE0A32A8AE8FB1EE28CC3036B33B33C12D9BB1E5AAF132",
      torch_tensor_32_16_torch.float16: "0x02000000AB974B3096B2E3B12AAE4A2C129D5832AEA53C2CD6AC4AAAA5B34CB198AEBE20532ECD306CB1F8AED02DA53296AAFD3128A9C6263E336CB309B10DAC3DAEE9322FB15EAF97B17EB3ACB0E032242FC12FBB221AB06A2978B3C8B120B00C31B13019AF9EA01E31F4335A2E53285D31B6B0F72934B28BB122B03D2F6F2EBDB0D52C64300AA8E3206A2BF730AE332AB2DDAD4A2EA132F6320F335E2AF5B2E32501B175B31C331532FBB3FD2964A944A953AF272EBDB0DE2D0C30BA31FC2DEBB331B1FD2FB32A3EB29BB087336431FAAE07AC9FB39A9C06B22CB20EA3CE288DAEBF30DEB042337B31BFB2F7ABC721AB28972B472EAB23CFAF922FADB3BEB001ACCBAF99AD8FB2CFAAD72A36B192A2BA3194A61D1F85A57A2A1631943315319833A1A430B396AF7231A396F4AF21B27DB3C1B27EAA63305330B7B3FE3043B2C4AA7DAE2AAA48AA2EB3E8B202A99F1A45AF072E33B352A4093387AE3933CB2D38B3103163A724AF663277B2DE26B3AAB731772CB02FA72DB2ABBBAA98B256305A327931A5B1B521A4B167B0A9B0782DC4B0969D622128310CB27EB1A5B09931C0ADBF32C92D0D289F9753AA04284FAB3297152842B231B076327EB298A4EA33C82D401FEFB2ED2FB3B18BAC5EADBDA89A199932FD272A33E5300FB12D2FA8B1C8AEB52C482D003227AD8F0E1E30BDB3C9319EB20E1B71A937B03B289E32ADACC0B0EBADEEB3392FAFAF57B19CB09A303D302432CE2D58AD79ACBA2C94325A2C92AF85AF90B3EA2A7DB022B3043332B148A7952C142062B177B260323629A3325DADB62C51ABB1A1DFB0692D0F2D489D32ABEEB08831F5B18E2E61ADB8AFC02928B05F2B492AF1B15429D12E552E07A88FB2EFA88F2DD7AD132E54312DB00D199E2E04255925FE274AB208258A313533B4304A28792FC9AFA1B2E1B2FB33143188B1432E0B32FF33FF32333256AB9DAD92327C30D0B03133BB2F5C3004B1972C9CAD4032C2A93B2EAF29CF2E70ADCD2F96B13A2B6AB1E4B36DB2513254308133693225B376B12CA932B18E310CB2CEAFBBB38BB094328D32BA312D321D3319AC0A2F21334B2DFF332630F9309AADAD2F5B27A4AB82B07DB028B25F31B03149A7A1B02F321E31C2248EAF5A338B2E13B2A8331332D5AD7F308CB004A9CB324A21A8B159AD58AC2CAA20266633DA22F1B09022AC2FF02F50B3BAA9F2B1D4AEC42DAEB1F32DCA32332455B1BCADFD2A19B2F32F43B3B1B3C6B37EAA613192B3A63266AEB02CD62137B3A2324F30F4330B3048B1AD32E122962F6AB29AACDBB33BAEE72A48B21A2D4B3075285AB134B2F0AC062FE4339A3035A79C2DD9B3D5B2772F88B0B32FA6B1EDAF97B22D3085A62832F3306D301E20F2ACF5AA4128EE2F9BB1B732F5A6B4B254B01433513369B3A4310230BC30C63250B00D2D8C2EBAAC5B2D9AACF230",
      torch_tensor_4_torch.float16: "0x02000000003C662E1F211914"
    }
  }
#-}

