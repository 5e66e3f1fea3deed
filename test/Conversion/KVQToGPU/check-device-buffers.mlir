// RUN: kvq-opt %s -split-input-file -kvq-check-device-buffers -verify-diagnostics

// Function arguments (device pointers by the GPU ABI), gpu.alloc results
// and views of them may reach a kernel.
func.func @device_buffers(%arg: memref<16xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %scratch = gpu.alloc (%n) : memref<?xf32>
  %view = memref.subview %arg[4] [8] [1] : memref<16xf32> to memref<8xf32, strided<[1], offset: 4>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %x = memref.load %view[%c0] : memref<8xf32, strided<[1], offset: 4>>
    memref.store %x, %scratch[%c0] : memref<?xf32>
    gpu.terminator
  }
  gpu.dealloc %scratch : memref<?xf32>
  return
}

// -----

// A host allocation reaching a kernel is reported, not left to fault.
func.func @host_buffer(%arg: memref<16xf32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  // expected-note @+1 {{buffer defined here}}
  %host = memref.alloc() : memref<16xf32>
  // expected-error @+1 {{GPU kernel reads or writes a buffer that is not device memory (not a function argument or gpu.alloc)}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %x = memref.load %arg[%c0] : memref<16xf32>
    memref.store %x, %host[%c0] : memref<16xf32>
    gpu.terminator
  }
  return
}
