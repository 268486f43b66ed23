"""Frozen matmul weights stored in the autocast dtype once, instead of recast at every forward.

Autocast caches its casts only for leaf tensors that require grad, so under bf16 autocast the frozen
attention and feed-forward weights of an FPT model (most of its parameters) are converted fp32 -> bf16 in
every training forward and every evaluation batch. The conversion is deterministic (round to nearest
even), so storing them converted once computes exactly the same numbers; only the work goes.

Only weights of modules whose forward autocast lowers anyway are converted (linear and convolution
layers, and GPT-2's ``Conv1D``, which calls ``addmm``); embeddings, norms and anything trainable stay as
they are, so no op sees a dtype it would not have seen under autocast.
"""

from __future__ import annotations

import torch
from torch import nn

_LOWERED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _lowered(module: nn.Module) -> bool:
    # transformers' GPT-2 Conv1D is ``addmm(bias, x, weight)``: lowered by autocast like a linear layer
    return isinstance(module, _LOWERED) or type(module).__name__ == "Conv1D"


def cast_frozen_matmul_weights(model: nn.Module, dtype: torch.dtype) -> int:
    """Convert the frozen weights (and biases) of autocast-lowered layers to ``dtype``; returns how many elements.

    A layer is converted only when none of its own parameters train, so no optimizer state or gradient
    ever sees the lower precision.
    """
    converted = 0
    for module in model.modules():
        own = list(module.parameters(recurse=False))
        if not own or not _lowered(module) or any(p.requires_grad for p in own):
            continue
        for p in own:
            if p.is_floating_point() and p.dtype != dtype:
                p.data = p.data.to(dtype)
                converted += p.numel()
    return converted
