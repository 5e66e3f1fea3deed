// What kvq-compile writes: the header and manifest describing the ABI, the
// entry-point wrapper, and each --emit kind.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/lib/ --name=kern --block-kv=32
// RUN: FileCheck %s --check-prefix=HEADER < %t/lib/kern.h
// RUN: FileCheck %s --check-prefix=JSON < %t/lib/kern.json
// RUN: llvm-nm -D --defined-only %t/lib/kern.so | FileCheck %s --check-prefix=SYMS
// RUN: clang -fsyntax-only -std=c11 -Wall -Wextra -Werror %t/lib/kern.abi.c
// RUN: kvq-compile %s -o %t/prefix --emit=obj
// RUN: llvm-nm %t/prefix.o | FileCheck %s --check-prefix=OBJ
// RUN: kvq-compile %s -o - --emit=mlir | FileCheck %s --check-prefix=MLIR
// The preferred vector width follows the target CPU: 512 bits with
// AVX-512, LLVM's own choice without.
// RUN: kvq-compile %s -o - --emit=llvm -O1 --mcpu=skylake-avx512 | FileCheck %s --check-prefix=LLVMIR
// RUN: kvq-compile %s -o - --emit=llvm -O1 --mcpu=znver1 | FileCheck %s --check-prefix=AVX2

// HEADER: #ifndef KVQ_GENERATED_KERN_H
// HEADER: typedef struct kvq_buffer {
// HEADER: /* axpy
// HEADER-NEXT:  *   input  0 (a): f32 scalar
// HEADER-NEXT:  *   input  1 (x): f32 [?]
// HEADER-NEXT:  *   input  2 (y0): f32 [?]
// HEADER-NEXT:  *   output 0: f32 [?]
// HEADER: int32_t axpy(const kvq_buffer *inputs, int64_t num_inputs,
// HEADER: int32_t axpy_output_shapes(const kvq_buffer *inputs, int64_t num_inputs,
// HEADER: /* codes
// HEADER-NEXT:  *   input  0 (packed): i8 [2, 64]
// HEADER-NEXT:  *   input  1 (fp8): f8E4M3FN [2, 64]
// HEADER-NEXT:  *   input  2 (scale): bf16 [2, 1]
// HEADER-NEXT:  *   output 0: f8E4M3FN [2, 64]
// HEADER-NEXT:  *   output 1: i8 [2, 64]

// JSON: "abi_version": 1,
// JSON: "name": "axpy",
// JSON-NEXT: "output_shapes_symbol": "axpy_output_shapes",
// JSON: "library": "kern.so",
// JSON: "name": "kern",

// The library exports the entry points and the thread and block time
// settings (weak, so that the kvq libraries of a program share one) and
// nothing else.
// SYMS-NOT: kvq_kernel
// SYMS: T axpy
// SYMS-NEXT: T axpy_output_shapes
// SYMS-NEXT: T codes
// SYMS-NEXT: T codes_output_shapes
// SYMS-NEXT: V kvq_block_time_setting
// SYMS-NEXT: W kvq_get_block_time
// SYMS-NEXT: W kvq_get_num_threads
// SYMS-NEXT: V kvq_num_threads_setting
// SYMS-NEXT: W kvq_set_block_time
// SYMS-NEXT: W kvq_set_num_threads
// SYMS-NOT: {{.}}

// OBJ-DAG: T axpy
// OBJ-DAG: T codes

// MLIR-DAG: llvm.func @_mlir_ciface___kvq_kernel_axpy(
// MLIR-DAG: llvm.func @_mlir_ciface___kvq_shape_axpy(
// MLIR-DAG: llvm.func @_mlir_ciface___kvq_kernel_codes(

// LLVMIR: define hidden void @_mlir_ciface___kvq_kernel_axpy(
// LLVMIR-SAME: #[[ATTRS:[0-9]+]]
// LLVMIR: attributes #[[ATTRS]] = {{.*}}"prefer-vector-width"="512"
// AVX2: define hidden void @_mlir_ciface___kvq_kernel_axpy(
// AVX2-NOT: "prefer-vector-width"

// y = a x + y0, with x and y0 of the same dynamic length.
func.func @axpy(%a: f32, %x: tensor<?xf32>, %y0: tensor<?xf32>) -> tensor<?xf32> {
  %y = linalg.generic {
      indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
      iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%y0 : tensor<?xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// FP8 and packed codes travel as bytes; results may alias inputs.
func.func @codes(%packed: tensor<2x64xi8>, %fp8: tensor<2x64xf8E4M3FN>,
                 %scale: tensor<2x1xbf16>)
    -> (tensor<2x64xf8E4M3FN>, tensor<2x64xi8>) {
  return %fp8, %packed : tensor<2x64xf8E4M3FN>, tensor<2x64xi8>
}
