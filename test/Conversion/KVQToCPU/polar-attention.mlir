// RUN: kvq-opt %s -kvq-fuse | FileCheck %s --check-prefix=FUSE
// RUN: kvq-opt %s -kvq-fuse -kvq-tile-attention -canonicalize | FileCheck %s --check-prefix=TILE
// RUN: kvq-opt %s -kvq-fuse -kvq-tile-attention=table-lookup=1 -canonicalize | FileCheck %s --check-prefix=TABLE

// Attention over a PolarQuant cache of rotated keys and values: the cache
// holds polar codes of S k (rotate -> polar_encode at prefill), and the
// attention reads rotate^-1(polar_decode(...)). kvq-fuse rotates the
// queries once instead of un-rotating the keys and un-rotates the output
// once (V), so no rotation of keys remains and kvq.polar_decode feeds
// kvq.attention directly as K and V.
// FUSE-LABEL: func @polar_attention
// FUSE-DAG:     arith.constant dense<{{.*}}> : tensor<1x64x64xf32>
// FUSE-DAG:     %[[KD:.*]] = kvq.polar_decode %{{.*}} : tensor<1x2x?x4xf16>, {{.*}} -> tensor<1x2x?x64xf32>
// FUSE-DAG:     %[[VD:.*]] = kvq.polar_decode %{{.*}} : tensor<1x2x?x4xf16>, {{.*}} -> tensor<1x2x?x64xf32>
// FUSE-DAG:     %[[QR:.*]] = kvq.project %{{.*}}, %{{.*}} : tensor<1x4x3x64xf32>, tensor<1x64x64xf32> -> tensor<1x4x3x64xf32>
// FUSE:         %[[O:.*]] = kvq.attention q(%[[QR]] : tensor<1x4x3x64xf32>) k(%[[KD]] : tensor<1x2x?x64xf32>) v(%[[VD]] : tensor<1x2x?x64xf32>)
// FUSE:         %[[R:.*]] = kvq.reconstruct %[[O]], %{{.*}} : tensor<1x4x3x64xf32>, tensor<1x64x64xf32> -> tensor<1x4x3x64xf32>
// FUSE:         return %[[R]]
// FUSE-NOT:     kvq.rotate

// Inside the key loop the codes are decoded in registers: each chunk
// loads its radius and the code bytes its lanes touch (one 32-bit word per
// level), broadcasts the word and shifts each lane to its code, then picks
// the cosine / sine factors among constant vectors by a binary tree of
// selects on the code's bits (15 selects and 4 bit tests for 4-bit codes).
// No decoded K or V exists in memory and no polar_decode is left.
// TILE-LABEL: func @polar_attention
// TILE-NOT:     kvq.polar_decode
// TILE-NOT:     memref.alloc{{.*}}x?x64xf32
// TILE:         scf.for
// TILE:         scf.for
// TILE:         {{memref.load|tensor.extract}} %{{.*}} : {{.*}}<1x2x?x4xf16{{.*}}>
// TILE:         {{memref.load|tensor.extract}} %{{.*}} : {{.*}}<1x2x?x1xi8{{.*}}>
// TILE:         arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
// TILE-COUNT-4: {{memref.load|tensor.extract}} %{{.*}} : {{.*}}<1x2x?x16xi8{{.*}}>
// TILE:         %[[WORD:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// TILE:         %[[SHIFTED:.*]] = arith.shrui %[[WORD]], %{{.*}} : vector<16xi32>
// TILE:         %[[CODE:.*]] = arith.andi %[[SHIFTED]], %{{.*}} : vector<16xi32>
// TILE:         %[[B0:.*]] = arith.andi %[[CODE]], %{{.*}} : vector<16xi32>
// TILE:         %[[T0:.*]] = arith.cmpi ne, %[[B0]], %{{.*}} : vector<16xi32>
// TILE-COUNT-8: arith.select %[[T0]], %{{.*}} : vector<16xi1>, vector<16xf32>
// TILE:         %[[B1:.*]] = arith.andi %[[CODE]], %{{.*}} : vector<16xi32>
// TILE:         %[[T1:.*]] = arith.cmpi ne, %[[B1]], %{{.*}} : vector<16xi32>
// TILE-COUNT-4: arith.select %[[T1]], %{{.*}} : vector<16xi1>, vector<16xf32>
// TILE:         arith.cmpi ne
// TILE-COUNT-2: arith.select
// TILE:         arith.cmpi ne
// TILE:         %[[F:.*]] = arith.select
// TILE:         arith.mulf %{{.*}}, %[[F]] : vector<16xf32>
// TILE-NOT:     kvq.polar_decode
// With `table-lookup` (a target that permutes lanes), each level's factor
// is one kvq.lookup in a table of the codes' cosines, then their sines: the
// lane's code, or'ed with its sine bit (bit w of the index for w-bit codes;
// here the second of each pair of lanes at the first level), indexes it:
// 8 entries for the 2-bit levels, 32 for the 4-bit one. No select is left
// in the key loop's decoding.
// TABLE-LABEL: func @polar_attention
// TABLE-DAG:     %[[SINE1:.*]] = arith.constant dense<[0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16]> : vector<16xi32>
// TABLE-DAG:     %[[M15:.*]] = arith.constant dense<15> : vector<16xi32>
// TABLE-DAG:     %[[T1:.*]] = arith.constant dense<[{{.*}}]> : vector<32xf32>
// TABLE:         scf.for
// TABLE:         scf.for
// TABLE-NOT:     arith.select
// TABLE:         %[[I4:.*]] = arith.ori %{{.*}} : vector<16xi32>
// TABLE:         %[[F4:.*]] = kvq.lookup %{{.*}}[%[[I4]]] : vector<8xf32>, vector<16xi32>
// TABLE:         arith.mulf %{{.*}}, %[[F4]] : vector<16xf32>
// TABLE-NOT:     arith.select
// TABLE:         arith.shli %{{.*}}, %c24_i32 : i32
// TABLE:         %[[WORD:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// TABLE:         %[[SHIFTED:.*]] = arith.shrui %[[WORD]], %{{.*}} : vector<16xi32>
// TABLE:         %[[CODE:.*]] = arith.andi %[[SHIFTED]], %[[M15]] : vector<16xi32>
// TABLE:         %[[I1:.*]] = arith.ori %[[CODE]], %[[SINE1]] : vector<16xi32>
// TABLE:         %[[F1:.*]] = kvq.lookup %[[T1]][%[[I1]]] : vector<32xf32>, vector<16xi32>
// TABLE:         arith.mulf %{{.*}}, %[[F1]] : vector<16xf32>
// TABLE-NOT:     kvq.polar_decode
func.func @polar_attention(%q: tensor<1x4x3x64xf32>,
    %kr: tensor<1x2x?x4xf16>, %k1: tensor<1x2x?x16xi8>, %k2: tensor<1x2x?x4xi8>, %k3: tensor<1x2x?x2xi8>, %k4: tensor<1x2x?x1xi8>,
    %vr: tensor<1x2x?x4xf16>, %v1: tensor<1x2x?x16xi8>, %v2: tensor<1x2x?x4xi8>, %v3: tensor<1x2x?x2xi8>, %v4: tensor<1x2x?x1xi8>)
    -> tensor<1x4x3x64xf32> {
  %kd = kvq.polar_decode %kr, %k1, %k2, %k3, %k4 : tensor<1x2x?x4xf16>, tensor<1x2x?x16xi8>, tensor<1x2x?x4xi8>,
      tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8> -> tensor<1x2x?x64xf32>
  %vd = kvq.polar_decode %vr, %v1, %v2, %v3, %v4 : tensor<1x2x?x4xf16>, tensor<1x2x?x16xi8>, tensor<1x2x?x4xi8>,
      tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8> -> tensor<1x2x?x64xf32>
  %k = kvq.rotate %kd {seed = 1, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %v = kvq.rotate %vd {seed = 2, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x3x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      -> tensor<1x4x3x64xf32>
  return %o : tensor<1x4x3x64xf32>
}
