"""kvq: Python side of the kvq project (attention over quantized KV caches).

`kvq.reference` is the NumPy golden model that the compiled code is checked
against; its public names are re-exported here.
"""

from .reference import (  # noqa: F401
    DTYPES,
    GRANULARITIES,
    SCALE_DTYPES,
    QuantScheme,
    attention,
    block_shape,
    dequantize,
    expand_scale,
    pack,
    quantize,
    quantized_attention,
    round_half_away_from_zero,
    round_to_scale_dtype,
    scale_shape,
    unpack,
)
from .reference import __all__  # noqa: F401

__version__ = "0.1.0"

# Compiling and running kernels (kvq-compile + the C ABI of docs/ABI.md).
from .compiler import CompileError, compile  # noqa: E402,F401
from .runtime import (KVQError, get_block_time, get_num_threads,  # noqa: E402,F401
                      set_block_time, set_num_threads)
from . import builder, cuda, runtime  # noqa: E402,F401

__all__ = list(__all__) + ["CompileError", "KVQError", "builder", "compile", "get_block_time",
                           "get_num_threads", "runtime", "set_block_time", "set_num_threads"]
