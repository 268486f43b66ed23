"""Bodies over Hugging Face transformer stacks (BERT, GPT-2, Llama), fed input embeddings.

Each wraps the library's base model and declares which module types hold attention,
feed-forward and normalisation weights. The word-embedding table stays in the module (it is
part of the pretrained checkpoint and of the parameter count) but is never used or trained.
"""

from __future__ import annotations

import torch
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
        return self.model(inputs_embeds=h, attention_mask=attention_mask, **self.forward_kwargs).last_hidden_state


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


class GPT2Body(HFBody):
    """The paper's backbone: causal GPT-2 with learned positions (wpe) and a final LayerNorm."""

    group_rules = ((nn.LayerNorm, "norm"), (mg.GPT2Attention, "attn"), (mg.GPT2MLP, "ff"))
    position_params = ("model.wpe.weight",)
    embed_params = ("model.wte.weight",)


class LlamaBody(HFBody):
    """Llama-architecture decoder (e.g. SmolLM2): RoPE, so no learned position table, RMSNorm."""

    group_rules = ((ml.LlamaRMSNorm, "norm"), (ml.LlamaAttention, "attn"), (ml.LlamaMLP, "ff"))
    embed_params = ("model.embed_tokens.weight",)
    forward_kwargs = {"use_cache": False}

