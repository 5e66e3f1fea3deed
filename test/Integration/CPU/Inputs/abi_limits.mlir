// Signatures at the edges of the kernel ABI (abi-limits.test).

// No buffer at all: the generated C must still compile warning-free.
func.func @nothing() {
  return
}

// i8 codes with a dynamic row count, widened to f32.
func.func @widen_i8(%c: tensor<?x6xi8>) -> tensor<?x6xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %c, %c0 : tensor<?x6xi8>
  %e = tensor.empty(%n) : tensor<?x6xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<?x6xi8>) outs(%e : tensor<?x6xf32>) {
  ^bb0(%a: i8, %o: f32):
    %f = arith.sitofp %a : i8 to f32
    linalg.yield %f : f32
  } -> tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}
