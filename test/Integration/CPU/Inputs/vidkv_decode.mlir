// VidKV decode attention (D 128, GQA 8 / 2, groups of 32 tokens, f16 side
// data), for the checks of cpu-features.test on the code it compiles to.
func.func @vidkv(%q: tensor<?x8x1x128xf32>, %hc: tensor<?x2x?x16xi8>, %hs: tensor<?x2x?x64xf16>,
                 %hm: tensor<?x2x?x64xf16>, %lc: tensor<?x2x?x8xi8>, %ls: tensor<?x2x?x64xf16>,
                 %ch: tensor<?x2x128xi32>, %vc: tensor<?x2x?x26xi8>, %vs: tensor<?x2x?x128xf16>)
    -> tensor<?x8x1x128xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : tensor<?x2x?x16xi8>, tensor<?x2x?x64xf16>,
      tensor<?x2x?x64xf16>, tensor<?x2x?x8xi8>, tensor<?x2x?x64xf16>, tensor<?x2x128xi32> -> tensor<?x2x?x128xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<?x2x?x26xi8>, tensor<?x2x?x128xf16> -> tensor<?x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<?x8x1x128xf32>) k(%k : tensor<?x2x?x128xf32>)
      v(%v : tensor<?x2x?x128xf32>) -> tensor<?x8x1x128xf32>
  return %o : tensor<?x8x1x128xf32>
}
