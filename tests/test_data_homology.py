"""TAPE remote homology from fixture LMDB, JSON and archive files in TAPE's formats."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from data_fixtures import (TAPE_SPLIT_SIZES, FileServer, small_task, tape_records,  # noqa: F401
                           unregister_small_tasks, write_tape_json, write_tape_lmdb, write_tape_tarball)

from benchmark.data import prepare, prepared_dir
from benchmark.errors import FptError, NeedsData
from benchmark.task import get_task
from tasks.remote_homology import (CLS, PAD, SEP, VOCAB, RemoteHomology, RemoteHomologyFpt, detokenize, read_lmdb,
                                   tokenize)

SIZES = {"train": TAPE_SPLIT_SIZES["train"], "val": TAPE_SPLIT_SIZES["valid"],
         "test": TAPE_SPLIT_SIZES["test_fold_holdout"]}


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(root))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return root


def check_prepared(folder, records):
    for split, recs in records.items():
        flat = np.load(folder / f"{split}_residues.npy", mmap_mode="r")
        offsets = np.load(folder / f"{split}_offsets.npy")
        seqs = [bytes(flat[offsets[i]:offsets[i + 1]]).decode() for i in range(len(recs))]
        assert seqs == [r["primary"] for r in recs]
        assert np.load(folder / f"{split}_fold_label.npy").tolist() == [r["fold_label"] for r in recs]


def test_vocabulary_matches_tape():
    assert len(VOCAB) == 30 and VOCAB[:5] == ("<pad>", "<mask>", "<cls>", "<sep>", "<unk>")
    assert VOCAB.index("A") == 5 and VOCAB.index("Z") == 29 and VOCAB.index("L") == 15
    ids = tokenize("MKV")
    assert ids.tolist() == [CLS, VOCAB.index("M"), VOCAB.index("K"), VOCAB.index("V"), SEP]
    assert tokenize("AJ*").tolist()[2:4] == [4, 4]  # J and * are not IUPAC letters: <unk>


def test_long_sequences_are_truncated_to_1024_tokens():
    ids = tokenize("A" * 1500)
    assert len(ids) == 1024 and ids[0] == CLS and ids[-1] == SEP and detokenize(ids) == "A" * 1022


def test_prepare_from_lmdb_folder(data_root, tmp_path):
    records = tape_records()
    src = write_tape_lmdb(tmp_path / "src", records)
    folder = prepare("remote-homology", source_dir=src)
    check_prepared(folder, records)
    assert "lmdb files" in (folder / "manifest.json").read_text()


def test_prepare_from_json_folder(data_root, tmp_path):
    records = tape_records()
    folder = prepare("remote-homology", source_dir=write_tape_json(tmp_path / "src", records))
    check_prepared(folder, records)


def test_prepare_from_archive_over_loopback_records_sha256_and_no_checksum_note(data_root, tmp_path, monkeypatch):
    records = tape_records()
    archive = write_tape_tarball(tmp_path / "remote_homology.tar.gz", write_tape_lmdb(tmp_path / "lmdb", records))
    with FileServer({archive.name: archive.read_bytes()}) as server:
        monkeypatch.setenv("FPTBENCH_MIRROR_REMOTE_HOMOLOGY", server.url)
        folder = prepare("remote-homology")
    check_prepared(folder, records)
    manifest = (folder / "manifest.json").read_text()
    import hashlib

    assert hashlib.sha256(archive.read_bytes()).hexdigest() in manifest and "publishes no checksum" in manifest
    assert not list(data_root.glob(".tape-extract-*"))  # the temporary extraction is gone


def test_malicious_lmdb_record_is_refused(data_root, tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    src = write_tape_lmdb(tmp_path / "src", raw_override={("valid", 2): pickle.dumps({"primary": Evil()})})
    with pytest.raises(FptError, match="refusing to unpickle.*remote_homology_valid.lmdb:record 2"):
        prepare("remote-homology", source_dir=src)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(NeedsData):
        prepared_dir("remote-homology")


def test_record_checks(tmp_path):
    records = tape_records()
    records["valid"][0]["fold_label"] = 1195
    src = write_tape_lmdb(tmp_path / "src", records)
    with pytest.raises(FptError, match="fold_label 1195 outside"):
        read_lmdb(src / "remote_homology" / "remote_homology_valid.lmdb")


def test_task_splits_padding_and_mask(data_root, tmp_path):
    records = tape_records()
    prepare("remote-homology", source_dir=write_tape_lmdb(tmp_path / "src", records))
    assert get_task("remote-homology").available() == (True, "")
    with pytest.raises(FptError, match="expects 12312"):
        get_task("remote-homology").arrays("train")  # fixture sizes are not TAPE's
    task = small_task(RemoteHomology, "remote-homology-fixture", SIZES)()
    test = task.fixed_split("test")
    assert test.y.tolist() == [r["fold_label"] for r in records["test_fold_holdout"]]
    lengths = [len(r["primary"]) + 2 for r in records["test_fold_holdout"]]
    assert test.x.shape == (4, max(lengths)) and test.mask.sum(1).tolist() == lengths
    assert bool((test.x[~test.mask] == PAD).all()) and int(test.x.max()) < 30
    batch = task.train_batch(np.random.default_rng(0), 12, 0, 0)  # the whole train split, with the long one
    assert batch.x.shape == (12, 1024) and batch.mask.shape == (12, 1024)
    fpt = small_task(RemoteHomologyFpt, "remote-homology-fpt-fixture", {**SIZES, "test": SIZES["val"]})()
    assert torch.equal(fpt.fixed_split("test").y, fpt.fixed_split("val").y)
    assert fpt.fixed_split("test").y.tolist() == [r["fold_label"] for r in records["valid"]]


@pytest.mark.parametrize("cls,sizes", [(RemoteHomology, SIZES), (RemoteHomologyFpt, {**SIZES, "test": SIZES["val"]})])
def test_trains_two_steps_with_tiny_bert(data_root, tmp_path, tiny_run, cls, sizes):
    prepare("remote-homology", source_dir=write_tape_json(tmp_path / "src"))
    name = f"{cls.spec.name}-fixture2"
    small_task(cls, name, sizes)
    cfg, status, results = tiny_run(task=name, model="fpt", backbone="tiny-bert", steps=2,
                                    budget={"batch_size": 2, "eval_batch_size": 8})
    assert status == "finished"
    from benchmark.results import read_table

    runs = read_table([results], "runs")
    test = runs[(runs.run_id == cfg.run_id) & (runs.split == "test") & (runs.metric == "accuracy")]
    assert len(test) == 1 and int(test.n_examples.iloc[0]) == sizes["test"]


def test_truncated_archive_is_one_clear_error(data_root, tmp_path):
    archive = write_tape_tarball(tmp_path / "src" / "remote_homology.tar.gz", write_tape_lmdb(tmp_path / "lmdb"))
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(FptError, match="damaged or truncated.*publishes no checksum"):
        prepare("remote-homology", source_dir=archive.parent)
    with pytest.raises(NeedsData):
        prepared_dir("remote-homology")


# -- the FPT authors' evaluation (remote-homology-fpt 2.0) and the comparability flags ----------------
def test_fpt_variant_skips_long_sequences_and_applies_the_authors_correction(data_root, tmp_path):
    correction, ignore = 0.9739, -100  # the authors' constant; cross-entropy's ignore_index
    records = tape_records()
    records["valid"][1]["primary"] = "A" * 1023  # 1025 tokens with <cls>, <sep>: skipped by the FPT code
    records["valid"][2]["primary"] = "C" * 1022  # exactly 1024 tokens: kept
    prepare("remote-homology", source_dir=write_tape_json(tmp_path / "src", records))
    task = small_task(RemoteHomologyFpt, "remote-homology-fpt-fixture3", {**SIZES, "test": SIZES["val"]})()
    labels = [r["fold_label"] for r in records["valid"]]
    for split in ("val", "test"):
        y = task.fixed_split(split).y
        assert y.tolist() == [ignore if i == 1 else label for i, label in enumerate(labels)]
    # training skips the 1100-residue train sequence, as the FPT code skipped its batch
    x, y = task.arrays("train")
    assert len(x) == SIZES["train"] - 1 and max(len(s) for s in x) <= 1022
    assert y.tolist() == [r["fold_label"] for r in records["train"][1:]]
    # the split's mean score is 0.9739 x accuracy on the kept sequences (4 kept of 5)
    out = torch.full((5, 1, 1195), -5.0)
    for i, label in enumerate(labels):
        out[i, 0, label] = 5.0
    test_y = task.fixed_split("test").y
    assert float(task.scores(out, test_y).mean()) == pytest.approx(correction, abs=1e-12)
    out[0, 0, labels[0]] = -9.0  # one kept sequence wrong: 3 of 4 right
    assert float(task.scores(out, test_y).mean()) == pytest.approx(correction * 3 / 4, abs=1e-12)
    assert float(task.scores(out, test_y)[1]) == 0.0  # the skipped one scores nothing
    assert task.kept_fraction() == pytest.approx(4 / 5)
    # skipped sequences do not enter the loss; a batch of only skipped ones has loss 0, not NaN
    assert float(task.loss(out[1:2], test_y[1:2])) == 0.0
    assert float(task.loss(out, test_y)) == pytest.approx(float(torch.nn.functional.cross_entropy(
        out[[0, 2, 3, 4], 0], test_y[[0, 2, 3, 4]])))


def test_homology_specs_say_whether_they_compare_with_the_paper():
    fpt, plain = RemoteHomologyFpt.spec, RemoteHomology.spec
    assert fpt.options["paper_comparable"] == "true" and plain.options["paper_comparable"] == "false"
    assert "0.9739" in fpt.options["comparability_note"] and "remote-homology-fpt" in plain.options["comparability_note"]
    assert fpt.options["skip_residues_over"] == "1022" and fpt.options["accuracy_correction"] == "0.9739"
    assert fpt.version == "2.0"


def test_tape_url_is_https_and_its_sha256_is_pinned(data_root, tmp_path, monkeypatch):
    from tasks.remote_homology import TAPE_REMOTE

    assert TAPE_REMOTE.url.startswith("https://")
    records = tape_records()
    archive = write_tape_tarball(tmp_path / "remote_homology.tar.gz", write_tape_lmdb(tmp_path / "lmdb", records))
    with FileServer({archive.name: archive.read_bytes()}) as server:
        monkeypatch.setenv("FPTBENCH_MIRROR_REMOTE_HOMOLOGY", server.url)
        # a sha256 given for the archive is enforced on download
        monkeypatch.setenv("FPTBENCH_SHA256_REMOTE_HOMOLOGY", "0" * 64)
        with pytest.raises(FptError, match="checksum mismatch.*FPTBENCH_SHA256_REMOTE_HOMOLOGY"):
            prepare("remote-homology")
        monkeypatch.delenv("FPTBENCH_SHA256_REMOTE_HOMOLOGY")
        folder = prepare("remote-homology")
    # without one, the first download pins its sha256 and a different copy is refused afterwards
    import hashlib

    pins = list(data_root.rglob("remote_homology.tar.gz.sha256"))
    assert len(pins) == 1 and pins[0].read_text().strip() == hashlib.sha256(archive.read_bytes()).hexdigest()
    check_prepared(folder, records)
    other = write_tape_tarball(tmp_path / "other" / "remote_homology.tar.gz",
                               write_tape_lmdb(tmp_path / "lmdb2", tape_records(seed=1)))
    with pytest.raises(FptError, match="checksum mismatch.*pinned in"):
        prepare("remote-homology", source_dir=other.parent, force=True)
