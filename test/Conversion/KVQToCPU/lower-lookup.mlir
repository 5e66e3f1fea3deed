// RUN: kvq-opt %s -kvq-lower-lookup="avx512=1 avx2=1" -cse | FileCheck %s --check-prefix=AVX512
// RUN: kvq-opt %s -kvq-lower-lookup=avx2=1 -cse | FileCheck %s --check-prefix=AVX2
// RUN: kvq-opt %s -kvq-lower-lookup -cse | FileCheck %s --check-prefix=PORTABLE
// RUN: kvq-opt %s -kvq-lower-lookup="avx512=1 avx2=1 vbmi=1" -cse | FileCheck %s --check-prefix=VBMI

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

// Bytes: a table of 256 read by 64 byte lanes (VidKV's value digits). With
// AVX512-VBMI, two vpermi2b over the table's halves (bytes 0-127 and
// 128-255), chosen by index bit 7; without it, AVX-512's and AVX2's
// permutes (32-bit elements) do not apply: the portable selects.
// VBMI-LABEL: func.func @bytes256
// VBMI-SAME:    (%[[T:.*]]: vector<256xi8>, %[[I:.*]]: vector<64xi8>)
// VBMI:         %[[A:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%{{.*}}, %[[I]], %{{.*}}) : (vector<64xi8>, vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// VBMI:         %[[B:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"
// VBMI:         %[[BIT7:.*]] = arith.constant dense<-128> : vector<64xi8>
// VBMI:         %[[M:.*]] = arith.andi %[[I]], %[[BIT7]] : vector<64xi8>
// VBMI:         %[[SET:.*]] = arith.cmpi ne, %[[M]], %{{.*}} : vector<64xi8>
// VBMI:         %[[R:.*]] = arith.select %[[SET]], %[[B]], %[[A]] : vector<64xi1>, vector<64xi8>
// VBMI:         return %[[R]]
// AVX512-LABEL: func.func @bytes256
// AVX512-NOT:     llvm.call_intrinsic
// AVX512-COUNT-255: arith.select
// AVX512:         return
func.func @bytes256(%t: vector<256xi8>, %i: vector<64xi8>) -> vector<64xi8> {
  %0 = kvq.lookup %t[%i] : vector<256xi8>, vector<64xi8>
  return %0 : vector<64xi8>
}

// A table of 64 bytes over 128 lanes: one vpermb per piece of 64 lanes.
// Byte tables over 16 lanes (not a multiple of 64) and byte indices into
// an f32 table take the portable code.
// VBMI-LABEL: func.func @bytes64
// VBMI-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512.permvar.qi.512"({{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// VBMI-NOT:     llvm.call_intrinsic
// VBMI-COUNT-15: arith.select {{.*}} : vector<16xi1>, vector<16xi8>
// VBMI-COUNT-7: arith.select {{.*}} : vector<16xi1>, vector<16xf32>
// VBMI:         return
func.func @bytes64(%t: vector<64xi8>, %i: vector<128xi8>, %t16: vector<16xi8>, %i16: vector<16xi8>,
                   %f8: vector<8xf32>) -> (vector<128xi8>, vector<16xi8>, vector<16xf32>) {
  %0 = kvq.lookup %t[%i] : vector<64xi8>, vector<128xi8>
  %1 = kvq.lookup %t16[%i16] : vector<16xi8>, vector<16xi8>
  %2 = kvq.lookup %f8[%i16] : vector<8xf32>, vector<16xi8>
  return %0, %1, %2 : vector<128xi8>, vector<16xi8>, vector<16xf32>
}
