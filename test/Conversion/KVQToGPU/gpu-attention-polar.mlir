// RUN: kvq-opt %s -kvq-gpu-attention="split-kv=1 kernel=prefill" | FileCheck %s

// A PolarQuant K (kvq.polar_decode, KVDecoderOpInterface) is decoded inside
// the kernel like other decoders: per 8-channel chunk (an index switch over
// the static chunk starts), the thread loads its token's block radius and
// the code bytes of each level from global memory, shifts the codes out
// and selects the cosine / sine factors, then stores f16 to the block's
// shared-memory K tile. No decoded K exists in memory.
// CHECK-LABEL: func @polar_gpu
// CHECK-NOT:   kvq.polar_decode
// CHECK:       gpu.launch
// CHECK:       scf.index_switch
// CHECK:       case 0 {
// CHECK:       memref.load %{{.*}} : memref<1x2x?x4xf16, {{.*}}>
// CHECK:       memref.load %{{.*}} : memref<1x2x?x1xi8, {{.*}}>
// CHECK:       arith.shrui %{{.*}} : vector<8xi32>
// CHECK:       arith.select %{{.*}} : vector<8xi1>, vector<8xf32>
// CHECK:       memref.load %{{.*}} : memref<1x2x?x16xi8, {{.*}}>
// CHECK:       arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK:       vector.store %{{.*}} : memref<{{.*}}, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK-NOT:   kvq.polar_decode
func.func @polar_gpu(%q: tensor<1x4x3x64xf16>,
    %kr: tensor<1x2x?x4xf16>, %k1: tensor<1x2x?x16xi8>, %k2: tensor<1x2x?x4xi8>, %k3: tensor<1x2x?x2xi8>,
    %k4: tensor<1x2x?x1xi8>, %v: tensor<1x2x?x64xf16>) -> tensor<1x4x3x64xf16> {
  %kd = kvq.polar_decode %kr, %k1, %k2, %k3, %k4 : tensor<1x2x?x4xf16>, tensor<1x2x?x16xi8>, tensor<1x2x?x4xi8>,
      tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8> -> tensor<1x2x?x64xf16>
  %o = kvq.attention q(%q : tensor<1x4x3x64xf16>) k(%kd : tensor<1x2x?x64xf16>) v(%v : tensor<1x2x?x64xf16>)
      -> tensor<1x4x3x64xf16>
  return %o : tensor<1x4x3x64xf16>
}
