// Two entry points of a GPU library: an attention (a tensor-core kernel and
// the split-KV combine kernel) and a run-time quantization (element-wise
// kernels). Used by init-array.test and the CUDA driver double's tests.
func.func @decode(%q: tensor<?x8x1x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>)
    -> tensor<?x8x1x64xf16> {
  %o = kvq.attention q(%q : tensor<?x8x1x64xf16>) k(%k : tensor<?x2x?x64xf16>)
      v(%v : tensor<?x2x?x64xf16>) -> tensor<?x8x1x64xf16>
  return %o : tensor<?x8x1x64xf16>
}

func.func @quantize(%x: tensor<2x?x32xf32>) -> (tensor<2x?x32xi8>, tensor<2x?x1xf32>) {
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x
      : tensor<2x?x32xf32> -> tensor<2x?x32xi8>, tensor<2x?x1xf32>
  return %c, %s : tensor<2x?x32xi8>, tensor<2x?x1xf32>
}
