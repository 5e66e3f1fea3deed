"""GPU libraries from Python against the CUDA driver double
(cuda-driver-double-python.test puts the double's libcuda.so.1 first on
LD_LIBRARY_PATH and names its log in KVQ_CUDA_DOUBLE_LOG).

Kernels do not run (device memory reads as 0xff bytes); what is checked is
everything around them: the library's modules loaded when it is loaded,
NumPy arguments copied in and out with no CUDA context of the caller's,
DeviceArrays and foreign ``__cuda_array_interface__`` objects used in place,
the caller's stream (kvq.cuda.stream), each driver failure during a call
raising CudaError with the driver's message, out-of-bounds copies and double
frees refused, argument errors caught before any CUDA call, and a quiet exit.
"""

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import kvq
import kvq.runtime
from kvq import cuda

# Child processes import the same kvq package.
PACKAGE_ENV = {"PYTHONPATH": os.pathsep.join(
    [os.path.dirname(os.path.dirname(os.path.abspath(kvq.__file__)))] +
    [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}

LOG = os.environ.get("KVQ_CUDA_DOUBLE_LOG")
MODULE = os.path.join(os.path.dirname(__file__), *[".."] * 2, "Integration", "GPU", "Inputs",
                      "loaders.mlir")
B, L = 2, 100

pytestmark = pytest.mark.skipif(not LOG, reason="run by cuda-driver-double-python.test")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("loaders")
    with open(MODULE) as f:
        kvq.compile(f.read(), target="nvvm", options={"format": "isa"}, name="loaders",
                    build_dir=str(directory))
    return str(directory)


@pytest.fixture(scope="module")
def driver(built):
    lib = kvq.runtime.load(built)  # loads the runtime, which loads the driver
    d = ctypes.CDLL("libcuda.so.1")
    d.kvqCudaDoubleLive.argtypes = [ctypes.c_char_p]
    d.kvqCudaDoubleFail.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    d.kvqCudaDoubleNote.argtypes = [ctypes.c_char_p]
    d.cuStreamCreate.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint]
    d.cuStreamDestroy_v2.argtypes = [ctypes.c_void_p]
    d.cuDevicePrimaryCtxRetain.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
    d.cuCtxPushCurrent_v2.argtypes = [ctypes.c_void_p]
    d.cuCtxPopCurrent_v2.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    assert d.kvqCudaDoubleLive(b"modules") >= 0, "not the CUDA driver double"
    return d, lib


def log_since(d, label):
    """Marks the log; returns a function giving the lines written since."""
    d.kvqCudaDoubleNote(label.encode())
    marker = f"note {label}"

    def lines():
        with open(LOG) as f:
            text = f.read().splitlines()
        start = len(text) - 1 - text[::-1].index(marker)
        return text[start + 1:]
    return lines


def inputs(rng):
    q = rng.standard_normal((B, 8, 1, 64)).astype(np.float16)
    k = rng.standard_normal((B, 2, L, 64)).astype(np.float16)
    v = rng.standard_normal((B, 2, L, 64)).astype(np.float16)
    return q, k, v


ATTENTION = "launch __kvq_kernel_decode_kernel grid=(1,4,1) block=(128,1,1) smem=36864"
COMBINE = "launch __kvq_kernel_decode_kernel grid=(4,4,1) block=(128,1,1) smem=0"


def launches(lines):
    return [line for line in lines if line.startswith("launch")]


def test_modules_loaded_with_the_library(driver):
    d, lib = driver
    assert lib.target == "nvvm"
    with open(LOG) as f:
        loads = [line for line in f if line.startswith("module load")]
    assert len(loads) == 6, loads
    assert d.kvqCudaDoubleLive(b"modules") == 6
    assert cuda.device_count() == 1 and cuda.available()


def test_numpy_arguments_without_a_context(driver):
    d, lib = driver
    assert d.kvqCudaDoubleContextDepth() == 0
    lines = log_since(d, "numpy")
    q, k, v = inputs(np.random.default_rng(0))
    out = lib.decode(q, k, v)
    assert isinstance(out, np.ndarray) and out.shape == (B, 8, 1, 64)
    # Never written by a kernel: the double's fresh memory (0xff: NaN).
    assert np.isnan(out).all()
    log = lines()
    assert [line for line in log if line.startswith("error")] == []
    copies = [line for line in log if line.startswith("memcpy")]
    assert copies == [f"memcpy HtoD {q.nbytes} bytes stream=null",
                      f"memcpy HtoD {k.nbytes} bytes stream=null",
                      f"memcpy HtoD {v.nbytes} bytes stream=null",
                      f"memcpy DtoH {out.nbytes} bytes stream=null"], copies
    assert "stream sync null" in log
    found = launches(log)
    assert len(found) == 2 and found[0].startswith(ATTENTION) and found[1].startswith(COMBINE)
    assert d.kvqCudaDoubleContextDepth() == 0


def test_quantize_element_wise_kernels(driver):
    d, lib = driver
    lines = log_since(d, "quantize")
    x = np.random.default_rng(1).standard_normal((2, 37, 32)).astype(np.float32)
    codes, scale = lib.quantize(x)
    assert codes.shape == (2, 37, 32) and codes.dtype == np.int8
    assert scale.shape == (2, 37, 1)
    found = launches(lines())
    assert len(found) == 4
    assert all("block=(256,1,1)" in line for line in found)
    assert "grid=(10,1,1)" in found[-1]  # 2368 elements


def test_device_arrays_are_used_in_place(driver):
    d, lib = driver
    q, k, v = inputs(np.random.default_rng(2))
    dq, dk, dv = (cuda.DeviceArray.from_numpy(a) for a in (q, k, v))
    lines = log_since(d, "device arrays")
    out = lib.decode(dq, dk, dv)
    assert isinstance(out, cuda.DeviceArray) and out.shape == (B, 8, 1, 64)
    log = lines()
    assert [line for line in log if line.startswith("memcpy")] == []
    assert len(launches(log)) == 2


class Foreign:
    """A device array of another library: only __cuda_array_interface__."""

    def __init__(self, dev):
        self.dev = dev
        self.__cuda_array_interface__ = {
            "shape": dev.shape, "typestr": dev.dtype.str, "data": (dev.ptr, False),
            "version": 3, "strides": None}


def test_cuda_array_interface_objects(driver):
    d, lib = driver
    q, k, v = inputs(np.random.default_rng(3))
    args = [Foreign(cuda.DeviceArray.from_numpy(a)) for a in (q, k, v)]
    out = Foreign(cuda.DeviceArray((B, 8, 1, 64), np.float16))
    lines = log_since(d, "foreign")
    result = lib.decode(*args, out=out)
    assert result is out
    log = lines()
    assert [line for line in log if line.startswith("memcpy")] == []
    assert len(launches(log)) == 2


def test_the_callers_stream(driver):
    d, lib = driver
    primary = ctypes.c_void_p()
    assert d.cuDevicePrimaryCtxRetain(ctypes.byref(primary), 0) == 0
    assert d.cuCtxPushCurrent_v2(primary) == 0
    handle = ctypes.c_void_p()
    assert d.cuStreamCreate(ctypes.byref(handle), 1) == 0
    q, k, v = inputs(np.random.default_rng(4))
    dq, dk, dv = (cuda.DeviceArray.from_numpy(a) for a in (q, k, v))
    out = cuda.DeviceArray((B, 8, 1, 64), np.float16)

    class TorchLikeStream:
        cuda_stream = handle.value

    lines = log_since(d, "caller's stream")
    with cuda.stream(TorchLikeStream()):
        lib.decode(dq, dk, dv, out=out)
    assert cuda.set_stream(None) == 0  # restored on exit
    log = lines()
    found = launches(log)
    assert len(found) == 2
    stream = found[0].split("stream=")[1].split()[0]
    assert stream != "null" and all(f"stream={stream}" in line for line in found)
    assert not [line for line in log if line.startswith(("stream create", "stream sync",
                                                         "stream destroy"))], log
    assert d.cuStreamDestroy_v2(handle) == 0  # still alive: ours to destroy
    assert d.kvqCudaDoubleContextDepth() == 1  # the caller's context stays
    assert d.cuCtxPopCurrent_v2(None) == 0


FAULTS = [("cuCtxPushCurrent", 1, 201), ("cuStreamCreate", 1, 2), ("cuMemAllocAsync", 1, 2),
          ("cuModuleGetFunction", 1, 500), ("cuLaunchKernel", 1, 701), ("cuLaunchKernel", 2, 719),
          ("cuMemFreeAsync", 1, 700), ("cuStreamSynchronize", 1, 700),
          ("cuStreamDestroy", 1, 400)]


@pytest.mark.parametrize("call,nth,code", FAULTS)
def test_driver_failures_raise(driver, call, nth, code):
    d, lib = driver
    q, k, v = inputs(np.random.default_rng(5))
    dq, dk, dv = (cuda.DeviceArray.from_numpy(a) for a in (q, k, v))
    out = cuda.DeviceArray((B, 8, 1, 64), np.float16)
    d.kvqCudaDoubleFail(call.encode(), nth, code)
    with pytest.raises(cuda.CudaError, match=f"decode: KVQ_ERR_DEVICE: {call}: CUDA_ERROR_"):
        lib.decode(dq, dk, dv, out=out)
    # The failure is not sticky.
    assert lib.decode(dq, dk, dv, out=out) is out


def test_numpy_copy_failures_raise(driver):
    d, lib = driver
    q, k, v = inputs(np.random.default_rng(6))
    d.kvqCudaDoubleFail(b"cuMemcpyAsync", 2, 700)
    with pytest.raises(cuda.CudaError, match="copying to the device: cuMemcpyAsync: "
                                             "CUDA_ERROR_ILLEGAL_ADDRESS"):
        lib.decode(q, k, v)
    d.kvqCudaDoubleFail(b"cuMemAlloc", 1, 2)
    with pytest.raises(cuda.CudaError, match="CUDA_ERROR_OUT_OF_MEMORY"):
        lib.decode(q, k, v)
    assert lib.decode(q, k, v).shape == (B, 8, 1, 64)


def test_out_of_bounds_copies_are_refused(driver):
    small = cuda.DeviceArray((4,), np.float32)
    view = cuda.DeviceArray.from_ptr(small.ptr, (1000,), np.float32, owner=small)
    with pytest.raises(cuda.CudaError, match="copying from the device: cuMemcpyAsync: "
                                             "CUDA_ERROR_INVALID_VALUE"):
        view.numpy()
    with pytest.raises(cuda.CudaError, match="copying to the device: cuMemcpyAsync: "
                                             "CUDA_ERROR_INVALID_VALUE"):
        view.copy_from(np.zeros(1000, np.float32))


def test_double_free_is_refused(driver):
    rt = cuda.runtime()
    cuda.clear_error()
    ptr = rt.mgpuMemAlloc(64, None, False)
    rt.mgpuMemFree(ptr, None)
    assert cuda.last_error()[0] == 0
    rt.mgpuMemFree(ptr, None)
    code, message = cuda.last_error()
    cuda.clear_error()
    assert code == 1 and message.startswith("cuMemFree: CUDA_ERROR_INVALID_VALUE"), message


def test_argument_errors_make_no_cuda_call(driver):
    d, lib = driver
    q, k, v = inputs(np.random.default_rng(7))
    dq, dk, dv = (cuda.DeviceArray.from_numpy(a) for a in (q, k, v))
    bad = cuda.DeviceArray((B, 2, L, 32), np.float16)
    before = d.kvqCudaDoubleLaunches()
    with pytest.raises(kvq.KVQError, match="KVQ_ERR_SHAPE"):
        lib.decode(dq, bad, dv)
    assert d.kvqCudaDoubleLaunches() == before


def test_one_runtime_per_process(driver, built, tmp_path):
    """kvq.cuda uses the CUDA runtime the kernel library loaded, even when
    another copy is where it would look first (another build, another
    prefix): two copies have separate state, and the caller's stream set
    through one would not reach the library's launches."""
    other = tmp_path / "other"
    other.mkdir()
    runtime_path = next(line.split()[-1] for line in open("/proc/self/maps")
                        if line.rstrip().endswith("/libkvq_cuda_runtime.so"))
    import shutil
    shutil.copy(runtime_path, other / "libkvq_cuda_runtime.so")
    code = ("import kvq.runtime; from kvq import cuda; "
            "lib = kvq.runtime.load(%r); cuda.runtime(); "
            "print(sorted({l.split()[-1] for l in open('/proc/self/maps') "
            "if l.rstrip().endswith('libkvq_cuda_runtime.so')}))") % (built,)
    env = dict(os.environ, **PACKAGE_ENV, KVQ_RUNTIME_DIR=str(other),
               KVQ_CUDA_DOUBLE_LOG=str(tmp_path / "log"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([runtime_path]), result.stdout


def test_quiet_exit(built, tmp_path):
    """A process that loads a GPU library, calls it and exits: the modules
    are unloaded at exit while the driver is alive; nothing is printed."""
    log = tmp_path / "exit.log"
    code = ("import numpy as np; import kvq.runtime; "
            "lib = kvq.runtime.load(%r); "
            "q = np.zeros((2, 8, 1, 64), np.float16); k = np.zeros((2, 2, 100, 64), np.float16); "
            "lib.decode(q, k, k); print('called')") % (built,)
    env = dict(os.environ, **PACKAGE_ENV, KVQ_CUDA_DOUBLE_LOG=str(log))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "called\n"
    assert result.stderr == "", result.stderr
    lines = log.read_text().splitlines()
    assert sum(line.startswith("module unload") for line in lines) == 6
    assert lines[-1].startswith("exit: live modules 0, allocations 0, streams 0, events 0"), lines[-1]
