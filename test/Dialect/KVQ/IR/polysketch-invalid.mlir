// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @sketch_size(%x: tensor<4x64xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{result's last dimension 16 must be the sketch size 32}}
  %f = kvq.poly_sketch %x {sketch = 32} : tensor<4x64xf32> -> tensor<4x16xf32>
  return %f : tensor<4x16xf32>
}

// -----

func.func @sketch_positive(%x: tensor<4x64xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{attribute 'sketch' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %f = kvq.poly_sketch %x {sketch = 0} : tensor<4x64xf32> -> tensor<4x16xf32>
  return %f : tensor<4x16xf32>
}

// -----

func.func @sketch_features(%x: tensor<4x?xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{the last (feature) dimension must be static}}
  %f = kvq.poly_sketch %x {sketch = 16} : tensor<4x?xf32> -> tensor<4x16xf32>
  return %f : tensor<4x16xf32>
}

// -----

func.func @sketch_rank(%x: tensor<4x64xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{result must have the input's rank 2}}
  %f = kvq.poly_sketch %x {sketch = 16} : tensor<4x64xf32> -> tensor<16xf32>
  return %f : tensor<16xf32>
}

// -----

func.func @sketch_leading(%x: tensor<4x64xf32>) -> tensor<5x16xf32> {
  // expected-error @+1 {{result shape [5, 16] must keep the input's leading dimensions [4]}}
  %f = kvq.poly_sketch %x {sketch = 16} : tensor<4x64xf32> -> tensor<5x16xf32>
  return %f : tensor<5x16xf32>
}

// -----

func.func @odd_degree(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{degree must be even and >= 2, got 3}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) {degree = 3} -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @negative_sketch(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{sketch must be >= 0 (0: exact), got -1}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) {sketch = -1} -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @sketched_degree(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{the sketched form is degree 4 (the square of a degree-2 sketch), got degree 6}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) {degree = 6, sketch = 8} -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @block(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{block must be positive, got 0}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) {block = 0} -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @rank(%q: tensor<2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{q, k, v and the result must have rank 4}}
  %o = kvq.poly_attention q(%q : tensor<2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @batch(%q: tensor<2x2x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<2x2x3x16xf32> {
  // expected-error @+1 {{q, k and v must have the same batch}}
  %o = kvq.poly_attention q(%q : tensor<2x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

func.func @head_dim(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{q and k head dims differ (8 vs 16)}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x8xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @dynamic_head_dim(%q: tensor<1x2x3x?xf32>, %k: tensor<1x2x5x?xf32>, %v: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{the head dimension must be static}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x?xf32>) k(%k : tensor<1x2x5x?xf32>) v(%v : tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @kv_length(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x6x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{k and v must have the same heads and length}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%v : tensor<1x2x6x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @gqa(%q: tensor<1x3x3x16xf32>, %k: tensor<1x2x5x16xf32>) -> tensor<1x3x3x16xf32> {
  // expected-error @+1 {{query heads 3 are not a multiple of the key/value heads 2}}
  %o = kvq.poly_attention q(%q : tensor<1x3x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%k : tensor<1x2x5x16xf32>) -> tensor<1x3x3x16xf32>
  return %o : tensor<1x3x3x16xf32>
}

// -----

func.func @result(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{result shape [1, 2, 3, 16] must be [B, Hq, Sq, Dv] = [1, 2, 3, 8]}}
  %o = kvq.poly_attention q(%q : tensor<1x2x3x16xf32>) k(%k : tensor<1x2x5x16xf32>) v(%v : tensor<1x2x5x8xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}
