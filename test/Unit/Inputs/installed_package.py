"""Uses the kvq package as `pip install ./python` installed it (run from a
directory outside the source tree, the install directory alone on
PYTHONPATH): the golden models, the builder, kvq.compile with a policy, and
toolchain errors as Python exceptions. Exits non-zero on any failure."""

import os
import sys

import numpy as np

import kvq
import kvq_testing as kt
from kvq import builder
from kvq import reference as ref

site = sys.argv[1]
kt.report("kvq imported from the install", os.path.realpath(kvq.__file__).startswith(os.path.realpath(site)),
       kvq.__file__)
kt.report("version", kvq.__version__ == "0.1.0", kvq.__version__)

# The builder writes an INT4 KIVI-style attention; kvq.compile runs it on
# NumPy arrays against the golden model.
ks = ref.QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
vs = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
text = builder.attention_module("attention", [1, 4, 3, 64], [1, 2, -1, 64], key_scheme=ks,
                                value_scheme=vs, causal=True)
mod = kvq.compile(text, name="installed")
rng = kt.rng()
q = rng.standard_normal((1, 4, 3, 64)).astype(np.float32)
k = rng.standard_normal((1, 2, 45, 64)).astype(np.float32)
v = rng.standard_normal((1, 2, 45, 64)).astype(np.float32)
kc, kscale, kz = ref.quantize(k, ks)
vc, vscale, _ = ref.quantize(v, vs)
got = np.asarray(mod.attention(q, kc, kscale, kz, vc, vscale), np.float64)
want = ref.quantized_attention(q, kc, kscale, kz, ks, vc, vscale, None, vs, causal=True)
kt.check("builder + compile + run vs the golden model", got, want, 1e-5, shape=False, finite=False)

# A policy compresses plain K / V: the result is the quantized reference's.
plain = builder.attention_module("attention", [1, 4, 3, 64], [1, 2, -1, 64])
mod = kvq.compile(plain, name="policy", policy={"default": {"k": str(vs), "v": str(vs)}})
got = np.asarray(mod.attention(q, k, v), np.float64)
kc, kscale, _ = ref.quantize(k, vs)
want = ref.quantized_attention(q, kc, kscale, None, vs, vc, vscale, None, vs)
kt.check("policy", got, want, 1e-5, shape=False, finite=False)

# Toolchain diagnostics surface as kvq.CompileError with their location.
try:
    kvq.compile("func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n  %y = kvq.bogus %x\n}\n")
    kt.report("CompileError", False, "no exception")
except kvq.CompileError as e:
    kt.report("CompileError", ":2:" in str(e), str(e).splitlines()[1] if "\n" in str(e) else str(e))
kt.finish()
