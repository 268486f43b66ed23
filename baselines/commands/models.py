"""``fptbench models``: the registered model adapters and backbones (backbones live in baselines/)."""

from __future__ import annotations

import argparse
import json

from benchmark.cli import args, command


@command("models", "list the model adapters and backbones (or pass --backbone FOLDER / hf:ORG/NAME)", group="start")
@args(lambda p: p.add_argument("--json", action="store_true", help="print the models and backbones as JSON"))
def cmd_models(a: argparse.Namespace) -> int:
    from baselines.backbones import BACKBONES, get_backbone
    from baselines.hf_source import supported_families

    from benchmark.model import MODELS, get_adapter

    models = []
    for name in MODELS.names():
        ad = get_adapter(name)
        models.append({"name": name, "family": ad.family, "default_backbone": ad.backbone or "none",
                       "uses_backbone": ad.uses_backbone, "description": ad.description})
    backbones = []
    for name in BACKBONES.names():
        b = get_backbone(name)
        backbones.append({"name": name, "family": b.family, "pretrained_on": b.pretrained_on, "license": b.license,
                          "stand_in_for": b.stand_in_for})
    also = (f"--backbone FOLDER (saved with transformers' save_pretrained) or hf:ORG/NAME, of a supported family: "
            f"{supported_families()} (docs/own-backbone.md)")
    if a.json:
        print(json.dumps({"models": models, "backbones": backbones, "also_accepted": also}, indent=2))
    else:
        print("models:")
        for m in models:
            print(f"  {m['name']:<22} {m['family']:<40} backbone {m['default_backbone']:<10} {m['description']}")
        print("backbones:")
        for b in backbones:
            stand = f"  [stand-in for {b['stand_in_for']}]" if b["stand_in_for"] else ""
            lic = f" ({b['license']})" if b["license"] else ""
            print(f"  {b['name']:<14} {b['family']:<7} {b['pretrained_on']}{lic}{stand}")
        print(f"also: {also}")
    return 0


