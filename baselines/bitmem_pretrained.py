"""``bit-memory-pretrained``: a backbone pretrained by the harness itself on Bit Memory, then frozen.

The paper's Table 2 asks whether *any* pretraining helps: it pretrains the same transformer on Bit
Memory and transfers it frozen. Here the pretraining is an ordinary harness run:

    make_config("bit-memory", "random-full", backbone=<the language baseline's backbone>,
                seed=pretrain_seed, profile=pretrain_profile)

(``random-full``: same architecture, random init, everything trained). ``pretrain_profile`` is, by
default, the profile of the transfer run itself (``fptbench run --profile paper`` pretrains under the
paper's Bit Memory budget; the harness tells the adapter its run's profile, see
``benchmark.runner.adapter_for``); outside a harness run (an adapter built by hand) it falls back to
``cpu``. Its budget is that profile's Bit Memory budget (``cpu``: 300 steps, ``ci``: 200,
``paper``: 80k), optionally cut by ``pretrain_steps``. When the run finishes, the model holds its best-validation weights (the trainer
restores them before testing), and the adapter saves the body to

    cache_dir()/bit-memory-pretrained/<pretraining config hash[:16]>/body.safetensors (+ manifest.json)

atomically, with a sha256 verified on every load. A second transfer run with the same pretraining
config reuses it. The pretraining run's own Parquet results (its Bit Memory accuracy) stay beside
it in ``results/``. Transfer runs record the checkpoint in ``pretrained_on`` (a results column):
``bit-memory (harness run <hash16>, ...)``.

Options: ``pretrain_profile`` (default: the run's profile), ``pretrain_seed`` (default 0),
``pretrain_steps`` (default: the profile's), plus the usual ``preset`` / ``train_*`` for the transfer.
The run's config hash already covers its profile, so following it needs no extra recorded option.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any


from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.hashing import sha256_file
from benchmark.model import register_model
from benchmark.paths import cache_dir

from .backbones import get_backbone
from .body import Body
from .fpt import RandomFull, TransformerAdapter

PRETRAIN_TASK = "bit-memory"
PRETRAIN_MODEL = "random-full"
FALLBACK_PROFILE = "cpu"  # only when the adapter is built outside a harness run (no run profile known)


def pretrain_config(backbone: str, profile: str, seed: int, steps: int | None):
    from benchmark.runner import make_config

    return make_config(PRETRAIN_TASK, PRETRAIN_MODEL, backbone=backbone, seed=seed, profile=profile, max_steps=steps)


def _entry_dir(cfg) -> Path:
    return cache_dir() / "bit-memory-pretrained" / cfg.config_hash[:16]


def pretrained_body_weights(backbone: str, profile: str = "cpu", seed: int = 0, steps: int | None = None,
                            *, progress: bool = False) -> tuple[Path, dict[str, Any], bool]:
    """(safetensors path, manifest, produced_now): run the pretraining once, then reuse its cache.

    The run itself writes into ``<entry>.work/results`` (checkpoints there make a killed pretraining
    resume); the finished entry (weights, manifest, the run's Parquet results) then replaces
    ``<entry>`` in one atomic move."""
    from benchmark.runner import run as run_config
    from safetensors.torch import save_file

    cfg = pretrain_config(backbone, profile, seed, steps)
    entry = _entry_dir(cfg)
    if (entry / "manifest.json").exists():
        manifest = json.loads((entry / "manifest.json").read_text())
        if sha256_file(str(entry / "body.safetensors")) != manifest["body_sha256"]:
            raise FptError(f"cached bit-memory pretraining {entry} fails its checksum; delete that folder to redo it")
        return entry / "body.safetensors", manifest, False

    work = entry.with_name(entry.name + ".work")
    from benchmark.record import finished_run_exists

    if finished_run_exists(work / "results", cfg):  # finished but never saved (killed in between): redo
        shutil.rmtree(work)
    adapter = RandomFull(backbone=backbone)
    status = run_config(cfg, work / "results", progress=progress, adapter=adapter)
    if status != "finished":
        raise FptError(f"bit-memory pretraining of '{backbone}' ended '{status}' ({cfg.run_id}); "
                       "try another pretrain_seed or a smaller learning rate")
    body = adapter.built_model.body
    with atomic_dir(entry) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in body.state_dict().items()}, str(tmp / "body.safetensors"))
        shutil.copytree(work / "results", tmp / "results", ignore=shutil.ignore_patterns("checkpoints"))
        manifest = {
            "pretrain_run_id": cfg.run_id,
            "pretrain_config_hash": cfg.config_hash,
            "checkpoint": cfg.config_hash[:16],
            "task": PRETRAIN_TASK, "task_fingerprint": cfg.task_fingerprint, "model": PRETRAIN_MODEL,
            "backbone": backbone, "profile": profile, "seed": seed, "steps": cfg.budget.steps,
            "budget": cfg.budget.to_dict(),
            "body_sha256": sha256_file(str(tmp / "body.safetensors")),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    shutil.rmtree(work, ignore_errors=True)
    return entry / "body.safetensors", manifest, True


@register_model("bit-memory-pretrained")
class BitMemoryPretrained(TransformerAdapter):
    family = "frozen-bitmemory-pretrained-transformer"
    controls = ("random-frozen", "no-body", "one-attention")  # same architecture random and frozen, then no body
    description = ("The backbone's architecture pretrained by the harness on Bit Memory (random init, fully trained, "
                   "cached by config hash), then frozen like FPT.")
    pretrained = False  # the architecture is built randomly, then the harness's own checkpoint is loaded
    run_profile: str | None = None  # set by the harness (benchmark.runner.adapter_for) to the run's profile

    def _pretrain_args(self) -> dict[str, Any]:
        steps = self.options.get("pretrain_steps")
        profile = self.options.get("pretrain_profile") or self.run_profile or FALLBACK_PROFILE
        return {"profile": str(profile),
                "seed": int(self.options.get("pretrain_seed", 0)),
                "steps": None if steps is None else int(steps)}

    def make_body(self, seed: int) -> Body:
        path, manifest, produced = pretrained_body_weights(self.backbone, **self._pretrain_args())
        body = get_backbone(self.backbone).build(pretrained=False)
        from safetensors.torch import load_file

        missing, unexpected = body.load_state_dict(load_file(str(path)), strict=False)
        if missing or unexpected:
            raise FptError(f"bit-memory checkpoint {path} does not fit backbone '{self.backbone}' "
                           f"(missing {missing[:3]}, unexpected {unexpected[:3]}); delete it to redo the pretraining")
        self.pretrain_manifest = {**manifest, "produced_now": produced}
        body.info = dataclasses.replace(
            body.info,
            pretrained_on=(f"bit-memory (harness run {manifest['checkpoint']}: {manifest['model']} "
                           f"{manifest['profile']} profile, {manifest['steps']} steps, seed {manifest['seed']})"),
            weights=str(path),
            extra={**body.info.extra, "pretrain_checkpoint": manifest["checkpoint"],
                   "pretrain_run_id": manifest["pretrain_run_id"], "body_sha256": manifest["body_sha256"]},
        )
        return body

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["pretrained"] = True
        if hasattr(self, "pretrain_manifest"):
            m = self.pretrain_manifest
            out["pretrain_checkpoint"] = m["checkpoint"]
            out["pretrain_run_id"] = m["pretrain_run_id"]
            out["pretrain_body_sha256"] = m["body_sha256"]
        return out
