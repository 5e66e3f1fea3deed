// RUN: kvq-opt %s -split-input-file -verify-diagnostics --kvq-wrap-entry-points

// A value whose static dims alone hold more bytes than an int64_t can
// count: its allocation size, its strides and the ABI's size checks would
// all overflow. In a signature...

// expected-error @+1 {{the static dims of 'tensor<1x8x100000000000000000x128xf32>' hold 409600000000000000000 bytes, more than an int64_t byte size can count}}
func.func @huge(%q: tensor<1x8x100000000000000000x128xf32>) -> tensor<1xf32> {
  %c = arith.constant dense<0.0> : tensor<1xf32>
  return %c : tensor<1xf32>
}

// -----

// ... or inside a function, also a private one.
func.func private @inside(%x: f32) -> f32 {
  // expected-error @+1 {{the static dims of 'tensor<4611686018427387904x4xf32>' hold 73786976294838206464 bytes, more than an int64_t byte size can count}}
  %e = tensor.empty() : tensor<4611686018427387904x4xf32>
  return %x : f32
}
func.func @f(%x: f32) -> tensor<1xf32> {
  %c = arith.constant dense<0.0> : tensor<1xf32>
  return %c : tensor<1xf32>
}

// -----

// Nothing to export.
// expected-error @+1 {{no public function with a body to export (private functions are not entry points)}}
module {
  func.func private @helper(%x: f32) -> f32 {
    return %x : f32
  }
  func.func private @declared(%x: f32) -> f32
}

// -----

// expected-error @+1 {{cannot export '@unranked': input 0 of type 'tensor<*xf32>' is not a ranked tensor or memref}}
func.func @unranked(%x: tensor<*xf32>) {
  return
}

// -----

// expected-error @+1 {{cannot export '@encoded': input 0 of type 'tensor<4xf32, "sparse">' has an encoding}}
func.func @encoded(%x: tensor<4xf32, "sparse">) {
  return
}

// -----

// expected-error @+1 {{cannot export '@strided': input 0 of type 'memref<4xf32, strided<[2]>>' has a non-identity layout (the ABI passes dense row-major buffers)}}
func.func @strided(%x: memref<4xf32, strided<[2]>>) {
  return
}

// -----

// expected-error @+1 {{cannot export '@spaced': input 0 of type 'memref<4xf32, 1>' has a memory space}}
func.func @spaced(%x: memref<4xf32, 1>) {
  return
}

// -----

// expected-error @+1 {{cannot export '@scalar_result': result 0 of type 'f32' is not a tensor or memref (results are returned in caller-allocated buffers)}}
func.func @scalar_result(%x: f32) -> f32 {
  return %x : f32
}

// -----

// expected-error @+1 {{cannot export '@unsigned': input 1 of type 'tensor<4xui8>' has an element type that the kvq ABI does not support}}
func.func @unsigned(%x: tensor<4xf32>, %y: tensor<4xui8>) {
  return
}

// -----

// expected-error @+1 {{cannot export '@complex_result': result 0 of type 'tensor<4xcomplex<f32>>' has an element type that the kvq ABI does not support}}
func.func @complex_result(%x: tensor<4xf32>) -> tensor<4xcomplex<f32>> {
  %c = tensor.empty() : tensor<4xcomplex<f32>>
  return %c : tensor<4xcomplex<f32>>
}

// -----

// expected-error @+1 {{cannot export '@bool_scalar': input 0 of type 'i1' is an i1 scalar; pass a rank-0 tensor<i1> instead}}
func.func @bool_scalar(%x: i1) {
  return
}

// -----

// expected-error @+1 {{cannot export '@rank0_codes': input 0 of type 'tensor<i4>' holds sub-byte codes without a last dim to pack them along}}
func.func @rank0_codes(%x: tensor<i4>) {
  return
}

// -----

// The prefix of the kernels and shape functions is the ABI's.
// expected-error @+1 {{symbol '@__kvq_kernel_f' uses the prefix '__kvq_' reserved by the kvq ABI}}
module {
  func.func private @__kvq_kernel_f(%x: f32) -> f32 {
    return %x : f32
  }
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
