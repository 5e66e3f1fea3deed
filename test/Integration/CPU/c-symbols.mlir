// kvq-compile exports every public function; names that are not C symbols
// it can export (importers' @main, names with '.' or '-', C keywords and
// library functions, names C or the kvq ABI reserve) become
// `<library>_<name>` (unique), and the header and the manifest record which
// MLIR function each symbol exports. A C program calls them by those
// symbols; Python by the MLIR names.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=my-lib
// RUN: FileCheck %s --check-prefix=HEADER < %t/my-lib.h
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/my-lib.json
// RUN: llvm-nm -D --defined-only %t/my-lib.so | FileCheck %s --check-prefix=SYMBOLS
// RUN: clang -fsyntax-only -std=c11 -Wall -Wextra -Werror -x c %t/my-lib.h
// RUN: clang -std=c11 -Wall -Werror -I%t %S/Inputs/c_symbols_main.c %t/my-lib.so \
// RUN:   -Wl,-rpath,%t -o %t/main
// RUN: %t/main | FileCheck %s --check-prefix=CALL
// RUN: %python -c "import kvq, numpy as np; m = kvq.runtime.load('%t/my-lib.json'); \
// RUN:   x = np.arange(4, dtype=np.float32); \
// RUN:   print(m.main(x), m['a.b'](x), m.a_b(x), m['a-b'](x), m.exp(x), m.kvq_f(x))" \
// RUN:   | FileCheck %s --check-prefix=PY

// HEADER: /* my_lib_main: exports the MLIR function @main, a name that is the C program's entry point
// HEADER-NEXT: *   input  0 (a): f32 [4]
// HEADER: int32_t my_lib_main(const kvq_buffer *inputs
// HEADER: /* my_lib_a_b: exports the MLIR function @a.b, a name that is not a C identifier
// HEADER-NEXT: *   input  0 (a): f32 [4]
// HEADER: int32_t my_lib_a_b(const kvq_buffer *inputs
// HEADER: /* a_b
// HEADER-NEXT: *   input  0 (a): f32 [4]
// HEADER: int32_t a_b(const kvq_buffer *inputs
// HEADER: /* my_lib_a_b_2: exports the MLIR function @a-b, a name that is not a C identifier
// HEADER: int32_t my_lib_a_b_2(const kvq_buffer *inputs
// HEADER: int32_t my_lib_a_b_2_output_shapes(const kvq_buffer *inputs
// HEADER: /* my_lib_exp: exports the MLIR function @exp, a name that is a C library function's
// HEADER: /* my_lib_kvq_f: exports the MLIR function @kvq_f, a name that starts with 'kvq_', which the kvq ABI reserves
// HEADER: /* my_lib__g: exports the MLIR function @_g, a name that starts with '_', which C reserves
// HEADER: /* my_lib_int: exports the MLIR function @int, a name that is a C keyword
// HEADER: /* my_lib_x__y_2: exports the MLIR function @x* /y, a name that is not a C identifier

// MANIFEST: "kind": "tensor",
// MANIFEST-NEXT: "name": "a",
// MANIFEST: "name": "main",
// MANIFEST: "symbol": "my_lib_main"
// MANIFEST: "name": "a.b",
// MANIFEST: "symbol": "my_lib_a_b"
// MANIFEST: "name": "a_b",
// MANIFEST: "symbol": "a_b"
// MANIFEST: "name": "a-b",
// MANIFEST: "output_shapes_symbol": "my_lib_a_b_2_output_shapes",
// MANIFEST: "symbol": "my_lib_a_b_2"

// SYMBOLS-NOT: {{ main$}}
// SYMBOLS-NOT: {{ exp$}}
// SYMBOLS: a_b
// SYMBOLS: my_lib_a_b
// SYMBOLS: my_lib_a_b_2
// SYMBOLS: my_lib_exp
// SYMBOLS: my_lib_main
// SYMBOLS-NOT: {{ main$}}
// SYMBOLS-NOT: {{ exp$}}

// CALL: main 0: 1 2 3 4
// CALL: a.b 0: 2 3 4 5
// CALL: a_b 0: 3 4 5 6
// CALL: a-b 0: 4 5 6 7
// CALL: exp 0: 5 6 7 8

// PY: [1. 2. 3. 4.] [2. 3. 4. 5.] [3. 4. 5. 6.] [4. 5. 6. 7.] [5. 6. 7. 8.] [6. 7. 8. 9.]

#id = affine_map<(i) -> (i)>

func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 1.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @"a.b"(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 2.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
// A C identifier that clashes with nothing: exported as it is.
func.func @a_b(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 3.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
// Maps to my_lib_a_b too: made unique.
func.func @"a-b"(%a: tensor<?xf32>) -> tensor<?xf32> {
  %c = arith.constant 4.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<?xf32>) outs(%a : tensor<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
func.func @exp(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 5.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @kvq_f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 6.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %c : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @_g(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func @int(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
// A name that would end the header's comment.
func.func @"x*/y"(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
// A symbol that stays in the library, with the name a mapping would take.
memref.global "private" constant @my_lib_x__y : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @use() -> tensor<4xf32> {
  %m = memref.get_global @my_lib_x__y : memref<4xf32>
  %r = bufferization.to_tensor %m restrict : memref<4xf32> to tensor<4xf32>
  return %r : tensor<4xf32>
}
