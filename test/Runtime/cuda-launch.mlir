// A gpu.launch_func lowered by upstream's gpu-lower-to-nvvm-pipeline (PTX,
// JIT-compiled by the driver; host code through gpu-to-llvm) and run through
// the kvq CUDA runtime on a real GPU: doubles a ragged array of 1000 floats
// (8 blocks of 128 threads, the last one partial).
// REQUIRES: cuda-gpu, cuda-runtime
// RUN: kvq-opt %s --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=isa" \
// RUN:   | mlir-translate --mlir-to-llvmir -o %t.ll
// RUN: clang -O2 %t.ll %S/Inputs/cuda_launch_main.c -I%kvq_src_root/include \
// RUN:   -L%kvq_obj_root/lib -lkvq_cuda_runtime -Wl,-rpath,%kvq_obj_root/lib -lm -o %t
// RUN: %t | FileCheck %s
// CHECK: status ok
// CHECK: max error 0

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @twice(%a: memref<?xf32>, %n: index) kernel {
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %dim = gpu.block_dim x
      %base = arith.muli %b, %dim : index
      %i = arith.addi %base, %t : index
      %in = arith.cmpi ult, %i, %n : index
      scf.if %in {
        %v = memref.load %a[%i] : memref<?xf32>
        %w = arith.addf %v, %v : f32
        memref.store %w, %a[%i] : memref<?xf32>
      }
      gpu.return
    }
  }
  func.func @twice(%h: memref<?xf32>) attributes {llvm.emit_c_interface} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %n = memref.dim %h, %c0 : memref<?xf32>
    %blocks = arith.ceildivui %n, %c128 : index
    %t = gpu.wait async
    %d, %t1 = gpu.alloc async [%t] (%n) : memref<?xf32>
    %t2 = gpu.memcpy async [%t1] %d, %h : memref<?xf32>, memref<?xf32>
    %t3 = gpu.launch_func async [%t2] @kernels::@twice blocks in (%blocks, %c1, %c1) threads in (%c128, %c1, %c1) args(%d : memref<?xf32>, %n : index)
    %t4 = gpu.memcpy async [%t3] %h, %d : memref<?xf32>, memref<?xf32>
    %t5 = gpu.dealloc async [%t4] %d : memref<?xf32>
    gpu.wait [%t5]
    return
  }
}
