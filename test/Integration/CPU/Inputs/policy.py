"""A 4-layer GQA transformer block stack (causal self-attention with Q / K /
V / O projections and residuals), written as an importer writes it (linalg
and tensor ops only, the attention a batch_matmul / softmax chain with an
additive causal mask), compiled in one kvq-compile call with a per-layer KV
policy (--kv-policy: kvq-raise-attention, then kvq-compress-kv), against
the NumPy golden model applying the same schemes to each layer's K and V.
Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt

import kvq
from kvq import reference as ref

S, DM, HQ, HKV, D, LAYERS = 37, 64, 4, 2, 16, 4

POLICY = {
    "default": {"k": "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
                "v": "#kvq.quant<i4, asymmetric, group(axis = 3, size = 8), scale = f16>"},
    "layers": {
        "0": {"k": None, "v": None},
        "2": {"k": "#kvq.quant<i8, symmetric, token>", "v": "#kvq.quant<i8, symmetric, token>"},
        "3": {"k": "#kvq.quant<f8E4M3FN, symmetric, channel>"},
    },
}


def t(*shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def attention(i):
    """Causal GQA attention of layer i as an importer writes it (torch-mlir
    style linalg): K / V heads repeated with linalg.broadcast, Q K^T as a
    batch_matmul with a transposed map, a scale on the scores, the causal
    mask %mask added, a max / exp / sum / divide softmax of generics, P V.
    kvq-compile raises it to kvq.attention before applying the policy."""
    g = HQ // HKV
    n = HQ
    lines = [
        f"  %q3_{i} = tensor.collapse_shape %q_{i} [[0, 1], [2], [3]] : {t(1, HQ, S, D)} into {t(n, S, D)}",
    ]
    for name in ("k", "v"):
        lines += [
            f"  %{name}e5_{i} = tensor.empty() : {t(1, HKV, g, S, D)}",
            f"  %{name}b_{i} = linalg.broadcast ins(%{name}_{i} : {t(1, HKV, S, D)}) "
            f"outs(%{name}e5_{i} : {t(1, HKV, g, S, D)}) dimensions = [2]",
            f"  %{name}3_{i} = tensor.collapse_shape %{name}b_{i} [[0, 1, 2], [3], [4]] : "
            f"{t(1, HKV, g, S, D)} into {t(n, S, D)}",
        ]
    ss = t(n, S, S)
    rows = t(n, S)
    lines += [
        f"  %es_{i} = tensor.empty() : {ss}",
        f"  %zs_{i} = linalg.fill ins(%zero : f32) outs(%es_{i} : {ss}) -> {ss}",
        f"  %s_{i} = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, "
        f"affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] "
        f"ins(%q3_{i}, %k3_{i} : {t(n, S, D)}, {t(n, S, D)}) outs(%zs_{i} : {ss}) -> {ss}",
        f"  %ss_{i} = linalg.generic {{indexing_maps = [#id, #id], iterator_types = "
        f"[\"parallel\", \"parallel\", \"parallel\"]}} ins(%s_{i} : {ss}) "
        f"outs(%es_{i} : {ss}) {{\n  ^bb0(%a: f32, %o: f32):\n"
        f"    %r = arith.mulf %a, %scale : f32\n    linalg.yield %r : f32\n  }} -> {ss}",
        f"  %sc_{i} = linalg.generic {{indexing_maps = [#id, #mask, #id], iterator_types = "
        f"[\"parallel\", \"parallel\", \"parallel\"]}} ins(%ss_{i}, %mask : {ss}, {t(S, S)}) "
        f"outs(%es_{i} : {ss}) {{\n  ^bb0(%a: f32, %b: f32, %o: f32):\n"
        f"    %r = arith.addf %a, %b : f32\n    linalg.yield %r : f32\n  }} -> {ss}",
        f"  %er_{i} = tensor.empty() : {rows}",
        f"  %mi_{i} = linalg.fill ins(%ninf : f32) outs(%er_{i} : {rows}) -> {rows}",
        f"  %mx_{i} = linalg.generic {{indexing_maps = [#id, #row], iterator_types = "
        f"[\"parallel\", \"parallel\", \"reduction\"]}} ins(%sc_{i} : {ss}) outs(%mi_{i} : {rows}) "
        f"{{\n  ^bb0(%a: f32, %acc: f32):\n    %r = arith.maximumf %a, %acc : f32\n"
        f"    linalg.yield %r : f32\n  }} -> {rows}",
        f"  %ex_{i} = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = "
        f"[\"parallel\", \"parallel\", \"parallel\"]}} ins(%sc_{i}, %mx_{i} : {ss}, {rows}) "
        f"outs(%es_{i} : {ss}) {{\n  ^bb0(%a: f32, %b: f32, %o: f32):\n    %d = arith.subf %a, %b : f32\n"
        f"    %r = math.exp %d : f32\n    linalg.yield %r : f32\n  }} -> {ss}",
        f"  %si_{i} = linalg.fill ins(%zero : f32) outs(%er_{i} : {rows}) -> {rows}",
        f"  %sum_{i} = linalg.generic {{indexing_maps = [#id, #row], iterator_types = "
        f"[\"parallel\", \"parallel\", \"reduction\"]}} ins(%ex_{i} : {ss}) outs(%si_{i} : {rows}) "
        f"{{\n  ^bb0(%a: f32, %acc: f32):\n    %r = arith.addf %a, %acc : f32\n"
        f"    linalg.yield %r : f32\n  }} -> {rows}",
        f"  %p_{i} = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = "
        f"[\"parallel\", \"parallel\", \"parallel\"]}} ins(%ex_{i}, %sum_{i} : {ss}, {rows}) "
        f"outs(%es_{i} : {ss}) {{\n  ^bb0(%a: f32, %b: f32, %o: f32):\n    %r = arith.divf %a, %b : f32\n"
        f"    linalg.yield %r : f32\n  }} -> {ss}",
        f"  %eo_{i} = tensor.empty() : {t(n, S, D)}",
        f"  %zo_{i} = linalg.fill ins(%zero : f32) outs(%eo_{i} : {t(n, S, D)}) -> {t(n, S, D)}",
        f"  %o3_{i} = linalg.batch_matmul ins(%p_{i}, %v3_{i} : {ss}, {t(n, S, D)}) "
        f"outs(%zo_{i} : {t(n, S, D)}) -> {t(n, S, D)}",
    ]
    return lines


def layer(i):
    """MLIR of layer i: %x_{i} -> %x{i+1}."""
    x, y = f"%x_{i}", f"%x_{i + 1}"
    lines = []
    for name, heads in (("q", HQ), ("k", HKV), ("v", HKV)):
        lines += [
            f"  %{name}z_{i} = tensor.empty() : {t(S, heads * D)}",
            f"  %{name}0_{i} = linalg.fill ins(%zero : f32) outs(%{name}z_{i} : {t(S, heads * D)}) -> {t(S, heads * D)}",
            f"  %{name}m_{i} = linalg.matmul ins({x}, %w{name}_{i} : {t(S, DM)}, {t(DM, heads * D)}) "
            f"outs(%{name}0_{i} : {t(S, heads * D)}) -> {t(S, heads * D)}",
            f"  %{name}e_{i} = tensor.expand_shape %{name}m_{i} [[0, 1], [2, 3]] output_shape [1, {S}, {heads}, {D}] "
            f": {t(S, heads * D)} into {t(1, S, heads, D)}",
            f"  %{name}t0_{i} = tensor.empty() : {t(1, heads, S, D)}",
            f"  %{name}_{i} = linalg.transpose ins(%{name}e_{i} : {t(1, S, heads, D)}) "
            f"outs(%{name}t0_{i} : {t(1, heads, S, D)}) permutation = [0, 2, 1, 3]",
        ]
    lines += attention(i) + [
        f"  %a_{i} = tensor.expand_shape %o3_{i} [[0, 1], [2], [3]] output_shape [1, {HQ}, {S}, {D}] "
        f": {t(HQ, S, D)} into {t(1, HQ, S, D)}",
        f"  %at0_{i} = tensor.empty() : {t(1, S, HQ, D)}",
        f"  %at_{i} = linalg.transpose ins(%a_{i} : {t(1, HQ, S, D)}) outs(%at0_{i} : {t(1, S, HQ, D)}) "
        f"permutation = [0, 2, 1, 3]",
        f"  %ac_{i} = tensor.collapse_shape %at_{i} [[0, 1], [2, 3]] : {t(1, S, HQ, D)} into {t(S, HQ * D)}",
        f"  %oz_{i} = tensor.empty() : {t(S, DM)}",
        f"  %o0_{i} = linalg.fill ins(%zero : f32) outs(%oz_{i} : {t(S, DM)}) -> {t(S, DM)}",
        f"  %o_{i} = linalg.matmul ins(%ac_{i}, %wo_{i} : {t(S, HQ * D)}, {t(HQ * D, DM)}) "
        f"outs(%o0_{i} : {t(S, DM)}) -> {t(S, DM)}",
        f"  {y} = linalg.add ins({x}, %o_{i} : {t(S, DM)}, {t(S, DM)}) outs(%oz_{i} : {t(S, DM)}) -> {t(S, DM)}",
    ]
    return lines


def module():
    args = [f"%x_0: {t(S, DM)}", f"%mask: {t(S, S)}"]
    for i in range(LAYERS):
        args += [f"%wq_{i}: {t(DM, HQ * D)}", f"%wk_{i}: {t(DM, HKV * D)}",
                 f"%wv_{i}: {t(DM, HKV * D)}", f"%wo_{i}: {t(HQ * D, DM)}"]
    body = ["  %zero = arith.constant 0.0 : f32", "  %ninf = arith.constant 0xFF800000 : f32",
            f"  %scale = arith.constant {1 / np.sqrt(D)} : f32"]
    for i in range(LAYERS):
        body += layer(i)
    maps = ("#id = affine_map<(b, i, j) -> (b, i, j)>\n#row = affine_map<(b, i, j) -> (b, i)>\n"
            "#mask = affine_map<(b, i, j) -> (i, j)>\n")
    # Every layer's output is a result, so each layer is checked on its own
    # input (see main).
    outs = [f"%x_{i + 1}" for i in range(LAYERS)]
    types = ", ".join([t(S, DM)] * LAYERS)
    return maps + (f"func.func @model({', '.join(args)}) -> ({types}) {{\n" + "\n".join(body) +
                   f"\n  return {', '.join(outs)} : {types}\n}}\n")


def scheme_for(i, side):
    entry = POLICY["layers"].get(str(i), {})
    text = entry[side] if side in entry else POLICY["default"][side]
    return None if text is None else ref.QuantScheme.parse(text)


def reference_layer(i, x, wq, wk, wv, wo):
    """Layer i of the model in fp64 on the layer's input `x`, with layer i's
    schemes applied to its K and V."""
    heads = {}
    for name, w, h in (("q", wq, HQ), ("k", wk, HKV), ("v", wv, HKV)):
        # The projections run in f32 in the kernel; quantization sees f32.
        p = (x.astype(np.float32) @ w).astype(np.float32)
        heads[name] = p.reshape(1, S, h, D).transpose(0, 2, 1, 3)
    for side in ("k", "v"):
        s = scheme_for(i, side)
        if s is not None:
            c, sc, zp = ref.quantize(np.ascontiguousarray(heads[side]), s)
            heads[side] = ref.dequantize(c, sc, zp, s)
    a = ref.attention(heads["q"], heads["k"], heads["v"], causal=True)
    return x.astype(np.float64) + a.transpose(0, 2, 1, 3).reshape(S, HQ * D) @ wo


def selection(rng, rows, cols):
    """A K or V projection that copies `cols` distinct input channels, each
    times +-2^e: its f32 product is exact whatever the summation order."""
    w = np.zeros((rows, cols), np.float32)
    w[rng.choice(rows, cols, replace=False), np.arange(cols)] = (
        rng.choice([-1.0, 1.0], cols) * 2.0 ** rng.integers(-1, 2, cols))
    return w


def weights_for(rng):
    weights = []
    for _ in range(LAYERS):
        weights += [(rng.standard_normal((DM, HQ * D)) / np.sqrt(DM)).astype(np.float32),
                    selection(rng, DM, HKV * D), selection(rng, DM, HKV * D),
                    (rng.standard_normal((HQ * D, DM)) / np.sqrt(HQ * D)).astype(np.float32)]
    return weights


def layer_errors(outs, x, weights):
    """The max relative error of each compiled layer against the reference
    layer run on the compiled layer's own input."""
    errs, inputs = [], [x] + [np.asarray(o) for o in outs[:-1]]
    for i in range(LAYERS):
        want = reference_layer(i, inputs[i], *weights[4 * i:4 * i + 4])
        got = np.asarray(outs[i], np.float64)
        errs.append(float(np.abs(got - want).max() / np.abs(want).max()))
    return errs


def causal_mask():
    return np.where(np.tril(np.ones((S, S), bool)), 0.0, -np.inf).astype(np.float32)


def main():
    text = module()
    # Written as an importer writes it: no kvq.attention until kvq-compile
    # raises it.
    assert "kvq.attention" not in text
    mod = kvq.compile(text, name="policy", policy=POLICY)
    rng = kt.rng()
    # Each layer is checked on the layer input the kernel computed, so
    # quantization sees bit-identical f32 values on both sides: the K / V
    # projections are exact (selection), the residual stream is the
    # kernel's. Otherwise a code at a rounding boundary may round the other
    # way and the difference grows through the layers (CI once saw it).
    for trial in range(3):
        x = rng.standard_normal((S, DM)).astype(np.float32)
        weights = weights_for(rng)
        errs = layer_errors(mod.model(x, causal_mask(), *weights), x, weights)
        kt.report(f"model trial {trial}", max(errs) <= 1e-5,
                  "max rel error per layer " + " ".join(f"{e:.1e}" for e in errs) + " (tol 1e-05)")
    # The policy matters: compiled without it, every compressed layer
    # (1, 2, 3) misses its reference by far more than the tolerance.
    plain = kvq.compile(module(), name="plain")
    x = rng.standard_normal((S, DM)).astype(np.float32)
    weights = weights_for(rng)
    errs = layer_errors(plain.model(x, causal_mask(), *weights), x, weights)
    kt.report("policy changes the result", errs[0] <= 1e-5 and min(errs[1:]) > 1e-3,
              "per layer " + " ".join(f"{e:.1e}" for e in errs))
    kt.finish()


if __name__ == "__main__":
    main()
