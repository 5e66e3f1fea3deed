// RUN: kvq-opt %s --pass-pipeline="builtin.module(gpu.module(kvq-extern-dynamic-shared-memory))" | FileCheck %s

// The zero-sized shared-memory global that gpu.dynamic_shared_memory lowers
// to becomes external (PTX: .extern .shared ... name[]); other globals keep
// their linkage.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    // CHECK: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    // Static shared memory and zero-sized globals elsewhere are untouched.
    // CHECK: llvm.mlir.global internal @static_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<64 x i8>
    llvm.mlir.global internal @static_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<64 x i8>
    // CHECK: llvm.mlir.global internal @global_zero() {addr_space = 1 : i32} : !llvm.array<0 x i8>
    llvm.mlir.global internal @global_zero() {addr_space = 1 : i32} : !llvm.array<0 x i8>
  }
}
