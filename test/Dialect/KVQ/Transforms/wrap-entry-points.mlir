// RUN: kvq-opt %s -split-input-file -verify-diagnostics --kvq-wrap-entry-points="library-name=mylib" | FileCheck %s
// RUN: kvq-opt %s -split-input-file -verify-diagnostics --kvq-wrap-entry-points | FileCheck %s --check-prefix=DEFAULT

// Static shapes: the kernel is renamed and gets a C interface and read-only
// inputs; there is nothing to compute or check, so no shape function, and
// the output shapes are the signature's.

// CHECK-LABEL: func.func @__kvq_kernel_static_add(
// CHECK-SAME:      %{{.*}}: tensor<4xf32> {bufferization.writable = false}, %{{.*}}: tensor<4xf32> {bufferization.writable = false}) -> tensor<4xf32>
// CHECK-SAME:      attributes {kvq.entry_point = {name = "static_add", output_shapes_symbol = "static_add_output_shapes", symbol = "static_add"}, llvm.emit_c_interface}
// CHECK-NOT:   __kvq_shape_
func.func @static_add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %r = arith.addf %a, %b : tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A dynamic output dim follows from an input dim; a scalar stays a scalar
// (no `writable` attribute). Slot 0 holds the output's dim 0, slot 1 the
// linalg.generic's check (its operands' loop dims agree).

// CHECK-LABEL: func.func @__kvq_kernel_scale(
// CHECK-SAME:      %{{.*}}: tensor<?x16xf32> {bufferization.writable = false}, %{{.*}}: f32)
// CHECK-SAME:      kvq.entry_point = {name = "scale", output_shapes_symbol = "scale_output_shapes", shape_checks = 1 : i64, shape_function = @__kvq_shape_scale, symbol = "scale"}
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @__kvq_shape_scale(
// CHECK-SAME:      %[[X:.*]]: tensor<?x16xf32> {bufferization.writable = false}, %{{.*}}: f32, %[[SLOTS:.*]]: memref<2xindex>)
// CHECK-SAME:      attributes {kvq.host, llvm.emit_c_interface}
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[DIM:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x16xf32>
// CHECK:         %[[OK:.*]] = arith.cmpi eq, %[[DIM]], %[[DIM]] : index
// CHECK:         %[[FLAG:.*]] = arith.select %[[OK]], %[[C1]], %[[C0]] : index
// CHECK:         memref.store %[[FLAG]], %[[SLOTS]][%[[C1]]] : memref<2xindex>
// CHECK:         memref.store %[[DIM]], %[[SLOTS]][%[[C0]]] : memref<2xindex>
// CHECK-NOT:     linalg
// CHECK:         return
func.func @scale(%x: tensor<?x16xf32>, %s: f32) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x16xf32>
  %empty = tensor.empty(%m) : tensor<?x16xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x16xf32>) outs(%empty : tensor<?x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Two inputs whose dynamic dims a linalg loop ranges over must agree: b's
// length is a's row length.

// CHECK-LABEL: func.func @__kvq_shape_add_rows(
// CHECK-SAME:      %[[A:[^:]*]]: tensor<4x?xf16> {bufferization.writable = false}, %[[B:[^:]*]]: tensor<?xf16> {bufferization.writable = false}, %[[SLOTS:.*]]: memref<2xindex>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[N:.*]] = tensor.dim %[[A]], %[[C1]] : tensor<4x?xf16>
// CHECK-DAG:     %[[M:.*]] = tensor.dim %[[B]], %[[C0]] : tensor<?xf16>
// CHECK:         %[[EQ:.*]] = arith.cmpi eq, %[[M]], %[[N]] : index
// CHECK:         %[[OK:.*]] = arith.andi %[[EQ]], %{{.*}} : i1
// CHECK:         %[[FLAG:.*]] = arith.select %[[OK]], %[[C1]], %[[C0]] : index
// CHECK:         memref.store %[[FLAG]], %[[SLOTS]][%[[C1]]]
// CHECK:         memref.store %[[N]], %[[SLOTS]][%[[C0]]]
func.func @add_rows(%a: tensor<4x?xf16>, %b: tensor<?xf16>) -> tensor<4x?xf16> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %a, %c1 : tensor<4x?xf16>
  %empty = tensor.empty(%n) : tensor<4x?xf16>
  %c = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                       affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x?xf16>, tensor<?xf16>)
      outs(%empty : tensor<4x?xf16>) {
  ^bb0(%x: f16, %y: f16, %o: f16):
    %r = arith.addf %x, %y : f16
    linalg.yield %r : f16
  } -> tensor<4x?xf16>
  return %c : tensor<4x?xf16>
}

// -----

// kvq.attention reifies its output's dims (q's batch); the checks are the
// shapes its verifier describes: K and V agree with Q's batch, the key
// lengths agree, the scale has one group per 32 codes. `@main` is the C
// program's entry point: its C symbol takes the library's prefix. i4 codes
// come to the shape function packed, two per byte.

// CHECK-LABEL: func.func @__kvq_kernel_mylib_main(
// CHECK-SAME:      kvq.entry_point = {name = "main", output_shapes_symbol = "mylib_main_output_shapes", shape_checks = 1 : i64, shape_function = @__kvq_shape_mylib_main, symbol = "mylib_main"}
// CHECK:         kvq.attention
// CHECK-LABEL: func.func @__kvq_shape_mylib_main(
// CHECK-SAME:      %[[Q:[^:]*]]: tensor<?x8x1x64xf32> {bufferization.writable = false}, %[[K:[^:]*]]: tensor<?x2x?x32xi8> {bufferization.writable = false}, %[[KS:[^:]*]]: tensor<?x2x?x2xf16> {bufferization.writable = false}, %[[V:[^:]*]]: tensor<?x2x?x64xf32> {bufferization.writable = false}, %[[SLOTS:.*]]: memref<2xindex>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[KB:.*]] = tensor.dim %[[K]], %[[C0]]
// CHECK-DAG:     %[[QB:.*]] = tensor.dim %[[Q]], %[[C0]]
// CHECK-DAG:     arith.cmpi eq, %[[KB]], %[[QB]] : index
// CHECK-DAG:     %[[VB:.*]] = tensor.dim %[[V]], %[[C0]]
// CHECK-DAG:     arith.cmpi eq, %[[VB]], %[[QB]] : index
// CHECK-DAG:     %[[VL:.*]] = tensor.dim %[[V]], %[[C2]]
// CHECK-DAG:     %[[KL:.*]] = tensor.dim %[[K]], %[[C2]]
// CHECK-DAG:     arith.cmpi eq, %[[VL]], %[[KL]] : index
// CHECK-DAG:     %[[SB:.*]] = tensor.dim %[[KS]], %[[C0]]
// CHECK-DAG:     arith.cmpi eq, %[[SB]], %[[KB]] : index
// CHECK-DAG:     %[[SL:.*]] = tensor.dim %[[KS]], %[[C2]]
// CHECK-DAG:     arith.cmpi eq, %[[SL]], %[[KL]] : index
// CHECK:         memref.store %[[QB]], %[[SLOTS]][%[[C0]]]
// CHECK-NOT:     kvq.attention
// CHECK:         return
// DEFAULT: symbol = "kernel_main"
func.func @main(%q: tensor<?x8x1x64xf32>, %k: tensor<?x2x?x64xi4>, %k_scale: tensor<?x2x?x2xf16>, %v: tensor<?x2x?x64xf32>) -> tensor<?x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<?x8x1x64xf32>) k(%k : tensor<?x2x?x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %k_scale : tensor<?x2x?x2xf16>) v(%v : tensor<?x2x?x64xf32>) -> tensor<?x8x1x64xf32>
  return %o : tensor<?x8x1x64xf32>
}

// -----

// Grouped-query heads: Q's head count must be a non-zero multiple of K's,
// checked without a division by zero.

// CHECK-LABEL: func.func @__kvq_shape_gqa(
// CHECK-SAME:      %[[Q:[^:]*]]: tensor<1x?x4x16xf32> {{.*}}, %[[K:[^:]*]]: tensor<1x?x8x16xf32> {{.*}}, %[[V:[^:]*]]: tensor<1x?x8x16xf32> {{.*}}, %[[SLOTS:.*]]: memref<2xindex>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[KH:.*]] = tensor.dim %[[K]], %[[C1]]
// CHECK-DAG:     %[[QH:.*]] = tensor.dim %[[Q]], %[[C1]]
// CHECK:         %[[DIVISOR:.*]] = arith.maxui %[[KH]], %[[C1]] : index
// CHECK:         %[[REM:.*]] = arith.remui %[[QH]], %[[DIVISOR]] : index
// CHECK:         %[[NONZERO:.*]] = arith.cmpi ne, %[[KH]], %[[C0]] : index
// CHECK:         %[[DIVIDES:.*]] = arith.cmpi eq, %[[REM]], %[[C0]] : index
// CHECK:         arith.andi %[[DIVIDES]], %[[NONZERO]] : i1
// CHECK:         memref.store %[[QH]], %[[SLOTS]][%[[C0]]]
func.func @gqa(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x8x16xf32>, %v: tensor<1x?x8x16xf32>) -> tensor<1x?x4x16xf32> {
  %o = kvq.attention q(%q : tensor<1x?x4x16xf32>) k(%k : tensor<1x?x8x16xf32>) v(%v : tensor<1x?x8x16xf32>) -> tensor<1x?x4x16xf32>
  return %o : tensor<1x?x4x16xf32>
}

// -----

// Private functions and declarations are not entry points. A name that is
// no C identifier takes the library's prefix, and the C symbols stay
// distinct from each other and from the module's other symbols.

// CHECK-LABEL: func.func private @helper(
// CHECK-NOT:     kvq.entry_point
// CHECK:       func.func private @decl(tensor<?xf32>) -> tensor<?xf32>{{$}}
// CHECK:       func.func @__kvq_kernel_mylib_a_b(
// CHECK-SAME:      kvq.entry_point = {name = "a.b", output_shapes_symbol = "mylib_a_b_output_shapes", symbol = "mylib_a_b"}
// CHECK:       func.func @__kvq_kernel_a_b(
// CHECK-SAME:      kvq.entry_point = {name = "a_b", output_shapes_symbol = "a_b_output_shapes", symbol = "a_b"}
// CHECK:       func.func @__kvq_kernel_mylib_a_b_2(
// CHECK-SAME:      kvq.entry_point = {name = "a-b", output_shapes_symbol = "mylib_a_b_2_output_shapes", symbol = "mylib_a_b_2"}
// CHECK:       func.func private @mylib_exp(
// CHECK:       func.func @__kvq_kernel_mylib_exp_2(
// CHECK-SAME:      kvq.entry_point = {name = "exp", output_shapes_symbol = "mylib_exp_2_output_shapes", symbol = "mylib_exp_2"}
func.func private @helper(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
func.func private @decl(%x: tensor<?xf32>) -> tensor<?xf32>
func.func @"a.b"(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @a_b(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @"a-b"(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
// A C library function's name, whose prefixed form another symbol has.
func.func private @mylib_exp(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @exp(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// An output dim read from an input's data cannot be computed from shapes:
// no shape function, no output-shapes symbol, and a warning.

// CHECK-LABEL: func.func @__kvq_kernel_from_data(
// CHECK-SAME:      attributes {kvq.entry_point = {name = "from_data", symbol = "from_data"}, llvm.emit_c_interface}
// CHECK-NOT:   __kvq_shape_
// expected-warning @+1 {{the dynamic output dims of '@from_data' do not follow from its input shapes alone; the entry point trusts the output shapes its caller passes}}
func.func @from_data(%n: tensor<index>) -> tensor<?xf32> {
  %d = tensor.extract %n[] : tensor<index>
  %e = tensor.empty(%d) : tensor<?xf32>
  return %e : tensor<?xf32>
}
