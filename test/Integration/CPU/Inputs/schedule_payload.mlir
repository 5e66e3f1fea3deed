// Two attentions that a transform script (schedule_script.mlir) lowers with
// different schedules; see schedule.test.
func.func @attend(%q: tensor<1x8x?x64xf32>, %kc: tensor<1x2x?x64xi8>, %ks: tensor<1x2x?x1xf32>,
                  %v: tensor<1x2x?x64xf32>) -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) {
  %k = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks
      : tensor<1x2x?x64xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x64xf32>
  %a = kvq.attention q(%q : tensor<1x8x?x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      {causal, kvq.schedule = "split"} -> tensor<1x8x?x64xf32>
  %b = kvq.attention q(%q : tensor<1x8x?x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      -> tensor<1x8x?x64xf32>
  return %a, %b : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>
}
