// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": "#kvq.quant<i4, symmetric, token>",}}' 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"defaults": {}}' 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {"x": {}}}' 2>&1 | FileCheck %s --check-prefix=LAYER
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": 4}}' 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"functions": {"f": {"default": {"v": "#kvq.quant<i3, symmetric, token>"}}}}' 2>&1 | FileCheck %s --check-prefix=SCHEME
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"default": {"k": "i8"}}' 2>&1 | FileCheck %s --check-prefix=NOTQUANT
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {"0": {"v": "#kvq.quant<i8, symmetric, group(axis = 7, size = 4)>"}}}' 2>&1 | FileCheck %s --check-prefix=FIT
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: not kvq-opt %s -kvq-compress-kv='policy={"layers": {}} policy-file=x.json' 2>&1 | FileCheck %s --check-prefix=BOTH
//
// Entries that match nothing, an empty file and repeated keys are errors
// located in the policy file.
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/policy-past-last-layer.json" 2>&1 | FileCheck %s --check-prefix=PAST
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/policy-unknown-function.json" 2>&1 | FileCheck %s --check-prefix=NOFN
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/policy-function-layer.json" 2>&1 | FileCheck %s --check-prefix=FNLAYER
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/policy-duplicate.json" 2>&1 | FileCheck %s --check-prefix=DUP
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/policy-does-not-fit.json" 2>&1 | FileCheck %s --check-prefix=FITFILE
// RUN: printf '' > %t.empty.json
// RUN: not kvq-opt %s -kvq-compress-kv="policy-file=%t.empty.json" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: echo 'func.func @g() { return }' | not kvq-opt -kvq-compress-kv='policy={"default": {"k": null}}' 2>&1 | FileCheck %s --check-prefix=NOATTN

// JSON: <kvq-compress-kv policy>:1:{{[0-9]+}}: error: kvq-compress-kv: policy is not valid JSON: Expected object key
// KEY: <kvq-compress-kv policy>:1:2: error: kvq-compress-kv: policy entry 'defaults': unknown key (expected "default", "layers" or "functions")
// LAYER: error: kvq-compress-kv: policy entry 'layers.x': layer keys are non-negative integers
// KIND: error: kvq-compress-kv: policy entry 'default.k': expected a #kvq.quant scheme string or null
// SCHEME: error: kvq-compress-kv: policy entry 'functions.f.default.v': '#kvq.quant<i3, symmetric, token>' is not a #kvq.quant scheme
// NOTQUANT: error: kvq-compress-kv: policy entry 'default.k': 'i8' is not a #kvq.quant scheme
// FIT: compress-kv-invalid.mlir:[[@LINE+16]]:8: error: 'kvq.attention' op policy entry 'layers.0.v': scheme #kvq.quant<i8, symmetric, group(axis = 7, size = 4)> does not apply to the value 'tensor<1x2x9x16xf32>'
// FILE: error: kvq-compress-kv: {{.*}}missing.json
// BOTH: error: kvq-compress-kv: give either policy or policy-file, not both
// PAST: policy-past-last-layer.json:3:14: error: kvq-compress-kv: policy entry 'layers.7' matches no attention: no function has layer 7 (functions with kvq.attention: @f (layer 0))
// PAST-NEXT: "7": {"k": null}}
// PAST-NEXT: ^
// NOFN: policy-unknown-function.json:3:17: error: kvq-compress-kv: policy entry 'functions.decoder' matches no attention: the module has no function '@decoder' with a kvq.attention (functions with kvq.attention: @f (layer 0))
// FNLAYER: policy-function-layer.json:3:33: error: kvq-compress-kv: policy entry 'functions.f.layers.1' matches no attention: '@f' has no layer 1 (functions with kvq.attention: @f (layer 0))
// DUP: policy-duplicate.json:3:14: error: kvq-compress-kv: policy entry 'layers.0': the key appears twice in its object (JSON keeps only one)
// FITFILE: compress-kv-invalid.mlir:[[@LINE+7]]:8: error: 'kvq.attention' op policy entry 'layers.0.v': scheme
// FITFILE: policy-does-not-fit.json:2:20: note: the policy entry
// EMPTY: empty.json:1:1: error: kvq-compress-kv: the policy is empty
// NOATTN: <kvq-compress-kv policy>:1:1: error: kvq-compress-kv: the policy matches no attention: the module has no kvq.attention

func.func @f(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>)
    -> tensor<1x2x1x16xf32> {
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>) k(%k : tensor<1x2x9x16xf32>) v(%v : tensor<1x2x9x16xf32>) -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}
