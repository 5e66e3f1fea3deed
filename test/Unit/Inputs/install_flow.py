"""One flow of scripts/install-check.sh: an installed kvq package finds
kvq-compile the way FLOW says, with no environment variable set, compiles a
kernel and runs it against NumPy (for FLOW=none: fails, listing where it
looked).

    python install_flow.py wheel|prefix|path|recorded|none
"""

import inspect
import os
import sys

import numpy as np

import kvq
import kvq_testing as kt
from kvq import builder, compiler

flow = sys.argv[1]
expected = {"wheel": "the tools inside the kvq package", "prefix": "the install prefix",
            "path": "PATH", "recorded": "the recorded install prefix"}


def report(label, ok, detail=""):
    kt.report(f"{flow}: {label}", ok, detail)


report("no KVQ_COMPILE", "KVQ_COMPILE" not in os.environ)
tool = compiler.find_kvq_compile()
if flow == "none":
    report("nothing found", tool is None, str(tool))
    try:
        kvq.compile("func.func @f() {\n  return\n}\n")
        report("CompileError", False, "no exception")
    except kvq.CompileError as e:
        print(str(e))
    kt.finish()
    sys.exit(0)

found = next((what for what, path in compiler.kvq_compile_search_path()
              if path and os.path.isfile(path) and os.access(path, os.X_OK)), None)
report(f"kvq-compile found through {found}", found == expected[flow], tool)
report("kvq-compile outside the source tree",
       not os.path.realpath(tool).startswith(os.path.realpath(
           os.path.join(os.path.dirname(kvq.__file__), "..", "..", "..", "build"))))

# An INT8-cache attention from the builder, called with keywords.
scheme = "#kvq.quant<i8, symmetric, token>"
text = builder.attention_module("attention", [1, 4, 3, 32], [1, 2, -1, 32],
                                key_scheme=scheme, value_scheme=scheme, causal=True)
mod = kvq.compile(text, name="flow", opt=1)
rng = kt.rng()
q = rng.standard_normal((1, 4, 3, 32)).astype(np.float32)
k = rng.standard_normal((1, 2, 19, 32)).astype(np.float32)
v = rng.standard_normal((1, 2, 19, 32)).astype(np.float32)
ks = kvq.QuantScheme.parse(scheme)
kc, kscale, _ = kvq.quantize(k, ks)
vc, vscale, _ = kvq.quantize(v, ks)
got = mod.attention(q=q, k=kc, k_scale=kscale, v=vc, v_scale=vscale)
want = kvq.quantized_attention(q, kc, kscale, None, ks, vc, vscale, None, ks, causal=True)
kt.check(f"{flow}: compile + run vs NumPy", got, want, 1e-5, shape=False, finite=False)
report("signature", str(inspect.signature(mod.attention)) ==
       "(q, k, k_scale, v, v_scale, *, out_shapes=None, out=None)",
       str(inspect.signature(mod.attention)))
kt.finish()
