"""kvq.dot_i8 on its own, compiled and run on the host CPU, against an
exact NumPy model on fresh random inputs:

    result[l] = acc[l] + sum_{i < 4} zext(lhs[4l + i]) * sext(rhs[4l + i])

with wrapping i32 arithmetic. For each width the op has (vector<64xi8>,
vector<32xi8> and vector<16xi8>: 16, 8 and 4 lanes, the three sizes of
vpdpbusd), random bytes over their whole range and random accumulators,
plus the extremes (every lhs byte 255 and every rhs byte -128 or 127, and
accumulators next to the i32 limits, which the products carry past: the
sum must wrap). Run with the default options (AVX512-VNNI where the CPU has
it) and with --options=--vnni=0 (the portable lowering).
"""

import numpy as np

import kvq_testing as kt


def module(lanes):
    b, a = f"{4 * lanes}xi8", f"{lanes}xi32"
    return f"""func.func @dot_{lanes}(%acc: tensor<{a}>, %lhs: tensor<{b}>, %rhs: tensor<{b}>) -> tensor<{a}> {{
  %c0 = arith.constant 0 : index
  %p8 = arith.constant 0 : i8
  %p32 = arith.constant 0 : i32
  %l = vector.transfer_read %lhs[%c0], %p8 {{in_bounds = [true]}} : tensor<{b}>, vector<{b}>
  %r = vector.transfer_read %rhs[%c0], %p8 {{in_bounds = [true]}} : tensor<{b}>, vector<{b}>
  %c = vector.transfer_read %acc[%c0], %p32 {{in_bounds = [true]}} : tensor<{a}>, vector<{a}>
  %d = kvq.dot_i8 %c, %l, %r : vector<{b}> -> vector<{a}>
  %e = tensor.empty() : tensor<{a}>
  %out = vector.transfer_write %d, %e[%c0] {{in_bounds = [true]}} : vector<{a}>, tensor<{a}>
  return %out : tensor<{a}>
}}
"""


def model(acc, lhs, rhs):
    products = lhs.view(np.uint8).astype(np.int64) * rhs.astype(np.int64)
    total = acc.astype(np.int64) + products.reshape(-1, 4).sum(1)
    return ((total + 2**31) % 2**32 - 2**31).astype(np.int32)


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for lanes in (16, 8, 4):
        mod = kt.library(opts, module(lanes), f"dot_i8_{lanes}")
        if mod is None:
            continue
        fn = getattr(mod, f"dot_{lanes}")
        n = 4 * lanes
        cases = {
            "random": (rng.integers(-2**31, 2**31, lanes, dtype=np.int64).astype(np.int32),
                       rng.integers(-128, 128, n, dtype=np.int64).astype(np.int8),
                       rng.integers(-128, 128, n, dtype=np.int64).astype(np.int8)),
            "largest products, wrapping up": (
                np.full(lanes, 2**31 - 1000, np.int32), np.full(n, -1, np.int8),
                np.full(n, 127, np.int8)),
            "smallest products, wrapping down": (
                np.full(lanes, -2**31 + 1000, np.int32), np.full(n, -1, np.int8),
                np.full(n, -128, np.int8)),
        }
        for name, (acc, lhs, rhs) in cases.items():
            got = np.asarray(fn(acc, lhs, rhs))
            want = model(acc, lhs, rhs)
            kt.report(f"{lanes} lanes, {name}: exact", bool(np.array_equal(got, want)),
                      f"{int((got != want).sum())} lanes differ")
    kt.finish()


if __name__ == "__main__":
    main()
