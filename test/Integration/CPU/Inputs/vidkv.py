"""VidKV (kvq.vidkv_encode_key / decode_key / encode_value / decode_value)
compiled for the host CPU against the NumPy golden model
(python/kvq/reference.py), on fresh random inputs at ragged sizes (D 20 and
24, groups that do not divide the sequence, dynamic and empty sequences,
f16 in / f16 side data), the slot-coordinate ops that kvq-fuse makes of
attention over VidKV keys (kvq.vidkv_decode_key_slots exactly,
kvq.vidkv_project_query against the float64 matrix of the inverse DFT, with
slots outside [0, D) ignored), and attention over VidKV-coded K and V (GQA,
causal and not, dynamic length), which kvq-tile-attention decodes inside
its key loop (KVDecoderOpInterface): through the slots at the default ratio,
through the per-key inverse DFT at ratio 0.25 (10 high channels, which
kvq-fuse leaves alone).

Codes are compared bit for bit. The only documented ties: the golden model
computes the DFT and the group means in float64, the compiled code in
float32, so a spectral sign bit may differ where |r| is within rounding of
0, and a ternary digit where |v| is within rounding of m / 2; those
positions are counted and reported, every other bit must match. Channel
slots and the 2-bit codes, scales and minima are exact (kvq.quantize's
float32 numerics). Keys are drawn with well-separated channel ranges, so
the ranking is not a rounding tie either.

The same checks run on an NVIDIA GPU with --target=nvvm (the VidKV
decoders inside the tensor-core kernel, the encoders as element-wise
kernels; attention at the GPU's tolerance): see kvq_testing.py (test/harness) for
--build-only / --prebuilt. Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

KEY_DYN = ("tensor<2x3x?x3xi8>, tensor<2x3x?x10xf32>, tensor<2x3x?x10xf32>, tensor<2x3x?x2xi8>, "
           "tensor<2x3x?x10xf32>, tensor<2x3x20xi32>")
KEY_F16 = ("tensor<1x2x37x2xi8>, tensor<1x2x5x6xf16>, tensor<1x2x5x6xf16>, tensor<1x2x37x3xi8>, "
           "tensor<1x2x5x18xf16>, tensor<1x2x24xi32>")
KEY_ATT = ("tensor<1x2x?x5xi8>, tensor<1x2x?x20xf32>, tensor<1x2x?x20xf32>, tensor<1x2x?x3xi8>, "
           "tensor<1x2x?x20xf32>, tensor<1x2x40xi32>")
# ratio 0.25: 10 high channels, not whole bytes of 2-bit codes, so kvq-fuse
# leaves the key decoder in place (the inverse DFT per key).
KEY_ATT25 = ("tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>, tensor<1x2x?x4xi8>, "
             "tensor<1x2x?x30xf32>, tensor<1x2x40xi32>")

MODULE = f"""
func.func @encode_key(%k: tensor<2x3x?x20xf32>) -> ({KEY_DYN}) {{
  %e:6 = kvq.vidkv_encode_key %k {{group_size = 16}} : tensor<2x3x?x20xf32> -> {KEY_DYN}
  return %e#0, %e#1, %e#2, %e#3, %e#4, %e#5 : {KEY_DYN}
}}
func.func @encode_key_f16(%k: tensor<1x2x37x24xf16>) -> ({KEY_F16}) {{
  %e:6 = kvq.vidkv_encode_key %k {{ratio = 0.25 : f64, group_size = 8}} : tensor<1x2x37x24xf16> -> {KEY_F16}
  return %e#0, %e#1, %e#2, %e#3, %e#4, %e#5 : {KEY_F16}
}}
func.func @decode_key(%hc: tensor<2x3x?x3xi8>, %hs: tensor<2x3x?x10xf32>, %hm: tensor<2x3x?x10xf32>,
                      %lc: tensor<2x3x?x2xi8>, %ls: tensor<2x3x?x10xf32>, %ch: tensor<2x3x20xi32>)
    -> tensor<2x3x?x20xf32> {{
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch {{group_size = 16}} : {KEY_DYN} -> tensor<2x3x?x20xf32>
  return %k : tensor<2x3x?x20xf32>
}}
func.func @decode_key_f16(%hc: tensor<1x2x37x2xi8>, %hs: tensor<1x2x5x6xf16>, %hm: tensor<1x2x5x6xf16>,
                          %lc: tensor<1x2x37x3xi8>, %ls: tensor<1x2x5x18xf16>, %ch: tensor<1x2x24xi32>)
    -> tensor<1x2x37x24xf16> {{
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch {{group_size = 8}} : {KEY_F16} -> tensor<1x2x37x24xf16>
  return %k : tensor<1x2x37x24xf16>
}}
func.func @encode_value(%v: tensor<2x3x?x20xf32>) -> (tensor<2x3x?x4xi8>, tensor<2x3x?x20xf32>) {{
  %c, %s = kvq.vidkv_encode_value %v {{group_size = 16}} : tensor<2x3x?x20xf32> -> tensor<2x3x?x4xi8>, tensor<2x3x?x20xf32>
  return %c, %s : tensor<2x3x?x4xi8>, tensor<2x3x?x20xf32>
}}
func.func @encode_value_f16(%v: tensor<1x2x37x24xf16>) -> (tensor<1x2x37x5xi8>, tensor<1x2x5x24xf16>) {{
  %c, %s = kvq.vidkv_encode_value %v {{group_size = 8}} : tensor<1x2x37x24xf16> -> tensor<1x2x37x5xi8>, tensor<1x2x5x24xf16>
  return %c, %s : tensor<1x2x37x5xi8>, tensor<1x2x5x24xf16>
}}
func.func @decode_value(%c: tensor<2x3x?x4xi8>, %s: tensor<2x3x?x20xf32>) -> tensor<2x3x?x20xf32> {{
  %v = kvq.vidkv_decode_value %c, %s {{group_size = 16}} : tensor<2x3x?x4xi8>, tensor<2x3x?x20xf32> -> tensor<2x3x?x20xf32>
  return %v : tensor<2x3x?x20xf32>
}}
func.func @attention(%q: tensor<1x4x5x40xf32>, %hc: tensor<1x2x?x5xi8>, %hs: tensor<1x2x?x20xf32>,
                     %hm: tensor<1x2x?x20xf32>, %lc: tensor<1x2x?x3xi8>, %ls: tensor<1x2x?x20xf32>,
                     %ch: tensor<1x2x40xi32>, %vc: tensor<1x2x?x8xi8>, %vs: tensor<1x2x?x40xf32>)
    -> (tensor<1x4x5x40xf32>, tensor<1x4x5x40xf32>) {{
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : {KEY_ATT} -> tensor<1x2x?x40xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x8xi8>, tensor<1x2x?x40xf32> -> tensor<1x2x?x40xf32>
  %o = kvq.attention q(%q : tensor<1x4x5x40xf32>) k(%k : tensor<1x2x?x40xf32>) v(%v : tensor<1x2x?x40xf32>)
      -> tensor<1x4x5x40xf32>
  %c = kvq.attention q(%q : tensor<1x4x5x40xf32>) k(%k : tensor<1x2x?x40xf32>) v(%v : tensor<1x2x?x40xf32>)
      {{causal}} -> tensor<1x4x5x40xf32>
  return %o, %c : tensor<1x4x5x40xf32>, tensor<1x4x5x40xf32>
}}
func.func @attention25(%q: tensor<1x4x5x40xf32>, %hc: tensor<1x2x?x3xi8>, %hs: tensor<1x2x?x10xf32>,
                       %hm: tensor<1x2x?x10xf32>, %lc: tensor<1x2x?x4xi8>, %ls: tensor<1x2x?x30xf32>,
                       %ch: tensor<1x2x40xi32>, %vc: tensor<1x2x?x8xi8>, %vs: tensor<1x2x?x40xf32>)
    -> tensor<1x4x5x40xf32> {{
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : {KEY_ATT25} -> tensor<1x2x?x40xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x8xi8>, tensor<1x2x?x40xf32> -> tensor<1x2x?x40xf32>
  %o = kvq.attention q(%q : tensor<1x4x5x40xf32>) k(%k : tensor<1x2x?x40xf32>) v(%v : tensor<1x2x?x40xf32>)
      {{causal}} -> tensor<1x4x5x40xf32>
  return %o : tensor<1x4x5x40xf32>
}}
func.func @slots(%h: tensor<2x3x?x20xf32>, %lc: tensor<2x3x?x3xi8>, %ls: tensor<2x3x?x20xf16>)
    -> tensor<2x3x?x40xf32> {{
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls {{group_size = 16}}
      : tensor<2x3x?x20xf32>, tensor<2x3x?x3xi8>, tensor<2x3x?x20xf16> -> tensor<2x3x?x40xf32>
  return %k : tensor<2x3x?x40xf32>
}}
func.func @project_query(%q: tensor<2x6x?x40xf32>, %ch: tensor<2x3x40xi32>) -> tensor<2x6x?x40xf32> {{
  %r = kvq.vidkv_project_query %q, %ch {{n_high = 20}}
      : tensor<2x6x?x40xf32>, tensor<2x3x40xi32> -> tensor<2x6x?x40xf32>
  return %r : tensor<2x6x?x40xf32>
}}
func.func @project_query_f16(%q: tensor<1x2x3x24xf16>, %ch: tensor<1x2x24xi32>) -> tensor<1x2x3x24xf16> {{
  %r = kvq.vidkv_project_query %q, %ch {{n_high = 6}}
      : tensor<1x2x3x24xf16>, tensor<1x2x24xi32> -> tensor<1x2x3x24xf16>
  return %r : tensor<1x2x3x24xf16>
}}
"""



def exact(name, got, want):
    got, want = np.asarray(got), np.asarray(want)
    same = got.shape == want.shape and np.array_equal(got.view(np.uint8) if got.dtype == np.int8 else got,
                                                      want.view(np.uint8) if want.dtype == np.int8 else want)
    kt.report(name, same, "bit-exact" if same else f"{np.sum(got != want) if got.shape == want.shape else 'shape'}"
           " mismatches")


def ties(name, got_bits, want_bits, tie):
    """Bits equal wherever `tie` is false; reports the tie positions that differ."""
    got_bits, want_bits = np.asarray(got_bits), np.asarray(want_bits)
    if got_bits.shape != want_bits.shape:
        kt.report(name, False, "shape")
        return
    diff = got_bits != want_bits
    bad = int(np.sum(diff & ~tie))
    kt.report(name, bad == 0, f"{bad} mismatches, {int(np.sum(diff & tie))} documented ties "
           f"(of {int(tie.sum())} near-tie positions, {diff.size} codes)")


def keys(rng, shape):
    """Random keys with a few outlier channels and channel ranges at least
    1e-3 apart (relative) in every head, so the ranking has no near-tie.
    With fewer than two tokens every range is exactly 0 (an exact tie,
    broken by the channel index in both)."""
    while True:
        k = rng.standard_normal(shape)
        k *= rng.uniform(0.5, 2.0, shape[-1])
        k[..., rng.choice(shape[-1], 2, replace=False)] += rng.uniform(-6, 6, 2)
        k = k.astype(np.float32)
        if shape[2] < 2:
            return k
        r = np.sort(k.max(axis=2) - k.min(axis=2), axis=-1).astype(np.float64)
        if (np.diff(r, axis=-1) > 1e-3 * r[..., 1:]).all():
            return k


def check_key(name, got, want, k, ratio, group):
    hc, hs, hm, lc, ls, ch = got
    whc, whs, whm, wlc, wls, wch = want
    exact(f"{name} channels", ch, wch)
    exact(f"{name} high codes", hc, whc)
    exact(f"{name} high scale", hs, whs)
    exact(f"{name} high min", hm, whm)
    d = k.shape[-1]
    n_high = ref.vidkv_num_high(d, ratio)
    n_low = d - n_high
    inv = np.argsort(wch, axis=-1)
    g = np.take_along_axis(k.astype(np.float64), inv[:, :, None, :].repeat(k.shape[2], axis=2), axis=-1)
    r = ref.vidkv_halfcomplex(g[..., n_high:])
    tie = np.abs(r) <= 1e-5 * (np.abs(g[..., n_high:]).sum(axis=-1, keepdims=True) + 1e-30)
    unpack = lambda c: ref._unpack_rows(np.asarray(c), 1, n_low)  # noqa: E731
    ties(f"{name} low codes", unpack(lc), unpack(wlc), tie)
    kt.check(f"{name} low scale", ls, wls, 1e-5 if ls.dtype == np.float32 else 1e-3)


def check_value(name, got, want, v, group):
    c, s = got
    wc, ws = want
    d = v.shape[-1]
    m = ref._expand_groups(ref._group_mean(np.abs(v.astype(np.float64)), group), v.shape[2], group)
    tie = np.abs(np.abs(v.astype(np.float64)) - 0.5 * m) <= 1e-5 * m
    ties(f"{name} codes", ref.unpack_ternary(c, d), ref.unpack_ternary(wc, d), tie)
    kt.check(f"{name} scale", s, ws, 1e-5 if s.dtype == np.float32 else 1e-3)


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, MODULE, "vidkv")
    if mod is None:
        return
    att_tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()

    for s in (0, 1, 16, 45):
        k = keys(rng, (2, 3, s, 20))
        got = mod.encode_key(k)
        want = ref.vidkv_encode_key(k, 0.5, 16)
        check_key(f"encode_key S={s}", got, want, k, 0.5, 16)
        kt.check(f"decode_key S={s}", mod.decode_key(*want), ref.vidkv_decode_key(*want, group_size=16), 1e-5)
        # The compiled round trip decodes the compiled codes exactly as the
        # golden model does.
        kt.check(f"roundtrip_key S={s}", mod.decode_key(*got), ref.vidkv_decode_key(*got, group_size=16), 1e-5)

        v = rng.standard_normal((2, 3, s, 20)).astype(np.float32)
        got = mod.encode_value(v)
        want = ref.vidkv_encode_value(v, 16)
        check_value(f"encode_value S={s}", got, want, v, 16)
        kt.check(f"decode_value S={s}", mod.decode_value(*want), ref.vidkv_decode_value(*want, group_size=16), 1e-6)

    k = keys(rng, (1, 2, 37, 24)).astype(np.float16)
    want = ref.vidkv_encode_key(k, 0.25, 8, "f16")
    check_key("encode_key_f16 S=37", mod.encode_key_f16(k), want, k.astype(np.float32), 0.25, 8)
    kt.check("decode_key_f16 S=37", mod.decode_key_f16(*want),
          ref.vidkv_decode_key(*want, group_size=8).astype(np.float16), 1e-3)
    v = rng.standard_normal((1, 2, 37, 24)).astype(np.float16)
    check_value("encode_value_f16 S=37", mod.encode_value_f16(v), ref.vidkv_encode_value(v, 8, "f16"),
                v.astype(np.float32), 8)

    for length in (5, 77):
        q = rng.standard_normal((1, 4, 5, 40)).astype(np.float32)
        k = keys(rng, (1, 2, length, 40))
        v = rng.standard_normal((1, 2, length, 40)).astype(np.float32)
        ke = ref.vidkv_encode_key(k)
        ve = ref.vidkv_encode_value(v)
        kd = ref.vidkv_decode_key(*ke)
        vd = ref.vidkv_decode_value(*ve)
        out, causal = mod.attention(q, *ke, *ve)
        kt.check(f"attention L={length}", out, ref.attention(q, kd, vd), att_tol)
        kt.check(f"attention_causal L={length}", causal, ref.attention(q, kd, vd, causal=True), att_tol)

    # Keys in slot coordinates and queries mapped into them (what kvq-fuse
    # makes of attention over kvq.vidkv_decode_key), each op on its own.
    for s in (0, 1, 45):
        h = rng.standard_normal((2, 3, s, 20)).astype(np.float32)
        lc = rng.integers(-128, 128, (2, 3, s, 3)).astype(np.int8)
        ls = rng.uniform(0.1, 2.0, (2, 3, -(-s // 16), 20)).astype(np.float16)
        kt.check(f"decode_key_slots S={s}", mod.slots(h, lc, ls),
                 ref.vidkv_decode_key_slots(h, lc, ls, 16), 0.0)
    for s, invalid in ((1, False), (7, True)):
        q = rng.standard_normal((2, 6, s, 40)).astype(np.float32)
        ch = np.stack([np.stack([rng.permutation(40) for _ in range(3)]) for _ in range(2)]).astype(np.int32)
        if invalid:  # slots outside [0, D) contribute nothing
            ch[0, 1, 3], ch[1, 2, 0], ch[1, 0, 39] = 40, -1, 1 << 30
        kt.check(f"project_query S={s}{' invalid slots' if invalid else ''}", mod.project_query(q, ch),
                 ref.vidkv_project_query(q, ch, 20), 1e-5)
    q = rng.standard_normal((1, 2, 3, 24)).astype(np.float16)
    ch = np.stack([np.stack([rng.permutation(24) for _ in range(2)])]).astype(np.int32)
    kt.check("project_query_f16", mod.project_query_f16(q, ch),
             ref.vidkv_project_query(q, ch, 6).astype(np.float16), 2e-3)

    # ratio 0.25: the key decoder stays in the loop (inverse DFT per key).
    q = rng.standard_normal((1, 4, 5, 40)).astype(np.float32)
    k = keys(rng, (1, 2, 77, 40))
    v = rng.standard_normal((1, 2, 77, 40)).astype(np.float32)
    ke = ref.vidkv_encode_key(k, 0.25)
    ve = ref.vidkv_encode_value(v)
    kt.check("attention ratio 0.25 L=77", mod.attention25(q, *ke, *ve),
             ref.attention(q, ref.vidkv_decode_key(*ke), ref.vidkv_decode_value(*ve), causal=True), att_tol)

    kt.finish()
    print("PASS")


if __name__ == "__main__":
    main()
