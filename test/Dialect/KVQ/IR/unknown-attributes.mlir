// RUN: kvq-opt %s -split-input-file -verify-diagnostics

// A misspelt attribute is an error, not a silently non-causal attention.
func.func @misspelt_causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{'kvq.attention' op has unknown attribute 'casual'; did you mean 'causal'? (its attributes: causal, delta_s_rows, key_scheme, p_type, query_scheme, scale, value_scheme)}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {casual} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @unknown_on_quantize(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'kvq.quantize' op has unknown attribute 'rounding'}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x {rounding = "even"} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

// The generic form is checked the same way.
func.func @generic_form(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'kvq.quantize' op has unknown attribute 'sheme'; did you mean 'scheme'?}}
  %c, %s = "kvq.quantize"(%x) <{scheme = #kvq.quant<i8, symmetric, token>}> {sheme = 1 : i64} : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @layer_not_integer(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{'kvq.layer' must be an integer layer index, got "one"}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.layer = "one"} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @layer_negative(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{'kvq.layer' must be a non-negative layer index, got -1}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.layer = -1 : i64} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @layer_elsewhere(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'kvq.layer' applies to kvq.attention only}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x {kvq.layer = 0 : i64} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @misspelt_kvq_attribute(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{unknown kvq attribute 'kvq.layers'; did you mean 'kvq.layer'? (kvq attributes: kvq.layer, kvq.host, kvq.schedule, kvq.kernel_schedule, kvq.decode_plan, kvq.kernel_bounds, kvq.entry_point)}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.layers = 1 : i64} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// expected-error @+1 {{'kvq.host' is a unit attribute}}
func.func private @host_not_unit() attributes {kvq.host = 1 : i64}

// -----

// kvq.entry_point: what kvq-wrap-entry-points records on a kernel.

// expected-error @+1 {{'kvq.entry_point' must be a dictionary, got "f"}}
func.func private @entry_not_dictionary() attributes {kvq.entry_point = "f"}

// -----

func.func @entry_elsewhere(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'kvq.entry_point' applies to functions only}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x {kvq.entry_point = {name = "f", symbol = "f"}} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

// expected-error @+1 {{'kvq.entry_point' has an unknown entry 'shape_fn' (its entries: name, output_shapes_symbol, shape_checks, shape_function, symbol)}}
func.func private @entry_unknown_field() attributes {kvq.entry_point = {name = "f", symbol = "f", shape_fn = @g}}

// -----

// expected-error @+1 {{'kvq.entry_point' needs a string 'name' (the MLIR function's) and a string 'symbol' (its C symbol)}}
func.func private @entry_no_symbol() attributes {kvq.entry_point = {name = "f"}}

// -----

// expected-error @+1 {{'kvq.entry_point': 'output_shapes_symbol' must be a string, got @f_output_shapes}}
func.func private @entry_shapes_not_string() attributes {kvq.entry_point = {name = "f", symbol = "f", output_shapes_symbol = @f_output_shapes}}

// -----

// expected-error @+1 {{'kvq.entry_point' takes a 'shape_function' (a symbol) and its number of 'shape_checks' (a non-negative integer) together, or neither}}
func.func private @entry_checks_without_function() attributes {kvq.entry_point = {name = "f", symbol = "f", shape_checks = 1 : i64}}

// -----

// expected-error @+1 {{'kvq.entry_point' takes a 'shape_function' (a symbol) and its number of 'shape_checks' (a non-negative integer) together, or neither}}
func.func private @entry_negative_checks() attributes {kvq.entry_point = {name = "f", symbol = "f", shape_function = @g, shape_checks = -1 : i64}}

// -----

func.func @schedule_not_string(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{'kvq.schedule' must be a string, got 2 : i64}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.schedule = 2 : i64} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// Attributes of other dialects are theirs to verify; a valid kvq.layer is kept.
func.func @accepted(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {causal, kvq.layer = 3 : i64, kvq.schedule = "split", test.mark} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// The decode kernel's plan (kvq-gpu-attention puts it on the launch).
func.func @decode_plan_not_dictionary() {
  // expected-error @+1 {{'kvq.decode_plan' must be a dictionary, got 3 : i64}}
  %c = arith.constant {kvq.decode_plan = 3 : i64} 0 : index
  return
}

// -----

func.func @kernel_bounds_not_dictionary() {
  // expected-error @+1 {{'kvq.kernel_bounds' must be a dictionary, got "128"}}
  %c = arith.constant {kvq.kernel_bounds = "128"} 0 : index
  return
}

// -----

// A valid kvq.entry_point is kept.
func.func private @entry_accepted() attributes {kvq.entry_point = {name = "a.b", symbol = "lib_a_b", shape_function = @g, shape_checks = 0 : i64, output_shapes_symbol = "lib_a_b_output_shapes"}}
