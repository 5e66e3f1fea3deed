"""Runs abi-dynamic-i4.mlir (kvq.attention over a dynamic INT4 KV cache)
through kvq.compile and the Python loader.

The output is allocated from the entry's output-shape function (no
out_shapes=), so a missing or wrong shape function fails here. Compares with
fp64 attention over the dequantized cache at two (batch, length) values, and
checks that inputs whose dynamic dims disagree are refused.

    abi_dynamic_i4.py path/to/abi-dynamic-i4.mlir
"""

import sys

import numpy as np

import kvq
import kvq_testing as kt
from kvq import reference as ref
from kvq.runtime import KVQ_ERR_SHAPE, KVQError

K_SCHEME = ref.QuantScheme.parse(
    "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>")
V_SCHEME = ref.QuantScheme.parse(
    "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>")
HQ, HKV, D = 8, 2, 64


def make_inputs(rng, batch, length, v_length=None, v_batch=None):
    q = rng.standard_normal((batch, HQ, 1, D)).astype(np.float32)
    k = rng.standard_normal((batch, HKV, length, D)).astype(np.float32)
    k[..., 1] += 4.0  # an outlier channel, as in real keys
    v = rng.standard_normal((v_batch or batch, HKV, v_length or length, D)).astype(np.float32)
    k_codes, k_scale, _ = ref.quantize(k, K_SCHEME)
    v_codes, v_scale, v_zp = ref.quantize(v, V_SCHEME)
    inputs = [q, k_codes, k_scale, v_codes, v_scale, v_zp]
    k_dense = ref.dequantize(k_codes, k_scale, None, K_SCHEME).astype(np.float64)
    v_dense = ref.dequantize(v_codes, v_scale, v_zp, V_SCHEME).astype(np.float64)
    return inputs, (q.astype(np.float64), k_dense, v_dense)


def main():
    mod = kvq.compile(sys.argv[1], name="abi_dynamic_i4")
    entry = mod.int4_dynamic
    spec = mod.manifest["entries"][0]
    kt.report(f"output_shapes_symbol: {spec['output_shapes_symbol']}",
              spec["output_shapes_symbol"] == "int4_dynamic_output_shapes")
    kt.report("no compile warnings", "warning" not in mod.compile_log)

    rng = kt.rng()
    for batch, length in ((2, 13), (3, 77)):
        inputs, (q, k, v) = make_inputs(rng, batch, length)
        shapes = entry.output_shapes(*inputs)
        kt.report(f"output_shapes b={batch} L={length}: {shapes}", shapes == [(batch, HQ, 1, D)])
        out = np.asarray(entry(*inputs), dtype=np.float64)  # allocated from the shape function
        expect = ref.attention(q, k, v)
        err = float(np.abs(out - expect).max() / max(np.abs(expect).max(), 1e-30))
        kt.report(f"int4_dynamic b={batch} L={length}: shape {out.shape}, max rel error {err:.2e}",
                  out.shape == expect.shape and err <= 1e-5 and np.isfinite(out).all())

    # Dynamic dims that disagree (batch of V, length of V) are refused by
    # the shape function and by the entry point.
    for what, kwargs in (("v batch", {"v_batch": 3}), ("v length", {"v_length": 14})):
        inputs, _ = make_inputs(rng, 2, 13, **kwargs)
        for call in ("output_shapes", "call"):
            try:
                if call == "call":
                    entry(*inputs, out_shapes=[(2, HQ, 1, D)])
                else:
                    entry.output_shapes(*inputs)
                status = 0
            except KVQError as e:
                status = e.status
            kt.report(f"mismatched {what} ({call}): status {status}", status == KVQ_ERR_SHAPE)

    kt.finish()


if __name__ == "__main__":
    main()
