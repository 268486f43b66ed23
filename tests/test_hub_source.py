"""Hub sources: a CIFAR-10 repository in the hub's own layout, built from the canonical fixture archive,
read through the same ``datasets.load_dataset`` call a hub download takes (a local path instead of the
hub id), prepares files byte-identical to the canonical URL path's.

The fixture repository is made the way ``uoft-cs/cifar10`` was: the `datasets` loading script walked
the archive in member order, yielding each train batch as HWC uint8 arrays that the ``Image`` feature
stores as PNG, and the result was written as Parquet under ``plain_text/`` with a card whose YAML
lists the config's data files. The fixture archive lists its members in the real archive's order, so
the reordering the hub builder applies is exercised, not assumed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import FileServer, cifar_batches, write_cifar_tarball

import tasks.cifar10 as cifar_mod
from benchmark.cli import main
from benchmark.data import DATASETS, prepare
from benchmark.data.hub import PLACEHOLDER
from benchmark.data.safe_pickle import safe_loads
from benchmark.errors import FptError

datasets = pytest.importorskip("datasets")

# the member order of the real cifar-10-python.tar.gz (readme.html and batches.meta interleaved)
ARCHIVE_ORDER = ("data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta", "data_batch_2",
                 "data_batch_5", "data_batch_1")
FILES = ("train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy")


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FPTBENCH_HUB_CIFAR10", raising=False)
    return tmp_path


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """The canonical fixture archive, members in the real archive's order; the module's md5 swapped for its own."""
    b = cifar_batches()
    ordered = {name: b[name] for name in ARCHIVE_ORDER if name in b}
    path = write_cifar_tarball(tmp_path / "src" / "cifar-10-python.tar.gz", ordered,
                               raw_override={"readme.html": b"<html>fixture</html>"})
    monkeypatch.setattr(cifar_mod, "CIFAR10_REMOTE",
                        replace(cifar_mod.CIFAR10_REMOTE, md5=hashlib.md5(path.read_bytes()).hexdigest()))
    return path


def build_hub_repo(archive: Path, repo: Path) -> Path:
    """A local repository laid out like uoft-cs/cifar10 at the pinned revision, from the canonical archive,
    converted the way the hub's loading script did (archive member order, HWC arrays -> Image feature)."""
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=list(cifar_mod.LABEL_NAMES))})
    splits = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    (repo / "plain_text").mkdir(parents=True)
    counts = {}
    for split, wanted in splits.items():
        imgs, labels = [], []
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:  # archive order, as dl_manager.iter_archive yields it
                name = member.name.split("/")[-1]
                if name not in wanted:
                    continue
                d = safe_loads(tar.extractfile(member).read(), source=member.name, encoding="bytes")
                for row, label in zip(d[b"data"], d[b"labels"]):
                    imgs.append(np.transpose(np.reshape(row, (3, 32, 32)), (1, 2, 0)))
                    labels.append(label)
        ds = datasets.Dataset.from_dict({"img": imgs, "label": labels}, features=features)
        ds.to_parquet(str(repo / "plain_text" / f"{split}-00000-of-00001.parquet"))
        counts[split] = len(labels)
    names = "\n".join(f"          '{i}': {n}" for i, n in enumerate(cifar_mod.LABEL_NAMES))
    (repo / "README.md").write_text(f"""---
pretty_name: Cifar10
dataset_info:
  config_name: plain_text
  features:
  - name: img
    dtype: image
  - name: label
    dtype:
      class_label:
        names:
{names}
  splits:
  - name: train
    num_examples: {counts['train']}
  - name: test
    num_examples: {counts['test']}
configs:
- config_name: plain_text
  data_files:
  - split: train
    path: plain_text/train-*
  - split: test
    path: plain_text/test-*
  default: true
---
# Dataset Card for CIFAR-10 (fixture)
""")
    return repo


@pytest.fixture
def hub_repo(archive, tmp_path, monkeypatch):
    repo = build_hub_repo(archive, tmp_path / "hub" / "uoft-cs--cifar10")
    monkeypatch.setenv("FPTBENCH_HUB_CIFAR10", str(repo))
    return repo


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_hub_layout_prepares_byte_identical_copy(data_env, archive, hub_repo):
    url = prepare("cifar10", root=data_env / "url", source_dir=archive.parent, source="url")
    hub = prepare("cifar10", root=data_env / "hub", source="hub")
    for f in FILES:
        assert (url / f).read_bytes() == (hub / f).read_bytes(), f
    assert manifest(url)["files"] == manifest(hub)["files"]  # same sizes and sha256 for every prepared file
    src = manifest(hub)["source"]
    assert src["via"] == "hub" and src["repo"] == "uoft-cs/cifar10" and src["revision"] == cifar_mod.CIFAR10_HUB_REVISION
    assert src["config"] == "plain_text" and src["local_snapshot"] == str(hub_repo.resolve())
    assert src["train_block_order"] == list(cifar_mod.HUB_TRAIN_ORDER)
    # the hub rows really are in archive order (4,3,2,5,1): the reordering is what makes them equal
    first_hub_row = datasets.load_dataset(str(hub_repo), "plain_text", split="train",
                                          cache_dir=str(data_env / "hf-cache"))[0]["label"]
    assert first_hub_row == cifar_batches()["data_batch_4"][b"labels"][0]


def test_revision_must_be_a_pinned_commit(data_env, hub_repo, monkeypatch):
    spec = DATASETS.get("cifar10")
    assert spec.hub is not None and spec.hub.pinned and len(spec.hub.revision) == 40
    monkeypatch.setitem(DATASETS._items, "cifar10", replace(spec, hub=replace(spec.hub, revision=PLACEHOLDER)))
    with pytest.raises(FptError, match="no pinned revision"):
        prepare("cifar10", source="hub")
    monkeypatch.setitem(DATASETS._items, "cifar10", replace(spec, hub=replace(spec.hub, revision="main")))
    with pytest.raises(FptError, match="no pinned revision"):
        prepare("cifar10", source="hub")


def test_auto_falls_back_to_hub_when_canonical_download_fails(data_env, hub_repo, monkeypatch):
    with FileServer({}) as server:  # the canonical archive is missing there: HTTP 404
        monkeypatch.setenv("FPTBENCH_MIRROR_CIFAR10", server.url)
        folder = prepare("cifar10", source="auto")
        assert server.requests  # the canonical source was tried first
    assert manifest(folder)["source"]["via"] == "hub"


def test_source_choices_are_checked(data_env, archive, hub_repo):
    with pytest.raises(FptError, match="no hub source"):
        prepare("remote-homology", source="hub")
    with pytest.raises(FptError, match="--source url"):
        prepare("cifar10", source="hub", source_dir=archive.parent)
    with pytest.raises(FptError, match="unknown data source"):
        prepare("cifar10", source="mirror")


def test_hub_split_with_other_labels_is_refused(data_env, hub_repo):
    readme = hub_repo / "README.md"
    readme.write_text(readme.read_text().replace("airplane", "aeroplane"))
    with pytest.raises(FptError, match="not CIFAR-10's"):
        prepare("cifar10", source="hub")


def test_cli_prepare_source_and_status_via(data_env, archive, hub_repo, capsys):
    assert main(["data", "prepare", "cifar10", "--source", "hub"]) == 0
    assert "via hub" in capsys.readouterr().out
    assert main(["data", "status", "--json"]) == 0
    row = {r["name"]: r for r in json.loads(capsys.readouterr().out)}["cifar10"]
    assert row["via"] == "hub" and row["checksum"] == "ok" and "uoft-cs/cifar10" in row["source"]
    assert main(["data", "prepare", "cifar10", "--force", "--source", "url", "--source-dir", str(archive.parent)]) == 0
    capsys.readouterr()
    assert main(["data", "status", "--json"]) == 0
    row = {r["name"]: r for r in json.loads(capsys.readouterr().out)}["cifar10"]
    assert row["via"] == "dir"
    assert main(["data", "prepare", "remote-homology", "--source", "hub"]) == 1
    assert "no hub source" in capsys.readouterr().out


def test_core_does_not_import_datasets():
    code = ("import sys, benchmark.cli, benchmark.data, benchmark.data.hub, benchmark.export, benchmark.runner, tasks; "
            "from benchmark.cli import load_commands; load_commands(); "
            "print('datasets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False", out.stderr
