// Attention graphs tiled by tile-schedule.mlir in tiled-attention.test.
func.func @prefill(%q: tensor<2x8x37x64xf32>, %kc: tensor<2x2x37x64xi4>, %ks: tensor<2x2x2x64xf16>, %kz: tensor<2x2x2x64xf16>,
                   %v: tensor<2x2x37x64xf32>, %m: tensor<1x1x37x37xf32>) -> tensor<2x8x37x64xf32> {
  %o = kvq.attention q(%q : tensor<2x8x37x64xf32>)
      k(%kc : tensor<2x2x37x64xi4>, #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>, scale %ks : tensor<2x2x2x64xf16>, zero_point %kz : tensor<2x2x2x64xf16>)
      v(%v : tensor<2x2x37x64xf32>) mask(%m : tensor<1x1x37x37xf32>) {causal} -> tensor<2x8x37x64xf32>
  return %o : tensor<2x8x37x64xf32>
}

func.func @decode(%q: tensor<1x32x1x128xf32>, %kc: tensor<1x8x100x128xi8>, %ks: tensor<1x8x100x1xf32>,
                  %vc: tensor<1x8x100x128xi4>, %vs: tensor<1x8x100x4xf16>) -> tensor<1x32x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x32x1x128xf32>)
      k(%kc : tensor<1x8x100x128xi8>, #kvq.quant<i8, symmetric, token>, scale %ks : tensor<1x8x100x1xf32>)
      v(%vc : tensor<1x8x100x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x8x100x4xf16>)
      -> tensor<1x32x1x128xf32>
  return %o : tensor<1x32x1x128xf32>
}
