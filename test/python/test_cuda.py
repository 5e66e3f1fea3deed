"""Tests of GPU libraries from Python (kvq.compile(target="nvvm"),
python/kvq/cuda.py): compiling needs no GPU; without one, every call fails
with the CUDA runtime's message instead of crashing. With a GPU, device
arrays round-trip and a small attention matches the NumPy reference.

Needs kvq-compile built with the CUDA runtime (libkvq_cuda_runtime.so).
"""

import os

import numpy as np
import pytest

import kvq_testing as kt
import kvq
from kvq import cuda, reference
from kvq.builder import attention_module
from kvq.compiler import find_kvq_compile

_tool = find_kvq_compile()
_runtime = os.path.join(os.path.dirname(_tool or ""), "..", "lib", "libkvq_cuda_runtime.so")
pytestmark = pytest.mark.skipif(
    not _tool or not os.path.exists(_runtime),
    reason="kvq-compile or the CUDA runtime library is not built")

GPU = cuda.available() if _tool and os.path.exists(_runtime) else False

TEXT = attention_module("attn", [1, 4, 3, 32], [1, 2, 37, 32], dtype="f16",
                        key_scheme="#kvq.quant<i4, symmetric, token, scale = f16>",
                        value_scheme="#kvq.quant<i8, asymmetric, channel>", causal=True)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return kvq.compile(TEXT, target="nvvm", options={"format": "isa"},
                       build_dir=tmp_path_factory.mktemp("nvvm"))


def inputs(rng):
    q = rng.standard_normal((1, 4, 3, 32)).astype(np.float16)
    k = rng.standard_normal((1, 2, 37, 32)).astype(np.float32)
    v = rng.standard_normal((1, 2, 37, 32)).astype(np.float32)
    ks = reference.QuantScheme.parse("#kvq.quant<i4, symmetric, token, scale = f16>")
    vs = reference.QuantScheme.parse("#kvq.quant<i8, asymmetric, channel>")
    kc, kscale, _ = reference.quantize(k, ks)
    vc, vscale, vzp = reference.quantize(v, vs)
    expect = reference.attention(q.astype(np.float64),
                                 reference.dequantize(kc, kscale, None, ks).astype(np.float64),
                                 reference.dequantize(vc, vscale, vzp, vs).astype(np.float64),
                                 causal=True)
    return [q, kc, kscale, vc, vscale, vzp], expect


def test_library_is_a_gpu_library(lib):
    assert lib.target == "nvvm"
    assert lib.manifest["gpu_chip"] == "sm_80"
    assert lib.attn.device
    with pytest.raises(kvq.KVQError, match="bind\\(\\) runs CPU libraries"):
        lib.attn.bind(*inputs(np.random.default_rng(0))[0])


def test_gpu_options_are_checked():
    with pytest.raises(kvq.CompileError, match="--block-rows is an option of the CPU pipeline"):
        kvq.compile(TEXT, target="nvvm", options={"block-rows": 3})
    with pytest.raises(kvq.CompileError, match="unsupported target 'tpu'"):
        kvq.compile(TEXT, target="tpu")


@pytest.mark.skipif(GPU, reason="checks the failure path without a GPU")
def test_call_without_gpu_raises_cuda_error(lib):
    args, _ = inputs(np.random.default_rng(0))
    with pytest.raises(cuda.CudaError, match="CUDA driver"):
        lib.attn(*args)
    with pytest.raises(cuda.CudaError):
        cuda.DeviceArray((4,), np.float32)
    assert cuda.device_count() == 0


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_device_array_round_trip():
    x = np.arange(1000, dtype=np.float32)
    d = cuda.DeviceArray.from_numpy(x)
    assert d.__cuda_array_interface__["shape"] == (1000,)
    np.testing.assert_array_equal(d.numpy(), x)


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_attention_numpy_and_device_arrays(lib):
    args, expect = inputs(kt.rng())
    out = lib.attn(*args)
    err = np.abs(out.astype(np.float64) - expect).max() / np.abs(expect).max()
    assert err < 1e-2, err
    dev = [cuda.DeviceArray.from_numpy(lib.attn.inputs[i].pack(a)
                                       if lib.attn.inputs[i].is_unpacked_codes(a) else a)
           for i, a in enumerate(args)]
    out_dev = lib.attn(*dev)
    assert isinstance(out_dev, cuda.DeviceArray)
    np.testing.assert_array_equal(out_dev.numpy(), out)
    # Wrong shapes are refused before anything runs.
    with pytest.raises(kvq.KVQError, match="KVQ_ERR_SHAPE"):
        lib.attn(*dev[:1], cuda.DeviceArray((1, 2, 37, 8), np.uint8), *dev[2:])
