// RUN: kvq-opt %s | kvq-opt | FileCheck %s

// kvq.lookup round-trips: f32, i32 and i8 tables of 2 to 256 elements, i32
// or i8 indices, any lane count; the result has the indices' shape and the
// table's element type.
// CHECK-LABEL: func.func @lookup
// CHECK: %[[A:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<32xf32>, vector<16xi32>
// CHECK: %[[B:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<2xi32>, vector<3xi32>
// CHECK: %[[C:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<256xf32>, vector<8xi32>
// CHECK: %[[D:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<256xi8>, vector<64xi8>
// CHECK: %[[E:.*]] = kvq.lookup %{{.*}}[%{{.*}}] : vector<4xf32>, vector<64xi8>
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]], %[[E]] : vector<16xf32>, vector<3xi32>, vector<8xf32>, vector<64xi8>, vector<64xf32>
func.func @lookup(%t: vector<32xf32>, %i: vector<16xi32>,
                  %t2: vector<2xi32>, %i3: vector<3xi32>,
                  %t256: vector<256xf32>, %i8: vector<8xi32>,
                  %b256: vector<256xi8>, %b64: vector<64xi8>, %t4: vector<4xf32>)
    -> (vector<16xf32>, vector<3xi32>, vector<8xf32>, vector<64xi8>, vector<64xf32>) {
  %0 = kvq.lookup %t[%i] : vector<32xf32>, vector<16xi32>
  %1 = kvq.lookup %t2[%i3] : vector<2xi32>, vector<3xi32>
  %2 = "kvq.lookup"(%t256, %i8) : (vector<256xf32>, vector<8xi32>) -> vector<8xf32>
  %3 = kvq.lookup %b256[%b64] : vector<256xi8>, vector<64xi8>
  %4 = kvq.lookup %t4[%b64] : vector<4xf32>, vector<64xi8>
  return %0, %1, %2, %3, %4 : vector<16xf32>, vector<3xi32>, vector<8xf32>, vector<64xi8>, vector<64xf32>
}
