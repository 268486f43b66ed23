"""Transformer adapters: FPT (frozen pretrained), full finetuning, and the random-frozen baseline.

One module, ``TransferModel``: input layer -> body -> read-out head. The adapters differ only in
whether the body is pretrained and which parameter groups train.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from benchmark.errors import FptError
from benchmark.model import ModelAdapter, register_model
from benchmark.task import TaskSpec

from .backbones import get_backbone
from .body import Body
from .freeze import EVERYTHING, FPT_DEFAULT, Trainable, apply_trainable, set_trainable
from .layers import InputLayer, ReadHead
from .presets import preset_requires_pos, preset_trainable


class TransferModel(nn.Module):
    """nanoGPT-style: one readable forward pass, no hidden state."""

    def __init__(self, spec: TaskSpec, body: Body, generator: torch.Generator) -> None:
        super().__init__()
        body.check_length(spec.seq_len)
        self.input = InputLayer(spec, body.info.d_model, generator)
        self.body = body
        self.head = ReadHead(spec, body.info.d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(self.input(x), mask), mask)


class TransformerAdapter(ModelAdapter):
    """Shared build logic; subclasses choose pretrained weights and trainable groups."""

    pretrained: ClassVar[bool] = True
    trainable: ClassVar[Trainable] = FPT_DEFAULT
    strict_pos: ClassVar[bool] = False  # explicit presets refuse inapplicable flags; defaults adapt

    def flags(self) -> Trainable:
        base = preset_trainable(self.options, self.trainable)  # option preset=NAME (baselines/presets.py)
        overrides = {k: bool(v) for k, v in self.options.items() if k.startswith("train_")}
        unknown = set(overrides) - {f"train_{f}" for f in Trainable().to_dict()}
        if unknown:
            raise FptError(f"model '{self.name}': unknown option(s) {sorted(unknown)}; flags are "
                           f"{', '.join('train_' + f for f in Trainable().to_dict())}")
        fields = {k[len("train_"):]: v for k, v in overrides.items()}
        return Trainable(**{**base.to_dict(), **fields})

    def make_body(self, seed: int) -> Body:
        """The body before freezing; subclasses change where its weights come from (statistics-only, ...)."""
        return get_backbone(self.backbone).build(pretrained=self.pretrained)

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        body = self.make_body(seed)
        if self.options.get("extend_positions"):
            body.extend_positions(spec.seq_len)
        g = torch.Generator().manual_seed(seed)
        model = TransferModel(spec, body, g)
        flags = self.flags()
        self.effective_trainable = apply_trainable(body, flags, strict_pos=self.strict_pos or "train_pos" in self.options
                                               or preset_requires_pos(self.options))
        set_trainable(model.input, flags.input)
        set_trainable(model.head, flags.output)
        self.body_info = body.info
        return model

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["trainable"] = getattr(self, "effective_trainable", self.flags().to_dict())
        out["pretrained"] = self.pretrained
        if hasattr(self, "body_info"):
            out["pretrained_on"] = self.body_info.pretrained_on
            out["stand_in_for"] = self.body_info.stand_in_for
            out["weights"] = self.body_info.weights
            out.update(self.body_info.extra)
        return out


@register_model("fpt")
class FPT(TransformerAdapter):
    family = "frozen-pretrained-transformer"
    description = "Frozen pretrained transformer: attention and feed-forward frozen; input, output, norms, positions train."


@register_model("full")
class Full(TransformerAdapter):
    family = "finetuned-pretrained-transformer"
    description = "The same pretrained transformer with nothing frozen."
    trainable = EVERYTHING


@register_model("random-frozen")
class RandomFrozen(TransformerAdapter):
    family = "frozen-random-transformer"
    description = "Same architecture, random init, frozen like FPT (isolates what pretraining contributes)."
    pretrained = False
