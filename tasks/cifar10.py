"""CIFAR-10 (the paper's 64 patch tokens of dim 48) and the ``cifar10`` dataset it shares with CIFAR-10 LRA.

Dataset: the CIFAR authors' python archive ``cifar-10-python.tar.gz`` (md5 published on their
page). Batches are Python-2 pickles read with the restricted unpickler (never ``pickle.load``) and
stored once as uint8 ``.npy`` arrays (N, 32, 32, 3), memory-mapped at training time.

Task: validation is carved from the official 50k train with a fixed seed (5,000 images; the
official 10k test stays the test split). 4x4 patches -> 64 tokens of dim 48, per-channel
normalisation as the FPT code, and its train augmentation driven by the harness's seeded generator.
"""

from __future__ import annotations

import tarfile
import zlib
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from benchmark.array_task import ArrayTask
from benchmark.data import DatasetSpec, downloads_dir, prepared_dir, register_dataset
from benchmark.data.download import RemoteFile, fetch, file_digests
from benchmark.data.hub import HubSource
from benchmark.data.safe_pickle import safe_loads
from benchmark.data.transforms import fpt_augment, patchify, to_float_chw
from benchmark.errors import FptError
from benchmark.hashing import sha256_arrays
from benchmark.task import SplitSpec, TaskSpec, register_task

from .bits import CITATION_FPT

CIFAR10_REMOTE = RemoteFile(
    key="cifar10",
    filename="cifar-10-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
)
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CITATION_CIFAR = "Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Tech. report, 2009."


# -- reading the canonical format -----------------------------------------------------------------
def parse_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR python batch -> (images (N, 32, 32, 3) uint8, labels (N,) uint8)."""
    d = safe_loads(raw, source=source, encoding="bytes")
    if not isinstance(d, dict):
        raise FptError(f"{source}: expected a dict in a CIFAR-10 batch, got {type(d).__name__}")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        raise FptError(f"{source}: a CIFAR-10 batch needs keys 'data' and 'labels', has {sorted(d)}")
    data, labels = np.asarray(d["data"]), np.asarray(d["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise FptError(f"{source}: data must be uint8 (N, 3072) with N labels, got {data.dtype} {data.shape} and "
                       f"{len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise FptError(f"{source}: labels must be 0..9")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW rows -> HWC
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def read_archive(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the batches straight from the tarball (nothing is extracted, so member paths cannot escape)."""
    out = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for name in TRAIN_BATCHES + (TEST_BATCH,):
                try:
                    member = tar.getmember(f"{BATCH_DIR}/{name}")
                except KeyError:
                    raise FptError(f"{path}: no {BATCH_DIR}/{name} inside; is this cifar-10-python.tar.gz?") from None
                f = tar.extractfile(member)
                if f is None:
                    raise FptError(f"{path}: {BATCH_DIR}/{name} is not a regular file")
                out[name] = parse_batch(f.read(), f"{path}:{BATCH_DIR}/{name}")
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise FptError(f"{path} is damaged or truncated ({type(exc).__name__}: {exc}); replace it with the "
                       "original cifar-10-python.tar.gz") from exc
    return out


def read_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for name in TRAIN_BATCHES + (TEST_BATCH,):
        f = folder / name
        if not f.exists():
            raise FptError(f"{folder}: missing {name}; expected the extracted {BATCH_DIR} folder")
        out[name] = parse_batch(f.read_bytes(), str(f))
    return out


def build_cifar10(dest: Path, source_dir: Path | None) -> dict:
    """Sources in order: ``source_dir`` (the archive, or its extracted ``cifar-10-batches-py``), the
    cached download, the canonical URL. No offline package ships CIFAR-10."""
    source: dict = {}
    folder = None  # an extracted cifar-10-batches-py in the user's folder, used when the archive is not there
    if source_dir is not None and not (source_dir / CIFAR10_REMOTE.filename).exists():
        folder = next((c for c in (source_dir / BATCH_DIR, source_dir) if (c / TEST_BATCH).exists()), None)
    if folder is not None:
        batches = read_folder(folder)
        source = {"from": f"user directory {folder} (extracted batches: the archive md5 cannot be checked)",
                  "files_sha256": {n: file_digests(folder / n)["sha256"] for n in batches}}
    else:
        path, where = fetch(CIFAR10_REMOTE, source_dir, downloads_dir(dest))
        batches = read_archive(path)
        source = {"from": where, "archive": CIFAR10_REMOTE.filename, **file_digests(path),
                  "md5_expected": CIFAR10_REMOTE.md5}
    return {**source, **write_prepared(dest, batches)}


def write_prepared(dest: Path, batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """The prepared files from the canonical batches (by name): one writer for every source, so the
    canonical archive and the hub copy cannot drift apart in layout or dtype."""
    train_x = np.concatenate([batches[n][0] for n in TRAIN_BATCHES])
    train_y = np.concatenate([batches[n][1] for n in TRAIN_BATCHES])
    test_x, test_y = batches[TEST_BATCH]
    for name, arr in (("train_x", train_x), ("train_y", train_y), ("test_x", test_x), ("test_y", test_y)):
        np.save(dest / f"{name}.npy", np.ascontiguousarray(arr))
    return {"sizes": {"train": int(len(train_y)), "test": int(len(test_y))}}


# -- the hub copy ---------------------------------------------------------------------------------
# uoft-cs/cifar10 at the commit "Convert dataset to Parquet (#6)" (the head of main when pinned). Its
# Parquet files were written by the `datasets` loading script for CIFAR-10, which walked the canonical
# archive in member order and yielded each train batch it met; the archive lists
# data_batch_4, readme.html, test_batch, data_batch_3, batches.meta, data_batch_2, data_batch_5,
# data_batch_1, so the hub's train split is batches 4, 3, 2, 5, 1 (10,000 rows each), each batch's
# images in their original order, stored as lossless PNG. The test split is test_batch in order.
CIFAR10_HUB_REVISION = "0b2714987fa478483af9968de7c934580d0bb9a2"
HUB_TRAIN_ORDER = ("data_batch_4", "data_batch_3", "data_batch_2", "data_batch_5", "data_batch_1")
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def hub_split_arrays(ds, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A hub split (``img``: PNG bytes, ``label``: ClassLabel) -> (images (N, 32, 32, 3) uint8, labels uint8).

    PNGs are decoded here with Pillow rather than by ``datasets`` so every image is checked to be a
    32x32 RGB picture; PNG is lossless, so the pixels are the archive's."""
    import io

    import datasets
    from PIL import Image

    label = ds.features.get("label")
    if not isinstance(ds.features.get("img"), datasets.Image) or not isinstance(label, datasets.ClassLabel):
        raise FptError(f"{where}: expected columns img (Image) and label (ClassLabel), got {dict(ds.features)}")
    if tuple(label.names) != LABEL_NAMES:
        raise FptError(f"{where}: label names {label.names} are not CIFAR-10's {list(LABEL_NAMES)} in order")
    table = ds.cast_column("img", datasets.Image(decode=False)).with_format("arrow")[:]
    pngs = table.column("img").combine_chunks().field("bytes").to_pylist()
    labels = np.asarray(table.column("label").to_pylist(), dtype=np.int64)
    images = np.empty((len(pngs), 32, 32, 3), dtype=np.uint8)
    for i, png in enumerate(pngs):
        with Image.open(io.BytesIO(png)) as im:
            if im.mode != "RGB" or im.size != (32, 32):
                raise FptError(f"{where}: row {i} is a {im.mode} {im.size} image, expected 32x32 RGB")
            images[i] = np.asarray(im)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise FptError(f"{where}: labels must be 0..9")
    return images, labels.astype(np.uint8)


def build_cifar10_from_hub(dest: Path, load) -> dict:
    """The hub copy's splits back into the canonical batches, then the same writer as the archive."""
    train_x, train_y = hub_split_arrays(load("train"), "hub train split")
    test = hub_split_arrays(load("test"), "hub test split")
    if len(train_y) % len(HUB_TRAIN_ORDER):
        raise FptError(f"hub train split has {len(train_y)} rows, not {len(HUB_TRAIN_ORDER)} equal batches")
    size = len(train_y) // len(HUB_TRAIN_ORDER)
    batches = {name: (train_x[i * size:(i + 1) * size], train_y[i * size:(i + 1) * size])
               for i, name in enumerate(HUB_TRAIN_ORDER)}
    batches[TEST_BATCH] = test
    return {"train_block_order": list(HUB_TRAIN_ORDER), **write_prepared(dest, batches)}


CIFAR10_HUB = HubSource(
    repo="uoft-cs/cifar10",
    revision=CIFAR10_HUB_REVISION,
    config="plain_text",
    build=build_cifar10_from_hub,
    env_key="cifar10",
    notes=("train rows are reordered from the hub's batch order 4,3,2,5,1 to the archive's 1..5",),
)

register_dataset(DatasetSpec(
    name="cifar10",
    description="CIFAR-10 python archive: 50k train / 10k test, 32x32 RGB, 10 classes",
    build=build_cifar10,
    offline=False,
    how_to_get="fptbench data prepare cifar10 (downloads 163 MB; or --source-dir DIR holding cifar-10-python.tar.gz; "
    "or --source hub)",
    sources=("--source-dir: cifar-10-python.tar.gz or its extracted cifar-10-batches-py/",
             "offline package: none exists",
             f"download {CIFAR10_REMOTE.url} (md5 {CIFAR10_REMOTE.md5}; mirror: {CIFAR10_REMOTE.mirror_var})",
             f"--source hub: {CIFAR10_HUB.describe()} (local snapshot: {CIFAR10_HUB.env_var})"),
    version="1",
    hub=CIFAR10_HUB,
))


# -- shared task machinery --------------------------------------------------------------------------
class IndexedRows:
    """Rows ``base[rows]`` of a (memory-mapped) array, read lazily: a seeded carve without copying
    the 50k-image array into memory. ``rows`` is sorted, so sorted batch indices read sorted rows."""

    def __init__(self, base: np.ndarray, rows: np.ndarray) -> None:
        self.base, self.rows = base, np.asarray(rows)
        self.shape = (len(self.rows),) + tuple(base.shape[1:])
        self.dtype = base.dtype

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx) -> np.ndarray:
        return np.asarray(self.base[self.rows[idx]])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.asarray(self.base[self.rows])
        return out if dtype is None else out.astype(dtype)


class CifarDataTask(ArrayTask):
    """Base of the tasks over the prepared ``cifar10`` dataset (memory-mapped uint8 arrays)."""

    dataset = "cifar10"


    @cached_property
    def _raw(self) -> dict[str, np.ndarray]:
        self.require_data()
        folder = prepared_dir(self.dataset)
        out = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in ("train_x", "test_x")}
        out.update({n: np.load(folder / f"{n}.npy") for n in ("train_y", "test_y")})
        want = self.spec.splits["train"].size + self.spec.splits["val"].size
        if len(out["train_x"]) != want or len(out["test_x"]) != self.spec.splits["test"].size:
            raise FptError(f"prepared '{self.dataset}' has {len(out['train_x'])} train / {len(out['test_x'])} test "
                           f"images, task '{self.spec.name}' expects {want} / {self.spec.splits['test'].size}: "
                           f"run `fptbench data prepare {self.dataset} --force` with the official archive")
        return out

    def carve(self) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, val rows) of the official training set."""
        raise NotImplementedError

    def arrays(self, split: str):
        raw = self._raw
        if split == "test":
            return raw["test_x"], raw["test_y"]
        train_rows, val_rows = self._rows
        rows = train_rows if split == "train" else val_rows
        return IndexedRows(raw["train_x"], rows), raw["train_y"][rows]

    @cached_property
    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        return self.carve()

    def train_hash(self) -> str:
        x, y = self.arrays("train")
        return sha256_arrays(np.asarray(x), np.asarray(y))


def seeded_carve(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, val rows), both sorted: val = the first ``n_val`` of a seeded permutation."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


CIFAR_MEAN = torch.tensor([0.4914, 0.4822, 0.4465])[:, None, None]
CIFAR_STD = torch.tensor([0.2023, 0.1994, 0.2010])[:, None, None]


@register_task("cifar10")
class Cifar10(CifarDataTask):
    spec = TaskSpec(
        name="cifar10",
        version="1.0",
        modality="vision",
        input_kind="continuous",
        input_dim=48,
        seq_len=64,
        output_tokens=1,
        output_dim=10,
        splits={
            "train": SplitSpec(size=45_000, seed=None, source="official train minus the val carve"),
            "val": SplitSpec(size=5_000, seed=10, source="5,000 images of the official 50k train: the first 5,000 "
                             "of numpy default_rng(10).permutation(50000), kept in dataset order"),
            "test": SplitSpec(size=10_000, seed=None, source="official test_batch"),
        },
        metric="accuracy",
        threshold=0.6,
        citation=f"{CITATION_CIFAR} {CITATION_FPT}",
        description="CIFAR-10 images as 64 tokens of 4x4x3 patches; 10 classes.",
        version_notes="1.0: FPT preprocessing (ToTensor, per-channel Normalize((0.4914, 0.4822, 0.4465), "
        "(0.2023, 0.1994, 0.2010)), 4x4 patches flattened (p1, p2, c)) and its train augmentation: "
        "RandomCrop(32, padding 4), horizontal flip, RandomRotation(20) (nearest, zero fill), reimplemented with "
        "torch ops and drawn from the harness's seeded generator. The FPT code trained on all 50k and evaluated on "
        "test; here 5k are carved from train (seed 10) for model selection and the 10k test is scored once.",
    )

    def carve(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.spec.splits
        return seeded_carve(s["train"].size + s["val"].size, s["val"].size, int(s["val"].seed))

    def encode(self, x: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, None]:
        img = to_float_chw(x)  # (B, 3, 32, 32) on [0, 1]
        if rng is not None:
            img = fpt_augment(img, rng)
        img = (img - CIFAR_MEAN) / CIFAR_STD
        return patchify(img, 4), None
