// RUN: kvq-opt %s -split-input-file -kvq-emulate-gpu-launches -cse | FileCheck %s

// A launch becomes loops over blocks (z, y, x) then threads (z, y, x) that
// run its body with those ids; device allocations become host ones.
// CHECK-LABEL: func.func @emulate(
// CHECK-SAME:      %[[OUT:.*]]: memref<?xf32>, %[[GRID:.*]]: index)
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK:         %[[TMP:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         scf.for %{{.*}} = %[[C0]] to %[[C1]] step %[[C1]]
// CHECK:           scf.for %{{.*}} = %[[C0]] to %[[C1]] step %[[C1]]
// CHECK:             scf.for %[[BX:.*]] = %[[C0]] to %[[GRID]] step %[[C1]]
// CHECK:               scf.for %{{.*}} = %[[C0]] to %[[C1]] step %[[C1]]
// CHECK:                 scf.for %{{.*}} = %[[C0]] to %[[C1]] step %[[C1]]
// CHECK:                   scf.for %[[TX:.*]] = %[[C0]] to %[[C32]] step %[[C1]]
// CHECK:                     %[[B:.*]] = arith.muli %[[BX]], %[[C32]]
// CHECK:                     %[[I:.*]] = arith.addi %[[B]], %[[TX]]
// CHECK:                     memref.store %{{.*}}, %[[TMP]][%[[I]]]
// CHECK:         memref.dealloc %[[TMP]]
// CHECK-NOT:     gpu.
func.func @emulate(%out: memref<?xf32>, %grid: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %n = arith.muli %grid, %c32 : index
  %w = gpu.wait async
  %tmp, %t = gpu.alloc async [%w] (%n) : memref<?xf32>
  gpu.wait [%t]
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %grid, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %b = arith.muli %bx, %sx : index
    %i = arith.addi %b, %tx : index
    %v = arith.index_cast %i : index to i32
    %f = arith.sitofp %v : i32 to f32
    memref.store %f, %tmp[%i] : memref<?xf32>
    gpu.terminator
  }
  %w2 = gpu.wait async
  %t2 = gpu.dealloc async [%w2] %tmp : memref<?xf32>
  gpu.wait [%t2]
  return
}
