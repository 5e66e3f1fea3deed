"""kvq.dot_i8 on its own, compiled and run on the host CPU, against an
exact NumPy model on fresh random inputs:

    result[l] = acc[l] + sum_{i < 4} zext(lhs[4l + i]) * sext(rhs[4l + i])

with wrapping i32 arithmetic. For each width the op has (vector<64xi8>,
vector<32xi8> and vector<16xi8>: 16, 8 and 4 lanes, the three sizes of
vpdpbusd), random bytes over their whole range and random accumulators,
plus the extremes (every lhs byte 255 and every rhs byte -128 or 127, and
accumulators next to the i32 limits, which the products carry past: the
sum must wrap).

Then chains of four ops, each the next one's accumulator, with the bounds
`lhs_bits` / `rhs_bits` that let AVX2 sum byte pairs in i16 (and a chain's
pairs before one widening): random bytes within the bounds and the
extremes (every lhs byte at its largest, every rhs byte at its smallest or
largest, where the chain's i16 sum comes within 127 of the i16 limit).
Bounds whose pair sums fit once but not twice (7-bit lhs) take an i16 sum
per op; 4 lanes take 128-bit pieces.

Run with the default options (AVX512-VNNI where the CPU has it), with
--options=--vnni=0 (AVX2 for the bounded ops where the CPU has it) and with
--options="--vnni=0 --avx2=0" (the portable lowering).
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


CHAIN = 4


def chain_module(lanes, lhs_bits, rhs_bits):
    b, a = f"{4 * lanes}xi8", f"{lanes}xi32"
    bounds = f"{{lhs_bits = {lhs_bits} : i64, rhs_bits = {rhs_bits} : i64}}"
    reads = "\n".join(
        f"  %l{i} = vector.transfer_read %lhs[%c{i}, %c0], %p8 {{in_bounds = [true]}} : tensor<{CHAIN}x{b}>, vector<{b}>\n"
        f"  %r{i} = vector.transfer_read %rhs[%c{i}, %c0], %p8 {{in_bounds = [true]}} : tensor<{CHAIN}x{b}>, vector<{b}>"
        for i in range(CHAIN))
    consts = "\n".join(f"  %c{i} = arith.constant {i} : index" for i in range(1, CHAIN))
    dots = "\n".join(
        f"  %d{i + 1} = kvq.dot_i8 %d{i}, %l{i}, %r{i} {bounds} : vector<{b}> -> vector<{a}>"
        for i in range(CHAIN))
    return f"""func.func @chain_{lanes}(%acc: tensor<{a}>, %lhs: tensor<{CHAIN}x{b}>, %rhs: tensor<{CHAIN}x{b}>) -> tensor<{a}> {{
  %c0 = arith.constant 0 : index
{consts}
  %p8 = arith.constant 0 : i8
  %p32 = arith.constant 0 : i32
{reads}
  %d0 = vector.transfer_read %acc[%c0], %p32 {{in_bounds = [true]}} : tensor<{a}>, vector<{a}>
{dots}
  %e = tensor.empty() : tensor<{a}>
  %out = vector.transfer_write %d{CHAIN}, %e[%c0] {{in_bounds = [true]}} : vector<{a}>, tensor<{a}>
  return %out : tensor<{a}>
}}
"""


def chain_model(acc, lhs, rhs):
    total = acc.astype(np.int64)
    for i in range(lhs.shape[0]):
        total = total + (lhs[i].view(np.uint8).astype(np.int64) *
                         rhs[i].astype(np.int64)).reshape(-1, 4).sum(1)
    return ((total + 2**31) % 2**32 - 2**31).astype(np.int32)


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
    # (lanes, lhs_bits, rhs_bits): 4-bit key codes x int8 query; int8
    # weights x biased 4-bit value codes (the chain's i16 bound 4 * 255 *
    # 32 = 32640); 7-bit lhs (one op's pairs fit, two do not); 2-bit codes
    # on 4 lanes.
    for lanes, lb, rb in ((16, 4, 8), (8, 8, 5), (16, 7, 8), (4, 2, 8)):
        mod = kt.library(opts, chain_module(lanes, lb, rb), f"dot_i8_chain_{lanes}_{lb}_{rb}")
        if mod is None:
            continue
        fn = getattr(mod, f"chain_{lanes}")
        shape = (CHAIN, 4 * lanes)
        lmax, rlo, rhi = 2**lb - 1, -2**(rb - 1), 2**(rb - 1) - 1
        cases = {
            "random": (rng.integers(-2**31, 2**31, lanes, dtype=np.int64).astype(np.int32),
                       rng.integers(0, lmax + 1, shape).astype(np.uint8).view(np.int8),
                       rng.integers(rlo, rhi + 1, shape).astype(np.int8)),
            "largest products": (np.zeros(lanes, np.int32),
                                 np.full(shape, lmax, np.uint8).view(np.int8),
                                 np.full(shape, rhi, np.int8)),
            "smallest products": (np.full(lanes, -2**31 + 1000, np.int32),
                                  np.full(shape, lmax, np.uint8).view(np.int8),
                                  np.full(shape, rlo, np.int8)),
        }
        for name, (acc, lhs, rhs) in cases.items():
            got = np.asarray(fn(acc, lhs, rhs))
            want = chain_model(acc, lhs, rhs)
            kt.report(f"chain of {CHAIN}, {lanes} lanes, lhs_bits {lb}, rhs_bits {rb}, "
                      f"{name}: exact", bool(np.array_equal(got, want)),
                      f"{int((got != want).sum())} lanes differ")
    kt.finish()


if __name__ == "__main__":
    main()
