"""Backbones named as users name them: a saved transformers folder, or ``hf:<hub id>``.

``--backbone ./my-minilm`` or ``--backbone hf:sentence-transformers/all-MiniLM-L6-v2`` builds a
:class:`~baselines.backbones.Backbone` on the fly. Its architecture family comes from the folder's
``config.json`` (``model_type``), looked up in the families that register themselves with
:func:`register_family` (GPT-2, BERT, Llama, ViT, DINOv2); any other model type is refused in one
line that names the supported families, before any weights are read.

What makes two runs comparable is the weights, not the name: the backbone's ``identity`` is the
sha256 of its ``config.json`` and weight files, and ``RunConfig.backbone_id`` feeds it into the run
id, so two different folders (or a folder changed in place) never share a run id or get skipped for
each other. The run records the resolved source (absolute folder, or hub id and commit) beside it.

Hub ids are downloaded with ``huggingface_hub.snapshot_download`` (config and weights only) into the
usual HF cache; ``$HF_ENDPOINT`` is read at call time so a mirror (or a test's local server) works.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import FptError

if TYPE_CHECKING:
    from .backbones import Backbone

HUB_PREFIX = "hf:"
# What a folder needs besides config.json: one of these weight layouts (first match wins).
WEIGHT_PATTERNS = ("model.safetensors", "model-*.safetensors", "model.safetensors.index.json",
                   "pytorch_model.bin", "pytorch_model-*.bin", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class Family:
    """One architecture family the harness has a Body for, keyed by transformers ``model_type``."""

    name: str  # recorded as BodyInfo.family: gpt2, bert, llama, vit, dinov2
    model_types: tuple[str, ...]  # config.json model_type values this family's body handles
    label: str  # how refusals name it: "GPT-2", "BERT-like (bert)", ...
    model_cls: type
    body_cls: type
    model_kwargs: tuple[tuple[str, object], ...] = ()
    backbone_cls: type | None = None  # a Backbone subclass (e.g. ViT: its own position budget)


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    for model_type in family.model_types:
        if model_type in FAMILIES and FAMILIES[model_type] is not family:
            raise FptError(f"model type '{model_type}' is claimed by two backbone families; rename one")
        FAMILIES[model_type] = family
    return family


def supported_families() -> str:
    return ", ".join(dict.fromkeys(f.label for f in FAMILIES.values()))


def looks_like_source(name: str) -> bool:
    """A backbone name that is a hub id or a path rather than a registered name."""
    return name.startswith(HUB_PREFIX) or "/" in name or os.sep in name or name.startswith(".") or Path(name).is_dir()


def _weight_files(folder: Path) -> list[Path]:
    for pattern in WEIGHT_PATTERNS:
        found = sorted(folder.glob(pattern))
        if found:
            if pattern.endswith(".index.json"):  # sharded: the index plus every shard it names
                shards = sorted(set(json.loads(found[0].read_text()).get("weight_map", {}).values()))
                return found + [folder / s for s in shards]
            return found
    return []


def _stat_key(files: list[Path]) -> tuple:
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


@functools.lru_cache(maxsize=32)
def _hash_files(key: tuple) -> str:
    """sha256 over (relative name, content) of config.json and the weight files; cached per stat key."""
    h = hashlib.sha256()
    for path, _size, _mtime in key:
        p = Path(path)
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def folder_identity(folder: Path, what: str) -> tuple[dict, str]:
    """(config dict, sha256 of config + weights) of a saved transformers folder; FptError if it is not one."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FptError(f"backbone '{what}': {folder} has no config.json; save the model with "
                       "`model.save_pretrained(folder)` (transformers) or pass a registered name (`fptbench models`)")
    weights = _weight_files(folder)
    if not weights:
        raise FptError(f"backbone '{what}': {folder} has no weights (model.safetensors or pytorch_model.bin); "
                       "save them with `model.save_pretrained(folder)`")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise FptError(f"backbone '{what}': {config_path} is not valid JSON ({exc.msg})") from exc
    return config, _hash_files(_stat_key([config_path, *weights]))


def family_of(config: dict, what: str) -> Family:
    model_type = config.get("model_type", "")
    if model_type not in FAMILIES:
        raise FptError(f"backbone '{what}': model type '{model_type or '?'}' is not a supported family; "
                       f"supported: {supported_families()}")
    return FAMILIES[model_type]


def hub_snapshot(hub_id: str) -> tuple[Path, str]:
    """Download (or find in the HF cache) config.json and the weights of ``hub_id``: (local folder, commit)."""
    from huggingface_hub import snapshot_download

    if not hub_id or hub_id.count("/") > 1:
        raise FptError(f"backbone 'hf:{hub_id}' is not a hub id; write hf:ORG/NAME or hf:NAME")
    endpoint = os.environ.get("HF_ENDPOINT") or None
    try:
        local = Path(snapshot_download(hub_id, allow_patterns=["config.json", *WEIGHT_PATTERNS], endpoint=endpoint))
    except Exception as exc:  # noqa: BLE001 - network, auth, missing repo: one line with the cause
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FptError(f"backbone 'hf:{hub_id}' could not be downloaded ({first}); check the id and the network, "
                       "or save the model to a folder and pass --backbone FOLDER") from exc
    return local, local.name  # snapshot folders are named by the commit hash


def backbone_from_source(name: str, *, registered: "Backbone | None" = None) -> "Backbone":
    """A Backbone for a folder or ``hf:`` id (``registered``: the named backbone a FPTBENCH_*_DIR folder replaces)."""
    from .backbones import Backbone

    if name.startswith(HUB_PREFIX):
        hub_id = name[len(HUB_PREFIX):]
        folder, commit = hub_snapshot(hub_id)
        source = f"hub {hub_id}@{commit}"
    else:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            hint = f"; for a hub model write --backbone hf:{name}" if name.count("/") == 1 and not name.startswith((".", "/")) else ""
            raise FptError(f"backbone '{name}': no such folder{hint} (registered names: `fptbench models`)")
        folder = folder.resolve()
        source = f"folder {folder}"
    what = registered.name if registered else name
    config, digest = folder_identity(folder, what)
    family = family_of(config, what)
    if registered is not None and family.name != registered.family:
        raise FptError(f"backbone '{registered.name}' is a {registered.family} model but {folder} holds a "
                       f"'{config.get('model_type')}' ({family.label}); point the variable at a {registered.family} folder "
                       "or pass the folder itself as --backbone")
    cls = family.backbone_cls or Backbone
    model_cls = family.model_cls
    pretrained_on = (f"{registered.pretrained_on}, local copy" if registered
                     else f"as saved in {source} ({config.get('_name_or_path') or config.get('model_type')})")
    return cls(
        name=registered.name if registered else (name if name.startswith(HUB_PREFIX) else str(folder)),
        family=family.name,
        make_config=lambda: model_cls.config_class.from_pretrained(str(folder)),
        build_body=family.body_cls,
        model_cls=model_cls,
        model_kwargs=family.model_kwargs,
        load_pretrained_dir=lambda: folder,
        pretrained_on=pretrained_on,
        license=registered.license if registered else "",
        stand_in_for=registered.stand_in_for if registered else "",
        how_to_get=f"check {source}",
        source=source,
        identity=f"sha256:{digest}",
    )
