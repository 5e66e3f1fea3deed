"""Runs kernel libraries compiled by ``kvq-compile`` on NumPy arrays.

A library comes with a JSON manifest (``<name>.json``) that lists its entry
points and the dtype and shape of every input and output. `load` opens it
with ctypes; each entry point is then a method of the returned `Module`::

    lib = kvq.runtime.load("out/matmul.json")
    c = lib.matmul(a, b)                    # outputs allocated and returned
    c = lib.matmul(a, b, out_shapes=[(m, 32)])
    lib.matmul(a, b, out=c)                 # caller-provided outputs
    kvq.runtime.set_num_threads(1)          # every library's kernels on 1 thread

Arguments are checked here first (dtype, rank, static dims) and again by the
C entry point, which returns a ``kvq_status``; any refusal raises
`KVQError` carrying the status name. The ABI is described in docs/ABI.md.
"""

import ctypes
import inspect
import json
import keyword
import os
import weakref

import ml_dtypes
import numpy as np

__all__ = [
    "DTYPES",
    "KVQError",
    "KVQ_OK",
    "KVQ_ERR_NULL",
    "KVQ_ERR_COUNT",
    "KVQ_ERR_RANK",
    "KVQ_ERR_SHAPE",
    "KVQ_ERR_DTYPE",
    "KVQ_ERR_DEVICE",
    "STATUS_NAMES",
    "BoundCall",
    "Entry",
    "Module",
    "get_block_time",
    "get_num_threads",
    "load",
    "set_block_time",
    "set_num_threads",
]

# enum kvq_status (include/kvq/Runtime/kvq_abi.h).
KVQ_OK = 0
KVQ_ERR_NULL = 1
KVQ_ERR_COUNT = 2
KVQ_ERR_RANK = 3
KVQ_ERR_SHAPE = 4
KVQ_ERR_DTYPE = 5
KVQ_ERR_DEVICE = 6
STATUS_NAMES = {
    KVQ_OK: "KVQ_OK",
    KVQ_ERR_NULL: "KVQ_ERR_NULL",
    KVQ_ERR_COUNT: "KVQ_ERR_COUNT",
    KVQ_ERR_RANK: "KVQ_ERR_RANK",
    KVQ_ERR_SHAPE: "KVQ_ERR_SHAPE",
    KVQ_ERR_DTYPE: "KVQ_ERR_DTYPE",
    KVQ_ERR_DEVICE: "KVQ_ERR_DEVICE",
}


class KVQError(ValueError):
    """A kernel call was refused.

    ``status`` is the ``kvq_status`` code (the C entry point's return value
    or, for a check made in Python first, the code the C side would return)
    and ``status_name`` its name, e.g. ``"KVQ_ERR_SHAPE"``.
    """

    def __init__(self, status, message=""):
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, f"KVQ_ERR_UNKNOWN({self.status})")
        super().__init__(f"{self.status_name}: {message}" if message else self.status_name)


class _DType:
    """One ABI element type: its code, NumPy storage dtype and bit width."""

    def __init__(self, name, code, storage, bits=None):
        self.name = name
        self.code = code
        self.storage = np.dtype(storage)
        self.bits = bits if bits is not None else self.storage.itemsize * 8

    @property
    def packed(self):
        """i4 / i2: stored packed along the last dim, LSB first."""
        return self.bits < 8

    def accepts(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == self.storage:
            return True
        # Signless integers: the signed and unsigned NumPy types of the same
        # width hold the same bytes (codes are often uint8).
        if self.storage.kind in "iu" or self.packed:
            return dtype.kind in "iu" and dtype.itemsize == self.storage.itemsize
        return False

    def __repr__(self):
        return f"{self.name} ({self.storage})"


# enum kvq_dtype (include/kvq/Runtime/kvq_abi.h).
DTYPES = {
    d.name: d
    for d in (
        _DType("f32", 1, np.float32),
        _DType("f16", 2, np.float16),
        _DType("bf16", 3, ml_dtypes.bfloat16),
        _DType("f64", 4, np.float64),
        _DType("i8", 5, np.int8),
        _DType("i16", 6, np.int16),
        _DType("i32", 7, np.int32),
        _DType("i64", 8, np.int64),
        _DType("i1", 9, np.bool_),
        _DType("i4", 10, np.uint8, bits=4),
        _DType("i2", 11, np.uint8, bits=2),
        _DType("f8E4M3FN", 12, ml_dtypes.float8_e4m3fn),
        _DType("f8E5M2", 13, ml_dtypes.float8_e5m2),
    )
}


class _Buffer(ctypes.Structure):
    """``kvq_buffer``."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("rank", ctypes.c_int64),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("dtype", ctypes.c_int32),
    ]


class _Param:
    """One input or output of an entry point, from the manifest."""

    def __init__(self, spec, what):
        self.what = what
        self.dtype = DTYPES.get(spec["dtype"])
        if self.dtype is None:
            raise ValueError(f"{what}: unknown dtype {spec['dtype']!r} in the manifest")
        self.shape = tuple(int(d) for d in spec["shape"])
        self.scalar = spec.get("kind") == "scalar"

    @property
    def static(self):
        return all(d >= 0 for d in self.shape)

    def storage_shape(self, shape):
        """The array shape holding a buffer of `shape` elements."""
        if not self.dtype.packed or not shape:
            return tuple(shape)
        per_byte = 8 // self.dtype.bits
        return tuple(shape[:-1]) + (-(-shape[-1] // per_byte),)

    def describe(self):
        dims = ", ".join("?" if d < 0 else str(d) for d in self.shape)
        return f"{self.dtype.name}[{dims}]"

    def check_shape(self, shape):
        """Checks a logical shape against the signature (KVQError)."""
        if len(shape) != len(self.shape):
            raise KVQError(KVQ_ERR_RANK, f"{self.what} has rank {len(shape)}, expected "
                           f"{len(self.shape)} ({self.describe()})")
        for i, (got, want) in enumerate(zip(shape, self.shape)):
            if got < 0 or (want >= 0 and got != want):
                raise KVQError(KVQ_ERR_SHAPE, f"{self.what} has shape {tuple(shape)}, "
                               f"dim {i} does not match {self.describe()}")

    def check_array(self, array):
        """Checks `array` (for i4 / i2: packed bytes) and returns its logical
        shape (KVQError)."""
        if not self.dtype.accepts(array.dtype):
            raise KVQError(KVQ_ERR_DTYPE, f"{self.what} has dtype {array.dtype}, expected "
                           f"{self.dtype!r}")
        shape = tuple(array.shape)
        if self.dtype.packed and shape:
            # Packed codes: the last dim counts bytes.
            if len(shape) == len(self.shape) and self.shape[-1] >= 0:
                if self.storage_shape(self.shape)[-1] != shape[-1]:
                    raise KVQError(KVQ_ERR_SHAPE, f"{self.what} has {shape[-1]} bytes per "
                                   f"row, expected {self.storage_shape(self.shape)[-1]} "
                                   f"({self.describe()} packed)")
                shape = shape[:-1] + (self.shape[-1],)
            else:
                shape = shape[:-1] + (shape[-1] * (8 // self.dtype.bits),)
        self.check_shape(shape)
        return shape

    def is_unpacked_codes(self, array):
        """For i4 / i2: whether `array` holds one code per element (to be
        packed here) rather than packed bytes. Sub-byte NumPy types
        (ml_dtypes.int4, ...) always hold codes; 8-bit integers do when their
        last dim is the signature's element count, or that count is dynamic."""
        if not self.dtype.packed or not array.ndim:
            return False
        if array.dtype.itemsize == 1 and array.dtype.kind in "iu" and \
                array.dtype not in _SUB_BYTE_DTYPES:
            last = self.shape[-1] if len(self.shape) == array.ndim else -1
            return last < 0 or array.shape[-1] == last
        return array.dtype in _SUB_BYTE_DTYPES

    def pack(self, codes):
        """Packs codes along the last dim, LSB first, rows padded to bytes."""
        bits = self.dtype.bits
        values = np.asarray(codes).astype(np.int64)
        if values.size and (values.min() < -(1 << (bits - 1)) or
                            values.max() > (1 << bits) - 1):
            raise ValueError(f"{self.what}: codes out of range for {bits}-bit packing")
        per_byte = 8 // bits
        count = values.shape[-1]
        nbytes = -(-count // per_byte)
        padded = np.zeros(values.shape[:-1] + (nbytes * per_byte,), np.int64)
        padded[..., :count] = values & ((1 << bits) - 1)
        groups = padded.reshape(values.shape[:-1] + (nbytes, per_byte))
        shifts = np.arange(per_byte, dtype=np.int64) * bits
        return (groups << shifts).sum(axis=-1).astype(np.uint8)


_SUB_BYTE_DTYPES = tuple(np.dtype(getattr(ml_dtypes, name))
                         for name in ("int4", "uint4", "int2", "uint2")
                         if hasattr(ml_dtypes, name))


def _as_buffer(array, param, shape, keep):
    """A kvq_buffer over `array`; `keep` holds what must outlive the call."""
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    keep.append(dims)
    data = array.ctypes.data
    if data == 0:  # an empty array may have no storage at all
        placeholder = np.empty(1, dtype=np.uint8)
        keep.append(placeholder)
        data = placeholder.ctypes.data
    return _Buffer(data, len(shape), dims, param.dtype.code)


def _as_device_buffer(dev, param, shape, keep):
    """A kvq_buffer over device memory `dev` (a kvq.cuda.DeviceArray)."""
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    keep.append(dims)
    return _Buffer(dev.ptr or 1, len(shape), dims, param.dtype.code)


_CALL_OPTIONS_DOC = """out_shapes: the shape of each output (a list, or one shape for a single
  output; None entries are inferred). Needed only for dynamic output dims
  that do not follow from the input shapes.
out: caller-allocated output arrays (C-contiguous, right dtype), written in
  place and returned."""


def _parameter_names(specs):
    """Python parameter names for the inputs: the MLIR function's own
    (``%q`` -> ``q``) where they are identifiers, else ``arg<i>``."""
    names, seen = [], set()
    for i, spec in enumerate(specs):
        name = spec.get("name") or ""
        if not name.isidentifier() or keyword.iskeyword(name) or name in seen:
            name = f"arg{i}"
        if name in ("out", "out_shapes"):
            name += "_"
        seen.add(name)
        names.append(name)
    return names


class Entry:
    """One entry point of a loaded library; call it with NumPy arrays (and,
    for GPU libraries, device arrays: see kvq.cuda), by position or by the
    names of the function's parameters. ``help()`` of an entry shows its
    signature and the dtype and shape of every input and output."""

    def __init__(self, library, spec, device=False):
        self.name = spec["name"]
        # GPU library (--target=nvvm): buffers are device pointers.
        self.device = device
        self.parameter_names = _parameter_names(spec["inputs"])
        self.inputs = [_Param(s, f"input {i} ({n}) of {self.name}")
                       for i, (s, n) in enumerate(zip(spec["inputs"], self.parameter_names))]
        self.outputs = [_Param(s, f"output {i} of {self.name}")
                        for i, s in enumerate(spec["outputs"])]
        self._library = library
        # What help() and inspect.signature() show: a function of the
        # parameters' names.
        P = inspect.Parameter
        self.__name__ = self.__qualname__ = self.name
        self.__signature__ = inspect.Signature(
            [P(n, P.POSITIONAL_OR_KEYWORD) for n in self.parameter_names] +
            [P("out_shapes", P.KEYWORD_ONLY, default=None),
             P("out", P.KEYWORD_ONLY, default=None)])
        lines = [f"Runs the kernel {self.name} of this library; returns its output "
                 "(a tuple for several).", ""]
        lines += [f"{n}: {p.describe()}" for n, p in zip(self.parameter_names, self.inputs)]
        lines += [f"returns: {', '.join(p.describe() for p in self.outputs) or 'nothing'}", "",
                  _CALL_OPTIONS_DOC]
        self.__doc__ = "\n".join(lines)
        self._fn = getattr(library, spec.get("symbol", self.name))
        self._fn.restype = ctypes.c_int32
        self._fn.argtypes = [ctypes.POINTER(_Buffer), ctypes.c_int64,
                             ctypes.POINTER(_Buffer), ctypes.c_int64]
        self._shapes_fn = None
        if spec.get("output_shapes_symbol"):
            self._shapes_fn = getattr(library, spec["output_shapes_symbol"])
            self._shapes_fn.restype = ctypes.c_int32
            self._shapes_fn.argtypes = [ctypes.POINTER(_Buffer), ctypes.c_int64,
                                        ctypes.POINTER(ctypes.c_int64), ctypes.c_int64]

    def __repr__(self):
        ins = ", ".join(f"{n}: {p.describe()}" for n, p in zip(self.parameter_names, self.inputs))
        outs = ", ".join(p.describe() for p in self.outputs)
        return f"<kvq entry {self.name}({ins}) -> ({outs})>"

    def __get__(self, obj, objtype=None):
        # A descriptor, so that help() documents an entry as a routine (its
        # signature and doc) rather than as an Entry object.
        return self

    def _bind(self, args, kwargs):
        """The inputs, in order, from positional and keyword arguments."""
        if not kwargs:
            return args
        try:
            bound = self.__signature__.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.name}{self.__signature__}: {e}") from None
        return tuple(bound.arguments[n] for n in self.parameter_names)

    def _prepare_inputs(self, args, keep, on_device=None):
        if len(args) != len(self.inputs):
            raise KVQError(KVQ_ERR_COUNT, f"{self.name}{self.__signature__} takes "
                           f"{len(self.inputs)} inputs, got {len(args)}")
        buffers = (_Buffer * max(len(args), 1))()
        for i, (arg, param) in enumerate(zip(args, self.inputs)):
            if self.device:
                from . import cuda
                dev = cuda.as_device(arg)
                if dev is not None:
                    # Already on the device: checked, used in place.
                    shape = param.check_array(dev)
                    keep.append(dev)
                    buffers[i] = _as_device_buffer(dev, param, shape, keep)
                    if on_device is not None:
                        on_device.append(True)
                    continue
            if param.scalar and not isinstance(arg, (np.ndarray, np.generic)):
                arg = np.asarray(arg, dtype=param.dtype.storage)
            array = np.asarray(arg)
            if param.is_unpacked_codes(array):
                param.check_shape(array.shape)
                array = param.pack(array)
            if not array.flags.c_contiguous:
                array = array.copy(order="C")
            shape = param.check_array(array)
            keep.append(array)
            if self.device:
                from . import cuda
                dev = cuda.DeviceArray.from_numpy(array)
                keep.append(dev)
                buffers[i] = _as_device_buffer(dev, param, shape, keep)
            else:
                buffers[i] = _as_buffer(array, param, shape, keep)
        return buffers

    def _call_shapes(self, inputs):
        total = sum(len(p.shape) for p in self.outputs)
        dims = (ctypes.c_int64 * max(total, 1))()
        status = self._shapes_fn(inputs, len(self.inputs), dims, total)
        if status != KVQ_OK:
            raise KVQError(status, f"{self.name}_output_shapes refused its inputs")
        shapes, at = [], 0
        for p in self.outputs:
            shapes.append(tuple(dims[at:at + len(p.shape)]))
            at += len(p.shape)
        return shapes

    def output_shapes(self, *args, **kwargs):
        """The shapes of the outputs for these inputs (as many as known)."""
        keep = []
        inputs = self._prepare_inputs(self._bind(args, kwargs), keep)
        if self._shapes_fn is not None:
            return self._call_shapes(inputs)
        return [p.shape if p.static else None for p in self.outputs]

    def _output_shapes(self, inputs, out_shapes):
        if out_shapes is not None:
            if len(self.outputs) == 1 and (len(out_shapes) == 0 or
                                           not isinstance(out_shapes[0], (tuple, list, type(None)))):
                out_shapes = [out_shapes]
            if len(out_shapes) != len(self.outputs):
                raise KVQError(KVQ_ERR_COUNT, f"{self.name} has {len(self.outputs)} outputs, "
                               f"got {len(out_shapes)} out_shapes")
        known = None
        shapes = []
        for i, param in enumerate(self.outputs):
            shape = None if out_shapes is None else out_shapes[i]
            if shape is None and param.static:
                shape = param.shape
            if shape is None:
                if self._shapes_fn is None:
                    raise KVQError(KVQ_ERR_SHAPE, f"{param.what} has dynamic dims "
                                   f"({param.describe()}) that do not follow from the "
                                   "inputs; pass out_shapes=")
                if known is None:
                    known = self._call_shapes(inputs)
                shape = known[i]
            shape = tuple(int(d) for d in shape)
            param.check_shape(shape)
            shapes.append(shape)
        return shapes

    def _host_outputs(self, inputs, keep, out_shapes, out):
        """The output arrays (caller's `out`, checked, or new ones) and the
        kvq_buffer array over them."""
        if out is not None:
            outs = [out] if isinstance(out, np.ndarray) else list(out)
            if len(outs) != len(self.outputs):
                raise KVQError(KVQ_ERR_COUNT, f"{self.name} has {len(self.outputs)} outputs, "
                               f"got {len(outs)} in out=")
            shapes = []
            for array, param in zip(outs, self.outputs):
                if not isinstance(array, np.ndarray) or not array.flags.c_contiguous \
                        or not array.flags.writeable:
                    raise KVQError(KVQ_ERR_NULL, f"{param.what}: out= needs writeable "
                                   "C-contiguous NumPy arrays")
                shapes.append(param.check_array(array))
        else:
            shapes = self._output_shapes(inputs, out_shapes)
            outs = [np.empty(p.storage_shape(s), dtype=p.dtype.storage)
                    for p, s in zip(self.outputs, shapes)]
        outputs = (_Buffer * max(len(outs), 1))()
        for i, (array, param, shape) in enumerate(zip(outs, self.outputs, shapes)):
            outputs[i] = _as_buffer(array, param, shape, keep)
        return outs, outputs

    def _run(self, inputs, outputs, n_outputs):
        status = self._fn(inputs, len(self.inputs), outputs, n_outputs)
        if status == KVQ_ERR_DEVICE:
            raise self._emulator_error()
        if status != KVQ_OK:
            raise KVQError(status, f"{self.name} refused its arguments")

    def __call__(self, *args, out_shapes=None, out=None, **kwargs):
        """Runs the kernel; returns its output array (a tuple for several,
        None for none).

        out_shapes: the shape of each output (a list, or one shape for a
          single output; None entries are inferred). Needed only for
          dynamic output dims that do not follow from the input shapes.
        out: caller-allocated output arrays (C-contiguous, right dtype),
          written in place and returned.
        """
        args = self._bind(args, kwargs)
        keep = []
        on_device = []
        inputs = self._prepare_inputs(args, keep, on_device)
        if self.device:
            return self._call_device(inputs, keep, bool(on_device), out_shapes, out)
        outs, outputs = self._host_outputs(inputs, keep, out_shapes, out)
        self._run(inputs, outputs, len(outs))
        if not outs:
            return None
        return outs[0] if len(outs) == 1 else tuple(outs)

    def bind(self, *args, out_shapes=None, out=None, **kwargs):
        """A `BoundCall`: the kernel with these arguments, checked once, to
        run many times with no per-call work in Python.

        The arrays are used in place and kept alive by the bound call: a
        call reads what they hold then, and writes the outputs (`out`, or
        arrays allocated here once) in place. So every array argument must
        already be what the kernel takes: a C-contiguous NumPy array of the
        input's storage dtype (packed codes for i4 / i2); anything that would
        need a copy is refused. A number (Python or NumPy scalar) for a scalar
        input is fixed at its value now; a 0-d array is read at each call.
        CPU libraries only (a GPU library's call copies host arrays to the
        device).
        """
        if self.device:
            raise KVQError(KVQ_ERR_DEVICE, f"{self.name}: bind() runs CPU libraries; call a "
                           "GPU library's entry point with device arrays instead")
        args = self._bind(args, kwargs)
        for arg, param in zip(args, self.inputs):
            if param.scalar and not isinstance(arg, np.ndarray):
                continue  # a number: its value now
            if not isinstance(arg, np.ndarray):
                raise KVQError(KVQ_ERR_DTYPE, f"{param.what}: bind() uses arrays in place; "
                               f"got {type(arg).__name__}, pass a NumPy array")
            if param.is_unpacked_codes(arg):
                raise KVQError(KVQ_ERR_DTYPE, f"{param.what}: bind() uses arrays in place; "
                               f"pass the {param.dtype.name} codes packed into bytes "
                               "(docs/ABI.md), not one code per element")
            if not arg.flags.c_contiguous:
                raise KVQError(KVQ_ERR_NULL, f"{param.what}: bind() uses arrays in place; "
                               "it needs a C-contiguous array (np.ascontiguousarray)")
        keep = []
        inputs = self._prepare_inputs(args, keep)
        outs, outputs = self._host_outputs(inputs, keep, out_shapes, out)
        return BoundCall(self, inputs, outputs, outs, keep)

    def _emulator_error(self):
        """The failure of a kernel of an --target=nvvm-emulated library, read
        from the GPU emulator it links (a kvq.cuda.CudaError, as on a GPU)."""
        from . import cuda
        get = self._library.kvqCudaGetLastError
        get.restype = ctypes.c_int32
        get.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        buf = ctypes.create_string_buffer(2048)
        code = get(buf, len(buf))
        self._library.kvqCudaClearError()
        message = buf.value.decode(errors="replace")
        return cuda.CudaError(f"{self.name}: KVQ_ERR_DEVICE: {message or code}")

    def _call_device(self, inputs, keep, device_inputs, out_shapes, out):
        """A call of a GPU library: outputs are `out` (device arrays, used in
        place, or NumPy arrays, filled with a copy), else new DeviceArrays
        when an input was on the device, else NumPy arrays."""
        from . import cuda
        if out is not None:
            outs = [out] if isinstance(out, np.ndarray) or cuda.as_device(out) is not None \
                else list(out)
            if len(outs) != len(self.outputs):
                raise KVQError(KVQ_ERR_COUNT, f"{self.name} has {len(self.outputs)} outputs, "
                               f"got {len(outs)} in out=")
            targets, shapes = [], []
            for array, param in zip(outs, self.outputs):
                dev = cuda.as_device(array)
                if dev is None:
                    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous \
                            or not array.flags.writeable:
                        raise KVQError(KVQ_ERR_NULL, f"{param.what}: out= needs device "
                                       "arrays or writeable C-contiguous NumPy arrays")
                    shape = param.check_array(array)
                    dev = cuda.DeviceArray(array.shape, array.dtype)
                else:
                    shape = param.check_array(dev)
                targets.append(dev)
                shapes.append(shape)
        else:
            shapes = self._output_shapes(inputs, out_shapes)
            outs = None
            targets = [cuda.DeviceArray(p.storage_shape(s), p.dtype.storage)
                       for p, s in zip(self.outputs, shapes)]
        outputs = (_Buffer * max(len(targets), 1))()
        for i, (dev, param, shape) in enumerate(zip(targets, self.outputs, shapes)):
            outputs[i] = _as_device_buffer(dev, param, shape, keep)
        status = self._fn(inputs, len(self.inputs), outputs, len(targets))
        if status == KVQ_ERR_DEVICE:
            code, message = cuda.last_error()
            cuda.clear_error()
            raise cuda.CudaError(f"{self.name}: KVQ_ERR_DEVICE: {message or code}")
        if status != KVQ_OK:
            raise KVQError(status, f"{self.name} refused its arguments")
        if out is not None:
            results = []
            for array, dev in zip(outs, targets):
                if isinstance(array, np.ndarray):
                    array[...] = dev.numpy().reshape(array.shape)
                results.append(array)
        elif device_inputs:
            results = targets
        else:
            results = [dev.numpy() for dev in targets]
        if not results:
            return None
        return results[0] if len(results) == 1 else tuple(results)


# The thread count of set_num_threads (0: libomp's default) and the loaded
# modules it applies to.
_num_threads = 0
_modules = weakref.WeakSet()


def _check_thread_count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of threads must be an integer >= 0, got {n!r}")
    return int(n)


def set_num_threads(n):
    """Runs the kernels of every loaded library, and of those loaded later,
    on at most `n` threads (0: the default, libomp's: ``OMP_NUM_THREADS``,
    else one per core). Returns the previous setting. Libraries compiled
    with ``threads=False`` always run on the calling thread."""
    global _num_threads
    n = _check_thread_count(n)
    previous, _num_threads = _num_threads, n
    for module in list(_modules):
        module.set_num_threads(n)
    return previous


def get_num_threads():
    """The setting of `set_num_threads` (0: the default)."""
    return _num_threads


# The block time of set_block_time (None: the libraries' default, 1 ms).
_block_time = None


def _check_block_time(ms):
    if isinstance(ms, bool) or not isinstance(ms, (int, np.integer)) or not 0 <= ms <= 1000:
        raise ValueError(f"the block time must be an integer number of ms in 0..1000, got {ms!r}")
    return int(ms)


def set_block_time(ms):
    """How long the idle threads of every loaded library's kernels, and of
    those loaded later, spin before they sleep, in ms (0..1000; the default
    is 1; 0: sleep at once). Returns the previous setting. Ignored when
    ``KMP_BLOCKTIME`` or ``OMP_WAIT_POLICY`` is set in the environment."""
    global _block_time
    ms = _check_block_time(ms)
    previous, _block_time = get_block_time(), ms
    for module in list(_modules):
        module.set_block_time(ms)
    return previous


def get_block_time():
    """The setting of `set_block_time` (the default: 1)."""
    return 1 if _block_time is None else _block_time


class BoundCall:
    """An entry point bound to its arguments by `Entry.bind`. Calling it
    (no arguments) runs the kernel on the bound arrays as they are then and
    returns the output arrays (the same ones every time): one array, a
    tuple for several, or None. A refusal raises `KVQError` as a call does.
    """

    __slots__ = ("entry", "outputs", "_inputs", "_buffers", "_n_outputs", "_result", "_keep")

    def __init__(self, entry, inputs, buffers, outs, keep):
        self.entry = entry
        self.outputs = tuple(outs)
        self._inputs = inputs
        self._buffers = buffers
        self._n_outputs = len(outs)
        self._result = None if not outs else outs[0] if len(outs) == 1 else tuple(outs)
        self._keep = keep

    def __call__(self):
        self.entry._run(self._inputs, self._buffers, self._n_outputs)
        return self._result

    def __repr__(self):
        return f"<kvq bound call of {self.entry.name}>"


class Module:
    """A loaded kernel library: one `Entry` attribute per entry point.

    ``set_num_threads(n)`` / ``num_threads`` change / read this library's
    thread count alone (`set_num_threads` of the module sets all of them),
    ``set_block_time(ms)`` / ``block_time`` its block time.
    """

    def __init__(self, manifest_path, workdir=None):
        with open(manifest_path) as f:
            self.manifest = json.load(f)
        abi = self.manifest.get("abi_version")
        if abi != 1:
            raise ValueError(f"{manifest_path}: unsupported kvq ABI version {abi!r}")
        self.name = self.manifest["name"]
        self.path = os.path.join(os.path.dirname(os.path.abspath(manifest_path)),
                                 self.manifest["library"])
        self._library = ctypes.CDLL(self.path)
        self.target = self.manifest.get("target", "cpu")
        self.entries = {spec["name"]: Entry(self._library, spec,
                                            device=self.target == "nvvm")
                        for spec in self.manifest["entries"]}
        # A temporary build directory (kvq.compile) lives as long as we do.
        self._workdir = workdir
        # The thread and block time settings (kvq_abi.h); libraries built
        # before a setting existed lack its functions.
        self._set_threads, self._get_threads = self._setting("num_threads", _num_threads or None)
        self._set_block_time, self._get_block_time = self._setting("block_time", _block_time)
        _modules.add(self)

    def _setting(self, name, value):
        """The library's kvq_set_<name> / kvq_get_<name> (None, None when it
        lacks them), the setter called with `value` unless it is None."""
        try:
            setter = getattr(self._library, f"kvq_set_{name}")
            getter = getattr(self._library, f"kvq_get_{name}")
        except AttributeError:
            return None, None
        setter.argtypes, setter.restype = [ctypes.c_int32], ctypes.c_int32
        getter.argtypes, getter.restype = [], ctypes.c_int32
        if value is not None:
            setter(value)
        return setter, getter

    def set_num_threads(self, n):
        """Runs this library's kernels on at most `n` threads (0: the
        default); returns the previous setting."""
        n = _check_thread_count(n)
        if self._set_threads is None:
            return 0
        return int(self._set_threads(n))

    @property
    def num_threads(self):
        """This library's thread setting (0: the default)."""
        return int(self._get_threads()) if self._get_threads is not None else 0

    def set_block_time(self, ms):
        """How long this library's idle threads spin before they sleep, in
        ms (0..1000); returns the previous setting."""
        ms = _check_block_time(ms)
        if self._set_block_time is None:
            return 0
        return int(self._set_block_time(ms))

    @property
    def block_time(self):
        """This library's block time setting in ms (None: the library has
        none, it predates the setting)."""
        return int(self._get_block_time()) if self._get_block_time is not None else None

    def __getattr__(self, name):
        entries = self.__dict__.get("entries", {})
        if name in entries:
            return entries[name]
        raise AttributeError(f"kvq module {self.__dict__.get('name')!r} has no entry "
                             f"point {name!r}")

    def __getitem__(self, name):
        return self.entries[name]

    def __dir__(self):
        return list(super().__dir__()) + list(self.entries)

    def __repr__(self):
        return f"<kvq module {self.name!r} ({self.path}): {', '.join(self.entries)}>"


def load(path):
    """Loads a library compiled by kvq-compile from its manifest, its .so
    (the manifest next to it) or a directory holding one manifest."""
    path = os.fspath(path)
    if os.path.isdir(path):
        manifests = [f for f in os.listdir(path) if f.endswith(".json")]
        if len(manifests) != 1:
            raise ValueError(f"{path}: expected one kvq manifest (.json), found "
                             f"{len(manifests)}")
        path = os.path.join(path, manifests[0])
    elif path.endswith(".so"):
        path = path[:-3] + ".json"
    return Module(path)
