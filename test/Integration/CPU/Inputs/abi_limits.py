"""Calls widen_i8 (abi_limits.mlir) of a library whose entry points were
compiled with -fsanitize=signed-integer-overflow,shift (trapping) with
dims at the edge of int64_t: every call is refused with KVQ_ERR_SHAPE
before the kernel runs, and no size or stride computation of the
generated C overflows on the way (an overflow would trap). A normal call
still works.

    python3 abi_limits.py LIBRARY.so
"""

import ctypes
import sys

import numpy as np

import kvq_testing as kt

KVQ_OK, KVQ_ERR_SHAPE, I8, F32 = 0, 4, 5, 1
INT64_MAX = (1 << 63) - 1


class Buffer(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("dtype", ctypes.c_int32)]


lib = ctypes.CDLL(sys.argv[1])
fn = lib.widen_i8
fn.restype = ctypes.c_int32
fn.argtypes = [ctypes.POINTER(Buffer), ctypes.c_int64, ctypes.POINTER(Buffer), ctypes.c_int64]
keep = []


def buf(array, dtype, shape):
    dims = (ctypes.c_int64 * len(shape))(*shape)
    keep.append(dims)
    return Buffer(array.ctypes.data, len(shape), dims, dtype)




def call(what, in_shape, out_shape, want):
    codes = np.array([1, -2] * 32, np.int8)
    out = np.full(64, -7.0, np.float32)
    status = fn((Buffer * 1)(buf(codes, I8, in_shape)), 1,
                (Buffer * 1)(buf(out, F32, out_shape)), 1)
    ok = status == want and (want == KVQ_OK or (out == -7.0).all())
    kt.report(what, ok, f"status {status}")
    return out


# Row counts at the edge of int64_t: the element count (and for the f32
# output the byte count) must be checked without overflowing.
call("INT64_MAX rows", (INT64_MAX, 6), (INT64_MAX, 6), KVQ_ERR_SHAPE)
call("2^61 rows", (1 << 61, 6), (1 << 61, 6), KVQ_ERR_SHAPE)
call("2^60 rows (the f32 output cannot exist)", (1 << 60, 6), (1 << 60, 6), KVQ_ERR_SHAPE)
call("a negative row count", (-1, 6), (-1, 6), KVQ_ERR_SHAPE)
out = call("2 x 6 codes", (2, 6), (2, 6), KVQ_OK)
print("values:", out[:12].tolist())
kt.finish()
