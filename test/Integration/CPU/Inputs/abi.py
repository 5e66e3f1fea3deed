"""Calls the entry points of abi.mlir through ctypes with every kind of bad
argument and checks the kvq_status each returns (and that the kernel did not
run: the output keeps its sentinel).

    python3 abi.py LIBRARY.so [nvvm-no-gpu]

With `nvvm-no-gpu` the library is a GPU library (--target=nvvm) on a
machine without a GPU: every bad call must still be rejected with its own
status before any CUDA call, and a good call fails with KVQ_ERR_DEVICE
(there is no device to run it on) instead of running."""

import ctypes
import sys

import numpy as np

import kvq_testing as kt

KVQ_OK, KVQ_ERR_NULL, KVQ_ERR_COUNT, KVQ_ERR_RANK, KVQ_ERR_SHAPE, KVQ_ERR_DTYPE, KVQ_ERR_DEVICE = range(7)
NO_GPU = len(sys.argv) > 2 and sys.argv[2] == "nvvm-no-gpu"
# What a well-formed call returns.
GOOD = KVQ_ERR_DEVICE if NO_GPU else KVQ_OK
F32, F16, I8 = 1, 2, 5


class Buffer(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("dtype", ctypes.c_int32)]


lib = ctypes.CDLL(sys.argv[1])
for name in ("scale", "add_rows"):
    fn = getattr(lib, name)
    fn.restype = ctypes.c_int32
    fn.argtypes = [ctypes.POINTER(Buffer), ctypes.c_int64, ctypes.POINTER(Buffer), ctypes.c_int64]
lib.scale_output_shapes.restype = ctypes.c_int32
lib.scale_output_shapes.argtypes = [ctypes.POINTER(Buffer), ctypes.c_int64,
                                    ctypes.POINTER(ctypes.c_int64), ctypes.c_int64]

keep = []


def buf(array, dtype, shape=None, data=True):
    shape = array.shape if shape is None else shape
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    keep.append(dims)
    return Buffer(array.ctypes.data if data else None, len(shape), dims, dtype)




def expect(what, got, want):
    """A status: `got` must be `want`."""
    kt.report(what, got == want, f"{got}" + ("" if got == want else f" (expected {want})"))


# --- scale(x: f32[?, 16], s: f32) -> f32[?, 16] -----------------------------
x = np.arange(5 * 16, dtype=np.float32).reshape(5, 16)
s = np.array(3.0, dtype=np.float32)
y = np.full((5, 16), -7.0, dtype=np.float32)


def call_scale(inputs=None, outputs=None, num_inputs=2, num_outputs=1):
    y.fill(-7.0)
    ins = inputs if inputs is not None else [buf(x, F32), buf(s, F32)]
    outs = outputs if outputs is not None else [buf(y, F32)]
    status = lib.scale((Buffer * len(ins))(*ins), num_inputs, (Buffer * len(outs))(*outs),
                       num_outputs)
    if status not in (KVQ_OK, GOOD) and not (y == -7.0).all():
        kt.fail(f"scale wrote its output although it returned {status}")
    return status


expect("scale ok", call_scale(), GOOD)
if not NO_GPU and not np.array_equal(y, x * 3):
    kt.fail("scale computed wrong values")
expect("null inputs array", lib.scale(None, 2, (Buffer * 1)(buf(y, F32)), 1), KVQ_ERR_NULL)
expect("null outputs array", lib.scale((Buffer * 2)(buf(x, F32), buf(s, F32)), 2, None, 1),
       KVQ_ERR_NULL)
expect("null input data", call_scale(inputs=[buf(x, F32, data=False), buf(s, F32)]),
       KVQ_ERR_NULL)
expect("null scalar data", call_scale(inputs=[buf(x, F32), buf(s, F32, data=False)]),
       KVQ_ERR_NULL)
expect("null output data", call_scale(outputs=[buf(y, F32, data=False)]), KVQ_ERR_NULL)
no_shape = buf(x, F32)
no_shape.shape = None
expect("null shape", call_scale(inputs=[no_shape, buf(s, F32)]), KVQ_ERR_NULL)
expect("too few inputs", call_scale(num_inputs=1), KVQ_ERR_COUNT)
expect("too many inputs", call_scale(num_inputs=3), KVQ_ERR_COUNT)
expect("no outputs", call_scale(num_outputs=0), KVQ_ERR_COUNT)
expect("input rank 3", call_scale(inputs=[buf(x, F32, (5, 16, 1)), buf(s, F32)]), KVQ_ERR_RANK)
expect("output rank 1", call_scale(outputs=[buf(y, F32, (80,))]), KVQ_ERR_RANK)
expect("scalar rank 1", call_scale(inputs=[buf(x, F32), buf(s, F32, (1,))]), KVQ_ERR_RANK)
expect("input static dim", call_scale(inputs=[buf(x, F32, (10, 8)), buf(s, F32)]),
       KVQ_ERR_SHAPE)
expect("output static dim", call_scale(outputs=[buf(y, F32, (10, 8))]), KVQ_ERR_SHAPE)
expect("negative dynamic dim", call_scale(inputs=[buf(x, F32, (-5, 16)), buf(s, F32)]),
       KVQ_ERR_SHAPE)
expect("output dim the inputs contradict", call_scale(outputs=[buf(y[:4], F32)]), KVQ_ERR_SHAPE)
expect("overflowing dims", call_scale(inputs=[buf(x, F32, (1 << 62, 16)), buf(s, F32)]),
       KVQ_ERR_SHAPE)
expect("input dtype", call_scale(inputs=[buf(x, F16), buf(s, F32)]), KVQ_ERR_DTYPE)
expect("scalar dtype", call_scale(inputs=[buf(x, F32), buf(s, I8)]), KVQ_ERR_DTYPE)
expect("output dtype", call_scale(outputs=[buf(y, F16)]), KVQ_ERR_DTYPE)
expect("rank is checked before dtype", call_scale(inputs=[buf(x, I8, (80,)), buf(s, F32)]),
       KVQ_ERR_RANK)

dims = (ctypes.c_int64 * 2)()
ins = (Buffer * 2)(buf(x, F32), buf(s, F32))
expect("scale_output_shapes", lib.scale_output_shapes(ins, 2, dims, 2), KVQ_OK)
if list(dims) != [5, 16]:
    kt.fail(f"scale_output_shapes gave {list(dims)}")
expect("scale_output_shapes num_dims", lib.scale_output_shapes(ins, 2, dims, 3), KVQ_ERR_COUNT)
expect("scale_output_shapes null", lib.scale_output_shapes(ins, 2, None, 2), KVQ_ERR_NULL)

# --- add_rows(a: f16[4, ?], b: f16[?]) -> f16[4, ?] -------------------------
a = np.ones((4, 6), dtype=np.float16)
c = np.zeros((4, 6), dtype=np.float16)
for n, want in ((6, GOOD), (5, KVQ_ERR_SHAPE), (7, KVQ_ERR_SHAPE)):
    b = np.arange(n, dtype=np.float16)
    ins = (Buffer * 2)(buf(a, F16), buf(b, F16))
    outs = (Buffer * 1)(buf(c, F16))
    expect(f"add_rows b of length {n} for rows of 6", lib.add_rows(ins, 2, outs, 1), want)
if not NO_GPU and not np.array_equal(c, a + np.arange(6, dtype=np.float16)):
    kt.fail("add_rows computed wrong values")

kt.finish()
print("PASS")
