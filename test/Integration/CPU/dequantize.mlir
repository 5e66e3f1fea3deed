// kvq.dequantize of i4 codes (passed packed, two per byte, by the kernel
// ABI) and of i8 codes, compiled for the host CPU and compared with the
// NumPy golden model (Inputs/dequantize.py).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=dequantize
// RUN: %python %S/Inputs/dequantize.py %t/dequantize.json

// KIVI keys: groups of 32 tokens, a ragged last group (100 = 3 * 32 + 4).
func.func @kivi_keys(%codes: tensor<2x8x100x64xi4>, %scale: tensor<2x8x4x64xf16>,
                     %zero: tensor<2x8x4x64xf16>) -> tensor<2x8x100x64xf32> {
  %x = kvq.dequantize
      #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>
      %codes, %scale, %zero
      : tensor<2x8x100x64xi4>, tensor<2x8x4x64xf16>, tensor<2x8x4x64xf16>
      -> tensor<2x8x100x64xf32>
  return %x : tensor<2x8x100x64xf32>
}

// INT8 per token.
func.func @int8_tokens(%codes: tensor<3x37x128xi8>, %scale: tensor<3x37x1xf32>)
    -> tensor<3x37x128xf32> {
  %x = kvq.dequantize #kvq.quant<i8, symmetric, token> %codes, %scale
      : tensor<3x37x128xi8>, tensor<3x37x1xf32> -> tensor<3x37x128xf32>
  return %x : tensor<3x37x128xf32>
}
