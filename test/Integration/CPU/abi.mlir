// The checks of the generated entry points (docs/ABI.md): every refusal
// returns its kvq_status without running the kernel. Inputs/abi.py calls
// the entry points through ctypes; Inputs/abi_main.c through the generated
// header from C.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=abi
// RUN: %python %S/Inputs/abi.py %t/abi.so
// RUN: clang -fsyntax-only -Wall -Werror -x c %t/abi.h
// RUN: clang -fsyntax-only -std=c11 -Wall -Wextra -Werror %t/abi.abi.c
// RUN: clang -fsyntax-only -Wall -Werror -x c++ %t/abi.h
// RUN: clang -std=c11 -Wall -Werror -I%t %S/Inputs/abi_main.c %t/abi.so \
// RUN:   -Wl,-rpath,%t -o %t/abi_main
// RUN: %t/abi_main | FileCheck %s
// CHECK: scale: 0 [2 4 6 8 ...]
// CHECK: scale (wrong dim): 4
// CHECK: scale_output_shapes: 0 [3 16]
// CHECK: threads: 0 2 -1 2

// y = x * s: a dynamic row count, a static column count, a scalar.
func.func @scale(%x: tensor<?x16xf32>, %s: f32) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x16xf32>
  %empty = tensor.empty(%m) : tensor<?x16xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x16xf32>) outs(%empty : tensor<?x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// c = a + b (b broadcast over rows): b's length must equal a's row length.
func.func @add_rows(%a: tensor<4x?xf16>, %b: tensor<?xf16>) -> tensor<4x?xf16> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %a, %c1 : tensor<4x?xf16>
  %empty = tensor.empty(%n) : tensor<4x?xf16>
  %c = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                       affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x?xf16>, tensor<?xf16>)
      outs(%empty : tensor<4x?xf16>) {
  ^bb0(%x: f16, %y: f16, %o: f16):
    %r = arith.addf %x, %y : f16
    linalg.yield %r : f16
  } -> tensor<4x?xf16>
  return %c : tensor<4x?xf16>
}
