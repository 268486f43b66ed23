"""CIFAR-10 and CIFAR-10 LRA from a fixture archive in the canonical format: sources, splits, encoding, training."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from data_fixtures import (CIFAR_PER_BATCH, CIFAR_TEST, FileServer, cifar_batches, small_task,  # noqa: F401
                           unregister_small_tasks, write_cifar_folder, write_cifar_tarball)

import tasks.cifar10 as cifar_mod
from benchmark.data import prepare, prepared_dir
from benchmark.errors import FptError, NeedsData
from benchmark.task import get_task
from tasks.cifar10 import Cifar10
from tasks.cifar10_lra import Cifar10Lra, Cifar10LraPixels, lra_grayscale

N_TRAIN = 5 * CIFAR_PER_BATCH


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(root))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return root


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """The fixture tarball, with the module's published md5 swapped for the fixture's own."""
    path = write_cifar_tarball(tmp_path / "src" / "cifar-10-python.tar.gz")
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar_mod, "CIFAR10_REMOTE", replace(cifar_mod.CIFAR10_REMOTE, md5=md5))
    return path


def expected_arrays():
    b = cifar_batches()
    train = np.concatenate([b[f"data_batch_{i}"][b"data"] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([b[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    test = b["test_batch"][b"data"].reshape(-1, 3, 32, 32)
    return train.transpose(0, 2, 3, 1), labels, test.transpose(0, 2, 3, 1), np.array(b["test_batch"][b"labels"])


def check_prepared(folder):
    tx, ty, sx, sy = expected_arrays()
    assert np.array_equal(np.load(folder / "train_x.npy"), tx) and np.array_equal(np.load(folder / "train_y.npy"), ty)
    assert np.array_equal(np.load(folder / "test_x.npy"), sx) and np.array_equal(np.load(folder / "test_y.npy"), sy)
    assert np.load(folder / "train_x.npy", mmap_mode="r").shape == (N_TRAIN, 32, 32, 3)


def test_download_from_loopback_mirror(data_root, archive, monkeypatch):
    with FileServer({archive.name: archive.read_bytes()}) as server:
        monkeypatch.setenv("FPTBENCH_MIRROR_CIFAR10", server.url)
        folder = prepare("cifar10")
    check_prepared(folder)
    manifest = (folder / "manifest.json").read_text()
    assert "download http://127.0.0.1" in manifest and hashlib.md5(archive.read_bytes()).hexdigest() in manifest
    assert (data_root / "_downloads" / archive.name).exists()  # cached for a later --force


def test_source_dir_archive_and_extracted_folder(data_root, archive, tmp_path):
    check_prepared(prepare("cifar10", source_dir=archive.parent))
    folder = write_cifar_folder(tmp_path / "extracted" / "cifar-10-batches-py")
    check_prepared(prepare("cifar10", source_dir=folder.parent, force=True))
    assert "extracted batches" in (prepared_dir("cifar10") / "manifest.json").read_text()


def test_source_dir_archive_with_wrong_md5_is_refused(data_root, tmp_path):
    path = write_cifar_tarball(tmp_path / "src" / "cifar-10-python.tar.gz")  # md5 != the published one
    with pytest.raises(FptError, match="c58f30108f718f92721af3b95e74349a"):
        prepare("cifar10", source_dir=path.parent)
    with pytest.raises(NeedsData):
        prepared_dir("cifar10")


def test_malicious_batch_in_user_folder_is_refused(data_root, tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    folder = write_cifar_folder(tmp_path / "src" / "cifar-10-batches-py")
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(FptError, match="refusing to unpickle.*data_batch_3"):
        prepare("cifar10", source_dir=folder.parent)
    assert not (tmp_path / "pwned").exists()


def test_real_task_sizes_are_enforced_and_absent_data_is_reported(data_root, archive):
    ok, how = get_task("cifar10").available()
    assert not ok and how == "fptbench data prepare cifar10"
    with pytest.raises(NeedsData, match="fptbench data prepare cifar10"):
        get_task("cifar10").require_data()
    prepare("cifar10", source_dir=archive.parent)
    with pytest.raises(FptError, match="expects 50000 / 10000"):  # a fixture is not the real dataset
        get_task("cifar10").arrays("train")


def test_seeded_carve_is_deterministic_disjoint_and_complete(data_root, archive):
    prepare("cifar10", source_dir=archive.parent)
    cls = small_task(Cifar10, "cifar10-fixture", {"train": N_TRAIN - 8, "val": 8, "test": CIFAR_TEST})
    t1, t2 = cls(), cls()
    (tr1, va1), (tr2, va2) = t1._rows, t2._rows
    assert np.array_equal(va1, va2) and np.array_equal(tr1, tr2)
    assert len(va1) == 8 and not set(tr1) & set(va1) and sorted(set(tr1) | set(va1)) == list(range(N_TRAIN))
    x, y = t1.arrays("val")
    tx, ty, _, _ = expected_arrays()
    assert np.array_equal(np.asarray(x), tx[va1]) and np.array_equal(y, ty[va1])


def test_cifar10_encoding_and_seeded_augmentation(data_root, archive):
    prepare("cifar10", source_dir=archive.parent)
    task = small_task(Cifar10, "cifar10-fixture", {"train": N_TRAIN - 8, "val": 8, "test": CIFAR_TEST})()
    val = task.fixed_split("val")
    assert val.x.shape == (8, 64, 48) and val.x.dtype == torch.float32 and val.mask is None
    b1 = task.train_batch(np.random.default_rng([0, 3]), 6, 3, 0)
    b2 = task.train_batch(np.random.default_rng([0, 3]), 6, 3, 0)
    b3 = task.train_batch(np.random.default_rng([0, 4]), 6, 3, 0)
    assert torch.equal(b1.x, b2.x) and torch.equal(b1.y, b2.y)
    assert not torch.equal(b1.x, b3.x)  # augmentation depends on the generator
    idx = np.sort(task.train_indices(6, 3, 0))
    plain, _ = task.encode(np.asarray(task.arrays("train")[0][idx]), None)
    assert not torch.equal(plain, b1.x)  # augmented ...
    # ... and the labels are still those of the sampled images, in the batch's order (not just the same multiset)
    assert torch.equal(b1.y, torch.as_tensor(np.asarray(task.arrays("train")[1][idx]), dtype=torch.long))


def test_lra_split_and_grayscale(data_root, archive):
    prepare("cifar10", source_dir=archive.parent)
    cls = small_task(Cifar10LraPixels, "cifar10-lra-pixels-fixture", {"train": 36, "val": 4, "test": CIFAR_TEST})
    task = cls()
    tx, ty, sx, sy = expected_arrays()
    x, y = task.arrays("train")
    assert x.shape == (36, 1024) and x.dtype == np.uint8 and np.array_equal(y, ty[:36])
    xv, yv = task.arrays("val")
    assert np.array_equal(yv, ty[36:])
    # the grayscale formula in float64 lands within one level (TF rounds g*255.5 down; see the test below)
    r, g, b = (tx[36:, :, :, c].astype(np.float64) / 255 for c in range(3))
    want = np.floor((0.2989 * r + 0.5870 * g + 0.1140 * b) * 255.5).astype(np.uint8).reshape(4, 1024)
    assert np.abs(xv.astype(int) - want.astype(int)).max() <= 1
    assert np.array_equal(lra_grayscale(tx[36:]), xv)
    test = task.fixed_split("test")
    assert test.x.dtype == torch.int64 and test.x.shape == (CIFAR_TEST, 1024) and int(test.x.max()) < 256


def test_lra_grayscale_matches_tensorflow_bit_for_bit():
    """Pairs made by tf.image.rgb_to_grayscale itself (TensorFlow 2.21, see the fixture's provenance):
    a sample of triples (the gray diagonal, pixels where floor(255 g) is one level off, the triples a
    fused float32 dot product gets wrong), a whole 32x32 image, and the sha256 of TF's output on all
    256**3 RGB triples, which this function must reproduce exactly."""
    import json
    from pathlib import Path

    fixture = json.loads((Path(__file__).parent / "fixtures" / "tf_rgb_to_grayscale.json").read_text())
    pairs = np.array(fixture["pairs"], dtype=np.int64)
    rgb = pairs[:, :3].astype(np.uint8).reshape(1, -1, 1, 3)
    assert lra_grayscale(rgb).reshape(-1).tolist() == pairs[:, 3].tolist()
    image = np.frombuffer(bytes.fromhex(fixture["image"]["rgb_hex"]), dtype=np.uint8).reshape(1, 32, 32, 3)
    assert lra_grayscale(image).reshape(-1).tolist() == fixture["image"]["gray"]
    v = np.arange(256, dtype=np.uint8)
    every = np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(16384, 32, 32, 3)  # index 65536 r + 256 g + b
    assert hashlib.sha256(lra_grayscale(every).tobytes()).hexdigest() == fixture["all_triples_sha256"]


def test_lra_tasks_are_version_2_and_state_their_split_honestly():
    for cls in (Cifar10Lra, Cifar10LraPixels):
        spec = cls.spec
        assert spec.version == "2.0" and "exactly" not in spec.version_notes
        assert "TFDS" in spec.splits["train"].source and "differ" in spec.splits["train"].source
        assert spec.options["paper_comparable"] in ("true", "false") and spec.options["comparability_note"]


def test_lra_fpt_variant_is_continuous_normalized(data_root, archive):
    prepare("cifar10", source_dir=archive.parent)
    task = small_task(Cifar10Lra, "cifar10-lra-fixture", {"train": 36, "val": 4, "test": CIFAR_TEST})()
    val = task.fixed_split("val")
    gray = task.arrays("val")[0]
    assert val.x.shape == (4, 1024, 1)
    assert torch.allclose(val.x[..., 0], torch.from_numpy(gray.astype(np.float32) / 255 * 2 - 1), atol=1e-6)
    assert task.spec.options["variant"] == "fpt" and Cifar10LraPixels.spec.options["variant"] == "lra"


@pytest.mark.parametrize("cls,sizes", [
    (Cifar10, {"train": N_TRAIN - 8, "val": 8, "test": CIFAR_TEST}),
    (Cifar10Lra, {"train": 36, "val": 4, "test": CIFAR_TEST}),
    (Cifar10LraPixels, {"train": 36, "val": 4, "test": CIFAR_TEST}),
])
def test_trains_two_steps_with_tiny_bert(data_root, archive, tiny_run, cls, sizes):
    prepare("cifar10", source_dir=archive.parent)
    name = f"{cls.spec.name}-fixture"
    small_task(cls, name, sizes)
    cfg, status, results = tiny_run(task=name, model="fpt", backbone="tiny-bert", steps=2,
                                    budget={"batch_size": 4, "eval_batch_size": 16})
    assert status == "finished"
    from benchmark.results import read_table

    runs = read_table([results], "runs")
    test = runs[(runs.run_id == cfg.run_id) & (runs.split == "test") & (runs.metric == "accuracy")]
    # The recorded accuracy is the share of test predictions equal to the task's own test labels.
    preds = read_table([results], "predictions")
    preds = preds[preds.run_id == cfg.run_id].sort_values("example")
    labels = get_task(name).fixed_split("test").y.numpy()
    predicted = np.array([p[0] for p in preds.prediction])
    assert len(predicted) == len(labels) and np.array_equal(preds.score.to_numpy(), (predicted == labels).astype(float))
    assert len(test) == 1 and float(test.value.iloc[0]) == pytest.approx(float((predicted == labels).mean()))
