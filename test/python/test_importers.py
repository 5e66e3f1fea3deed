"""Tests of kvq.importers (python/kvq/importers.py): reading IREE's input
conversion output and iree-turbine's exported weights. Needs neither torch
nor IREE. Run with ``python3 -m pytest -q test/python``.
"""

import os
import subprocess
import sys

import pytest

from kvq import importers

IREE_INPUT = """module @module {
  util.func public @main(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32> {
    %0 = util.call @helper(%arg0) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    util.return %0 : tensor<2x4xf32>
  }
  util.func private @helper(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32> {
    util.return %arg0 : tensor<2x4xf32>
  }
}
"""


def test_strip_iree_input():
    text = importers.strip_iree_input(IREE_INPUT)
    assert "util." not in text
    assert "  func.func @main(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32> {" in text
    assert "  func.func private @helper(" in text
    assert "    func.return %0 : tensor<2x4xf32>" in text
    assert "func.call @helper(%arg0)" in text


@pytest.mark.parametrize("line, hint", [
    ("    %f = hal.fence.create device(%d : !hal.device) flags(\"None\") : !hal.fence",
     "--iree-torch-emit-async-entry-points=false"),
    ("    %a = iree_linalg_ext.attention", "decompose_sdpa"),
    ("    %a = tm_tensor.attention", "decompose_sdpa"),
    ("    %a = flow.dispatch", "--compile-to=input"),
])
def test_strip_refuses_what_kvq_cannot_compile(line, hint):
    text = IREE_INPUT.replace("    util.return %0", line + "\n    util.return %0")
    with pytest.raises(ValueError, match="line 4") as info:
        importers.strip_iree_input(text)
    assert hint in str(info.value)


WEIGHTS = """module @module {
  util.global private @__auto.constant_32_96_torch.float32 = dense_resource<__auto.constant_32_96_torch.float32> : tensor<32x96xf32>
  func.func @main(%arg0: !torch.vtensor<[7,32],f32>) -> !torch.vtensor<[7,96],f32> {
    %w = util.global.load @__auto.constant_32_96_torch.float32 : tensor<32x96xf32>
    %0 = torch_c.from_builtin_tensor %w : tensor<32x96xf32> -> !torch.vtensor<[32,96],f32>
    return %0 : !torch.vtensor<[7,96],f32>
  }
}
"""


def test_inline_globals():
    text = importers.inline_globals(WEIGHTS)
    assert "util.global" not in text
    assert ("%w = arith.constant dense_resource<__auto.constant_32_96_torch.float32> : "
            "tensor<32x96xf32>") in text


@pytest.mark.parametrize("decl, message", [
    ("util.global private mutable @state = dense<0.0> : tensor<4xf32>", "mutable"),
    ("util.global private @param : tensor<4xf32>", "external"),
])
def test_inline_globals_refuses_state(decl, message):
    text = f"module {{\n  {decl}\n}}\n"
    with pytest.raises(ValueError, match=message):
        importers.inline_globals(text)


def test_import_needs_no_torch():
    # kvq.importers imports torch only when decompose_sdpa is called.
    code = "import sys; import kvq.importers; sys.exit('torch' in sys.modules)"
    package = os.path.dirname(os.path.dirname(os.path.abspath(importers.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
