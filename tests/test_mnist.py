"""MNIST: the IDX parser, checksum verification, patching, the validation carve, and (with the
offline wheel installed) the real data prepared end to end and a tiny training run on it."""

from __future__ import annotations

import gzip
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tasks.mnist as mnist
from benchmark.errors import FptError

OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # published MNIST facts
OFFICIAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(arr: np.ndarray, type_code: int) -> bytes:
    """Write an IDX file by hand (independently of the parser): magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, type_code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_fake_mnist(folder: Path, n_train: int = 6, n_test: int = 4) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, size=n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(imgs, 0x08)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labs, 0x08)))


# -- IDX --------------------------------------------------------------------------------------------
def test_idx_parser_reads_a_fixture_written_by_the_test(tmp_path):
    imgs = np.arange(3 * 5 * 4, dtype=np.uint8).reshape(3, 5, 4)
    path = tmp_path / "imgs.gz"
    path.write_bytes(gzip.compress(idx_bytes(imgs, 0x08)))
    out = mnist.read_idx_gz(path, mnist.IMAGES_MAGIC)
    assert out.dtype == np.uint8 and np.array_equal(out, imgs)
    wide = np.array([[1, -2, 70000], [3, 4, -5]], dtype=np.int32)
    parsed = mnist.parse_idx(idx_bytes(wide, 0x0C))
    assert parsed.dtype == np.int32 and np.array_equal(parsed, wide)  # big-endian handled


def test_idx_parser_checks_magic_and_size(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    data = idx_bytes(labels, 0x08)
    with pytest.raises(FptError, match="magic number 0x00000801, expected 0x00000803"):
        mnist.parse_idx(data, mnist.IMAGES_MAGIC, name="labels.gz")
    with pytest.raises(FptError, match="file has 9"):
        mnist.parse_idx(data[:-1], mnist.LABELS_MAGIC)
    with pytest.raises(FptError, match="not an IDX magic"):
        mnist.parse_idx(b"\x01\x00\x08\x01" + data[4:])


# -- sources and checksums --------------------------------------------------------------------------
def test_checksum_mismatch_names_file_expected_and_actual(tmp_path):
    src = tmp_path / "src"
    write_fake_mnist(src)
    with pytest.raises(FptError) as exc:
        mnist.build_mnist(tmp_path / "out", src)
    msg = str(exc.value)
    assert "checksum mismatch" in msg and ".gz" in msg
    name = msg.split("checksum mismatch for ")[1].split(" ")[0]
    remote = next(r for r in mnist.FILES.values() if r.filename == name)
    assert remote.sha256 in msg  # expected
    from benchmark.data.download import file_digests
    assert file_digests(src / name)["sha256"] in msg  # actual


def test_source_dir_missing_files_is_a_clear_error(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(FptError, match="lacks train-images-idx3-ubyte.gz"):
        mnist.build_mnist(tmp_path / "out", tmp_path / "src")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path):
    handler = lambda *a, **k: _Quiet(*a, directory=str(folder), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_download_rejects_files_that_are_not_the_official_ones(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    write_fake_mnist(src)
    server = serve(src)
    try:
        monkeypatch.setattr(mnist, "package_dir", lambda name: None)  # as if the offline wheel were absent
        monkeypatch.setenv("FPTBENCH_MIRROR_MNIST", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(FptError, match="could not get .*checksum mismatch"):
            mnist.build_mnist(tmp_path / "data" / "mnist", None)
        assert not list((tmp_path / "data" / "_downloads").glob("*.gz"))  # nothing wrong was kept
    finally:
        server.shutdown()


# -- patching ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.sampled_from([1, 2, 4]), st.data())
def test_patchify_shapes_and_round_trip(b, gh, gw, p, data):
    imgs = data.draw(arrays(np.uint8, (b, gh * p, gw * p)))
    tokens = mnist.patchify(imgs, p)
    assert tokens.shape == (b, gh * gw, p * p) and tokens.dtype == np.float32
    assert tokens.min() >= 0.0 and tokens.max() <= 1.0
    back = np.rint(mnist.unpatchify(tokens, gh * p, gw * p, p) * 255).astype(np.uint8)
    assert np.array_equal(back, imgs)
    # token k is the p x p block at grid row k // gw, column k % gw, pixels row-major
    k = data.draw(st.integers(0, gh * gw - 1))
    r, c = divmod(k, gw)
    block = imgs[:, r * p:(r + 1) * p, c * p:(c + 1) * p].reshape(b, -1)
    assert np.allclose(tokens[:, k], block / 255.0)


def test_mnist_patching_gives_49_tokens_of_16():
    imgs = np.zeros((2, 28, 28), dtype=np.uint8)
    imgs[:, 4:8, 8:12] = 255  # grid cell (1, 2) -> token 9
    tokens = mnist.patchify(imgs)
    assert tokens.shape == (2, 49, 16)
    assert np.flatnonzero(tokens[0].sum(1)).tolist() == [9]
    with pytest.raises(FptError, match="not divisible"):
        mnist.patchify(np.zeros((1, 30, 28), dtype=np.uint8))


def test_validation_carve_is_a_seeded_partition():
    tr, va = mnist.val_carve()
    assert len(tr) == 55_000 and len(va) == 5_000
    assert np.array_equal(np.union1d(tr, va), np.arange(60_000)) and not np.intersect1d(tr, va).size
    tr2, va2 = mnist.val_carve()
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, mnist.val_carve(seed=1)[1])
    spec = mnist.Mnist.spec
    assert spec.splits["train"].size + spec.splits["val"].size == 60_000
    assert str(mnist.VAL_SEED) in spec.splits["val"].source


# -- the real data (offline wheel) ------------------------------------------------------------------
def _needs_wheel():
    if mnist.package_dir(mnist.PACKAGE) is None:
        pytest.skip(f"offline package {mnist.PACKAGE} not installed")


@pytest.mark.assets
def test_real_mnist_prepares_with_official_sizes_and_label_counts(tmp_path, monkeypatch):
    _needs_wheel()
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "data"))
    from benchmark.data import prepare
    from benchmark.data.manifest import verify_manifest
    from benchmark.task import get_task

    root = prepare("mnist")
    assert verify_manifest(root) == []
    assert np.load(root / "train_images.npy", mmap_mode="r").shape == (60_000, 28, 28)
    assert np.bincount(np.load(root / "train_labels.npy")).tolist() == OFFICIAL_TRAIN_COUNTS
    assert np.bincount(np.load(root / "test_labels.npy")).tolist() == OFFICIAL_TEST_COUNTS
    task = get_task("mnist")
    assert task.available() == (True, "")
    val = task.fixed_split("val")
    assert val.x.shape == (5_000, 49, 16) and len(task.arrays("train")[0]) == 55_000
    assert np.bincount(task.arrays("train")[1], minlength=10).sum() == 55_000


@pytest.mark.assets
def test_real_mnist_from_a_loopback_mirror(tmp_path, monkeypatch):
    """The canonical download path end to end, with the official files served on 127.0.0.1."""
    _needs_wheel()
    mirror = tmp_path / "mirror"
    shutil.copytree(mnist.package_dir(mnist.PACKAGE) / mnist.PACKAGE_SUBDIR, mirror)
    server = serve(mirror)
    try:
        monkeypatch.setattr(mnist, "package_dir", lambda name: None)
        monkeypatch.setenv("FPTBENCH_MIRROR_MNIST", f"http://127.0.0.1:{server.server_address[1]}")
        (tmp_path / "data" / "mnist").mkdir(parents=True)
        source = mnist.build_mnist(tmp_path / "data" / "mnist", None)
    finally:
        server.shutdown()
    assert source["from"].startswith("download")
    assert np.load(tmp_path / "data" / "mnist" / "test_images.npy").shape == (10_000, 28, 28)


def test_task_without_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "empty"))
    from benchmark.errors import NeedsData
    from benchmark.task import get_task

    task = get_task("mnist")
    assert task.available() == (False, "fptbench data prepare mnist")
    with pytest.raises(NeedsData, match="fptbench data prepare mnist"):
        task.require_data()


@pytest.fixture
def one_thread():
    """Torch's 2 threads busy-wait badly on a shared, oversubscribed machine; one is faster here."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.assets
def test_tiny_training_run_on_real_mnist(tmp_path, monkeypatch, tiny_run, one_thread):
    _needs_wheel()
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    from benchmark.data import prepare
    from benchmark.results import read_table

    prepare("mnist")
    cfg, status, out = tiny_run(task="mnist", model="fpt", backbone="tiny-bert", steps=4,
                                budget={"eval_every": 4, "checkpoint_every": 4})
    assert status == "finished"
    runs = read_table([out])
    test = runs[(runs["split"] == "test") & (runs["metric"] == "accuracy")]
    preds = read_table([out], "predictions").sort_values("example")
    assert len(preds) == 10_000  # scored on the full official test set
    # The recorded accuracy is the share of predictions that equal the official test labels.
    from benchmark.task import get_task

    labels = get_task("mnist").fixed_split("test").y.numpy()
    predicted = np.array([p[0] for p in preds["prediction"]])
    assert np.array_equal(preds["score"].to_numpy(), (predicted == labels).astype(float))
    assert len(test) == 1 and float(test["value"].iloc[0]) == pytest.approx(float((predicted == labels).mean()))
