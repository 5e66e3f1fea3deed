"""Device memory for kernel libraries compiled with ``--target=nvvm``.

GPU libraries take device pointers. `Entry` (kvq.runtime) accepts, for each
buffer, a NumPy array (copied to the device for the call, and outputs
copied back), a `DeviceArray`, or any object with
``__cuda_array_interface__`` (PyTorch CUDA tensors, CuPy arrays) used in
place without copies::

    lib = kvq.compile(text, target="nvvm")
    out = lib.attention(q, k, v)                  # NumPy in, NumPy out
    dq = kvq.cuda.DeviceArray.from_numpy(q)       # or torch tensors
    out = lib.attention(dq, dk, dv)               # DeviceArray out

Everything goes through ``libkvq_cuda_runtime`` (the library the kernels
call): a failed CUDA call raises `CudaError` with CUDA's message.
"""

import ctypes
import os

import numpy as np

__all__ = ["CudaError", "DeviceArray", "available", "device_count", "runtime", "set_stream",
           "stream"]


class CudaError(RuntimeError):
    """A CUDA call failed; the message is CUDA's (via kvqCudaGetLastError)."""


_RUNTIME = None


def _find_runtime():
    env = os.environ.get("KVQ_RUNTIME_DIR")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for directory in filter(None, [env, os.path.join(root, "build", "lib")]):
        path = os.path.join(directory, "libkvq_cuda_runtime.so")
        if os.path.exists(path):
            return path
    return "libkvq_cuda_runtime.so"  # already loaded by a kernel library, or on the path


def _loaded_runtime():
    """The libkvq_cuda_runtime this process already has (a kernel library
    loaded it: its own, whichever build or prefix it links), else None.
    Loading a second copy from elsewhere would give the caller two
    runtimes with separate state (the stream set by kvq.cuda.stream would
    not be the library's)."""
    try:
        return ctypes.CDLL("libkvq_cuda_runtime.so", mode=os.RTLD_NOLOAD | ctypes.RTLD_GLOBAL)
    except OSError:
        return None


def runtime():
    """The loaded libkvq_cuda_runtime (ctypes.CDLL): the one a kernel library
    already loaded, else $KVQ_RUNTIME_DIR's, else the build tree's, else the
    dynamic loader's search path. (A kernel library loaded afterwards uses
    the same copy: the loader matches it by soname.)"""
    global _RUNTIME
    if _RUNTIME is None:
        try:
            lib = _loaded_runtime() or ctypes.CDLL(_find_runtime())
        except OSError as e:
            raise CudaError(f"cannot load libkvq_cuda_runtime.so: {e} (build the project "
                            "with the CUDA toolkit, or set KVQ_RUNTIME_DIR)") from e
        lib.mgpuMemAlloc.restype = ctypes.c_void_p
        lib.mgpuMemAlloc.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_bool]
        lib.mgpuMemFree.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.mgpuMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_void_p]
        lib.mgpuStreamSynchronize.argtypes = [ctypes.c_void_p]
        lib.kvqCudaGetLastError.restype = ctypes.c_int32
        lib.kvqCudaGetLastError.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.kvqCudaDeviceCount.restype = ctypes.c_int32
        lib.kvqCudaSetStream.argtypes = [ctypes.c_void_p]
        lib.kvqCudaGetStream.restype = ctypes.c_void_p
        _RUNTIME = lib
    return _RUNTIME


def last_error():
    """(code, message) of the first failed CUDA call since the last clear."""
    buf = ctypes.create_string_buffer(1024)
    code = runtime().kvqCudaGetLastError(buf, len(buf))
    return code, buf.value.decode(errors="replace")


def clear_error():
    runtime().kvqCudaClearError()


def check(what):
    """Raises CudaError if a CUDA call failed since the last clear_error()."""
    code, message = last_error()
    if code != 0:
        clear_error()
        raise CudaError(f"{what}: {message or f'CUDA error {code}'}")


def device_count():
    """Number of CUDA devices; 0 when there is no driver or device."""
    try:
        count = runtime().kvqCudaDeviceCount()
    except CudaError:
        return 0
    clear_error()
    return max(count, 0)


def available():
    """Whether a CUDA device can run kernels."""
    return device_count() > 0


def set_stream(handle):
    """Runs this thread's kernel calls on CUDA stream `handle` (an int, e.g.
    ``torch.cuda.current_stream().cuda_stream``), asynchronously; None or 0
    restores synchronous calls on a stream of their own. Returns the
    previous handle."""
    previous = runtime().kvqCudaGetStream() or 0
    runtime().kvqCudaSetStream(int(handle or 0) or None)
    return previous


class stream:
    """Context manager: ``with kvq.cuda.stream(s): lib.f(...)`` (s: a handle
    or an object with ``cuda_stream``, such as a torch.cuda.Stream)."""

    def __init__(self, handle):
        self.handle = getattr(handle, "cuda_stream", handle)

    def __enter__(self):
        self.previous = set_stream(self.handle)
        return self

    def __exit__(self, *exc):
        set_stream(self.previous)


class DeviceArray:
    """A C-contiguous array in device memory: ``ptr``, ``shape`` and the
    NumPy ``dtype`` of its storage (uint8 for packed i4 / i2 codes). Owns
    its memory when allocated here; `from_ptr` wraps foreign memory."""

    def __init__(self, shape, dtype, ptr=None, owner=None):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self._owned = ptr is None
        self._owner = owner  # keeps foreign memory alive
        if ptr is None:
            clear_error()
            ptr = runtime().mgpuMemAlloc(max(self.nbytes, 1), None, False) or 0
            if not ptr:
                check(f"allocating {self.nbytes} bytes of device memory")
                raise CudaError(f"allocating {self.nbytes} bytes of device memory failed")
        self.ptr = int(ptr)

    @classmethod
    def from_ptr(cls, ptr, shape, dtype, owner=None):
        """Wraps device memory at `ptr` (not freed here)."""
        return cls(shape, dtype, ptr=int(ptr), owner=owner)

    @classmethod
    def from_numpy(cls, array):
        array = np.ascontiguousarray(array)
        dev = cls(array.shape, array.dtype)
        dev.copy_from(array)
        return dev

    def copy_from(self, array):
        array = np.ascontiguousarray(array, dtype=self.dtype)
        if array.nbytes != self.nbytes:
            raise ValueError(f"copy of {array.nbytes} bytes into a {self.nbytes}-byte array")
        if self.nbytes:
            clear_error()
            runtime().mgpuMemcpy(self.ptr, array.ctypes.data, self.nbytes, None)
            runtime().mgpuStreamSynchronize(None)
            check("copying to the device")

    def numpy(self):
        """A host copy."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            clear_error()
            runtime().mgpuMemcpy(out.ctypes.data, self.ptr, self.nbytes, None)
            runtime().mgpuStreamSynchronize(None)
            check("copying from the device")
        return out

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, False),
                "version": 3, "strides": None}

    def __del__(self):
        if getattr(self, "_owned", False) and getattr(self, "ptr", 0) and _RUNTIME is not None:
            _RUNTIME.mgpuMemFree(self.ptr, None)
            self.ptr = 0

    def __repr__(self):
        return f"<kvq.cuda.DeviceArray {self.dtype}{list(self.shape)} at {self.ptr:#x}>"


def as_device(obj):
    """`obj` as a DeviceArray view if it lives on the device (a DeviceArray or
    an object with __cuda_array_interface__), else None."""
    if isinstance(obj, DeviceArray):
        return obj
    interface = getattr(obj, "__cuda_array_interface__", None)
    if interface is None:
        return None
    shape = tuple(interface["shape"])
    dtype = np.dtype(interface["typestr"])
    strides = interface.get("strides")
    if strides is not None:
        expected, step = [], dtype.itemsize
        for d in reversed(shape):
            expected.append(step)
            step *= d
        if tuple(strides) != tuple(reversed(expected)):
            raise ValueError("device arrays must be C-contiguous")
    return DeviceArray.from_ptr(interface["data"][0], shape, dtype, owner=obj)
