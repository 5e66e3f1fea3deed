// RUN: kvq-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{storage type must be one of i8, i4, i2, f8E4M3FN, f8E5M2, but got 'i16'}}
func.func private @storage() attributes {s = #kvq.quant<i16, symmetric, token>}

// -----

// expected-error @+1 {{storage type must be one of i8, i4, i2, f8E4M3FN, f8E5M2, but got 'ui8'}}
func.func private @signed_storage() attributes {s = #kvq.quant<ui8, symmetric, token>}

// -----

// expected-error @+1 {{FP8 storage requires a symmetric scheme}}
func.func private @fp8_asym() attributes {s = #kvq.quant<f8E4M3FN, asymmetric, token>}

// -----

// expected-error @+1 {{scale type must be f32, f16 or bf16, but got 'f64'}}
func.func private @scale_type() attributes {s = #kvq.quant<i8, symmetric, token, scale = f64>}

// -----

// expected-error @+1 {{group axis must be non-negative, but got -1}}
func.func private @group_axis() attributes {s = #kvq.quant<i8, symmetric, group(axis = -1, size = 32)>}

// -----

// expected-error @+1 {{group size must be positive, but got 0}}
func.func private @group_size() attributes {s = #kvq.quant<i8, symmetric, group(axis = 2, size = 0)>}

// -----

// expected-error @+1 {{block rows and cols must be positive, but got 64 x 0}}
func.func private @block_size() attributes {s = #kvq.quant<i8, symmetric, block(rows = 64, cols = 0)>}

// -----

// expected-error @+1 {{expected 'symmetric' or 'asymmetric'}}
func.func private @mode() attributes {s = #kvq.quant<i8, signed, token>}

// -----

// expected-error @+1 {{expected a granularity: tensor, token, channel, group(axis = A, size = G), block(rows = R, cols = C) or fragment(rows = W, period = P, run = R)}}
func.func private @granularity() attributes {s = #kvq.quant<i8, symmetric, row>}

// -----

// expected-error @+1 {{expected 'axis'}}
func.func private @group_syntax() attributes {s = #kvq.quant<i8, symmetric, group(size = 32)>}
