// Decode step of grouped-query attention (32 query heads, 8 KV heads,
// head dim 128) over an INT4 KV cache of 1000 tokens: K per-channel over
// groups of 32 tokens (KIVI keys), V per token over groups of 32 channels.
// An importer would emit the dequantize + attention form; `kvq-fuse` makes
// the attention read the 4-bit codes directly.
func.func @decode(%q: tensor<1x32x1x128xf32>,
                  %kc: tensor<1x8x1000x128xi4>, %ks: tensor<1x8x32x128xf16>, %kz: tensor<1x8x32x128xf16>,
                  %vc: tensor<1x8x1000x128xi4>, %vs: tensor<1x8x1000x4xf16>, %vz: tensor<1x8x1000x4xf16>)
    -> tensor<1x32x1x128xf32> {
  %k = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x8x1000x128xi4>, tensor<1x8x32x128xf16>, tensor<1x8x32x128xf16> -> tensor<1x8x1000x128xf32>
  %v = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %vc, %vs, %vz
      : tensor<1x8x1000x128xi4>, tensor<1x8x1000x4xf16>, tensor<1x8x1000x4xf16> -> tensor<1x8x1000x128xf32>
  %o = kvq.attention q(%q : tensor<1x32x1x128xf32>) k(%k : tensor<1x8x1000x128xf32>)
      v(%v : tensor<1x8x1000x128xf32>) {causal} -> tensor<1x32x1x128xf32>
  return %o : tensor<1x32x1x128xf32>
}
