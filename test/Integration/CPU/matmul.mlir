// Matrix products with a dynamic row count, compiled for the host CPU and
// compared with NumPy in float64 (Inputs/matmul.py).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=matmul
// RUN: %python %S/Inputs/matmul.py %t/matmul.json

// C = A B + bias: f32, M dynamic.
func.func @matmul_bias(%a: tensor<?x96xf32>, %b: tensor<96x80xf32>,
                       %bias: tensor<80xf32>) -> tensor<?x80xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x96xf32>
  %empty = tensor.empty(%m) : tensor<?x80xf32>
  %init = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%bias : tensor<80xf32>) outs(%empty : tensor<?x80xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x80xf32>
  %c = linalg.matmul ins(%a, %b : tensor<?x96xf32>, tensor<96x80xf32>)
                     outs(%init : tensor<?x80xf32>) -> tensor<?x80xf32>
  return %c : tensor<?x80xf32>
}

// bf16 operands, f32 accumulation; every dim dynamic.
func.func @matmul_bf16(%a: tensor<?x?xbf16>, %b: tensor<?x?xbf16>)
    -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xbf16>
  %n = tensor.dim %b, %c1 : tensor<?x?xbf16>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty(%m, %n) : tensor<?x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x?xf32>)
      -> tensor<?x?xf32>
  %c = linalg.matmul ins(%a, %b : tensor<?x?xbf16>, tensor<?x?xbf16>)
                     outs(%init : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %c : tensor<?x?xf32>
}
