// RUN: kvq-opt %s | kvq-opt | FileCheck %s

// kvq.lookup round-trips: f32 and i32 tables of 2 to 256 elements, any lane
// count; the result has the indices' shape and the table's element type.
// CHECK-LABEL: func.func @lookup
// CHECK: %[[A:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<32xf32>, vector<16xi32>
// CHECK: %[[B:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<2xi32>, vector<3xi32>
// CHECK: %[[C:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<256xf32>, vector<8xi32>
// CHECK: return %[[A]], %[[B]], %[[C]] : vector<16xf32>, vector<3xi32>, vector<8xf32>
func.func @lookup(%t: vector<32xf32>, %i: vector<16xi32>,
                  %t2: vector<2xi32>, %i3: vector<3xi32>,
                  %t256: vector<256xf32>, %i8: vector<8xi32>)
    -> (vector<16xf32>, vector<3xi32>, vector<8xf32>) {
  %0 = kvq.lookup %t[%i] : vector<32xf32>, vector<16xi32>
  %1 = kvq.lookup %t2[%i3] : vector<2xi32>, vector<3xi32>
  %2 = "kvq.lookup"(%t256, %i8) : (vector<256xf32>, vector<8xi32>) -> vector<8xf32>
  return %0, %1, %2 : vector<16xf32>, vector<3xi32>, vector<8xf32>
}
