// RUN: kvq-opt %s -split-input-file -kvq-gpu-map-loops -canonicalize | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-gpu-map-loops="block-size=64" | FileCheck %s --check-prefix=BLOCK

// A 2-D parallel loop over a ragged [3, ?] space: one launch of
// ceil(3 * n / 256) blocks (at least one) of 256 threads, each thread one
// iteration under a bounds check, the innermost dimension fastest. The host
// buffer becomes a device allocation freed at the end of the function; the
// constant table moves into the kernel that reads it; the copy becomes an
// element-wise kernel and the scalar store a single-thread one.
// CHECK-LABEL: func.func @map(
// CHECK-SAME:      %[[IN:.*]]: memref<3x?xf32>, %[[OUT:.*]]: memref<3x?xf32>)
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK:         %[[N:.*]] = memref.dim %[[IN]]
// CHECK:         %[[W0:.*]] = gpu.wait async
// CHECK:         %[[TMP:.*]], %[[T:.*]] = gpu.alloc async [%[[W0]]] (%[[N]]) : memref<3x?xf32>
// CHECK:         gpu.wait [%[[T]]]
// CHECK-NOT:     memref.alloc
// CHECK:         %[[COUNT:.*]] = arith.maxsi %[[N]]
// CHECK:         %[[TOTAL:.*]] = arith.muli %[[COUNT]], %[[C3]]
// CHECK:         %[[BLOCKS:.*]] = arith.ceildivsi %[[TOTAL]], %[[C256]]
// CHECK:         %[[GRID:.*]] = arith.maxsi %[[BLOCKS]], %[[C1]]
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK:           %[[TABLE:.*]] = memref.get_global @table
// CHECK:           %[[B:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK:           %[[LIN:.*]] = arith.addi %[[B]], %[[TX]]
// CHECK:           %[[IN_BOUNDS:.*]] = arith.cmpi slt, %[[LIN]], %[[TOTAL]]
// CHECK:           scf.if %[[IN_BOUNDS]] {
// CHECK:             %[[J:.*]] = arith.remui %[[LIN]], %[[COUNT]]
// CHECK:             %[[I:.*]] = arith.divui %[[LIN]], %[[COUNT]]
// CHECK:             memref.load %[[IN]][%[[I]], %[[J]]]
// CHECK:             memref.load %[[TABLE]][%[[I]]]
// CHECK:             memref.store %{{.*}}, %[[TMP]][%[[I]], %[[J]]]
// CHECK:           gpu.terminator
// CHECK:         gpu.launch
// CHECK:             memref.load %[[TMP]]
// CHECK:             memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT:     memref.copy
// CHECK:         gpu.launch blocks(%{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK-NEXT:      memref.store
// CHECK-NEXT:      gpu.terminator
// CHECK:         %[[W1:.*]] = gpu.wait async
// CHECK:         %[[T1:.*]] = gpu.dealloc async [%[[W1]]] %[[TMP]]
// CHECK:         gpu.wait [%[[T1]]]
// CHECK-NEXT:    return
// BLOCK-LABEL: func.func @map(
// BLOCK:         arith.constant 64 : index
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @map(%in: memref<3x?xf32>, %out: memref<3x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %n = memref.dim %in, %c1 : memref<3x?xf32>
  %tmp = memref.alloc(%n) : memref<3x?xf32>
  %g = memref.get_global @table : memref<4xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %n) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<3x?xf32>
    %w = memref.load %g[%i] : memref<4xf32>
    %y = arith.mulf %x, %w : f32
    memref.store %y, %tmp[%i, %j] : memref<3x?xf32>
    scf.reduce
  }
  memref.copy %tmp, %out : memref<3x?xf32> to memref<3x?xf32>
  %z = arith.constant 0.0 : f32
  memref.store %z, %out[%c0, %c0] : memref<3x?xf32>
  return
}

// -----

// A reduction loop nested in the parallel loop runs sequentially in each
// thread; a host loop around kernels stays on the host, with a buffer
// allocated per iteration freed where the host freed it.
// CHECK-LABEL: func.func @nested(
// CHECK:         scf.for
// CHECK:           gpu.alloc async
// CHECK:           gpu.launch
// CHECK:             scf.if
// CHECK:               scf.for
// CHECK:           gpu.dealloc async
// CHECK-NOT:       memref.dealloc
func.func @nested(%in: memref<8x16xf32>, %out: memref<8xf32>, %steps: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.for %s = %c0 to %steps step %c1 {
    %acc = memref.alloc() : memref<8xf32>
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %zero = arith.constant 0.0 : f32
      %sum = scf.for %j = %c0 to %c16 step %c1 iter_args(%a = %zero) -> f32 {
        %x = memref.load %in[%i, %j] : memref<8x16xf32>
        %y = arith.addf %a, %x : f32
        scf.yield %y : f32
      }
      memref.store %sum, %acc[%i] : memref<8xf32>
      scf.reduce
    }
    memref.copy %acc, %out : memref<8xf32> to memref<8xf32>
    memref.dealloc %acc : memref<8xf32>
  }
  return
}
