// kvq.attention over an INT4 KV cache whose batch and length are dynamic:
// kvq-compile used to crash building the output-shape function (the module
// loads no tensor dialect, so `tensor.dim` was built unregistered). The
// shape function must give the output's batch (q's dim 0) and check that
// the dynamic dims of the inputs agree. Inputs/abi_dynamic_i4.py runs it
// through kvq.compile at two (batch, length) values against the NumPy
// golden model, allocating the output from the shape function.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=abi_dynamic_i4 2>&1 | FileCheck --allow-empty --check-prefix=COMPILE %s
// RUN: FileCheck --check-prefix=HEADER %s < %t/abi_dynamic_i4.h
// RUN: clang -fsyntax-only -std=c11 -Wall -Wextra -Werror %t/abi_dynamic_i4.abi.c
// RUN: %python %S/Inputs/abi_dynamic_i4.py %s | FileCheck %s
//
// COMPILE-NOT: {{warning|error}}
// HEADER: int32_t int4_dynamic_output_shapes(
//
// CHECK-NOT: FAIL
// CHECK: ok   output_shapes_symbol: int4_dynamic_output_shapes
// CHECK: ok   output_shapes b=2 L=13: [(2, 8, 1, 64)]
// CHECK: ok   int4_dynamic b=2 L=13: shape (2, 8, 1, 64)
// CHECK: ok   output_shapes b=3 L=77: [(3, 8, 1, 64)]
// CHECK: ok   int4_dynamic b=3 L=77: shape (3, 8, 1, 64)
// CHECK: ok   mismatched v batch (output_shapes): status 4
// CHECK: ok   mismatched v batch (call): status 4
// CHECK: ok   mismatched v length (output_shapes): status 4
// CHECK: ok   mismatched v length (call): status 4
// CHECK-NOT: FAIL

func.func @int4_dynamic(%q: tensor<?x8x1x64xf32>, %k: tensor<?x2x?x64xi4>, %k_scale: tensor<?x2x?x2xf16>, %v: tensor<?x2x?x64xi4>, %v_scale: tensor<?x2x?x2xf16>, %v_zp: tensor<?x2x?x2xf16>) -> tensor<?x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<?x8x1x64xf32>) k(%k : tensor<?x2x?x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %k_scale : tensor<?x2x?x2xf16>) v(%v : tensor<?x2x?x64xi4>, #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %v_scale : tensor<?x2x?x2xf16>, zero_point %v_zp : tensor<?x2x?x2xf16>) -> tensor<?x8x1x64xf32>
  return %o : tensor<?x8x1x64xf32>
}
