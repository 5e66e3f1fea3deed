// A gpu.launch_func lowered by upstream's passes (convert-gpu-to-nvvm,
// gpu-to-llvm) with kvq-emulate-gpu-kernels instead of gpu-module-to-binary,
// run by the GPU emulator (libkvq_gpu_emulator) on the host: block sums of a
// ragged array (warp butterflies with gpu.shuffle, then the warp sums
// through workgroup memory after gpu.barrier), and a kernel whose lanes
// split between a shuffle and a barrier, which the emulator reports as a
// deadlock instead of hanging. No GPU needed.
// RUN: kvq-opt %s --pass-pipeline="builtin.module(nvvm-attach-target{chip=sm_80},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),convert-scf-to-cf,gpu-to-llvm,kvq-emulate-gpu-kernels,reconcile-unrealized-casts)" \
// RUN:   | mlir-translate --mlir-to-llvmir -o %t.ll
// RUN: clang -O2 -Wno-override-module %t.ll %S/Inputs/emulator_launch_main.c -I%kvq_src_root/include \
// RUN:   -L%kvq_obj_root/lib -lkvq_gpu_emulator -Wl,-rpath,%kvq_obj_root/lib -lm -o %t
// RUN: %t 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=STDERR --input-file=%t.err
// CHECK: block_sums: status ok
// CHECK: block 0: 1272 (expected 1272)
// CHECK: block 3: 1160 (expected 1160)
// CHECK: launches 1 blocks 4 threads 1024 barriers 4
// CHECK: deadlock: status kernel 'deadlock' (module kernels), block (0, 0, 0): deadlock: 32 of 32 threads are blocked and none can proceed (0 exited); 16 wait at barrier 0 (first: thread (16, 0, 0); the barrier waits for 32 threads, 16 arrived); 16 wait in warp-synchronous instructions (first: thread (0, 0, 0) in shfl.sync with member mask 0xffffffff, lanes 0x0000ffff arrived)
// STDERR: kvq gpu emulator: kernel 'deadlock' (module kernels), block (0, 0, 0): deadlock

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // Sums each block's 256 elements: warp butterflies (shfl.sync bfly),
    // then the 8 warp sums through shared memory after a barrier.
    gpu.func @block_sum(%a: memref<?xf32>, %out: memref<?xf32>, %n: index)
        workgroup(%partial: memref<8xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c32 = arith.constant 32 : index
      %zero = arith.constant 0.0 : f32
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %dim = gpu.block_dim x
      %base = arith.muli %b, %dim : index
      %i = arith.addi %t, %base : index
      %in = arith.cmpi ult, %i, %n : index
      %v = scf.if %in -> f32 {
        %x = memref.load %a[%i] : memref<?xf32>
        scf.yield %x : f32
      } else {
        scf.yield %zero : f32
      }
      %w32 = arith.constant 32 : i32
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %s1, %ok1 = gpu.shuffle xor %v, %o16, %w32 : f32
      %v1 = arith.addf %v, %s1 : f32
      %s2, %ok2 = gpu.shuffle xor %v1, %o8, %w32 : f32
      %v2 = arith.addf %v1, %s2 : f32
      %s3, %ok3 = gpu.shuffle xor %v2, %o4, %w32 : f32
      %v3 = arith.addf %v2, %s3 : f32
      %s4, %ok4 = gpu.shuffle xor %v3, %o2, %w32 : f32
      %v4 = arith.addf %v3, %s4 : f32
      %s5, %ok5 = gpu.shuffle xor %v4, %o1, %w32 : f32
      %v5 = arith.addf %v4, %s5 : f32
      %lane = arith.remui %t, %c32 : index
      %warp = arith.divui %t, %c32 : index
      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {
        memref.store %v5, %partial[%warp] : memref<8xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %t0 = arith.cmpi eq, %t, %c0 : index
      scf.if %t0 {
        %c1 = arith.constant 1 : index
        %c8 = arith.constant 8 : index
        %sum = scf.for %w = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> f32 {
          %p = memref.load %partial[%w] : memref<8xf32, #gpu.address_space<workgroup>>
          %acc1 = arith.addf %acc, %p : f32
          scf.yield %acc1 : f32
        }
        memref.store %sum, %out[%b] : memref<?xf32>
      }
      gpu.return
    }
    // Lanes 0-15 shuffle with the whole warp while lanes 16-31 wait at a
    // barrier: neither can complete.
    gpu.func @deadlock(%out: memref<?xf32>) kernel {
      %c16 = arith.constant 16 : index
      %o1 = arith.constant 1 : i32
      %w32 = arith.constant 32 : i32
      %one = arith.constant 1.0 : f32
      %t = gpu.thread_id x
      %low = arith.cmpi ult, %t, %c16 : index
      scf.if %low {
        %s, %ok = gpu.shuffle xor %one, %o1, %w32 : f32
        memref.store %s, %out[%t] : memref<?xf32>
      } else {
        gpu.barrier
      }
      gpu.return
    }
  }
  func.func @block_sums(%h: memref<?xf32>, %sums: memref<?xf32>) attributes {llvm.emit_c_interface} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c256 = arith.constant 256 : index
    %n = memref.dim %h, %c0 : memref<?xf32>
    %blocks = memref.dim %sums, %c0 : memref<?xf32>
    %t = gpu.wait async
    %d, %t1 = gpu.alloc async [%t] (%n) : memref<?xf32>
    %o, %t2 = gpu.alloc async [%t1] (%blocks) : memref<?xf32>
    %t3 = gpu.memcpy async [%t2] %d, %h : memref<?xf32>, memref<?xf32>
    %t4 = gpu.launch_func async [%t3] @kernels::@block_sum blocks in (%blocks, %c1, %c1) threads in (%c256, %c1, %c1) args(%d : memref<?xf32>, %o : memref<?xf32>, %n : index)
    %t5 = gpu.memcpy async [%t4] %sums, %o : memref<?xf32>, memref<?xf32>
    %t6 = gpu.dealloc async [%t5] %d : memref<?xf32>
    %t7 = gpu.dealloc async [%t6] %o : memref<?xf32>
    gpu.wait [%t7]
    return
  }
  func.func @deadlock(%out: memref<?xf32>) attributes {llvm.emit_c_interface} {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@deadlock blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%out : memref<?xf32>)
    return
  }
}
