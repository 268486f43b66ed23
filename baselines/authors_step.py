"""The authors' training step, re-created for ``fptbench bench`` to time ours against (not a baseline model).

kzl/universal-computation's ``FPT`` module on ``GPT2Model``/``BertModel`` with ``inputs_embeds``, fp32,
*eager* attention, Adam over the trainable parameters, gradient clipping 1.0, per-step accuracy through
numpy, ``loss.item()``, their ``np.random`` bit generators, and their layer-normalised LSTM (a Python loop
over time). The bench (baselines/speed.py) feeds it the same weights as our model.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

BIT_N, BIT_PATTERNS, BIT_PATCH = 1000, 5, 50  # bit memory as the paper runs it: 6 x 1000 bits in 120 tokens of 50


# -- the authors' step, re-created ---------------------------------------------------------------
def their_bits(rng: np.random.RandomState, batch_size: int, xor: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Their bit-memory generator (global-RNG numpy calls; here a local legacy RandomState)."""
    bits = 2 * rng.randint(low=0, high=2, size=(batch_size, BIT_PATTERNS, BIT_N)) - 1
    query_inds = rng.randint(low=0, high=BIT_PATTERNS, size=batch_size)
    query_bits = bits[range(batch_size), query_inds]
    mask = rng.randint(low=0, high=2, size=query_bits.shape)
    x = np.concatenate([bits, (mask * query_bits).reshape(batch_size, 1, BIT_N)], axis=1)
    return torch.from_numpy(x).float(), torch.from_numpy(query_bits).float()


class TheirModel(nn.Module):
    """Their FPT forward: input net, body on inputs_embeds, last `ratio` tokens, output net."""

    def __init__(self, body: nn.Module | None, d: int, input_dim: int, output_dim: int, lstm: bool = False) -> None:
        super().__init__()
        self.input_dim, self.output_dim = input_dim, output_dim
        lin = nn.Linear(input_dim, d)
        nn.init.orthogonal_(lin.weight, gain=1.41)
        lin.bias.data.zero_()
        self.in_net = nn.Sequential(lin, nn.Dropout(0.1))
        self.transformer = body
        self.lstm = TheirLNLSTM(d, d, 3) if lstm else None
        self.out_net = nn.Sequential(nn.Linear(d, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ratio = 1
        if x.shape[-1] != self.input_dim:
            ratio = x.shape[-1] // self.input_dim
            x = x.reshape(x.shape[0], x.shape[1] * ratio, self.input_dim)
        x = self.in_net(x)
        if self.lstm is not None:
            x = self.lstm(x)
        else:
            x = self.transformer(inputs_embeds=x, return_dict=True).last_hidden_state
        x = self.out_net(x[:, -ratio:])
        if ratio > 1:
            x = x.reshape(x.shape[0], x.shape[1] // ratio, ratio * self.output_dim)
        return x


class TheirLayerNorm(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n)
        self.alpha = nn.Parameter(torch.empty(1, n).uniform_(-bound, bound))
        self.beta = nn.Parameter(torch.empty(1, n).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.size()
        x = x.view(x.size(0), -1)
        x = (x - torch.mean(x, 1).unsqueeze(1).expand_as(x)) / torch.sqrt(torch.var(x, 1).unsqueeze(1).expand_as(x) + 1e-6)
        return (self.alpha.expand_as(x) * x + self.beta.expand_as(x)).view(size)


class TheirLNLSTMCell(nn.Module):
    def __init__(self, inp: int, hidden: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.i2h, self.h2h = nn.Linear(inp, 4 * hidden), nn.Linear(hidden, 4 * hidden)
        self.ln_i2h, self.ln_h2h, self.ln_cell = TheirLayerNorm(4 * hidden), TheirLayerNorm(4 * hidden), TheirLayerNorm(hidden)

    def forward(self, x, hidden):
        h, c = hidden
        h, c, x = h.view(h.size(1), -1), c.view(c.size(1), -1), x.view(x.size(1), -1)
        preact = self.ln_i2h(self.i2h(x)) + self.ln_h2h(self.h2h(h))
        hs = self.hidden_size
        gates = preact[:, :3 * hs].sigmoid()
        g_t = preact[:, 3 * hs:].tanh()
        c_t = self.ln_cell(torch.mul(c, gates[:, hs:2 * hs]) + torch.mul(gates[:, :hs], g_t))
        h_t = torch.mul(gates[:, -hs:], c_t.tanh())
        h_t, c_t = h_t.view(1, h_t.size(0), -1), c_t.view(1, c_t.size(0), -1)
        return h_t, (h_t, c_t)


class TheirLNLSTM(nn.Module):
    """Their LNLSTM loop: per layer, per time step one cell call; fresh random initial state."""

    def __init__(self, inp: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TheirLNLSTMCell(inp if i == 0 else hidden, hidden) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(1, 0, 2).contiguous()
        for layer in self.layers:
            std = math.sqrt(2.0 / (2 * layer.hidden_size))
            shape = (1, x.shape[1], layer.hidden_size)
            h = (torch.randn(shape, device=x.device) * std, torch.randn(shape, device=x.device) * std)
            ys = []
            for i in range(x.size(0)):
                y, h = layer(x.narrow(0, i, 1), h)
                ys.append(y)
            x = torch.cat(ys, 0)
        return x.permute(1, 0, 2)


def their_loss_and_acc(shape: str) -> tuple[Callable, Callable]:
    ce = nn.CrossEntropyLoss()
    if shape.startswith("bit-"):
        def loss_fn(out, y):
            out = torch.reshape(out, (-1, BIT_N, 2))
            ids = torch.zeros(y.shape, device=y.device).long()
            ids[y < 0], ids[y > 0] = 0, 1
            return ce(torch.reshape(out, (-1, 2)), torch.reshape(ids, (-1,)))

        def acc_fn(preds, true):
            preds = preds.reshape(-1, BIT_N, 2).argmax(-1) * 2 - 1
            return (np.sign(preds) == np.sign(true)).mean()
    else:
        def loss_fn(out, y):
            return ce(out[:, 0], y)

        def acc_fn(preds, true):
            return (preds[:, 0].argmax(-1) == true).mean()
    return loss_fn, acc_fn


def their_freeze(model: TheirModel, family: str, frozen: bool) -> None:
    """Their name-substring freezing (GPT-2 names; for BERT the equivalent LayerNorm/position names)."""
    if model.transformer is None or not frozen:
        return
    train = ("ln", "wpe") if family == "gpt2" else ("layernorm", "position_embeddings")
    for name, p in model.transformer.named_parameters():
        p.requires_grad = any(t in name.lower() for t in train)


def their_step(cfg: Any, task: Any, our_model: nn.Module,
               device: torch.device | None = None) -> Callable[[], None]:
    """The authors' step on the same shape, weights copied from ours (fp32, eager attention), on ``device``
    (their trainer moved each batch there with ``.to(device)``; generation stays on the host, as theirs)."""
    device = device or torch.device("cpu")
    spec = task.spec
    bits = cfg.shape.startswith("bit-")
    input_dim = BIT_PATCH if bits else spec.input_dim
    output_dim = 2 * BIT_PATCH if bits else spec.output_dim
    if cfg.model == "lstm":
        model = TheirModel(None, 768, input_dim, output_dim, lstm=True)
        family = "lstm"
    else:
        body = copy.deepcopy(our_model.body)
        body.read_tokens(None)
        hf = body.model.float()
        if hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation("eager")
        else:  # pragma: no cover - older transformers
            hf.config._attn_implementation = "eager"
        for p in hf.parameters():
            p.requires_grad = True
        model = TheirModel(hf, body.info.d_model, input_dim, output_dim)
        family = body.info.family
        their_freeze(model, family, frozen=cfg.model == "fpt")
    model.to(device).train()
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    loss_fn, acc_fn = their_loss_and_acc(cfg.shape)
    rng = np.random.RandomState(0)

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        if bits:
            return their_bits(rng, cfg.batch)
        x = torch.from_numpy(rng.rand(cfg.batch, spec.seq_len, spec.input_dim)).float()
        return x, torch.from_numpy(rng.randint(0, spec.output_dim, cfg.batch)).long()

    def step() -> None:
        x, y = get_batch()
        x, y = x.to(device), y.to(device)
        out = model(x)
        loss = loss_fn(out, y)
        acc_fn(out.detach().cpu().numpy(), y.detach().cpu().numpy())
        x.detach().cpu().numpy()
        loss.backward()
        loss.detach().cpu().item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad()

    return step
