"""Tests of kvq.compile (python/kvq/compiler.py) and the kernel loader
(python/kvq/runtime.py): toolchain errors, and the argument checks made in
Python and by the generated C entry points.

Needs kvq-compile: $KVQ_COMPILE (set by lit), else build/bin. Run with
``python3 -m pytest -q test/python`` from the repository root.
"""

import os
import re

import ml_dtypes
import numpy as np
import pytest

import kvq
from kvq import runtime
from kvq.compiler import find_kvq_compile

_tool = find_kvq_compile()
pytestmark = pytest.mark.skipif(
    not _tool or not os.access(_tool, os.X_OK),
    reason="kvq-compile is not built (set KVQ_COMPILE)")

KERNELS = """
// y = x * s + b (b broadcast over rows); x and y have dynamic rows.
func.func @scale_add(%x: tensor<?x8xf32>, %s: f32, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x8xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                       affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%v: f32, %w: f32, %o: f32):
    %p = arith.mulf %v, %s : f32
    %r = arith.addf %p, %w : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// An output whose length is a scalar input.
func.func @iota(%n: index) -> tensor<?xi32> {
  %e = tensor.empty(%n) : tensor<?xi32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]} outs(%e : tensor<?xi32>) {
  ^bb0(%o: i32):
    %i = linalg.index 0 : index
    %v = arith.index_cast %i : index to i32
    linalg.yield %v : i32
  } -> tensor<?xi32>
  return %y : tensor<?xi32>
}

// An output whose length is read from an input's data.
func.func @ones(%n: tensor<i64>) -> tensor<?xi32> {
  %v = tensor.extract %n[] : tensor<i64>
  %len = arith.index_cast %v : i64 to index
  %e = tensor.empty(%len) : tensor<?xi32>
  %one = arith.constant 1 : i32
  %y = linalg.fill ins(%one : i32) outs(%e : tensor<?xi32>) -> tensor<?xi32>
  return %y : tensor<?xi32>
}

// bf16 in, two outputs of other types.
func.func @widen(%x: tensor<3x5xbf16>) -> (tensor<3x5xf32>, tensor<3x5xf16>) {
  %e32 = tensor.empty() : tensor<3x5xf32>
  %e16 = tensor.empty() : tensor<3x5xf16>
  %a, %b = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>,
                       affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<3x5xbf16>) outs(%e32, %e16 : tensor<3x5xf32>, tensor<3x5xf16>) {
  ^bb0(%v: bf16, %o: f32, %p: f16):
    %f = arith.extf %v : bf16 to f32
    %h = arith.truncf %f : f32 to f16
    linalg.yield %f, %h : f32, f16
  } -> (tensor<3x5xf32>, tensor<3x5xf16>)
  return %a, %b : tensor<3x5xf32>, tensor<3x5xf16>
}
"""


@pytest.fixture(scope="module")
def lib():
    return kvq.compile(KERNELS, opt=2)


# ---------------------------------------------------------------------------
# Toolchain errors
# ---------------------------------------------------------------------------

LINE_COL = re.compile(r":(\d+):(\d+): error: ")


def test_syntax_error_has_line_and_column():
    text = ("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
            "  %0 = arith.addf %a, %b : tensor<4xf32>\n"
            "  return %0 : tensor<4xf32>\n"
            "}\n")
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(text)
    match = LINE_COL.search(info.value.stderr)
    assert match and match.groups() == ("2", "23"), info.value.stderr
    assert "undeclared SSA value" in info.value.stderr
    assert info.value.returncode == 1
    assert "undeclared SSA value" in str(info.value)


def test_verifier_error(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text("func.func @f(%a: tensor<4xf32>) -> tensor<5xf32> {\n"
                    "  return %a : tensor<4xf32>\n"
                    "}\n")
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(str(path))
    assert re.search(r"bad\.mlir:2:3: error: ", info.value.stderr), info.value.stderr


@pytest.mark.parametrize("signature,message", [
    ("%a: tensor<*xf32>", "is not a ranked tensor or memref"),
    ("%a: tensor<i4>", "without a last dim to pack them along"),
    ("%a: tensor<4xcomplex<f32>>", "element type that the kvq ABI does not support"),
    ("%a: memref<4xf32, strided<[2]>>", "non-identity layout"),
])
def test_unsupported_signature(signature, message):
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(f"func.func @f({signature}) {{\n  return\n}}\n")
    assert LINE_COL.search(info.value.stderr) and message in info.value.stderr, \
        info.value.stderr


def test_scalar_result_is_rejected():
    with pytest.raises(kvq.CompileError, match="caller-allocated buffers"):
        kvq.compile("func.func @f(%a: f32) -> f32 {\n  return %a : f32\n}\n")


def test_names_that_are_no_c_symbols():
    # Importers' @main and names that are no C identifier are exported as
    # `<library>_<name>`; Python calls them by their MLIR names.
    mod = kvq.compile('func.func @"a.b"(%a: tensor<4xf32>) -> tensor<4xf32> {\n'
                      '  return %a : tensor<4xf32>\n}\n'
                      'func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n'
                      '  return %a : tensor<4xf32>\n}\n', name="lib")
    assert sorted(mod.entries) == ["a.b", "main"]
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(mod["a.b"](x), x)
    np.testing.assert_array_equal(mod.main(x), x)
    symbols = {e["name"]: e["symbol"] for e in mod.manifest["entries"]}
    assert symbols == {"a.b": "lib_a_b", "main": "lib_main"}


def test_no_public_function():
    with pytest.raises(kvq.CompileError, match="no public function"):
        kvq.compile("func.func private @f() {\n  return\n}\n")


def test_bad_pipeline_option():
    with pytest.raises(kvq.CompileError, match="block-kv"):
        kvq.compile(KERNELS, options={"block-kv": "many"})


def test_pipeline_options_are_accepted():
    mod = kvq.compile(KERNELS, options={"block-kv": 32, "split-kv": 2})
    assert "scale_add" in mod.entries


def test_missing_tool():
    with pytest.raises(kvq.CompileError, match="cannot run"):
        kvq.compile(KERNELS, kvq_compile="/nonexistent/kvq-compile")


def test_errors_in_text_cite_the_text():
    # Text goes through stdin: the error cites it by line and column, and
    # shows the line, never a temporary file that is gone.
    text = "\n\nfunc.func @f(%a: tensor<4xf32>) {\n  %0 = arith.bogus %a\n  return\n}\n"
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(text)
    message = str(info.value)
    assert "<kvq.compile text>:4:" in message, message
    assert "arith.bogus" in message and "lines count from its first line" in message
    assert "/tmp" not in message and "input.mlir" not in message, message


def test_errors_in_a_policy_cite_it():
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(KERNELS, policy={"layers": {"3": {"k": None}}})
    message = str(info.value)
    assert "<kvq.compile policy>:" in message and "matches no attention" in message, message
    assert "/tmp" not in message, message


def test_failed_compile_leaves_nothing(tmp_path):
    build = tmp_path / "a" / "b"
    with pytest.raises(kvq.CompileError):
        kvq.compile("func.func @f() {\n  %x = arith.bogus\n}\n", build_dir=build,
                    policy={"default": {"k": None}})
    assert not (tmp_path / "a").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(kvq.CompileError):
        kvq.compile("func.func @f() {\n  %x = arith.bogus\n}\n", build_dir=existing)
    assert list(existing.iterdir()) == []
    assert "iota" in kvq.compile(KERNELS, build_dir=build).entries


def test_path_or_text(tmp_path):
    path = tmp_path / "k.mlir"
    path.write_text(KERNELS)
    assert "iota" in kvq.compile(path).entries              # pathlib.Path
    assert "iota" in kvq.compile(str(path)).entries         # a path string
    missing = tmp_path / "missing.mlir"
    with pytest.raises(FileNotFoundError, match="no such MLIR file"):
        kvq.compile(missing)
    # A string that looks like a path is not parsed as MLIR.
    for text in (str(missing), "model.mlir", "/path/that/does/not/exist.mlir", "kernel"):
        with pytest.raises(FileNotFoundError, match="looks like a file path"):
            kvq.compile(text)
    with pytest.raises(TypeError, match="MLIR text"):
        kvq.compile(42)


def test_compile_error_of_a_file_cites_it(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text("func.func @f() {\n  %x = arith.bogus\n}\n")
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(path)
    assert f"{path}:2:" in str(info.value), str(info.value)


def test_search_path_is_reported(monkeypatch, tmp_path):
    from kvq import compiler
    monkeypatch.delenv("KVQ_COMPILE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compiler, "find_kvq_compile", lambda: None)
    with pytest.raises(kvq.CompileError) as info:
        kvq.compile(KERNELS)
    message = str(info.value)
    assert "kvq-compile not found. Searched:" in message
    for what in ("$KVQ_COMPILE: not set", "the tools inside the kvq package",
                 "the install prefix", "the recorded install prefix", "PATH: none"):
        assert what in message, message


# ---------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------

def test_call_and_shape_inference(lib):
    rng = np.random.default_rng(1)
    for m in (0, 1, 13):
        x = rng.standard_normal((m, 8), dtype=np.float32)
        b = rng.standard_normal(8, dtype=np.float32)
        y = lib.scale_add(x, 2.5, b)
        assert y.shape == (m, 8) and y.dtype == np.float32
        np.testing.assert_allclose(y, x.astype(np.float64) * 2.5 + b, rtol=1e-6, atol=1e-6)
    assert lib.scale_add.output_shapes(np.zeros((4, 8), np.float32), 1.0,
                                       np.zeros(8, np.float32)) == [(4, 8)]


def test_non_contiguous_inputs_are_copied(lib):
    x = np.arange(64, dtype=np.float32).reshape(8, 8).T  # Fortran order
    y = lib.scale_add(x, 1.0, np.zeros(8, np.float32))
    np.testing.assert_array_equal(y, x)


def test_out_and_out_shapes(lib):
    x = np.ones((3, 8), np.float32)
    b = np.zeros(8, np.float32)
    out = np.empty((3, 8), np.float32)
    assert lib.scale_add(x, 4.0, b, out=out) is out
    np.testing.assert_array_equal(out, 4.0)
    np.testing.assert_array_equal(lib.scale_add(x, 4.0, b, out_shapes=(3, 8)), 4.0)
    np.testing.assert_array_equal(lib.scale_add(x, 4.0, b, out_shapes=[None]), 4.0)


def test_bound_call_uses_the_arrays_in_place(lib):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((13, 8), dtype=np.float32)
    b = rng.standard_normal(8, dtype=np.float32)
    out = np.empty((13, 8), np.float32)
    call = lib.scale_add.bind(x, 2.5, b, out=out)
    assert call() is out and call.outputs == (out,)
    np.testing.assert_allclose(out, x.astype(np.float64) * 2.5 + b, rtol=1e-6, atol=1e-6)
    # A call reads the bound arrays as they are then.
    x[...] = rng.standard_normal((13, 8), dtype=np.float32)
    b[:] = 1.0
    assert call() is out
    np.testing.assert_allclose(out, x.astype(np.float64) * 2.5 + 1.0, rtol=1e-6, atol=1e-6)
    # Outputs allocated once at bind time, returned by every call.
    call = lib.scale_add.bind(x=x, s=np.float32(0.5), b=b)
    first = call()
    assert call() is first and first.shape == (13, 8)
    np.testing.assert_allclose(first, x.astype(np.float64) * 0.5 + 1.0, rtol=1e-6, atol=1e-6)
    wide, half = lib.widen.bind(np.ones((3, 5), ml_dtypes.bfloat16))()
    np.testing.assert_array_equal(wide, 1.0)
    np.testing.assert_array_equal(half, 1.0)


def test_bound_call_refuses_copies(lib):
    b = np.zeros(8, np.float32)
    with pytest.raises(kvq.KVQError, match="in place.*C-contiguous") as info:
        lib.scale_add.bind(np.ones((8, 8), np.float32).T, 1.0, b)
    assert info.value.status_name == "KVQ_ERR_NULL"
    with pytest.raises(kvq.KVQError, match="in place.*got list"):
        lib.scale_add.bind([[1.0] * 8], 1.0, b)
    with pytest.raises(kvq.KVQError, match="KVQ_ERR_DTYPE"):
        lib.scale_add.bind(np.ones((2, 8), np.float64), 1.0, b)
    with pytest.raises(TypeError, match="missing a required argument"):
        lib.scale_add.bind(np.ones((2, 8), np.float32), s=1.0)
    # What only the C entry point checks is refused by the call.
    call = lib.scale_add.bind(np.ones((3, 8), np.float32), 1.0, b, out_shapes=[(4, 8)])
    with pytest.raises(kvq.KVQError, match="KVQ_ERR_SHAPE"):
        call()


def test_output_shape_from_a_scalar(lib):
    np.testing.assert_array_equal(lib.iota(5), np.arange(5))
    assert lib.iota.output_shapes(7) == [(7,)]


def test_output_shape_from_data(lib):
    # @ones's output length is read from data: out_shapes is needed, and
    # the compiler said so.
    assert "@ones" in lib.compile_log and "trusts the output shapes" in lib.compile_log
    with pytest.raises(kvq.KVQError) as info:
        lib.ones(np.array(4))
    assert info.value.status_name == "KVQ_ERR_SHAPE" and "out_shapes" in str(info.value)
    np.testing.assert_array_equal(lib.ones(np.array(4), out_shapes=[(4,)]), 1)


def test_bf16_in_several_outputs(lib):
    x = (np.arange(15).reshape(3, 5) / 4).astype(ml_dtypes.bfloat16)
    wide, half = lib.widen(x)
    assert wide.dtype == np.float32 and half.dtype == np.float16
    np.testing.assert_array_equal(wide, x.astype(np.float32))
    np.testing.assert_array_equal(half, x.astype(np.float16))


# ---------------------------------------------------------------------------
# Refused calls: KVQError with the status name
# ---------------------------------------------------------------------------

def _status(call):
    with pytest.raises(kvq.KVQError) as info:
        call()
    assert runtime.STATUS_NAMES[info.value.status] == info.value.status_name
    return info.value.status_name


def test_python_checks(lib):
    x = np.ones((3, 8), np.float32)
    b = np.zeros(8, np.float32)
    assert _status(lambda: lib.scale_add(x, 1.0)) == "KVQ_ERR_COUNT"
    assert _status(lambda: lib.scale_add(x.astype(np.float64), 1.0, b)) == "KVQ_ERR_DTYPE"
    assert _status(lambda: lib.scale_add(x, 1.0, b.astype(ml_dtypes.bfloat16))) \
        == "KVQ_ERR_DTYPE"
    assert _status(lambda: lib.scale_add(x.reshape(3, 8, 1), 1.0, b)) == "KVQ_ERR_RANK"
    assert _status(lambda: lib.scale_add(np.ones((3, 7), np.float32), 1.0, b)) \
        == "KVQ_ERR_SHAPE"
    assert _status(lambda: lib.scale_add(x, 1.0, b, out_shapes=[(3, 9)])) == "KVQ_ERR_SHAPE"
    assert _status(lambda: lib.scale_add(x, 1.0, b, out_shapes=[(3, 8), (3, 8)])) \
        == "KVQ_ERR_COUNT"
    assert _status(lambda: lib.scale_add(x, 1.0, b, out=np.empty((3, 8), np.float16))) \
        == "KVQ_ERR_DTYPE"


def test_c_checks(lib):
    x = np.ones((3, 8), np.float32)
    b = np.zeros(8, np.float32)
    # Dynamic output dims contradicting the inputs pass the Python checks;
    # the C entry point refuses them.
    with pytest.raises(kvq.KVQError) as info:
        lib.scale_add(x, 1.0, b, out_shapes=[(4, 8)])
    assert info.value.status == runtime.KVQ_ERR_SHAPE
    assert info.value.status_name == "KVQ_ERR_SHAPE"
    assert "refused" in str(info.value)
    out = np.full((2, 8), 7.0, np.float32)
    with pytest.raises(kvq.KVQError, match="KVQ_ERR_SHAPE"):
        lib.scale_add(x, 1.0, b, out=out)
    np.testing.assert_array_equal(out, 7.0)  # the kernel did not run


@pytest.mark.parametrize("bits,shape", [(4, (3, 63)), (4, (2, 128)), (2, (5, 7))])
def test_sub_byte_codes_are_packed_like_the_reference(bits, shape):
    param = runtime._Param({"dtype": f"i{bits}", "shape": list(shape), "kind": "tensor"}, "x")
    codes = np.random.default_rng(bits).integers(-(1 << (bits - 1)), 1 << (bits - 1), shape)
    codes = codes.astype(np.int8)
    assert param.is_unpacked_codes(codes)
    packed = param.pack(codes)
    assert packed.shape == shape[:-1] + (-(-shape[-1] * bits // 8),)
    for row in range(shape[0]):  # each row is padded to whole bytes
        np.testing.assert_array_equal(packed[row], kvq.pack(codes[row], bits))
    assert not param.is_unpacked_codes(packed)
    assert param.check_array(packed) == shape
    with pytest.raises(ValueError, match="out of range"):
        param.pack(np.full(shape, 1 << bits))


def test_error_is_a_value_error():
    err = kvq.KVQError(runtime.KVQ_ERR_DTYPE, "details")
    assert isinstance(err, ValueError)
    assert str(err) == "KVQ_ERR_DTYPE: details"


def test_keywords_and_signature(lib):
    import inspect
    import pydoc
    x = np.arange(16, dtype=np.float32).reshape(2, 8)
    b = np.ones(8, np.float32)
    want = lib.scale_add(x, 2.0, b)
    np.testing.assert_array_equal(lib.scale_add(x=x, s=2.0, b=b), want)
    np.testing.assert_array_equal(lib.scale_add(x, b=b, s=2.0), want)
    assert str(inspect.signature(lib.scale_add)) == "(x, s, b, *, out_shapes=None, out=None)"
    doc = pydoc.render_doc(lib.scale_add, renderer=pydoc.plaintext)
    assert "scale_add(x, s, b, *, out_shapes=None, out=None)" in doc, doc
    assert "x: f32[?, 8]" in doc and "returns: f32[?, 8]" in doc, doc
    with pytest.raises(TypeError, match=r"scale_add\(x, s, b, .*\): missing a required argument: 'b'"):
        lib.scale_add(x, s=2.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'y'"):
        lib.scale_add(x, 2.0, b, y=1)
    assert lib.scale_add.output_shapes(x=x, s=2.0, b=b) == [(2, 8)]


def test_loader_entry_points(lib):
    assert set(lib.entries) == {"scale_add", "iota", "ones", "widen"}
    assert "scale_add" in dir(lib) and lib["iota"] is lib.iota
    with pytest.raises(AttributeError):
        lib.missing  # noqa: B018
    reloaded = runtime.load(lib.path)
    assert set(reloaded.entries) == set(lib.entries)
