"""`fptbench data status|prepare|verify`, `fptbench validate`, and what a user sees when data is absent."""

from __future__ import annotations

import json

import pytest
from data_fixtures import (CIFAR_TEST, cifar_batches, small_task, unregister_small_tasks,  # noqa: F401
                           write_cifar_folder)

from benchmark.cli import main
from tasks.cifar10 import Cifar10


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(root))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return root


@pytest.fixture
def cifar_src(tmp_path):
    return write_cifar_folder(tmp_path / "src" / "cifar-10-batches-py").parent


def status_rows(capsys, code: int = 0) -> dict[str, dict]:
    assert main(["data", "status", "--json"]) == code
    return {r["name"]: r for r in json.loads(capsys.readouterr().out)}


def test_status_prepare_verify_cycle(data_root, cifar_src, capsys):
    rows = status_rows(capsys)
    assert rows["cifar10"]["present"] is False and "fptbench data prepare cifar10" in rows["cifar10"]["source"]
    assert rows["remote-homology"]["present"] is False
    assert main(["data", "prepare", "cifar10", "--source-dir", str(cifar_src)]) == 0
    assert "ready cifar10" in capsys.readouterr().out
    row = status_rows(capsys)["cifar10"]
    assert row["present"] and row["checksum"] == "ok" and row["bytes"] > 0 and "user directory" in row["source"]
    assert main(["data", "status"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:4] == ["dataset", "present", "size", "checksum"]
    assert main(["data", "checksums", "cifar10"]) == 0 and "cifar10: ok" in capsys.readouterr().out

    # corrupt one byte of the prepared copy: verify names the file and the fix, status says BAD
    f = data_root / "cifar10" / "train_x.npy"
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF
    f.write_bytes(bytes(raw))
    assert main(["data", "checksums"]) == 1
    out = capsys.readouterr().out
    assert "train_x.npy: sha256" in out and "fptbench data prepare cifar10 --force" in out
    assert status_rows(capsys, code=1)["cifar10"]["checksum"].startswith("BAD")
    assert main(["data", "prepare", "cifar10", "--force", "--source-dir", str(cifar_src)]) == 0
    capsys.readouterr()
    assert main(["data", "verify", "cifar10"]) == 0


def test_prepare_needs_names_and_knows_them(data_root, capsys):
    assert main(["data", "prepare"]) == 2
    assert "--offline-available" in capsys.readouterr().err
    assert main(["data", "prepare", "cifar"]) == 2
    assert "cifar10" in capsys.readouterr().err  # close-match suggestion


def test_offline_available_skips_datasets_that_need_internet(data_root, capsys):
    assert main(["data", "prepare", "cifar10", "remote-homology", "--offline-available"]) == 0
    out = capsys.readouterr().out
    assert "skip cifar10: not available offline" in out and "skip remote-homology" in out
    assert not (data_root / "cifar10").exists()


def test_failed_prepare_is_reported_and_nonzero(data_root, capsys, monkeypatch):
    import tasks.cifar10 as mod
    from benchmark.errors import FptError

    def no_network(*a, **k):
        raise FptError("download of cifar-10-python.tar.gz failed (no route)")

    monkeypatch.setattr(mod, "fetch", no_network)
    assert main(["data", "prepare", "cifar10"]) == 1
    assert "FAILED cifar10: download of cifar-10-python.tar.gz failed" in capsys.readouterr().out
    assert not (data_root / "cifar10").exists()  # nothing half-built is left as the prepared copy
    assert not [p for p in data_root.iterdir() if p.name.startswith(".cifar10")]


def test_run_without_data_exits_with_the_command(data_root, tmp_path, capsys):
    code = main(["run", "--task", "cifar10", "--model", "fpt", "--backbone", "tiny-bert", "--results",
                 str(tmp_path / "r"), "--no-progress"])
    assert code == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "fptbench data prepare cifar10" in err
    assert main(["tasks"]) == 0
    assert "needs data: fptbench data prepare cifar10" in capsys.readouterr().out


def test_validate_writes_then_checks_stats(data_root, tmp_path, cifar_src, capsys):
    stats = tmp_path / "stats"
    small_task(Cifar10, "cifar10-validate-fixture", {"train": 32, "val": 8, "test": CIFAR_TEST})
    assert main(["validate", "cifar10-validate-fixture", "--stats-dir", str(stats)]) == 1
    assert "needs data" in capsys.readouterr().out
    assert main(["data", "prepare", "cifar10", "--source-dir", str(cifar_src)]) == 0
    assert main(["validate", "cifar10-validate-fixture", "--stats-dir", str(stats)]) == 1
    assert "NO STATS" in capsys.readouterr().out
    assert main(["validate", "--write", "cifar10-validate-fixture", "--stats-dir", str(stats)]) == 0
    saved = json.loads((stats / "cifar10-validate-fixture.json").read_text())
    assert saved["splits"]["val"]["size"] == 8 and sum(saved["splits"]["test"]["label_counts"].values()) == CIFAR_TEST
    assert main(["validate", "cifar10-validate-fixture", "--stats-dir", str(stats)]) == 0
    # different raw data under the same task: validation names what changed
    other = write_cifar_folder(tmp_path / "other" / "cifar-10-batches-py", cifar_batches(seed=1)).parent
    assert main(["data", "prepare", "cifar10", "--force", "--source-dir", str(other)]) == 0
    capsys.readouterr()
    assert main(["validate", "cifar10-validate-fixture", "--stats-dir", str(stats)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "splits.val.hash" in out


def test_committed_stats_of_generated_tasks_still_match(capsys):
    assert main(["validate", "bit-xor", "bit-memory"]) == 0
