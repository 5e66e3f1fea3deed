"""Tests of the MLIR text builder (python/kvq/builder.py)."""

import pytest

from kvq import builder
from kvq.reference import QuantScheme


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


def test_builder_is_an_attribute_of_kvq():
    import kvq
    assert kvq.builder is builder


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(q_shape=[1, 4, 3], k_shape=[1, 2, 5, 64]), ValueError,
     r"q_shape must have 4 dims \[B, Hq, Sq, D\], got \[1, 4, 3\]"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5]), ValueError, "k_shape must have 4 dims"),
    (dict(q_shape=[1, 4, 3, 64], k_shape="1x2x5x64"), TypeError, "k_shape must be a sequence"),
    (dict(q_shape=[1, 4, 3, 64.5], k_shape=[1, 2, 5, 64]), TypeError, "q_shape must hold integers"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 3, 5, 64]), ValueError,
     r"query heads \(4\) must be a multiple of the KV heads \(3\)"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 32]), ValueError, "differ in the head dim"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 64], dtype="f12"), ValueError,
     "dtype must be one of"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 64], key_scheme="bogus"), ValueError,
     "key_scheme: "),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 64],
          value_scheme="#kvq.quant<i4, asymmetric, group(axis = 7, size = 32)>"), ValueError,
     "value_scheme .* does not fit K / V of shape"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 64], mask_shape=[3, 5]), ValueError,
     "mask_shape must have 4 dims"),
    (dict(q_shape=[1, 4, 3, 64], k_shape=[1, 2, 5, 64], v_dim=0), ValueError,
     "v_dim must be a positive integer"),
])
def test_argument_errors_are_messages(kwargs, error, message):
    with pytest.raises(error, match=message):
        builder.attention_module("a", **kwargs)


def test_bad_name():
    with pytest.raises(ValueError, match="MLIR symbol name"):
        builder.attention_module("9a", [1, 4, 3, 64], [1, 2, 5, 64])
