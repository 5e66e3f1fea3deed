"""The parts of bench/gpu_attention.py that need no GPU: the cases it runs,
the bytes it counts per scheme, the modules it builds, its Markdown."""

import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

import gpu_attention as bench


def test_decode_cases_cover_the_compressed_schemes():
    cases = {(b, L): schemes for b, L, schemes in bench.decode_cases()}
    # KIVI and 2-bit at batch 1 and 8, every length from 4k to 128k.
    for b in (1, 8):
        for L in (4096, 8192, 16384, 32768, 65536, 131072):
            for scheme in ("kivi4", "kivi2", "int2"):
                assert scheme in cases[(b, L)], (b, L, scheme)
    # The base schemes at the base shapes, never beyond b x L = 32 x 128k.
    for b in (1, 8, 32):
        for L in (8192, 32768, 131072):
            if b * L <= 32 * 131072:
                assert {"fp16", "int8", "int4", "fp8"} <= set(cases[(b, L)])
    assert all(b * L <= 32 * 131072 for b, L in cases)
    # No shape runs a scheme twice.
    assert all(len(s) == len(set(s)) for s in cases.values())
    quick = bench.decode_cases(quick=True)
    assert 0 < len(quick) < len(cases)


@pytest.mark.parametrize("scheme,bits", [
    ("fp16", 16.0),
    ("int8", 8.0 + 16 / 128),       # f16 scale per token of 128 channels
    ("fp8", 8.0 + 16 / 128),
    ("int4", 4.0 + 16 / 32),        # f16 scale per 32 channels
    ("kivi4", 4.0 + 2 * 16 / 32),   # f16 scale + zero point per 32 values
    ("kivi2", 2.0 + 2 * 16 / 32),
    ("int2", 2.0 + 16 / 32),
])
def test_kv_bytes_per_value(scheme, bits):
    ks, vs = bench.DECODE_SCHEMES[scheme]
    shape = [2, 8, 4096, 128]
    n = 2 * 8 * 4096 * 128
    for s in (ks, vs):
        assert bench.kv_bytes(s, shape) * 8 / n == pytest.approx(bits)


def test_kv_bytes_ragged_groups():
    # 33 tokens in groups of 32 along the tokens: two groups of scales and
    # zero points per channel.
    ks, _ = bench.DECODE_SCHEMES["kivi4"]
    assert bench.kv_bytes(ks, [1, 1, 33, 128]) == 33 * 128 // 2 + 2 * 128 * 2 * 2


def test_build_jobs():
    jobs = bench.build_jobs()
    for scheme in bench.DECODE_SCHEMES:
        text = jobs[bench.decode_name(scheme)]
        assert "kvq.attention" in text
        assert "tensor<?x32x1x128xf16>" in text and "tensor<?x8x?x" in text
    kivi = jobs["decode_kivi2"]
    assert "#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>" in kivi
    assert "zero_point" in kivi
    static = bench.decode_module("int4", 8, 32768)
    assert "tensor<8x32x1x128xf16>" in static and "tensor<8x8x32768x" in static


def test_markdown_table():
    rows = [
        dict(config="decode b=8 L=32768", impl="sdpa-cudnn fp16", ms=0.2439, rate=4.40,
             unit="TB/s", hbm_fraction=1.04),
        dict(config="decode b=8 L=32768", impl="kvq int4", ms=0.07, rate=4.31, unit="TB/s",
             hbm_fraction=1.016, vs_cudnn=3.48),
    ]
    text = bench.markdown_table(rows)
    lines = text.strip().split("\n")
    assert lines[0].startswith("| case | implementation | time (us) | rate | % of copy")
    assert lines[2] == "| decode b=8 L=32768 | sdpa-cudnn fp16 | 243.9 | 4.40 TB/s | 104.0 |  |"
    assert lines[3] == "| decode b=8 L=32768 | kvq int4 | 70.0 | 4.31 TB/s | 101.6 | 3.48x |"
