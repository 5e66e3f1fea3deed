// A static shape whose byte size does not fit in int64_t.
func.func @huge(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x100000000000000000x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x100000000000000000x128xf32>) v(%k : tensor<1x8x100000000000000000x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Inside a function too.
func.func @huge_inside(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4611686018427387904x4xf32>
  %b = linalg.broadcast ins(%x : tensor<4xf32>) outs(%e : tensor<4611686018427387904x4xf32>) dimensions = [0]
  %s = tensor.extract_slice %b[7, 0] [1, 4] [1, 1] : tensor<4611686018427387904x4xf32> to tensor<4xf32>
  return %s : tensor<4xf32>
}
