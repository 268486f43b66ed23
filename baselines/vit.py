"""Vision-transformer bodies: the task's input embeddings go through the ViT's blocks and final norm.

As in the paper, a ViT's patch embedding and class token are not used: the task's own input layer
feeds the transformer blocks, and the body adds its *own* learned position table of shape
``(1, VIT_MAX_POSITIONS, d)``, zero-initialised (the image model's 2-D position grid belongs to its
patch embedding, which is not used). That table is the body's only ``pos`` parameter.

``vit-base`` is the paper's ViT (``google/vit-base-patch16-224``, supervised ImageNet-21k/1k): it
needs internet or a local copy (``FPTBENCH_VIT_BASE_DIR``); its random-init form needs neither.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import ViTConfig, ViTModel
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.vit import modeling_vit as mv

from .backbones import Backbone, register_backbone
from .hf_source import Family, register_family
from .body import Body, BodyInfo

# The paper's GPT-2 has 1024 positions; the ViT bodies get the same budget (CIFAR-10 LRA needs 1024).
VIT_MAX_POSITIONS = 1024


class ViTBlocksBody(Body):
    """Base for bodies that run a ViT's block stack and final norm over input embeddings.

    Subclasses say where the blocks and final norm live (``blocks()``, ``final_norm()``) and which
    parameters of the unused image front end are ``embed`` (never trained)."""

    position_params = ("pos",)

    def __init__(self, model: nn.Module, info: BodyInfo) -> None:
        super().__init__()
        self.model = model
        self.info = info
        self.pos = nn.Parameter(torch.zeros(1, VIT_MAX_POSITIONS, info.d_model))

    def position_table(self) -> None:  # type: ignore[override]
        return None  # the table is the parameter ``pos`` itself, not an nn.Embedding

    def extend_positions(self, n: int) -> None:
        """Grow the body's own (not pretrained, zero-initialised) table to ``n`` rows, tiling as the base does."""
        import dataclasses

        old = self.pos.data
        if n <= old.shape[1]:
            return
        self.pos = nn.Parameter(old[:, torch.arange(n) % old.shape[1]].clone())
        self.info = dataclasses.replace(self.info, max_positions=n,
                                        extra={**self.info.extra, "positions_extended_from": int(old.shape[1])})

    def blocks(self) -> nn.ModuleList:  # pragma: no cover - subclasses
        raise NotImplementedError

    def final_norm(self) -> nn.Module:  # pragma: no cover - subclasses
        raise NotImplementedError

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = h + self.pos[:, : h.shape[1]]
        attn_mask = None if mask is None else create_bidirectional_mask(
            config=self.model.config, inputs_embeds=h, attention_mask=mask.long())
        for block in self.blocks():
            h = block(h, attn_mask)
        return self.final_norm()(h)


class ViTBody(ViTBlocksBody):
    """transformers ``ViTModel`` (pre-LN blocks: layernorm_before/after, attention, MLP)."""

    group_rules = ((nn.LayerNorm, "norm"), (mv.ViTAttention, "attn"), (mv.ViTMLP, "ff"))
    embed_params = (
        "model.embeddings.cls_token",
        "model.embeddings.position_embeddings",
        "model.embeddings.patch_embeddings.projection.weight",
        "model.embeddings.patch_embeddings.projection.bias",
    )

    def blocks(self) -> nn.ModuleList:
        return self.model.layers

    def final_norm(self) -> nn.Module:
        return self.model.layernorm


class ViTFamilyBackbone(Backbone):
    """A Backbone whose position budget is the body's own table, not the image model's grid."""

    def max_positions(self, config) -> int | None:
        return VIT_MAX_POSITIONS


register_family(Family("vit", ("vit",), "ViT (vit)", ViTModel, ViTBody, (("add_pooling_layer", False),),
                       ViTFamilyBackbone))

register_backbone(ViTFamilyBackbone(
    name="vit-base",
    family="vit",
    make_config=lambda: ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, image_size=224, patch_size=16),
    build_body=ViTBody,
    model_cls=ViTModel,
    model_kwargs=(("add_pooling_layer", False),),
    load_pretrained_dir=lambda: "google/vit-base-patch16-224",
    env_dir="FPTBENCH_VIT_BASE_DIR",  # a local copy: recorded with its folder and hash (hf_source.py)
    pretrained_on="images (google/vit-base-patch16-224: supervised ImageNet-21k, finetuned ImageNet-1k)",
    license="Apache-2.0",
    how_to_get="needs the hub id 'google/vit-base-patch16-224' (internet or a filled HF cache) or a local copy: "
    "set FPTBENCH_VIT_BASE_DIR=/path/to/vit-base-patch16-224",
))

register_backbone(ViTFamilyBackbone(
    name="tiny-vit", family="vit",
    make_config=lambda: ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                  image_size=32, patch_size=16),
    build_body=ViTBody, model_cls=ViTModel, model_kwargs=(("add_pooling_layer", False),),
    load_pretrained_dir=None, pretrained_on="nothing (random test config)",
))
