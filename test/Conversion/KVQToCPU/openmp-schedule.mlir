// RUN: kvq-opt %s -split-input-file -kvq-openmp-schedule | FileCheck %s --check-prefix=DYNAMIC
// RUN: kvq-opt %s -split-input-file -kvq-openmp-schedule="kind=guided chunk=4" | FileCheck %s --check-prefix=GUIDED
// RUN: not kvq-opt %s -split-input-file -kvq-openmp-schedule="kind=eager" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not kvq-opt %s -split-input-file -kvq-openmp-schedule="chunk=-2" 2>&1 | FileCheck %s --check-prefix=BAD

// A loop without a schedule (what convert-scf-to-openmp creates) gets the
// pass's; by default dynamic, with the runtime's chunk.
// DYNAMIC-LABEL: func @unscheduled
// DYNAMIC: omp.wsloop schedule(dynamic) {
// GUIDED-LABEL: func @unscheduled
// GUIDED: %[[C4:.*]] = arith.constant 4 : i32
// GUIDED: omp.wsloop schedule(guided = %[[C4]] : i32) {
// BAD: kvq-openmp-schedule: kind must be static, dynamic or guided and chunk >= 0
func.func @unscheduled(%n: index, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %x = memref.load %m[%i] : memref<?xf32>
        memref.store %x, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A schedule already chosen stays.
// DYNAMIC-LABEL: func @scheduled
// DYNAMIC: omp.wsloop schedule(static) {
// GUIDED-LABEL: func @scheduled
// GUIDED: omp.wsloop schedule(static) {
func.func @scheduled(%n: index, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %x = memref.load %m[%i] : memref<?xf32>
        memref.store %x, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
