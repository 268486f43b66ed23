"""The LSTM baseline: 3 layers, fully trained, cuDNN-able ``nn.LSTM`` (not a Python time loop).

Zero initial state (the reference drew fresh noise every forward pass) and a LayerNorm on the
output, read out by the same head as the transformers.
"""

from __future__ import annotations

import torch
from torch import nn

from benchmark.model import ModelAdapter, register_model
from benchmark.task import TaskSpec

from .layers import InputLayer, ReadHead


class LSTMModel(nn.Module):
    def __init__(self, spec: TaskSpec, hidden: int, layers: int, generator: torch.Generator) -> None:
        super().__init__()
        self.input = InputLayer(spec, hidden, generator)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        self.norm = nn.LayerNorm(hidden)
        self.head = ReadHead(spec, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # Unidirectional with right padding: outputs at real positions never see the padding.
        h, _ = self.lstm(self.input(x))
        return self.head(self.norm(h), mask)


@register_model("lstm")
class LSTM(ModelAdapter):
    family = "lstm"
    description = "3-layer unidirectional LSTM, fully trained (the paper's LSTM row; lr 3e-4)."
    default_lr = 3e-4
    uses_backbone = False
    default_backbone = None

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        hidden = int(self.options.get("hidden", 768))
        layers = int(self.options.get("layers", 3))
        return LSTMModel(spec, hidden, layers, torch.Generator().manual_seed(seed))

    def info(self) -> dict:
        out = super().info()
        out["pretrained_on"] = "nothing (trained from scratch)"
        return out
