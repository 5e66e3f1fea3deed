// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": "#kvq.quant<i4, symmetric, token>",}}' 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"defaults": {}}' 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {"x": {}}}' 2>&1 | FileCheck %s --check-prefix=LAYER
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": 4}}' 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"functions": {"f": {"default": {"v": "#kvq.quant<i3, symmetric, token>"}}}}' 2>&1 | FileCheck %s --check-prefix=SCHEME
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": "i8"}}' 2>&1 | FileCheck %s --check-prefix=NOTQUANT
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {"0": {"v": "#kvq.quant<i8, symmetric, group(axis = 7, size = 4)>"}}}' 2>&1 | FileCheck %s --check-prefix=FIT
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {}} policy-file=x.json' 2>&1 | FileCheck %s --check-prefix=BOTH

// JSON: error: kvq-compress-kv: policy is not valid JSON: [1:{{[0-9]+}}, byte={{[0-9]+}}]:
// KEY: error: kvq-compress-kv: policy entry 'defaults': unknown key (expected "default", "layers" or "functions")
// LAYER: error: kvq-compress-kv: policy entry 'layers.x': layer keys are non-negative integers
// KIND: error: kvq-compress-kv: policy entry 'default.k': expected a #kvq.quant scheme string or null
// SCHEME: error: kvq-compress-kv: policy entry 'functions.f.default.v': '#kvq.quant<i3, symmetric, token>' is not a #kvq.quant scheme
// NOTQUANT: error: kvq-compress-kv: policy entry 'default.k': 'i8' is not a #kvq.quant scheme
// FIT: compress-kv-invalid.mlir:[[@LINE+6]]:8: error: 'kvq.attention' op policy entry 'layers.0.v': scheme #kvq.quant<i8, symmetric, group(axis = 7, size = 4)> does not apply to the value 'tensor<1x2x9x16xf32>'
// FILE: error: kvq-compress-kv: {{.*}}missing.json
// BOTH: error: kvq-compress-kv: give either policy or policy-file, not both

func.func @f(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>)
    -> tensor<1x2x1x16xf32> {
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>) k(%k : tensor<1x2x9x16xf32>) v(%v : tensor<1x2x9x16xf32>) -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}
