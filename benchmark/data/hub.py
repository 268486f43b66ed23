"""Hugging Face hub copies of datasets: one more source beside the canonical URL, read with ``datasets``.

A dataset may declare a ``HubSource``: a hub repository pinned to one commit (never a branch: a
branch moves, and a prepared copy must be reproducible), the config to read, and a ``build``
function that turns the loaded splits into exactly the prepared files the canonical builder writes.
Equality with the canonical path is the contract (tests prove it on fixtures laid out like the
hub repository); the hub is a convenience for users whose network reaches it better than the
dataset authors' server.

Splits are read with ``datasets.load_dataset(location, config, split=..., revision=...,
streaming=False)``. ``location`` is the hub id, or a local folder holding a snapshot of the repository
at the pinned commit when ``FPTBENCH_HUB_<NAME>`` names one (how air-gapped users and the tests use
it: the same call, a local path instead of the hub id). ``datasets`` is imported only here, only
when a hub source is used: the harness core never needs it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import FptError

if TYPE_CHECKING:  # pragma: no cover
    import datasets

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
PLACEHOLDER = "UNPINNED"  # what a hub source carries until someone fills in the commit hash
SplitLoader = Callable[[str], "datasets.Dataset"]


@dataclass(frozen=True)
class HubSource:
    """A pinned hub copy of a dataset.

    ``build(dest, load)`` writes the prepared files into ``dest``; ``load(split)`` returns that split
    as a ``datasets.Dataset``. It returns a dict of provenance details merged into the manifest's
    ``source`` (e.g. how rows were reordered to the canonical order).
    """

    repo: str  # e.g. "uoft-cs/cifar10"
    revision: str  # a full 40-hex commit hash of the hub repository
    config: str | None
    build: Callable[[Path, SplitLoader], dict]
    env_key: str  # names the local-snapshot variable: FPTBENCH_HUB_<ENV_KEY>
    notes: tuple[str, ...] = field(default_factory=tuple)  # shown in docs/status: what was checked, caveats

    @property
    def env_var(self) -> str:
        return "FPTBENCH_HUB_" + "".join(c if c.isalnum() else "_" for c in self.env_key.upper())

    @property
    def pinned(self) -> bool:
        return bool(COMMIT_RE.match(self.revision))

    @property
    def url(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo}/tree/{self.revision}"

    def describe(self) -> str:
        return f"hub {self.repo}@{self.revision[:12]}" + (f" (config {self.config})" if self.config else "")

    def require_pinned(self) -> None:
        """A hub copy is read only at a pinned commit: ``main`` can change under a prepared copy."""
        if not self.pinned:
            raise FptError(f"hub source {self.repo} has no pinned revision ({self.revision!r}): set its revision to the "
                           f"full 40-hex commit hash of the hub repository that was checked against the canonical "
                           f"source, or prepare with --source url")

    def location(self) -> tuple[str, bool]:
        """(what ``load_dataset`` is given, whether it is a local snapshot)."""
        local = os.environ.get(self.env_var)
        if not local:
            return self.repo, False
        if not Path(local).is_dir():
            raise FptError(f"{self.env_var}='{local}' is not a folder; point it at a snapshot of {self.repo} at "
                           f"revision {self.revision} (or unset it to read the hub)")
        return str(Path(local).resolve()), True


def import_datasets() -> Any:
    """``datasets``, or one line saying how to get it (it is in the ``assets`` extra)."""
    try:
        import datasets
    except ImportError as exc:
        raise FptError("the hub source needs the `datasets` package: pip install 'fptbench[assets]' "
                       "(or prepare with --source url)") from exc
    return datasets


def split_loader(source: HubSource, cache_dir: Path) -> tuple[SplitLoader, dict]:
    """A ``load(split)`` function for ``source`` and the provenance to record in the manifest.

    The hub cache goes under ``cache_dir`` (``<data root>/_downloads/hub``) so a ``--force``
    re-prepare does not download again, like the canonical downloads.
    """
    source.require_pinned()
    datasets = import_datasets()
    location, local = source.location()
    where = (f"local snapshot {location} of {source.repo} (stands for revision {source.revision}; a folder cannot "
             "prove its revision)") if local else f"hub {source.repo} at revision {source.revision}"

    def load(split: str):
        try:
            return datasets.load_dataset(location, source.config, split=split, revision=source.revision,
                                         cache_dir=str(cache_dir), streaming=False)
        except FptError:
            raise
        except Exception as exc:  # network, missing split, unreadable files: one line with the way out
            raise FptError(f"cannot load split '{split}' from {where}: {type(exc).__name__}: {str(exc)[:300]}; "
                           f"prepare with --source url, or set {source.env_var} to a local snapshot") from exc

    provenance = {"from": where, "via": "hub", "repo": source.repo, "revision": source.revision,
                  "config": source.config, "datasets_version": datasets.__version__,
                  "local_snapshot": location if local else None}
    return load, provenance


__all__ = ["HubSource", "SplitLoader", "split_loader", "import_datasets", "PLACEHOLDER", "COMMIT_RE"]
