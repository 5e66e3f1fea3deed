func.func @decode(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi8>, %ks: tensor<1x2x?x4xf16>, %v: tensor<1x2x?x128xi8>, %vs: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi8>, #kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x2x?x4xf16>) v(%v : tensor<1x2x?x128xi8>, #kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}
