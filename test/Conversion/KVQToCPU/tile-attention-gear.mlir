// RUN: kvq-opt %s -split-input-file -kvq-tile-attention -canonicalize | FileCheck %s

// Attention over a GEAR-compressed K: kvq.gear_decode (through
// KVDecoderOpInterface) and the kvq.dequantize of its base are decoded
// inside the key loop. Each key row reads its packed INT4 codes and adds
// the rank-2 correction (a scalar of `a` times a row of `b` per rank). The
// decode (per-key) kernel applies the token's outliers as sparse terms:
// per outlier, its channel is checked against the head dimension once and
// `value * q[channel]` is summed per row, apart from the chunks' reduction,
// then added to the row's score; no chunk compares its lanes with the
// outliers' channels. No decoded K exists in memory.
// CHECK-LABEL: func @gear_key
// CHECK-NOT: kvq.gear_decode
// CHECK-NOT: kvq.dequantize
// CHECK-NOT: memref.alloc{{.*}}x?x64
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} : memref<1x2x?x32xi8, {{.*}}>, vector<8xi8>
// CHECK: tensor.extract {{.*}} : tensor<1x2x?x2xf32>
// CHECK: vector.transfer_read {{.*}} : memref<1x2x2x64xf32, {{.*}}>, vector<16xf32>
// CHECK: vector.fma
// CHECK: %[[IDX:.*]] = tensor.extract {{.*}} : tensor<1x2x?x3xi32>
// CHECK: %[[CH:.*]] = arith.index_cast %[[IDX]] : i32 to index
// CHECK: %[[RAW:.*]] = tensor.extract {{.*}} : tensor<1x2x?x3xf16>
// CHECK: %[[VAL:.*]] = arith.extf %[[RAW]] : f16 to f32
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[CH]], %c64 : index
// CHECK: %[[AT:.*]] = arith.select %[[IN]], %[[CH]], %c0 : index
// CHECK: %[[W:.*]] = arith.select %[[IN]], %[[VAL]], %{{.*}} : f32
// CHECK: %[[Q:.*]] = memref.load %[[QT:.*]][%c0, %[[AT]]] : memref<4x64xf32>
// CHECK: %[[S0:.*]] = arith.mulf %[[W]], %[[Q]] : f32
// CHECK: memref.load %[[QT]][%c1, %[[AT]]] : memref<4x64xf32>
// CHECK: %[[Q1:.*]] = memref.load %[[QT]][%c0, %{{.*}}] : memref<4x64xf32>
// CHECK: %[[S1:.*]] = math.fma %{{.*}}, %[[Q1]], %[[S0]] : f32
// CHECK: math.fma %{{.*}}, %{{.*}}, %[[S1]] : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
func.func @gear_key(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x64xf16>,
                    %kz: tensor<1x2x?x64xf16>, %a: tensor<1x2x?x2xf32>, %b: tensor<1x2x2x64xf32>,
                    %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x1x64xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x64xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x64xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// -----

// A GEAR-compressed V (KIVI per-token INT4 base): after each block's P V,
// every key's outliers add `p * value` to the accumulator of their channel
// in each row (an index outside the head dimension adds 0 to channel 0).
// CHECK-LABEL: func @gear_value
// CHECK-NOT: kvq.gear_decode
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
// CHECK: vector.store %{{.*}}#15, %[[ACC:.*]][%c3, %c48] : memref<4x64xf32>, vector<16xf32>
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT: arith.addi
// CHECK-NEXT: %[[P0:.*]] = memref.load %[[S:.*]][%c0, %[[J]]] : memref<4x64xf32>
// CHECK: %[[IDX:.*]] = tensor.extract {{.*}} : tensor<1x2x?x3xi32>
// CHECK: %[[CH:.*]] = arith.index_cast %[[IDX]] : i32 to index
// CHECK: %[[RAW:.*]] = tensor.extract {{.*}} : tensor<1x2x?x3xf16>
// CHECK: %[[VAL:.*]] = arith.extf %[[RAW]] : f16 to f32
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[CH]], %c64 : index
// CHECK: %[[AT:.*]] = arith.select %[[IN]], %[[CH]], %c0 : index
// CHECK: %[[W:.*]] = arith.select %[[IN]], %[[VAL]], %{{.*}} : f32
// CHECK: %[[A:.*]] = memref.load %[[ACC]][%c0, %[[AT]]] : memref<4x64xf32>
// CHECK: %[[N:.*]] = math.fma %[[P0]], %[[W]], %[[A]] : f32
// CHECK: memref.store %[[N]], %[[ACC]][%c0, %[[AT]]] : memref<4x64xf32>
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
func.func @gear_value(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %vc: tensor<1x2x?x64xi4>,
                      %vs: tensor<1x2x?x2xf16>, %vz: tensor<1x2x?x2xf16>, %a: tensor<1x2x?x2xf32>,
                      %b: tensor<1x2x2x64xf32>, %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>)
    -> tensor<1x4x1x64xf32> {
  %vd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %vc, %vs, %vz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x2xf16>, tensor<1x2x?x2xf16> -> tensor<1x2x?x64xf32>
  %v = kvq.gear_decode %vd, %a, %b, %i, %w : tensor<1x2x?x64xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x64xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// -----

// Prefill-like shapes (a dynamic query length) get both kernels: the
// register-blocked one decodes each chunk with its outliers (a compare of
// the lanes' channels per outlier), the per-key one adds them as sparse
// terms.
// CHECK-LABEL: func @gear_key_prefill
// CHECK: scf.if
// CHECK: arith.cmpi eq, {{.*}} : vector<16xi32>
// CHECK: } else {
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
// CHECK: arith.cmpi ult, %{{.*}}, %c64 : index
// CHECK-NOT: arith.cmpi eq, {{.*}} : vector<16xi32>
// CHECK: return
func.func @gear_key_prefill(%q: tensor<1x4x?x64xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x64xf16>,
                            %kz: tensor<1x2x?x64xf16>, %a: tensor<1x2x?x2xf32>, %b: tensor<1x2x2x64xf32>,
                            %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x?x64xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x64xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x64xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x?x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x?x64xf32>
  return %o : tensor<1x4x?x64xf32>
}

// -----

// GEAR's keys as kvq-fuse leaves them: a channel concatenation of a rank-0
// kvq.gear_decode (whose outliers the decode kernel adds as sparse terms)
// of KIVI's keys (scales and zero points per channel and 32 tokens) and
// the low-rank coordinates. The dequantization's scales are folded into
// the query where a token group starts (its lanes 0-63; the coordinates'
// lanes keep the query), its zero points into each row's score offset, and
// each key reads its codes bare: no f16 scale or zero point per key.
// CHECK-LABEL: func @gear_key_fused
// CHECK: scf.for
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %c32 : index
// CHECK: %[[AT:.*]] = arith.cmpi eq, %[[REM]], %c0 : index
// CHECK: %[[NEW:.*]] = arith.ori %{{.*}}, %[[AT]] : i1
// CHECK: scf.if %[[NEW]] {
// CHECK-COUNT-4: vector.transfer_read %{{.*}} : memref<1x2x?x64xf16, {{.*}}>, vector<16xf16>
// CHECK: vector.transfer_read %{{.*}} : memref<1x2x?x32xi8, {{.*}}>, vector<8xi8>
// CHECK-NOT: memref<1x2x?x64xf16
// CHECK: vector.insert %{{.*}}, %{{.*}} [0] : f32 into vector<16xf32>
// CHECK: vector.fma
// CHECK: tensor.extract {{.*}} : tensor<1x2x?x3xi32>
func.func @gear_key_fused(%q: tensor<1x4x1x68xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x64xf16>,
                          %kz: tensor<1x2x?x64xf16>, %a0: tensor<1x2x?x0xf16>, %b0: tensor<1x2x0x64xf16>,
                          %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %a: tensor<1x2x?x4xf32>,
                          %v: tensor<1x2x?x68xf32>) -> tensor<1x4x1x68xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf32>
  %g = kvq.gear_decode %kd, %a0, %b0, %i, %w
      : tensor<1x2x?x64xf32>, tensor<1x2x?x0xf16>, tensor<1x2x0x64xf16>, tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %k = tensor.concat dim(3) %g, %a : (tensor<1x2x?x64xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x68xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x68xf32>) k(%k : tensor<1x2x?x68xf32>) v(%v : tensor<1x2x?x68xf32>) -> tensor<1x4x1x68xf32>
  return %o : tensor<1x4x1x68xf32>
}

// -----

// GEAR's values as kvq-fuse leaves them: the dequantization's per-token
// scales fold into the probabilities (weights [rows, 2 groups, block]), its
// zero points into each row's sums per group, read 16 keys at a time and
// transposed to a vector of keys per group; the value rows' codes are read
// bare, and the low-rank coordinates' lanes take the probabilities.
// CHECK-LABEL: func @gear_value_fused
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<4x2x64xf32>
// CHECK: vector.load %{{.*}} : memref<?xf16, strided<[1], offset: ?>>, vector<32xf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xf16>, vector<32xf16>
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x2x?x2xf16, {{.*}}>, vector<2xf16>
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args(
// CHECK: vector.transfer_read %{{.*}} : memref<1x2x?x32xi8, {{.*}}>, vector<8xi8>
// CHECK-NOT: memref<1x2x?x2xf16
// CHECK: scf.yield
func.func @gear_value_fused(%q: tensor<1x4x1x68xf32>, %k: tensor<1x2x?x68xf32>, %vc: tensor<1x2x?x64xi4>,
                            %vs: tensor<1x2x?x2xf16>, %vz: tensor<1x2x?x2xf16>, %a0: tensor<1x2x?x0xf16>,
                            %b0: tensor<1x2x0x64xf16>, %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>,
                            %a: tensor<1x2x?x4xf32>) -> tensor<1x4x1x68xf32> {
  %vd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %vc, %vs, %vz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x2xf16>, tensor<1x2x?x2xf16> -> tensor<1x2x?x64xf32>
  %g = kvq.gear_decode %vd, %a0, %b0, %i, %w
      : tensor<1x2x?x64xf32>, tensor<1x2x?x0xf16>, tensor<1x2x0x64xf16>, tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %v = tensor.concat dim(3) %g, %a : (tensor<1x2x?x64xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x68xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x68xf32>) k(%k : tensor<1x2x?x68xf32>) v(%v : tensor<1x2x?x68xf32>) -> tensor<1x4x1x68xf32>
  return %o : tensor<1x4x1x68xf32>
}
