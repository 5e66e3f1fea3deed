#!/usr/bin/env python3
"""Exports the importer corpus: PyTorch attention modules lowered to
linalg-on-tensors the two standard ways, with PyTorch's outputs on seeded
inputs. Not run by the tests (they read what it wrote); rerun it by hand to
refresh the corpus or to check more configurations:

    pip install torch iree-base-compiler iree-turbine transformers
    PYTHONPATH=python python3 test/Integration/CPU/Inputs/importers/export.py [--out DIR]
        [--seed N] [--seq S] [--batches B,...] [--only NAME ...]
        [--routes torch,iree]

Every module goes through iree-turbine's `aot.export` (PyTorch's
`torch.export` and the FX importer) to the torch dialect, with the weights
it moved to `util.global`s inlined again (`kvq.importers.inline_globals`),
then:

* `torch`: torch-mlir's `torchdynamo-export-to-torch-backend-pipeline` and
  `torch-backend-to-linalg-on-tensors-backend-pipeline` (run by iree-opt,
  which bundles torch-mlir);
* `iree`: `iree-compile --compile-to=input
  --iree-torch-emit-async-entry-points=false` (IREE's torch input
  conversion), written as IREE writes it: its `util.func` / `util.return`
  wrapper becomes `func.func` / `func.return` when the test reads it
  (`kvq.importers.strip_iree_input`).

`F.scaled_dot_product_attention` (and HF attention with
attn_implementation="sdpa") would reach the importers as one op that they
lower to `tm_tensor.attention` / `iree_linalg_ext.attention`; modules that
call it are exported with that op decomposed to math first
(`kvq.importers.decompose_sdpa`).

For each case NAME it writes NAME.torch.mlir, NAME.iree.mlir and NAME.npz
(the inputs `in0`, `in1`, ... and PyTorch's output `out`, all in the
module's dtype), and corpus.json, the facts the tests check (number of
attentions, query and key / value heads, dtype, tolerance).
"""

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from kvq import importers

HQ, HKV, D, E = 4, 2, 8, 16


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------

def causal_mask(s, dtype, fill=-math.inf):
    """An additive causal mask built in the graph from iota / compare /
    select, as models do."""
    i = torch.arange(s)[:, None]
    j = torch.arange(s)[None, :]
    return torch.where(j <= i, torch.zeros((), dtype=dtype), torch.full((), fill, dtype=dtype))


class SDPA(torch.nn.Module):
    def __init__(self, causal=False, gqa=False, mask=False):
        super().__init__()
        self.causal, self.gqa, self.mask = causal, gqa, mask

    def forward(self, q, k, v, *mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[0] if mask else None,
                                              is_causal=self.causal, enable_gqa=self.gqa)


class Math(torch.nn.Module):
    """softmax(Q K^T / sqrt(D) [+ mask]) V written out."""

    def forward(self, q, k, v, *mask):
        s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        if mask:
            s = s + mask[0]
        return torch.matmul(torch.softmax(s, dim=-1), v)


class RepeatInterleave(torch.nn.Module):
    """GQA through repeat_interleave, causal mask built in the graph, the
    scale on the scores after the mask."""

    def forward(self, q, k, v):
        g = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        s = q @ k.transpose(2, 3) + causal_mask(q.shape[2], q.dtype)
        return torch.softmax(s * q.shape[-1] ** -0.5, dim=-1) @ v


def repeat_kv(x, n):
    """HuggingFace's repeat_kv: expand + reshape."""
    b, h, s, d = x.shape
    return x[:, :, None, :, :].expand(b, h, n, s, d).reshape(b, h * n, s, d)


class RepeatKV(torch.nn.Module):
    """GQA through HF's repeat_kv, the scale on Q, an additive mask input."""

    def forward(self, q, k, v, mask):
        g = q.shape[1] // k.shape[1]
        q = q * q.shape[-1] ** -0.5
        s = torch.matmul(q, repeat_kv(k, g).transpose(2, 3)) + mask
        return torch.matmul(F.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype),
                            repeat_kv(v, g))


class Block(torch.nn.Module):
    """Linear projections, head split, attention (scale on K, causal),
    head merge, output projection."""

    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(E, HQ * D)
        self.k = torch.nn.Linear(E, HKV * D)
        self.v = torch.nn.Linear(E, HKV * D)
        self.o = torch.nn.Linear(HQ * D, E)

    def forward(self, x):
        b, s, _ = x.shape
        q = self.q(x).view(b, s, HQ, D).transpose(1, 2)
        k = self.k(x).view(b, s, HKV, D).transpose(1, 2) * D ** -0.5
        v = self.v(x).view(b, s, HKV, D).transpose(1, 2)
        k = repeat_kv(k, HQ // HKV)
        v = repeat_kv(v, HQ // HKV)
        p = torch.softmax(q @ k.transpose(-1, -2) + causal_mask(s, x.dtype), dim=-1)
        return self.o((p @ v).transpose(1, 2).reshape(b, s, HQ * D))


class Llama(torch.nn.Module):
    """HuggingFace LlamaAttention (RoPE, GQA) from a tiny config, with the
    causal mask and rotary embeddings the model would pass."""

    def __init__(self, impl="eager"):
        super().__init__()
        from transformers import LlamaConfig
        from transformers.models.llama.modeling_llama import (LlamaAttention,
                                                              LlamaRotaryEmbedding)
        config = LlamaConfig(hidden_size=E, num_attention_heads=HQ, num_key_value_heads=HKV,
                             head_dim=D, intermediate_size=64, num_hidden_layers=1,
                             max_position_embeddings=64, attention_bias=False)
        config._attn_implementation = impl
        self.attn = LlamaAttention(config, layer_idx=0)
        self.rope = LlamaRotaryEmbedding(config)

    def forward(self, x):
        b, s, _ = x.shape
        pos = torch.arange(s)[None, :].expand(b, s)
        cos, sin = self.rope(x, pos)
        mask = causal_mask(s, x.dtype, torch.finfo(x.dtype).min)[None, None].expand(b, 1, s, s)
        return self.attn(x, position_embeddings=(cos, sin), attention_mask=mask)[0]


class GPT2(torch.nn.Module):
    """HuggingFace GPT2Attention (fused QKV Conv1D, MHA) from a tiny config,
    with a causal mask."""

    def __init__(self):
        super().__init__()
        from transformers import GPT2Config
        from transformers.models.gpt2.modeling_gpt2 import GPT2Attention
        config = GPT2Config(n_embd=E, n_head=HQ, n_layer=1, n_positions=64,
                            attn_pdrop=0.0, resid_pdrop=0.0)
        config._attn_implementation = "eager"
        self.attn = GPT2Attention(config, layer_idx=0)

    def forward(self, x):
        s = x.shape[1]
        mask = causal_mask(s, x.dtype, torch.finfo(x.dtype).min)[None, None]
        return self.attn(x, attention_mask=mask)[0]


def qkv(b, s, hkv=HQ):
    return [(b, HQ, s, D), (b, hkv, s, D), (b, hkv, s, D)]


# name: (module factory, input shapes (batch, seq) -> list, heads of K / V,
#        SDPA inside, mask input)
KINDS = {
    "sdpa": (lambda: SDPA(), lambda b, s: qkv(b, s), HQ, True),
    "sdpa_causal": (lambda: SDPA(causal=True), lambda b, s: qkv(b, s), HQ, True),
    "sdpa_gqa_causal": (lambda: SDPA(causal=True, gqa=True), lambda b, s: qkv(b, s, HKV),
                        HKV, True),
    "sdpa_mask": (lambda: SDPA(mask=True), lambda b, s: qkv(b, s) + [(1, 1, s, s)], HQ,
                  True),
    "math": (lambda: Math(), lambda b, s: qkv(b, s), HQ, False),
    "math_mask": (lambda: Math(), lambda b, s: qkv(b, s) + [(b, 1, s, s)], HQ, False),
    "gqa_repeat_interleave": (lambda: RepeatInterleave(), lambda b, s: qkv(b, s, HKV), HKV,
                              False),
    "gqa_repeat_kv": (lambda: RepeatKV(), lambda b, s: qkv(b, s, HKV) + [(b, 1, s, s)], HKV,
                      False),
    "block": (lambda: Block(), lambda b, s: [(b, s, E)], HKV, False),
    "llama": (lambda: Llama(), lambda b, s: [(b, s, E)], HKV, False),
    "llama_sdpa": (lambda: Llama("sdpa"), lambda b, s: [(b, s, E)], HKV, True),
    "gpt2": (lambda: GPT2(), lambda b, s: [(b, s, E)], HQ, False),
}

# (kind, batch, dtype)
CASES = [(kind, b, "f32") for kind in KINDS for b in (1, 2)] + [
    ("llama", 2, "f16"), ("gqa_repeat_kv", 1, "f16"), ("sdpa_causal", 2, "f16")]

DTYPES = {"f32": torch.float32, "f16": torch.float16}
TOLERANCE = {"f32": 1e-5, "f16": 1e-2}


def case_name(kind, batch, dtype):
    return f"{kind}_b{batch}" + ("" if dtype == "f32" else f"_{dtype}")


def run(cmd, text):
    out = subprocess.run(cmd, input=text, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout


def lower(torch_ir, route, tools):
    if route == "torch":
        return run([os.path.join(tools, "iree-opt"),
                    "--pass-pipeline=builtin.module(torchdynamo-export-to-torch-backend-pipeline,"
                    "torch-backend-to-linalg-on-tensors-backend-pipeline)", "-"], torch_ir)
    ir = run([os.path.join(tools, "iree-compile"), "--compile-to=input",
              "--iree-torch-emit-async-entry-points=false", "-", "-o", "-"], torch_ir)
    importers.strip_iree_input(ir)  # checks that kvq can read it
    return ir


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=here)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seq", type=int, default=7)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--routes", default="torch,iree")
    parser.add_argument("--batches", default=None,
                        help="export every kind at these batch sizes (e.g. 3,5) instead "
                             "of the committed cases")
    args = parser.parse_args()

    from iree.turbine import aot
    tools = os.path.dirname(sys.executable)
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "corpus.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    cases = CASES
    if args.batches:
        cases = [(kind, int(b), "f32") for kind in KINDS for b in args.batches.split(",")]
    for kind, batch, dtype in cases:
        name = case_name(kind, batch, dtype)
        if args.only and name not in args.only and kind not in args.only:
            continue
        factory, shapes, hkv, sdpa = KINDS[kind]
        torch.manual_seed(args.seed)
        model = factory().to(DTYPES[dtype]).eval()
        gen = torch.Generator().manual_seed(args.seed + 1)
        inputs = [torch.randn(shape, generator=gen).to(DTYPES[dtype])
                  for shape in shapes(batch, args.seq)]
        with torch.no_grad():
            out = model(*inputs)
        ep = torch.export.export(model, tuple(inputs))
        if sdpa:
            ep = importers.decompose_sdpa(ep)
        torch_ir = importers.inline_globals(str(aot.export(ep).mlir_module))
        for route in args.routes.split(","):
            with open(os.path.join(args.out, f"{name}.{route}.mlir"), "w") as f:
                f.write(lower(torch_ir, route, tools))
        arrays = {f"in{i}": x.numpy() for i, x in enumerate(inputs)}
        arrays["out"] = out.numpy()
        np.savez_compressed(os.path.join(args.out, f"{name}.npz"), **arrays)
        manifest[name] = {"attentions": 1, "hq": HQ, "hkv": hkv, "dtype": dtype,
                          "tolerance": TOLERANCE[dtype], "routes": args.routes.split(",")}
        print(f"exported {name}")
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
