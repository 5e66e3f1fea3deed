"""Compiles kvq.quantize and kvq.dequantize for every quantization scheme
with kvq-compile and checks them against the NumPy golden model,
python/kvq/reference.py: codes, scales and zero points bit for bit, and the
dequantized values bit for bit too (the model is float32 throughout).

    python3 quantize.py BUILD_DIR [--all] [--target=nvvm-emulated]

(--target=nvvm-emulated: the GPU path's kernels, run by the GPU emulator.)

The data is ragged ([2, 3, 37, 48]: partial last groups and blocks) and
holds NaN, +-Inf, -0, an all-NaN token, a constant token, exact ties, and
a second set with magnitudes from subnormal to FLT_MAX. Every scheme gets
a quantize and a dequantize kernel (f16 / bf16 scales for three of the
granularities unless --all is given); a few more run on f16 / bf16 / f64
inputs and results.
"""

import zlib

import ml_dtypes
import numpy as np

import kvq
import kvq_testing as kt
from kvq import reference as ref

SHAPE = (2, 3, 37, 48)
GRANULARITIES = [
    "tensor",
    "token",
    "channel",
    "group(axis = 2, size = 16)",
    "group(axis = 3, size = 32)",
    "group(axis = 1, size = 2)",
    "block(rows = 16, cols = 32)",
]
# Granularities tested with f16 / bf16 scales by default.
NARROW_SCALE_GRANULARITIES = ("token", "group(axis = 2, size = 16)",
                              "block(rows = 16, cols = 32)")
STORAGE = [("i8", True), ("i8", False), ("i4", True), ("i4", False),
           ("i2", True), ("i2", False), ("f8E4M3FN", True), ("f8E5M2", True)]
NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16,
         "f64": np.float64}


def scheme_text(dtype, symmetric, granularity, scale):
    tail = "" if scale == "f32" else f", scale = {scale}"
    mode = "symmetric" if symmetric else "asymmetric"
    return f"#kvq.quant<{dtype}, {mode}, {granularity}{tail}>"


def tensor(shape, element):
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    return f"tensor<{dims}{element}>"


class Case:
    """One scheme on one shape: a quantize kernel q<i> and a dequantize
    kernel d<i>."""

    def __init__(self, index, text, shape=SHAPE, dynamic=(), input_type="f32",
                 result_type="f32", wild=False):
        self.index = index
        self.text = text
        self.scheme = ref.QuantScheme.parse(text)
        self.shape = shape
        self.dynamic = dynamic
        self.input_type = input_type
        self.result_type = result_type
        self.wild = wild

    def mlir(self):
        s = self.scheme
        sshape = ref.scale_shape(self.shape, s)
        data = [None if i in self.dynamic else n for i, n in enumerate(self.shape)]
        side = [None if i in self.dynamic and n != 1 else n for i, n in enumerate(sshape)]
        x = tensor(data, self.input_type)
        codes = tensor(data, s.dtype)
        scale = tensor(side, s.scale_dtype)
        results = [codes, scale] + ([] if s.symmetric else [scale])
        names = ["%c", "%s"] + ([] if s.symmetric else ["%z"])
        out = tensor(data, self.result_type)
        args = ", ".join(f"{n}: {t}" for n, t in zip(names, results))
        return f"""
func.func @q{self.index}(%x: {x}) -> ({", ".join(results)}) {{
  {", ".join(names)} = kvq.quantize {self.text} %x : {x} -> {", ".join(results)}
  return {", ".join(names)} : {", ".join(results)}
}}
func.func @d{self.index}({args}) -> {out} {{
  %r = kvq.dequantize {self.text} {", ".join(names)} : {", ".join(results)} -> {out}
  return %r : {out}
}}
"""


def cases(everything):
    """Every storage type and granularity with f32 scales; f16 / bf16 scales
    with three granularities (all of them with `everything`)."""
    out = []
    for dtype, symmetric in STORAGE:
        for granularity in GRANULARITIES:
            for scale in ("f32", "f16", "bf16"):
                if scale != "f32" and not everything and \
                        granularity not in NARROW_SCALE_GRANULARITIES:
                    continue
                text = scheme_text(dtype, symmetric, granularity, scale)
                out.append(Case(len(out), text))
                out.append(Case(len(out), text, wild=True))
    # Other input / result types.
    for text, kw in [
        ("#kvq.quant<i8, symmetric, token, scale = bf16>",
         dict(input_type="f16", result_type="bf16")),
        ("#kvq.quant<f8E5M2, symmetric, group(axis = 1, size = 2), scale = bf16>",
         dict(input_type="bf16", result_type="f16")),
        ("#kvq.quant<i2, asymmetric, channel, scale = f16>",
         dict(input_type="f64", result_type="f64")),
    ]:
        out.append(Case(len(out), text, **kw))
    return out


def make_data(case):
    rng = np.random.default_rng(zlib.crc32(f"{case.text} {case.wild}".encode()))
    shape = case.shape
    if case.wild:
        # Magnitudes from the smallest subnormal to FLT_MAX; most tokens at
        # one random magnitude, so that scales over- and underflow f16.
        mag = np.exp(rng.uniform(np.log(1e-44), np.log(3.4e38), shape))
        x = mag * rng.choice([-1.0, 1.0], shape)
        row = np.exp(rng.uniform(np.log(1e-30), np.log(1e30), shape[:-1] + (1,)))
        x = np.where(rng.random(shape[:-1] + (1,)) < 0.7,
                     rng.standard_normal(shape) * row, x).astype(np.float32)
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, 4)] = np.finfo(np.float32).max
        flat[rng.integers(0, flat.size, 4)] = -np.finfo(np.float32).max
        flat[rng.integers(0, flat.size, 4)] = 1e-45
    else:
        x = rng.standard_normal(shape) * np.exp(rng.uniform(-3, 3, shape[:-1] + (1,)))
        x[rng.random(shape) < 0.03] = 0.0
        x = x.astype(np.float32)
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, 5)] = np.nan
        flat[rng.integers(0, flat.size, 3)] = np.inf
        flat[rng.integers(0, flat.size, 3)] = -np.inf
        flat[rng.integers(0, flat.size, 3)] = -0.0
        x[..., 1, :] = np.nan                                      # no finite value
        x[..., 2, :] = 3.7                                         # constant
        x[..., 3, :5] = np.array([0.5, 1.5, 2.5, -0.5, -2.5], np.float32)  # ties
    with np.errstate(over="ignore"):
        return x.astype(NUMPY[case.input_type])


def bits(a):
    a = np.asarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def packed_rows(codes, s):
    """The ABI's bytes for sub-byte codes: each row packed LSB first."""
    if s.bits >= 8 or s.is_float8:
        return codes.view(np.uint8) if codes.dtype.itemsize == 1 else codes
    per = 8 // s.bits
    rows = codes.reshape(-1, codes.shape[-1])
    out = np.stack([ref.pack(r, s.bits) for r in rows]) if rows.size else \
        np.zeros((rows.shape[0], codes.shape[-1] // per), np.uint8)
    return out.reshape(codes.shape[:-1] + (codes.shape[-1] // per,))


def check(case, lib):
    s = case.scheme
    x = make_data(case)
    want_codes, want_scale, want_zero = ref.quantize(x, s)
    sshape = ref.scale_shape(x.shape, s)
    # Shapes count codes; i4 / i2 codes come back as packed bytes.
    out_shapes = [x.shape, sshape] + ([] if s.symmetric else [sshape])
    got = getattr(lib, f"q{case.index}")(x, out_shapes=out_shapes)
    got_codes, got_scale = got[0], got[1]
    failures = []
    if not np.array_equal(bits(got_codes), bits(packed_rows(want_codes, s))):
        failures.append("codes")
    if not np.array_equal(bits(got_scale), bits(want_scale)):
        failures.append("scale")
    if not s.symmetric and not np.array_equal(bits(got[2]), bits(want_zero)):
        failures.append("zero point")

    out_type = NUMPY[case.result_type]
    want = ref.dequantize(want_codes, want_scale, want_zero, s, out_dtype=out_type)
    args = [got_codes, got_scale] + ([] if s.symmetric else [got[2]])
    result = getattr(lib, f"d{case.index}")(*args, out_shapes=[x.shape])
    if not np.array_equal(bits(result), bits(want)):
        failures.append("dequantized values")

    what = f"{case.text} on {case.input_type}{list(x.shape)}" + \
        (f" (dynamic dims {list(case.dynamic)})" if case.dynamic else "") + \
        (" (wide magnitudes)" if case.wild else "")
    return kt.report(what, not failures,
                     f"{', '.join(failures)} differ from kvq.reference" if failures else "")


def main():
    ap = kt.parser(__doc__, options=False, build=False)
    ap.add_argument("build_dir")
    ap.add_argument("--all", action="store_true", help="every scheme (else a sample)")
    opts = ap.parse_args()
    all_cases = cases(opts.all)
    module = "\n".join(c.mlir() for c in all_cases)
    lib = kvq.compile(module, name="quantize", build_dir=opts.build_dir, timeout=1200,
                      target=opts.target)
    results = [check(c, lib) for c in all_cases]
    failed = results.count(False)
    print(f"{len(results) - failed} of {len(results)} quantize / dequantize pairs match")
    kt.finish()


if __name__ == "__main__":
    with np.errstate(invalid="ignore", over="ignore"):
        main()
