"""No-body controls: what a task scores with (almost) no transformer body at all.

Why: a transfer claim ("the pretrained body helps") needs the floor it is measured against. Tan et
al. (NeurIPS 2024, "Are Language Models Actually Useful for Time Series Forecasting?") found that
replacing a pretrained body with a single attention layer often matches it. Two controls, both
trained fully and from scratch with the same input layer and read-out head as every transformer
adapter (``baselines.layers``):

- ``no-body``: input layer straight to the read-out head. The head reads only the last
  ``output_tokens`` positions, so a task whose answer needs other positions scores near chance:
  that is the point.
- ``one-attention``: input layer, learned positions, one trainable pre-norm multi-head
  self-attention block with a residual, then the head.

Width: option ``d_model`` (default 128); ``heads`` (default 4) for ``one-attention``. They take no
backbone, so a control row pairs with every pretrained row on the same task, profile and seeds.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from benchmark.errors import FptError
from benchmark.model import ModelAdapter, Option, register_model
from benchmark.task import TaskSpec

from .layers import InputLayer, ReadHead

DEFAULT_D_MODEL = 128
DEFAULT_HEADS = 4


class NoBodyModel(nn.Module):
    def __init__(self, spec: TaskSpec, d_model: int, generator: torch.Generator) -> None:
        super().__init__()
        self.input = InputLayer(spec, d_model, generator)
        self.head = ReadHead(spec, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.input(x), mask)


class OneAttentionModel(nn.Module):
    """Pre-norm: h + Attn(LN(h)); positions are learned (attention alone is order-blind)."""

    def __init__(self, spec: TaskSpec, d_model: int, heads: int, generator: torch.Generator) -> None:
        super().__init__()
        self.input = InputLayer(spec, d_model, generator)
        self.pos = nn.Parameter(torch.empty(spec.seq_len, d_model))
        nn.init.normal_(self.pos, std=0.02, generator=generator)
        self.norm = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.head = ReadHead(spec, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.input(x) + self.pos[: x.shape[1]]
        q = self.norm(h)
        pad = None if mask is None else ~mask.bool()  # True = ignore this key
        a, _ = self.attn(q, q, q, key_padding_mask=pad, need_weights=False)
        return self.head(h + a, mask)


class _Control(ModelAdapter):
    uses_backbone = False
    default_backbone = None

    def _int_option(self, name: str, default: int) -> int:
        value = self.options.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise FptError(f"model '{self.name}': option {name} must be a positive integer, got {value!r}")
        return value

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["pretrained_on"] = "nothing (no-body control, trained from scratch)"
        return out


@register_model("no-body")
class NoBody(_Control):
    family = "control-no-body"
    description = "Control: the input layer straight to the read-out head, no transformer body (trained from scratch)."
    option_specs = {"d_model": Option(int, "width of the input layer and head", positive=True)}

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        return NoBodyModel(spec, self._int_option("d_model", DEFAULT_D_MODEL), torch.Generator().manual_seed(seed))


@register_model("one-attention")
class OneAttention(_Control):
    family = "control-one-attention"
    description = ("Control: one trainable self-attention layer with learned positions between the input layer and "
                   "the head, in the spirit of Tan et al. 2024 (trained from scratch).")
    option_specs = {"d_model": Option(int, "width of the attention layer", positive=True),
                    "heads": Option(int, "attention heads (must divide d_model)", positive=True)}

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        d = self._int_option("d_model", DEFAULT_D_MODEL)
        heads = self._int_option("heads", DEFAULT_HEADS)
        if d % heads:
            raise FptError(f"model '{self.name}': d_model {d} is not divisible by heads {heads}; change one")
        return OneAttentionModel(spec, d, heads, torch.Generator().manual_seed(seed))
