"""Tests of the MLIR text builder (python/kvq/builder.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))

from kvq import builder  # noqa: E402
from kvq.reference import QuantScheme  # noqa: E402


def scheme(text):
    return QuantScheme.parse(text)


def test_tensor_type():
    assert builder.tensor_type([2, -1, 8], "f32") == "tensor<2x?x8xf32>"
    assert builder.tensor_type([], "f16") == "tensor<f16>"


def test_dynamic_length_scales():
    # A scale dim that follows a dynamic length is dynamic; one that does
    # not (per channel) stays static.
    text = builder.attention_module(
        "a", [1, 4, 3, 64], [1, 2, -1, 64],
        key_scheme=scheme("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"),
        value_scheme=scheme("#kvq.quant<i8, symmetric, channel>"))
    assert "%k_scale: tensor<1x2x?x64xf16>" in text
    assert "%v_scale: tensor<1x2x1x64xf32>" in text
    assert builder.kv_arg_names(
        scheme("#kvq.quant<i4, asymmetric, token>"), None) == ["q", "k", "k_scale", "k_zp", "v"]


def test_static_length_scales():
    text = builder.attention_module(
        "a", [1, 4, 3, 64], [1, 2, 45, 64],
        key_scheme=scheme("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"))
    assert "%k_scale: tensor<1x2x2x64xf16>" in text
