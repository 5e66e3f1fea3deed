"""Writes kvq MLIR for common graphs (a text builder).

Each function returns the text of a module with one public function whose
arguments are plain or quantized tensors in the order the kernel ABI takes
them; sub-byte codes appear as the logical ``i4`` / ``i2`` tensors (the
compiler passes them as packed bytes, see docs/ABI.md). The ops are
described in docs/Overview.md and the generated reference under
docs/reference.

    from kvq import builder
    text = builder.attention_module("attention", [1, 32, 1, 128], [1, 8, -1, 128],
                                    key_scheme="#kvq.quant<i8, symmetric, token>")
    mod = kvq.compile(text)

Malformed arguments raise ValueError or TypeError naming the argument.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from .reference import QuantScheme, scale_shape

__all__ = ["tensor_type", "attention_module", "kv_arg_names"]


_FLOAT_TYPES = ("f32", "f16", "bf16", "f64")
_ELEMENT_TYPES = _FLOAT_TYPES + ("i1", "i2", "i4", "i8", "i16", "i32", "i64", "f8E4M3FN",
                                 "f8E5M2", "index")


def _check_shape(shape, what, rank=None, layout=""):
    """`shape` as a list of ints (negative: dynamic), or a ValueError /
    TypeError naming `what`."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{what} must be a sequence of dims, got {shape!r}")
    dims = list(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int,)) and not hasattr(d, "__index__"):
            raise TypeError(f"{what} must hold integers (negative for a dynamic dim), got "
                            f"{shape!r}")
    dims = [int(d) for d in dims]
    if rank is not None and len(dims) != rank:
        raise ValueError(f"{what} must have {rank} dims{' ' + layout if layout else ''}, got "
                         f"{dims!r}")
    return dims


def _check_dtype(dtype, what, allowed=_ELEMENT_TYPES):
    if dtype not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {dtype!r}")
    return dtype


def tensor_type(shape: Sequence[int], dtype: str) -> str:
    """``tensor<2x?x8xf32>`` for shape [2, -1, 8] (negative dims are dynamic)."""
    shape = _check_shape(shape, "shape")
    _check_dtype(dtype, "dtype")
    dims = "x".join("?" if d < 0 else str(d) for d in shape)
    return f"tensor<{dims}x{dtype}>" if dims else f"tensor<{dtype}>"


def _kv_group(name: str, shape, dtype: str, scheme: Optional[QuantScheme], args):
    """Adds the arguments of K or V to ``args`` and returns the op's group."""
    if scheme is None:
        args.append((name, tensor_type(shape, dtype)))
        return f"(%{name} : {tensor_type(shape, dtype)})"
    ctype = tensor_type(shape, scheme.dtype)
    stype = tensor_type(_scale_shape(shape, scheme), scheme.scale_dtype)
    args.append((name, ctype))
    args.append((name + "_scale", stype))
    text = f"(%{name} : {ctype}, {scheme}, scale %{name}_scale : {stype}"
    if scheme.has_zero_point:
        args.append((name + "_zp", stype))
        text += f", zero_point %{name}_zp : {stype}"
    return text + ")"


def _scale_shape(shape, scheme: QuantScheme):
    """``scale_shape`` with dynamic (negative) dims: a scale dim is dynamic
    when it depends on a dynamic input dim (probed with two lengths)."""
    probes = [scale_shape([d if d >= 0 else n for d in shape], scheme)
              for n in (720720, 1441440)]
    return [a if a == b else -1 for a, b in zip(*probes)]


def kv_arg_names(key_scheme, value_scheme, mask: bool = False):
    """Argument names of :func:`attention_module`, in order."""
    names = ["q", "k"]
    if key_scheme is not None:
        names.append("k_scale")
        if key_scheme.has_zero_point:
            names.append("k_zp")
    names.append("v")
    if value_scheme is not None:
        names.append("v_scale")
        if value_scheme.has_zero_point:
            names.append("v_zp")
    if mask:
        names.append("mask")
    return names


def attention_module(
    name: str,
    q_shape: Sequence[int],
    k_shape: Sequence[int],
    v_dim: Optional[int] = None,
    dtype: str = "f32",
    kv_dtype: Optional[str] = None,
    key_scheme: Optional[QuantScheme] = None,
    value_scheme: Optional[QuantScheme] = None,
    causal: bool = False,
    scale: Optional[float] = None,
    mask_shape: Optional[Sequence[int]] = None,
    p_type: Optional[str] = None,
) -> str:
    """A module with ``func.func @name`` computing one ``kvq.attention``.

    ``q_shape`` is [B, Hq, Sq, D], ``k_shape`` [B, Hkv, Skv, D] (negative
    dims are dynamic; Hq a multiple of Hkv); V has ``v_dim`` channels
    (default D); ``mask_shape`` is [B or 1, Hq or 1, Sq, Skv]. Schemes may
    be given as text (``"#kvq.quant<i8, symmetric, token>"``). ``p_type``
    (``"f16"``, ``"bf16"``, ``"f8E4M3FN"``) rounds the probabilities that
    multiply V to that type.
    """
    if p_type is not None and p_type not in ("f16", "bf16", "f8E4M3FN"):
        raise ValueError(f"p_type must be 'f16', 'bf16' or 'f8E4M3FN', got {p_type!r}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$.]*", name):
        raise ValueError(f"name must be an MLIR symbol name (letters, digits, '_', '$', '.'; "
                         f"not starting with a digit), got {name!r}")
    q_shape = _check_shape(q_shape, "q_shape", 4, "[B, Hq, Sq, D]")
    k_shape = _check_shape(k_shape, "k_shape", 4, "[B, Hkv, Skv, D]")
    for what, i in (("batch", 0), ("head dim D", 3)):
        if q_shape[i] >= 0 and k_shape[i] >= 0 and q_shape[i] != k_shape[i]:
            raise ValueError(f"q_shape {q_shape} and k_shape {k_shape} differ in the {what}")
    if q_shape[1] > 0 and k_shape[1] > 0 and q_shape[1] % k_shape[1]:
        raise ValueError(f"the query heads ({q_shape[1]}) must be a multiple of the KV heads "
                         f"({k_shape[1]})")
    if v_dim is not None and (isinstance(v_dim, bool) or not isinstance(v_dim, int) or v_dim <= 0):
        raise ValueError(f"v_dim must be a positive integer, got {v_dim!r}")
    _check_dtype(dtype, "dtype", _FLOAT_TYPES)
    if kv_dtype is not None:
        _check_dtype(kv_dtype, "kv_dtype", _FLOAT_TYPES)
    if mask_shape is not None:
        mask_shape = _check_shape(mask_shape, "mask_shape", 4, "[B or 1, Hq or 1, Sq, Skv]")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
        raise TypeError(f"scale must be a number, got {scale!r}")
    for what, scheme in (("key_scheme", key_scheme), ("value_scheme", value_scheme)):
        if scheme is None:
            continue
        if isinstance(scheme, str):
            try:
                scheme = QuantScheme.parse(scheme)
            except ValueError as e:
                raise ValueError(f"{what}: {e}") from None
        if not isinstance(scheme, QuantScheme):
            raise TypeError(f"{what} must be a QuantScheme or its text, got {scheme!r}")
        if what == "key_scheme":
            key_scheme = scheme
        else:
            value_scheme = scheme
        try:
            _scale_shape(k_shape, scheme)
        except (ValueError, IndexError) as e:
            raise ValueError(f"{what} {scheme} does not fit K / V of shape {k_shape}: {e}") \
                from None
    kv_dtype = kv_dtype or dtype
    v_shape = list(k_shape[:3]) + [v_dim if v_dim is not None else k_shape[3]]
    out_shape = list(q_shape[:3]) + [v_shape[3]]
    args = [("q", tensor_type(q_shape, dtype))]
    k_group = _kv_group("k", k_shape, kv_dtype, key_scheme, args)
    v_group = _kv_group("v", v_shape, kv_dtype, value_scheme, args)
    mask_group = ""
    if mask_shape is not None:
        args.append(("mask", tensor_type(mask_shape, dtype)))
        mask_group = f" mask(%mask : {tensor_type(mask_shape, dtype)})"
    attrs = []
    if causal:
        attrs.append("causal")
    if scale is not None:
        attrs.append(f"scale = {float(scale)!r} : f32")
    if p_type is not None:
        attrs.append(f"p_type = {p_type}")
    attr_text = " {" + ", ".join(attrs) + "}" if attrs else ""
    out_type = tensor_type(out_shape, dtype)
    signature = ", ".join(f"%{n}: {t}" for n, t in args)
    return (
        f"func.func @{name}({signature}) -> {out_type} {{\n"
        f"  %o = kvq.attention q(%q : {tensor_type(q_shape, dtype)}) k{k_group} "
        f"v{v_group}{mask_group}{attr_text} -> {out_type}\n"
        f"  return %o : {out_type}\n"
        f"}}\n"
    )
