func.func @bf16(%q: tensor<1x4x20x32xbf16>, %k: tensor<1x2x?x32xbf16>, %v: tensor<1x2x?x32xbf16>) -> tensor<1x4x20x32xbf16> {
  %o = kvq.attention q(%q : tensor<1x4x20x32xbf16>) k(%k : tensor<1x2x?x32xbf16>) v(%v : tensor<1x2x?x32xbf16>) {causal} -> tensor<1x4x20x32xbf16>
  return %o : tensor<1x4x20x32xbf16>
}
