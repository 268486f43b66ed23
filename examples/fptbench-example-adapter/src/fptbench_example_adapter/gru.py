"""A small GRU adapter: the least an external model needs to run on every fptbench task.

It shows the whole adapter contract:
- subclass ``benchmark.model.ModelAdapter`` and set ``family``/``description``;
- ``uses_backbone = False`` (this model has no pretrained body to plug in);
- ``build(spec, seed)`` returns an ``nn.Module`` mapping ``(x, mask)`` to
  ``(batch, spec.output_tokens, spec.output_dim)`` logits, reading the last
  ``output_tokens`` *real* tokens (inputs are right-padded where ``mask`` is False);
- all randomness comes from ``seed`` (an explicit ``torch.Generator``), never global state.
"""

from __future__ import annotations

import torch
from torch import nn

from benchmark.model import ModelAdapter, Option
from benchmark.task import TaskSpec


class GRUModel(nn.Module):
    def __init__(self, spec: TaskSpec, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        self.tokens = spec.input_kind == "tokens"
        self.k = spec.output_tokens
        if self.tokens:  # token ids -> vectors
            self.embed: nn.Module = nn.Embedding(spec.input_dim, hidden, padding_idx=spec.pad_id)
        else:  # continuous vectors -> hidden size
            self.embed = nn.Linear(spec.input_dim, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=1, batch_first=True)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, spec.output_dim)
        with torch.no_grad():  # seeded init: identical for equal seeds, independent of global RNG
            for p in self.parameters():
                if p.dim() > 1:
                    p.copy_(torch.randn(p.shape, generator=generator) / p.shape[-1] ** 0.5)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.gru(self.embed(x))  # (B, T, hidden); unidirectional, so padding never leaks back
        B, T, _ = h.shape
        lengths = torch.full((B,), T, device=h.device) if mask is None else mask.long().sum(1)
        offsets = torch.arange(self.k - 1, -1, -1, device=h.device)
        idx = (lengths[:, None] - 1 - offsets[None, :]).clamp_min(0)  # last k real positions
        picked = torch.gather(h, 1, idx[..., None].expand(-1, -1, h.shape[-1]))
        return self.head(self.norm(picked))  # (B, output_tokens, output_dim)


class TinyGRU(ModelAdapter):
    """``--model example-gru`` (installed) or ``--model fptbench_example_adapter.gru:TinyGRU``."""

    family = "gru"
    description = "Example plugin: 1-layer GRU (hidden 64 by default), fully trained, from an external package."
    uses_backbone = False
    default_backbone = None
    default_lr = 1e-3
    option_specs = {"hidden": Option(int, "GRU hidden size (default 64)", positive=True)}  # typed, checked before any run

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        hidden = int(self.options.get("hidden", 64))
        return GRUModel(spec, hidden, torch.Generator().manual_seed(seed))
