"""``statistics-only``: random weights with each pretrained tensor's mean and standard deviation.

The paper's initialization table asks whether FPT's advantage is merely that pretrained weights
have a good *scale*. This baseline loads the pretrained body, then replaces every parameter tensor
by i.i.d. Gaussian noise with that tensor's own mean and (population) standard deviation, drawn
from a generator seeded by the run seed. Structure (which entry is large, correlations) is gone;
per-tensor statistics are kept. A constant tensor (std 0, e.g. the zero-initialised ViT position
table) stays constant. Freezing is the default FPT's (or a ``preset``).
"""

from __future__ import annotations

import dataclasses

import torch

from benchmark.model import register_model

from .body import Body
from .fpt import TransformerAdapter


def rescale_to_statistics(body: Body, generator: torch.Generator) -> dict[str, tuple[float, float]]:
    """Replace each parameter in place by N(mean, std) of itself; returns {name: (mean, std)}."""
    stats: dict[str, tuple[float, float]] = {}
    with torch.no_grad():
        for name, param in body.named_parameters():
            data = param.detach().double()
            mean, std = float(data.mean()), float(data.std(unbiased=False)) if data.numel() > 1 else 0.0
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            param.copy_((noise * std + mean).to(param.dtype))
            stats[name] = (mean, std)
    return stats


@register_model("statistics-only")
class StatisticsOnly(TransformerAdapter):
    family = "frozen-statistics-transformer"
    description = ("Random weights with each pretrained tensor's mean and std (the paper's initialization table), "
                   "frozen like FPT.")
    pretrained = True

    def make_body(self, seed: int) -> Body:
        body = super().make_body(seed)
        rescale_to_statistics(body, torch.Generator().manual_seed(seed + 7919))
        src = body.info
        body.info = dataclasses.replace(
            src, pretrained_on=f"statistics only of: {src.pretrained_on}", weights=f"N(mean, std) per tensor of {src.weights}")
        return body
