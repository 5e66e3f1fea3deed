// RUN: kvq-opt %s -kvq-lower-lookup="avx512=1 avx2=1" -cse | FileCheck %s --check-prefix=AVX512
// RUN: kvq-opt %s -kvq-lower-lookup=avx2=1 -cse | FileCheck %s --check-prefix=AVX2
// RUN: kvq-opt %s -kvq-lower-lookup -cse | FileCheck %s --check-prefix=PORTABLE

// A table of 32 f32 read by 16 lanes (PolarQuant's 4-bit level: 16
// cosines, then 16 sines).
// - With AVX-512, one vpermi2ps over the table's two halves.
// - With AVX2, two pieces of 8 lanes; each reads the four 8-element
//   slices with vpermps and chooses among them by index bits 3 and 4.
// - Otherwise, 31 selects over the broadcast elements, the first on bit 0.
// AVX512-LABEL: func.func @table32
// AVX512-SAME:    (%[[T:.*]]: vector<32xf32>, %[[I:.*]]: vector<16xi32>)
// AVX512:         %[[LO:.*]] = vector.shuffle %[[T]], %[[T]] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
// AVX512:         %[[HI:.*]] = vector.shuffle %[[T]], %[[T]] [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
// AVX512:         %[[R:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.ps.512"(%[[LO]], %[[I]], %[[HI]]) : (vector<16xf32>, vector<16xi32>, vector<16xf32>) -> vector<16xf32>
// AVX512-NOT:     arith.select
// AVX512:         return %[[R]]
// AVX2-LABEL: func.func @table32
// AVX2:          vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [8], strides = [1]} : vector<16xi32> to vector<8xi32>
// AVX2-COUNT-4:   llvm.call_intrinsic "llvm.x86.avx2.permps"
// AVX2:          vector.extract_strided_slice %{{.*}} {offsets = [8], sizes = [8], strides = [1]} : vector<16xi32> to vector<8xi32>
// AVX2-COUNT-4:   llvm.call_intrinsic "llvm.x86.avx2.permps"
// AVX2-NOT:       llvm.call_intrinsic
// AVX2-LABEL: func.func @table8
// PORTABLE-LABEL: func.func @table32
// PORTABLE-NOT:   llvm.call_intrinsic
// PORTABLE:       %[[BIT0:.*]] = arith.constant dense<1> : vector<16xi32>
// PORTABLE:       arith.andi %{{.*}}, %[[BIT0]] : vector<16xi32>
// PORTABLE-COUNT-31: arith.select
// PORTABLE-NOT:   arith.select
// PORTABLE:       return
func.func @table32(%t: vector<32xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  %0 = kvq.lookup %t[%i] : vector<32xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// A table of 8 elements, repeated to the 16 that vpermps reads (index bit
// 3 then picks the same element); AVX2 reads it whole for each piece.
// AVX512-LABEL: func.func @table8
// AVX512-SAME:    (%[[T:.*]]: vector<8xf32>, %[[I:.*]]: vector<16xi32>)
// AVX512:         %[[T16:.*]] = vector.shuffle %[[T]], %[[T]] [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]
// AVX512:         llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%[[T16]], %[[I]]) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// AVX2-SAME:      (%[[T:.*]]: vector<8xf32>, %[[I:.*]]: vector<16xi32>)
// AVX2:           %[[P0:.*]] = vector.extract_strided_slice %[[I]] {offsets = [0], sizes = [8], strides = [1]}
// AVX2:           llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[T]], %[[P0]]) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
// AVX2:           %[[P1:.*]] = vector.extract_strided_slice %[[I]] {offsets = [8], sizes = [8], strides = [1]}
// AVX2:           llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[T]], %[[P1]])
// PORTABLE-LABEL: func.func @table8
// PORTABLE-COUNT-7: arith.select
// PORTABLE-NOT:   arith.select
// PORTABLE:       return
func.func @table8(%t: vector<8xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  %0 = kvq.lookup %t[%i] : vector<8xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// i32 tables take the integer permutes.
// AVX512-LABEL: func.func @table16_i32
// AVX512:         llvm.call_intrinsic "llvm.x86.avx512.permvar.si.512"(%{{.*}}, %{{.*}}) : (vector<16xi32>, vector<16xi32>) -> vector<16xi32>
// AVX512-LABEL: func.func @table32_i32
// AVX512:         llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.d.512"
// AVX2-LABEL: func.func @table16_i32
// AVX2-COUNT-4:   llvm.call_intrinsic "llvm.x86.avx2.permd"
func.func @table16_i32(%t: vector<16xi32>, %i: vector<16xi32>) -> vector<16xi32> {
  %0 = kvq.lookup %t[%i] : vector<16xi32>, vector<16xi32>
  return %0 : vector<16xi32>
}
func.func @table32_i32(%t: vector<32xi32>, %i: vector<16xi32>) -> vector<16xi32> {
  %0 = kvq.lookup %t[%i] : vector<32xi32>, vector<16xi32>
  return %0 : vector<16xi32>
}

// A table of 64: two vpermi2ps over its halves, chosen by index bit 5.
// AVX512-LABEL: func.func @table64
// AVX512-SAME:    (%[[T:.*]]: vector<64xf32>, %[[I:.*]]: vector<16xi32>)
// AVX512:         %[[A:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.ps.512"
// AVX512:         %[[B:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.ps.512"
// AVX512:         %[[BIT5:.*]] = arith.constant dense<32> : vector<16xi32>
// AVX512:         %[[M:.*]] = arith.andi %[[I]], %[[BIT5]] : vector<16xi32>
// AVX512:         %[[SET:.*]] = arith.cmpi ne, %[[M]], %{{.*}} : vector<16xi32>
// AVX512:         %[[R:.*]] = arith.select %[[SET]], %[[B]], %[[A]] : vector<16xi1>, vector<16xf32>
// AVX512:         return %[[R]]
func.func @table64(%t: vector<64xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  %0 = kvq.lookup %t[%i] : vector<64xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// 32 lanes: two pieces of 16 (with AVX2, four of 8). 8 lanes with AVX-512
// take AVX2's vpermps; 4 lanes take the portable code everywhere.
// AVX512-LABEL: func.func @lanes
// AVX512-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.ps.512"
// AVX512:         llvm.call_intrinsic "llvm.x86.avx2.permps"
// AVX512-NOT:     llvm.call_intrinsic
// AVX512-COUNT-3: arith.select {{.*}} : vector<4xi1>, vector<4xf32>
// AVX512:         return
// AVX2-LABEL: func.func @lanes
// AVX2-COUNT-17:  llvm.call_intrinsic "llvm.x86.avx2.permps"
// AVX2-NOT:       llvm.call_intrinsic
// AVX2-COUNT-3:   arith.select {{.*}} : vector<4xi1>, vector<4xf32>
func.func @lanes(%t: vector<32xf32>, %i32: vector<32xi32>, %t8: vector<8xf32>, %i8: vector<8xi32>,
                 %t4: vector<4xf32>, %i4: vector<4xi32>) -> (vector<32xf32>, vector<8xf32>, vector<4xf32>) {
  %0 = kvq.lookup %t[%i32] : vector<32xf32>, vector<32xi32>
  %1 = kvq.lookup %t8[%i8] : vector<8xf32>, vector<8xi32>
  %2 = kvq.lookup %t4[%i4] : vector<4xf32>, vector<4xi32>
  return %0, %1, %2 : vector<32xf32>, vector<8xf32>, vector<4xf32>
}
