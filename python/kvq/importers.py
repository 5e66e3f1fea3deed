"""From PyTorch to kvq: the two steps that importers need around
kvq-compile (see docs/Raising.md).

* `decompose_sdpa(exported_program)`: `F.scaled_dot_product_attention`
  (and HuggingFace attention with attn_implementation="sdpa") reaches the
  importers as one op that torch-mlir lowers to `tm_tensor.attention` and
  IREE to `iree_linalg_ext.attention`, neither of which kvq reads. This
  decomposes it in the `torch.export` program into PyTorch's own math
  (matmul, scale, mask, softmax, matmul), which `kvq-raise-attention`
  raises back to one `kvq.attention`.
* `inline_globals(text)`: iree-turbine's exporter moves constants of more
  than 1024 elements (weights) to `util.global`s, which neither torch-mlir's
  linalg backend nor kvq accept; this turns every load of an immutable
  global with an initial value back into an `arith.constant`. Run it on the
  exporter's output before either lowering.
* `strip_iree_input(text)`: IREE's input conversion (`iree-compile
  --compile-to=input --iree-torch-emit-async-entry-points=false`) writes the
  entry points as `util.func` / `util.return`; this rewrites them to
  `func.func` / `func.return` and refuses what kvq cannot compile (HAL
  buffer views from the asynchronous ABI, externalized parameters).

Neither needs anything at import time; `decompose_sdpa` needs torch.
"""

import re

__all__ = ["decompose_sdpa", "inline_globals", "strip_iree_input", "SDPA_OPS"]

# The ATen ops of scaled dot-product attention that torch.export keeps.
SDPA_OPS = ("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
            "_scaled_dot_product_flash_attention_for_cpu")


def decompose_sdpa(exported_program):
    """Returns `exported_program` (a `torch.export.ExportedProgram`) with
    every scaled dot-product attention decomposed to math by PyTorch's own
    decompositions, the rest of the graph as it was."""
    import torch

    table = {op: fn for op, fn in torch.export.default_decompositions().items()
             if op.name().split("::")[-1].split(".")[0] in SDPA_OPS}
    return exported_program.run_decompositions(table)


_GLOBAL = re.compile(r"^\s*util\.global\s+(?:private\s+|public\s+)?(mutable\s+)?"
                     r"@([\w.$-]+|\"[^\"]*\")\s*(?:=\s*(.*?))?\s*:\s*(\S+)\s*$", re.M)
_LOAD = re.compile(r"util\.global\.load\s+(?:immutable\s+)?@([\w.$-]+|\"[^\"]*\")"
                   r"\s*:\s*(\S+)")


def inline_globals(text):
    """`text` with each `util.global.load` of an immutable global that has
    an initial value replaced by an `arith.constant` of that value, and the
    globals removed. Raises ValueError for a mutable global or one without
    an initial value (state, or parameters kept outside the module)."""
    values = {}
    for m in _GLOBAL.finditer(text):
        mutable, name, init, ty = m.groups()
        if mutable or not init:
            raise ValueError(f"util.global @{name} is {'mutable' if mutable else 'external'}"
                             ": kvq compiles functions of their inputs and constants only")
        values[name] = (init, ty)

    def load(m):
        name, ty = m.groups()
        if name not in values:
            raise ValueError(f"util.global.load of unknown global @{name}")
        init, gty = values[name]
        if gty != ty:
            raise ValueError(f"util.global @{name} is {gty}, loaded as {ty}")
        return f"arith.constant {init} : {ty}"

    text = _LOAD.sub(load, text)
    return _GLOBAL.sub("", text)


_FUNC = re.compile(r"^(\s*)util\.func\s+(?:(public|private|nested)\s+)?@", re.M)
_RETURN = re.compile(r"^(\s*)util\.return\b", re.M)
_CALL = re.compile(r"\butil\.call\b")
_LEFT = re.compile(r"\b(util|hal|flow|stream|iree_\w+|tm_tensor)\.[a-z_.]+")


def strip_iree_input(text):
    """`text`, the output of IREE's input conversion, with its `util.func`
    entry points as `func.func`. Raises ValueError if anything of IREE's is
    left (naming the first such op and what to do about it)."""
    text = inline_globals(text)
    text = _FUNC.sub(lambda m: m.group(1) + "func.func " +
                     ("private " if m.group(2) == "private" else "") + "@", text)
    text = _RETURN.sub(lambda m: m.group(1) + "func.return", text)
    text = _CALL.sub("func.call", text)
    body = text.split("{-#", 1)[0]  # not the resource blobs
    left = _LEFT.search(body)
    if left:
        op = left.group(0)
        hint = {
            "hal": "compile with --iree-torch-emit-async-entry-points=false",
            "util": "export with the parameters inlined (no externalized "
                    "util.global parameters)",
            "iree_linalg_ext": "decompose scaled dot-product attention before "
                               "importing (kvq.importers.decompose_sdpa)",
            "tm_tensor": "decompose scaled dot-product attention before importing "
                         "(kvq.importers.decompose_sdpa)",
        }.get(op.split(".")[0], "stop IREE at --compile-to=input")
        line = body[:left.start()].count("\n") + 1
        raise ValueError(f"line {line}: '{op}' is IREE's, not something kvq "
                         f"compiles: {hint}")
    return text
