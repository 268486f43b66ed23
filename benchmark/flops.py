"""Training FLOPs per step: torch's dispatch-level counter plus formulas for the fused recurrent kernels it lacks.

torch's ``FlopCounterMode`` counts matmuls, convolutions and attention (what dominates a transformer) but
has no formula for the fused RNN kernels: oneDNN's ``mkldnn_rnn_layer`` on CPU and cuDNN's ``_cudnn_rnn``
on CUDA. Without them the LSTM would count as about free and the cost axis would show it so. Formulas
count 2 FLOPs per multiply-add of the gate projections (input and recurrent weights) per token per
layer; a backward costs twice its forward (gradients of the inputs and of the weights).
"""

from __future__ import annotations

from typing import Callable

import torch


def count_step_flops(fn: Callable[[], None]) -> int:
    """FLOPs of one call of ``fn`` (forward + backward), counted by torch's dispatch-level counter.

    Counts matmuls, convolutions and attention kernels (what dominates a transformer); recurrent
    kernels without a registered formula (fused LSTM on CPU and CUDA) are counted by ``extra_flop_formulas``.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False, custom_mapping=extra_flop_formulas()) as counter:
        fn()
    return int(counter.get_total_flops())


def rnn_layer_flops(input_shape, w1_shape, w2_shape, *args, out_shape=None, **kwargs) -> int:
    """One fused layer (oneDNN): input (T, B, in) or (B, T, in); w1 (4H, in), w2 (4H, H)."""
    tokens = input_shape[0] * input_shape[1]
    return 2 * tokens * (w1_shape[0] * w1_shape[1] + w2_shape[0] * w2_shape[1])


def cudnn_rnn_flops(input_shape, weight_shapes, *args, out_shape=None, **kwargs) -> int:
    """All layers at once (cuDNN ``_cudnn_rnn``): the weight list holds, per layer and direction, w_ih (gH, in)
    and w_hh (gH, H) (plus 1-D biases, not counted, as on CPU). Packed sequences (2-D input) count their rows."""
    tokens = input_shape[0] * input_shape[1] if len(input_shape) == 3 else input_shape[0]
    return 2 * tokens * sum(s[0] * s[1] for s in weight_shapes if len(s) == 2)


def extra_flop_formulas() -> dict:
    """FLOP formulas for fused recurrent kernels torch's counter does not know (CPU and CUDA LSTMs)."""
    formulas: dict = {}
    aten = torch.ops.aten
    if hasattr(aten, "mkldnn_rnn_layer"):
        formulas[aten.mkldnn_rnn_layer] = rnn_layer_flops
    if hasattr(aten, "mkldnn_rnn_layer_backward"):
        formulas[aten.mkldnn_rnn_layer_backward] = lambda input_shape, w1_shape, w2_shape, *a, out_shape=None, **k: \
            2 * rnn_layer_flops(input_shape, w1_shape, w2_shape)
    if hasattr(aten, "_cudnn_rnn"):
        formulas[aten._cudnn_rnn] = cudnn_rnn_flops
    if hasattr(aten, "_cudnn_rnn_backward"):
        formulas[aten._cudnn_rnn_backward] = lambda input_shape, weight_shapes, *a, out_shape=None, **k: \
            2 * cudnn_rnn_flops(input_shape, weight_shapes)
    return formulas
