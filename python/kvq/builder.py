"""Writes kvq MLIR for common graphs (a text builder; see ARCHITECTURE.md).

Each function returns the text of a module with one public function whose
arguments are plain or quantized tensors in the order the kernel ABI takes
them; sub-byte codes appear as the logical ``i4`` / ``i2`` tensors (the
compiler passes them as packed bytes, see docs/ABI.md).
"""

from __future__ import annotations

from typing import Optional, Sequence

from .reference import QuantScheme, scale_shape

__all__ = ["tensor_type", "attention_module", "kv_arg_names"]


def tensor_type(shape: Sequence[int], dtype: str) -> str:
    """``tensor<2x?x8xf32>`` for shape [2, -1, 8] (negative dims are dynamic)."""
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
) -> str:
    """A module with ``func.func @name`` computing one ``kvq.attention``.

    ``q_shape`` is [B, Hq, Sq, D], ``k_shape`` [B, Hkv, Skv, D]; V has
    ``v_dim`` channels (default D). Schemes may be given as text.
    """
    if isinstance(key_scheme, str):
        key_scheme = QuantScheme.parse(key_scheme)
    if isinstance(value_scheme, str):
        value_scheme = QuantScheme.parse(value_scheme)
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
