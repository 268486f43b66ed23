"""Bodies over Hugging Face transformer stacks (BERT, GPT-2, Llama), fed input embeddings.

Each wraps the library's base model and declares which module types hold attention,
feed-forward and normalisation weights. The word-embedding table stays in the module (it is
part of the pretrained checkpoint and of the parameter count) but is never used or trained.

Doing less work: a read-out head reads only the last ``k`` real tokens, so once ``read_tokens(k)``
is set the LAST layer is computed only at those query positions (its keys and values still come
from every position: MiniLM is bidirectional and GPT-2 causal, and both need the whole sequence).
Earlier layers cannot be restricted: every position feeds the next layer's keys. The body's output
then holds valid states at the read positions only (zeros elsewhere). Same function, different
floating-point order and dropout draws than the full layer (tests/test_read_positions.py).
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.bert import modeling_bert as mb
from transformers.models.gpt2 import modeling_gpt2 as mg
from transformers.models.llama import modeling_llama as ml

from .body import Body, BodyInfo


class HFBody(Body):
    """A transformers base model run on ``inputs_embeds``; subclasses declare groups and extra kwargs."""

    forward_kwargs: dict = {}

    def __init__(self, model: nn.Module, info: BodyInfo) -> None:
        super().__init__()
        self.model = model
        self.info = info

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attention_mask = None if mask is None else mask.long()
        layer = self.last_layer() if self.read_k is not None else None
        if layer is not None:
            from .layers import last_positions

            layer._fpt_read_idx = last_positions(mask, h.shape[0], h.shape[1], self.read_k, h.device)
        try:
            return self.model(inputs_embeds=h, attention_mask=attention_mask, **self.kwargs_for(h)).last_hidden_state
        finally:
            if layer is not None:
                layer._fpt_read_idx = None

    read_k: int | None = None

    def kwargs_for(self, h: torch.Tensor) -> dict:
        """Extra keyword arguments of the library's forward for inputs on ``h``'s device."""
        return self.forward_kwargs

    def last_layer(self) -> nn.Module | None:
        """The final transformer layer, for families that implement a read-restricted version."""
        return None

    @staticmethod
    def restricted_layer_forward(layer: nn.Module, hidden: torch.Tensor, mask4d: torch.Tensor | None,
                                 idx: torch.Tensor) -> torch.Tensor:  # pragma: no cover - per family
        raise NotImplementedError

    @staticmethod
    def layer_mask(args: tuple, kwargs: dict) -> torch.Tensor | None:
        """The 4-D attention mask the library passed to the layer (None: no mask)."""
        return kwargs.get("attention_mask", args[0] if args else None)

    def read_tokens(self, k: int | None) -> None:
        """Compute the last layer only at the last ``k`` real positions (None: everywhere).

        The layer's forward is overridden on the instance (parameter names stay the same); all the
        state it needs lives on the layer itself, so a deep copy of the body stays independent.
        """
        layer = self.last_layer()
        if layer is None:
            return
        self.read_k = k
        if "forward" not in layer.__dict__:
            layer._fpt_read_idx = None
            layer._fpt_restricted = type(self).restricted_layer_forward
            layer._fpt_layer_mask = type(self).layer_mask
            layer.forward = types.MethodType(_read_restricted_forward, layer)


def _read_restricted_forward(layer: nn.Module, hidden_states: torch.Tensor, *args, **kwargs):
    """Instance forward of a last layer: restricted while its body has set read indices, else the class's."""
    idx = layer._fpt_read_idx
    if idx is None:
        return type(layer).forward(layer, hidden_states, *args, **kwargs)
    return layer._fpt_restricted(layer, hidden_states, layer._fpt_layer_mask(args, kwargs), idx)


def _gather(h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.gather(h, 1, idx[..., None].expand(-1, -1, h.shape[-1]))


def _scatter(h: torch.Tensor, idx: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """A (B, T, D) tensor holding ``rows`` at the read positions and zeros elsewhere."""
    return h.new_zeros(h.shape[0], h.shape[1], rows.shape[-1], dtype=rows.dtype).scatter(
        1, idx[..., None].expand(-1, -1, rows.shape[-1]), rows)


def _rows_mask(mask4d: torch.Tensor | None, idx: torch.Tensor, seq_len: int, causal: bool) -> torch.Tensor | None:
    """The attention mask of the read queries: the layer's 4-D mask rows at ``idx`` (bool keep or
    additive float), or, when the library passed none, a causal mask for causal bodies."""
    if mask4d is not None:
        if mask4d.dim() != 4:
            raise ValueError(f"unexpected attention mask of shape {tuple(mask4d.shape)}")
        if mask4d.shape[-2] == 1:
            return mask4d
        rows = idx[:, None, :, None].expand(-1, mask4d.shape[1], -1, mask4d.shape[-1])
        return torch.gather(mask4d.expand(idx.shape[0], -1, -1, -1), 2, rows)
    if not causal:
        return None
    keys = torch.arange(seq_len, device=idx.device)
    return (keys[None, None, None, :] <= idx[:, None, :, None])


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.view(b, t, n, d // n).transpose(1, 2)


def _attend(q, k, v, mask, dropout: float, scale: float) -> torch.Tensor:
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.to(q.dtype)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, scale=scale)
    b, n, t, hd = out.shape
    return out.transpose(1, 2).reshape(b, t, n * hd)


class BertBody(HFBody):
    """Bidirectional encoder (e.g. MiniLM). Adds learned positions and token-type 0, then LayerNorm."""

    group_rules = (
        (nn.LayerNorm, "norm"),
        (mb.BertSelfAttention, "attn"),
        (mb.BertSelfOutput, "attn"),
        (mb.BertIntermediate, "ff"),
        (mb.BertOutput, "ff"),
    )
    position_params = ("model.embeddings.position_embeddings.weight",)
    embed_params = ("model.embeddings.word_embeddings.weight", "model.embeddings.token_type_embeddings.weight")

    def last_layer(self) -> nn.Module | None:
        return self.model.encoder.layer[-1]

    @staticmethod
    def restricted_layer_forward(layer, hidden, mask4d, idx):
        """Post-LN BERT layer at the read queries; keys/values from all positions (bidirectional)."""
        sa = layer.attention.self
        hs = _gather(hidden, idx)
        n = sa.num_attention_heads
        ctx = _attend(_heads(sa.query(hs), n), _heads(sa.key(hidden), n), _heads(sa.value(hidden), n),
                      _rows_mask(mask4d, idx, hidden.shape[1], causal=False),
                      sa.dropout.p if sa.training else 0.0, sa.scaling)
        out = layer.feed_forward_chunk(layer.attention.output(ctx, hs))
        return _scatter(hidden, idx, out)


class GPT2Body(HFBody):
    """The paper's backbone: causal GPT-2 with learned positions (wpe) and a final LayerNorm."""

    group_rules = ((nn.LayerNorm, "norm"), (mg.GPT2Attention, "attn"), (mg.GPT2MLP, "ff"))
    position_params = ("model.wpe.weight",)

    def kwargs_for(self, h: torch.Tensor) -> dict:
        """No key/value cache on CUDA: a run never generates, and GPT2Model builds one on every forward by
        default (about 2.4 GB at evaluation batch 64 x 1,024 tokens on GPT-2 small). On CPU the library
        default stays: without the cache transformers builds the causal mask another way and the numbers
        move in the last bits, and the committed CPU results and the CI reference must not move."""
        return {"use_cache": False} if h.device.type == "cuda" else {}
    embed_params = ("model.wte.weight",)

    def last_layer(self) -> nn.Module | None:
        attn = self.model.h[-1].attn
        if attn.reorder_and_upcast_attn or getattr(self.model.h[-1], "crossattention", None) is not None:
            return None  # variants this restricted forward does not reproduce
        return self.model.h[-1]

    @staticmethod
    def layer_mask(args: tuple, kwargs: dict) -> torch.Tensor | None:
        # GPT2Model calls block(hidden, cache, causal_mask, encoder_hidden_states, ...)
        return kwargs.get("attention_mask", args[1] if len(args) > 1 else None)

    @staticmethod
    def restricted_layer_forward(block, hidden, mask4d, idx):
        """Pre-LN GPT-2 block at the read queries; keys/values from all earlier positions (causal)."""
        attn, d = block.attn, hidden.shape[-1]
        a = block.ln_1(hidden)
        w, b = attn.c_attn.weight, attn.c_attn.bias  # Conv1D: x @ w + b, w is (d, 3d): q | k | v
        q = _gather(a, idx) @ w[:, :d] + b[:d]
        kv = a @ w[:, d:] + b[d:]
        n = attn.num_heads
        ctx = _attend(_heads(q, n), _heads(kv[..., :d], n), _heads(kv[..., d:], n),
                      _rows_mask(mask4d, idx, hidden.shape[1], causal=True),
                      attn.attn_dropout.p if attn.training else 0.0, attn.scaling)
        hs = _gather(hidden, idx) + attn.resid_dropout(attn.c_proj(ctx))
        hs = hs + block.mlp(block.ln_2(hs))
        return _scatter(hidden, idx, hs)


class LlamaBody(HFBody):
    """Llama-architecture decoder (e.g. SmolLM2): RoPE, so no learned position table, RMSNorm."""

    group_rules = ((ml.LlamaRMSNorm, "norm"), (ml.LlamaAttention, "attn"), (ml.LlamaMLP, "ff"))
    embed_params = ("model.embed_tokens.weight",)
    forward_kwargs = {"use_cache": False}

    def input_bias_std(self) -> float | None:
        """No learned positions, no biases, RMSNorm and causal attention: an all-zero input token stays zero
        through every layer (the first token attends only to itself), and RMSNorm's backward at zero overflows.
        The input bias starts at the scale of the body's own token embeddings (pretrained or random)."""
        return float(self.model.embed_tokens.weight.detach().float().std())

