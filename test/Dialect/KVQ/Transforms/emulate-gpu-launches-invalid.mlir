// RUN: kvq-opt %s -split-input-file -kvq-emulate-gpu-launches -verify-diagnostics

// Threads that synchronize cannot run one after another.
func.func @barrier(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot emulate this GPU kernel on the host: its threads communicate}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @shared(%c1: index) {
  // expected-error @below {{cannot emulate this GPU kernel on the host: it uses shared memory}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%buf : memref<32xf32, #gpu.address_space<workgroup>>) {
    gpu.terminator
  }
  return
}

// -----

func.func @async(%c1: index) {
  %w = gpu.wait async
  // expected-error @below {{cannot emulate this GPU kernel on the host: it is asynchronous}}
  %t = gpu.launch async [%w] blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  gpu.wait [%t]
  return
}
