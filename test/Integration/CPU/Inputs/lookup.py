"""kvq.lookup on its own, compiled and run on the host CPU, against NumPy
on fresh random inputs:

    result[l] = table[indices[l] mod N]

for f32 and i32 tables of N = 2 to 256 elements and 4, 8, 16 and 32
lanes: random tables, and random indices over the whole i32 range
(negative ones included: only the low log2 N bits count), so that every
slice of a table larger than one permute's is read; and i8 tables of 16
to 256 bytes read by i8 indices (every byte value, as unsigned) over 16,
64 and 128 lanes. Results are compared
bit for bit (the op moves elements and computes nothing); the f32 tables
hold a NaN, an infinity and -0 among their random values.

Run with the default options (AVX-512 permutes where the CPU has AVX-512,
AVX512-VBMI's for bytes where it has that), with
--options="--avx512=0 --avx512-vbmi=0" (AVX2's where it has that) and with
--options="--avx512=0 --avx2=0 --avx512-vbmi=0" (the portable lowering).
"""

import numpy as np

import kvq_testing as kt

# (elements, lanes, element type)
CASES = [(n, lanes, elem) for n in (2, 4, 8, 16, 32, 64, 256) for lanes in (16, 8)
         for elem in ("f32", "i32")] + [(8, 4, "f32"), (32, 4, "i32"), (32, 32, "f32"),
                                       (64, 32, "i32")] + [
    (n, lanes, "i8") for n in (16, 64, 128, 256) for lanes in (64, 128, 16)]


def name(n, lanes, elem):
    return f"lookup_{n}_{lanes}_{elem}"


def module():
    fns = []
    for n, lanes, elem in CASES:
        index = "i8" if elem == "i8" else "i32"
        t, i, r = f"{n}x{elem}", f"{lanes}x{index}", f"{lanes}x{elem}"
        pad = "0.0" if elem == "f32" else "0"
        fns.append(f"""func.func @{name(n, lanes, elem)}(%table: tensor<{t}>, %indices: tensor<{i}>) -> tensor<{r}> {{
  %c0 = arith.constant 0 : index
  %pt = arith.constant {pad} : {elem}
  %pi = arith.constant 0 : {index}
  %tv = vector.transfer_read %table[%c0], %pt {{in_bounds = [true]}} : tensor<{t}>, vector<{t}>
  %iv = vector.transfer_read %indices[%c0], %pi {{in_bounds = [true]}} : tensor<{i}>, vector<{i}>
  %rv = kvq.lookup %tv[%iv] : vector<{t}>, vector<{i}>
  %e = tensor.empty() : tensor<{r}>
  %out = vector.transfer_write %rv, %e[%c0] {{in_bounds = [true]}} : vector<{r}>, tensor<{r}>
  return %out : tensor<{r}>
}}
""")
    return "".join(fns)


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, module(), "lookup")
    if mod is None:
        return
    rng = kt.rng()
    for n, lanes, elem in CASES:
        if elem == "i8":
            table = rng.integers(-128, 128, n).astype(np.int8)
            bits = table.view(np.uint8)
        elif elem == "f32":
            table = rng.standard_normal(n).astype(np.float32)
            table[rng.permutation(n)[:2]] = (np.nan, -0.0)
            if n > 2:
                table[rng.permutation(n)[0]] = np.inf
            bits = table.view(np.uint32)
        else:
            table = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
            bits = table.view(np.uint32)
        fn = getattr(mod, name(n, lanes, elem))
        for kind in ("random", "in range"):
            if elem == "i8":
                indices = (rng.permutation(256)[:lanes] if lanes <= 256 else
                           rng.integers(0, 256, lanes)).astype(np.uint8).view(np.int8)
                if kind == "in range":
                    indices = rng.integers(0, n, lanes).astype(np.int8)
                got = np.asarray(fn(table, indices)).view(np.uint8)
                want = bits[indices.view(np.uint8) & (n - 1)]
            elif kind == "random":
                indices = rng.integers(-2**31, 2**31, lanes, dtype=np.int64).astype(np.int32)
            else:
                indices = rng.integers(0, n, lanes).astype(np.int32)
            if elem != "i8":
                got = np.asarray(fn(table, indices)).view(np.uint32)
                want = bits[indices.view(np.uint32) & (n - 1)]
            kt.report(f"{n} {elem} elements, {lanes} lanes, {kind} indices: exact",
                      bool(np.array_equal(got, want)), f"{int((got != want).sum())} lanes differ")
    kt.finish()


if __name__ == "__main__":
    main()
