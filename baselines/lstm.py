"""The LSTM baseline: 3 layers, fully trained, read out by the same head as the transformers.

Two cells, both unidirectional with a zero initial state (the reference drew fresh Gaussian noise
for the initial state on every forward pass; zero keeps runs deterministic):

- default, ``cell=fused``: ``nn.LSTM`` (one fused oneDNN/cuDNN kernel per layer, no Python time
  loop) and one LayerNorm on the output. It **omits the reference's per-step layer norms**; this is
  recorded with every run (``info()["cell"]``) and is the fast row.
- ``--option layer_norm=true``: the reference's layer-normalised LSTM (Ba et al.; the authors'
  ``LayerNormLSTM`` adapted from exe1023/LSTM_LN): per step ``LN(W_i x) + LN(W_h h)`` before the
  gates, and ``c_t = LN(f*c + i*g)``, ``h_t = o * tanh(c_t)``, with their LayerNorm (unbiased
  variance, eps 1e-6, gain and bias drawn from U(-1/sqrt(n), 1/sqrt(n))). Faithful but faster than
  theirs: the input projection and its layer norm run once over the whole sequence; only the
  recurrence loops over time.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from benchmark.errors import FptError
from benchmark.model import ModelAdapter, Option, register_model
from benchmark.precision import Workload, time_call
from benchmark.task import TaskSpec

from .layers import InputLayer, ReadHead


class RefLayerNorm(nn.Module):
    """The reference's LayerNorm: unbiased variance, eps 1e-6, uniform-initialised gain and bias."""

    def __init__(self, n: int, generator: torch.Generator, eps: float = 1e-6) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n)
        self.weight = nn.Parameter(torch.empty(n).uniform_(-bound, bound, generator=generator))
        self.bias = nn.Parameter(torch.empty(n).uniform_(-bound, bound, generator=generator))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        mean = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True)  # unbiased, as theirs (torch.var's default)
        return self.weight * ((x - mean) / torch.sqrt(var + self.eps)) + self.bias


class LayerNormLSTMLayer(nn.Module):
    """One layer of the reference LN-LSTM; gate order i, f, o (sigmoid), g (tanh), as theirs."""

    def __init__(self, inp: int, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        self.hidden = hidden
        self.i2h = nn.Linear(inp, 4 * hidden)
        self.h2h = nn.Linear(hidden, 4 * hidden)
        bound = 1.0 / math.sqrt(hidden)
        for p in (*self.i2h.parameters(), *self.h2h.parameters()):
            with torch.no_grad():
                p.uniform_(-bound, bound, generator=generator)
        self.ln_i2h = RefLayerNorm(4 * hidden, generator)
        self.ln_h2h = RefLayerNorm(4 * hidden, generator)
        self.ln_cell = RefLayerNorm(hidden, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        pre_x = self.ln_i2h(self.i2h(x))  # the whole sequence at once: no recurrence in this part
        h = x.new_zeros(b, self.hidden, dtype=torch.float32)
        c = torch.zeros_like(h)
        outs = []
        hd = self.hidden
        for step in range(t):
            pre = pre_x[:, step] + self.ln_h2h(self.h2h(h))
            gates = pre[:, :3 * hd].sigmoid()
            g = pre[:, 3 * hd:].tanh()
            c = self.ln_cell(gates[:, hd:2 * hd] * c + gates[:, :hd] * g)
            h = gates[:, 2 * hd:] * c.tanh()
            outs.append(h)
        return torch.stack(outs, dim=1)


def rnn_policy(device_type: str, autocast_dtype: torch.dtype | None) -> str:
    """How the fused ``nn.LSTM`` computes under the run's autocast: ``autocast``, ``fp32`` or ``off``.

    Why: on CUDA, autocast reaches the cuDNN RNN through a wrapper of its own
    (``aten/src/ATen/cudnn/AutocastRNN.cpp``, ``_cudnn_rnn_cast_reflatten``, registered for ``_cudnn_rnn``
    under the CUDA autocast key) that casts the input, the weights and the states to **fp16** whatever the
    autocast dtype is (``cached_cast(at::kHalf, ...)``; read in the torch source of the 2.x line this
    project pins, 2.13). Under bf16 autocast the recurrence would silently run in fp16, with no GradScaler
    (the trainer scales only ``precision=fp16``), while the run records bf16. So on CUDA under anything
    but fp16 autocast the LSTM runs with autocast off on fp32 inputs (``fp32``; cuDNN may still use TF32
    tensor cores where ``torch.backends.cudnn.allow_tf32`` is on) and the run's precision says so. fp16
    autocast keeps cuDNN's fp16 path (the trainer's GradScaler is on for it). On CPU, autocast's
    ``mkldnn_rnn_layer`` computes in the autocast dtype itself (bf16), so the CPU path is unchanged.
    """
    if autocast_dtype is None:
        return "off"
    if device_type == "cuda" and autocast_dtype != torch.float16:
        return "fp32"
    return "autocast"


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast is running in on ``device_type`` right now (None: autocast is off)."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


_PRECISION_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class LSTMModel(nn.Module):
    def __init__(self, spec: TaskSpec, hidden: int, layers: int, generator: torch.Generator,
                 layer_norm: bool = False) -> None:
        super().__init__()
        self.input = InputLayer(spec, hidden, generator)
        self.layer_norm = layer_norm
        if layer_norm:
            self.cells = nn.ModuleList(LayerNormLSTMLayer(hidden, hidden, generator) for _ in range(layers))
        else:
            self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
            self.norm = nn.LayerNorm(hidden)
        self.head = ReadHead(spec, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # Unidirectional with right padding: outputs at real positions never see the padding.
        h = self.input(x)
        if self.layer_norm:
            for cell in self.cells:
                h = cell(h)
            return self.head(h, mask)
        if rnn_policy(h.device.type, _autocast_dtype(h.device.type)) == "fp32":
            with torch.autocast(h.device.type, enabled=False):
                h, _ = self.lstm(h.float())
        else:
            h, _ = self.lstm(h)
        return self.head(self.norm(h), mask)

    def precision_note(self, device_type: str, precision: str) -> str:
        """What of this model does not compute in the run's ``precision`` (recorded beside it): the
        recurrence in fp32 on CUDA under bf16 (see ``rnn_policy``); '' when everything follows it."""
        if self.layer_norm:  # the Python-loop cell is plain matmuls: autocast casts them to its own dtype
            return ""
        return "rnn-fp32" if rnn_policy(device_type, _PRECISION_DTYPES.get(precision)) == "fp32" else ""


def lstm_step(dtype: torch.dtype, shape: tuple[int, ...]) -> Callable[[], torch.dtype]:
    """One forward and backward of one fused LSTM layer at (batch, time, hidden): fp32, or under ``dtype``
    autocast as a run computes it; returns the dtype the recurrence computed in. Weights come from a
    local generator (no global RNG use)."""
    batch, steps, hidden = shape
    with torch.device("meta"):
        lstm = nn.LSTM(hidden, hidden, batch_first=True)
    lstm = lstm.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(hidden))
    x = torch.randn(batch, steps, hidden, generator=gen)

    def once() -> torch.dtype:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            out, _ = lstm(x)
        out.float().sum().backward()
        return out.dtype

    return once


def time_lstm_step(dtype: torch.dtype, shape: tuple[int, ...]) -> float:
    """Seconds per ``lstm_step``: what ``precision=auto`` compares for the LSTM."""
    return time_call(lstm_step(dtype, shape))


# The recurrence at the default width at a Bit-Memory-like and an MNIST-like batch (8 time steps:
# the per-step cost is what differs between precisions, not the sequence length).
LSTM_STEPS = Workload("lstm", time_lstm_step, ((8, 8, 768), (16, 8, 768)), "LSTM steps")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise FptError(f"lstm option layer_norm={value!r} is not true or false")


@register_model("lstm")
class LSTM(ModelAdapter):
    family = "lstm"
    description = ("3-layer unidirectional LSTM, fully trained (the paper's LSTM row; lr 3e-4). Default: fused "
                   "nn.LSTM without the reference's per-step layer norms; --option layer_norm=true for theirs.")
    default_lr = 3e-4
    option_specs = {"hidden": Option(int, "hidden size (default 768)", positive=True),
                    "layers": Option(int, "LSTM layers (default 3)", positive=True),
                    "layer_norm": Option(bool, "the reference's per-step layer norms (default false)")}
    uses_backbone = False
    default_backbone = None
    precision_workload = LSTM_STEPS  # bf16 matmuls paying says nothing about bf16 recurrences (precision.py)

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        unknown = sorted(set(self.options) - {"hidden", "layers", "layer_norm"})
        if unknown:
            raise FptError(f"lstm does not take option(s) {', '.join(unknown)}; it takes hidden, layers, layer_norm")
        hidden = int(self.options.get("hidden", 768))
        layers = int(self.options.get("layers", 3))
        return LSTMModel(spec, hidden, layers, torch.Generator().manual_seed(seed),
                         layer_norm=_flag(self.options.get("layer_norm", False)))

    def info(self) -> dict:
        out = super().info()
        out["pretrained_on"] = "nothing (trained from scratch)"
        out["cell"] = ("layer-normalised LSTM (the reference's per-step layer norms)"
                       if _flag(self.options.get("layer_norm", False))
                       else "fused nn.LSTM + output LayerNorm (omits the reference's per-step layer norms)")
        return out
