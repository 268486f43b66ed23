"""The example adapter package: installs with pip, is found by entry point, passes mock-run, runs,
and appears on the leaderboard (directly and through a submission file)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import torch

from benchmark.model import MODELS, get_adapter
from benchmark.paths import REPO_ROOT

PKG = REPO_ROOT / "examples" / "fptbench-example-adapter"
SPEC = "fptbench_example_adapter.gru:TinyGRU"


@pytest.fixture(scope="module")
def example_model():
    """``example-gru`` by entry point when the package is installed (``make install``), else the
    source tree on sys.path and ``--model package.module:Class``."""
    if "example-gru" in MODELS:
        yield "example-gru"
        return
    src = str(PKG / "src")
    sys.path.insert(0, src)
    yield SPEC
    sys.path.remove(src)
    MODELS._items.pop(SPEC, None)  # keep later tests' registry listings as they were


def test_pyproject_declares_the_entry_point() -> None:
    meta = tomllib.loads((PKG / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["fptbench.models"] == {"example-gru": SPEC}


@pytest.mark.slow
def test_pip_installs_it_and_the_entry_point_resolves(tmp_path: Path) -> None:
    """A real ``pip install`` (into a target directory, not the shared venv; offline: no build isolation)."""
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(PKG)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sys.path.insert(0, str(target))
    try:
        found = {ep.name: ep.value for ep in entry_points(group="fptbench.models")}
        assert found.get("example-gru") == SPEC
        assert (target / "fptbench_example_adapter" / "gru.py").exists()
    finally:
        sys.path.remove(str(target))


def test_example_passes_mock_run(example_model: str) -> None:
    from benchmark.mock_run import mock_run

    report = mock_run(example_model, options={"hidden": 16})
    assert report.ok, report.failures
    assert report.notes == []  # family is set


def test_example_runs_and_reaches_the_leaderboard(example_model: str, tmp_path: Path) -> None:
    from benchmark.cli import main
    from benchmark.runner import make_config, run

    results = tmp_path / "results"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in (0, 1):
            cfg = make_config("bit-xor", example_model, seed=seed, profile="ci", max_steps=10, options={"hidden": 16},
                              budget_overrides={"eval_every": 5, "eval_batch_size": 1000, "batch_size": 8})
            assert run(cfg, results, progress=False) == "finished"
    finally:
        torch.set_num_threads(threads)
    assert get_adapter(example_model).family == "gru"
    # straight from the harness results
    site = tmp_path / "site"
    assert main(["leaderboard", "--results", str(results), "--submissions", str(tmp_path / "none"), "--out", str(site)]) == 0
    html = (site / "index.html").read_text()
    assert f">{example_model}</a>" in html
    # and through a submission file, marked as submitted
    zip_path = tmp_path / "dana.zip"
    assert main(["submit", "--results", str(results), "--name", "dana", "--out", str(zip_path)]) == 0
    site2 = tmp_path / "site2"
    assert main(["leaderboard", "--results", str(tmp_path / "empty"), "--submissions", str(tmp_path / "sub"),
                 "--add", str(zip_path), "--out", str(site2)]) == 0
    html2 = (site2 / "index.html").read_text()
    assert f">{example_model}</a>" in html2 and "submitted by dana</span>" in html2
