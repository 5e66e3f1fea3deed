"""Exports a small Llama-style model from PyTorch for kvq (docs/UserGuide.md):
two HuggingFace LlamaDecoderLayers (RMSNorm, grouped-query attention with
RoPE through PyTorch's scaled_dot_product_attention, SwiGLU MLP), random
weights from a fixed seed, 11 tokens of width 32.

    pip install torch iree-base-compiler iree-turbine transformers
    python3 examples/pytorch/export_llama.py

writes examples/pytorch/llama.mlir (torch-mlir's linalg-on-tensors form,
the input of kvq-compile) and examples/pytorch/llama.npz (an input and
PyTorch's output, for run_llama.py).
"""

import os
import subprocess
import sys

import numpy as np
import torch
from iree.turbine import aot
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import (LlamaDecoderLayer,
                                                      LlamaRotaryEmbedding)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from kvq import importers  # noqa: E402

TOKENS, WIDTH = 11, 32


class Llama(torch.nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        config = LlamaConfig(hidden_size=WIDTH, intermediate_size=32, num_attention_heads=4,
                             num_key_value_heads=2, num_hidden_layers=layers,
                             max_position_embeddings=64)
        config._attn_implementation = "sdpa"
        self.layers = torch.nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(layers))
        self.rope = LlamaRotaryEmbedding(config)

    def forward(self, x):
        b, s, _ = x.shape
        pos = torch.arange(s)[None, :].expand(b, s)
        rope = self.rope(x, pos)
        i = torch.arange(s)
        mask = torch.where(i[None, :] <= i[:, None], 0.0, float("-inf"))[None, None]
        for layer in self.layers:
            x = layer(x, attention_mask=mask, position_ids=pos, position_embeddings=rope)
        return x


def main():
    torch.manual_seed(0)
    model = Llama().eval()
    x = torch.randn(1, TOKENS, WIDTH, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    ep = importers.decompose_sdpa(torch.export.export(model, (x,)))
    text = importers.inline_globals(str(aot.export(ep).mlir_module))
    iree_opt = os.path.join(os.path.dirname(sys.executable), "iree-opt")
    linalg = subprocess.run(
        [iree_opt, "--pass-pipeline=builtin.module(torchdynamo-export-to-torch-backend-pipeline,"
         "torch-backend-to-linalg-on-tensors-backend-pipeline)", "-"],
        input=text, capture_output=True, text=True, check=True).stdout
    with open(os.path.join(HERE, "llama.mlir"), "w") as f:
        f.write(linalg)
    np.savez_compressed(os.path.join(HERE, "llama.npz"), x=x.numpy(), y=y.numpy())
    print(f"wrote llama.mlir ({len(linalg) // 1024} KiB) and llama.npz")


if __name__ == "__main__":
    main()
