// RUN: kvq-opt %s -split-input-file -kvq-gpu-map-loops -verify-diagnostics

// The host branches on a value read from memory: the load cannot move
// into a kernel.
func.func @host_needs_value(%flag: memref<i1>, %out: memref<4xf32>) {
  // expected-error @below {{host code needs a value that this op computes from device memory}}
  %f = memref.load %flag[] : memref<i1>
  scf.if %f {
    %c0 = arith.constant 0 : index
    %z = arith.constant 0.0 : f32
    memref.store %z, %out[%c0] : memref<4xf32>
  }
  return
}

// -----

// A buffer that leaves the block that allocates it (here: returned) has no
// place to be freed.
func.func @escapes(%n: index) -> memref<?xf32> {
  // expected-error @below {{buffer leaves the block that allocates it}}
  %b = memref.alloc(%n) : memref<?xf32>
  return %b : memref<?xf32>
}
