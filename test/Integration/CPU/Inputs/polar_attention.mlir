// Attention over PolarQuant K and V decoded inside the key loop (levels 4/2/2/2,
// D 64): cpu-features.test checks which permutes read the cosines and sines.
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
