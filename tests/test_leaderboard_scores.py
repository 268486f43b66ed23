"""Leaderboard scores from the same tiny harness runs as test_leaderboard.py: transfer gains over controls,
rank intervals and ties, normalized scores, compute columns, data efficiency, tuned tracks, the Pareto front."""

# ruff: noqa: F811
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmark.results import read_table
from report import uncertainty as unc
from report.leaderboard import build_leaderboard, build_site
from report.leaderboard import data as lb_data
# The fixtures are test_leaderboard.py's, imported: pytest then sees them as this module's own (F811 is that).
from test_leaderboard import clone, harness_results, is_fpt, rewrite, two_task_track  # noqa: F401


def _with_control(harness_results: Path, tmp_path: Path, ctrl: dict[int, float], pre: dict[int, float]) -> Path:
    d = tmp_path / "ctrl"
    clone(harness_results, d, is_fpt, "-pre", test_value=lambda s: pre[s])
    clone(harness_results, d, lambda g: is_fpt(g) and int(g.seed.iloc[0]) in ctrl, "-rf", model="random-frozen",
          model_family="frozen-random-transformer", config={"model": "random-frozen"}, test_value=lambda s: ctrl[s])
    return d


def test_transfer_gain_paired_over_matched_seeds(harness_results: Path, tmp_path: Path) -> None:
    pre, ctrl = {0: 0.90, 1: 0.80}, {0: 0.60, 1: 0.70}
    d = _with_control(harness_results, tmp_path, ctrl, pre)
    open_ = build_leaderboard([d]).tracks[1]
    rows = {r.model: r for r in open_.rows}
    fpt, rf = rows["fpt"], rows["random-frozen"]
    assert fpt.is_pretrained and not rf.is_pretrained and fpt.controls[0] == "random-frozen"
    cell = fpt.cells["bit-xor"]
    # hand: diffs (90-60, 80-70) = (30, 10) percentage points; gain 20
    assert cell.gain == pytest.approx(20.0) and cell.control == rf.slug
    want = unc.paired_diff_ci([90.0, 80.0], [60.0, 70.0], n_boot=lb_data.N_BOOT, seed=lb_data.BOOT_SEED)[1]
    assert cell.gain_ci95 == pytest.approx(list(want)) and cell.gain_ci95 == pytest.approx([10.0, 30.0])
    # controls that never ran are missing, with the command that runs them
    nb = cell.gains["no-body"]
    assert nb.gain is None and nb.control is None
    assert "fptbench run --task bit-xor --model no-body" in nb.missing and "--backbone" not in nb.missing
    assert "--max-steps 10" in nb.missing and "for s in 0 1" in nb.missing
    # one matched seed: a gain, but no interval
    d1 = _with_control(harness_results, tmp_path / "one", {0: 0.6}, pre)
    cell = next(r for r in build_leaderboard([d1]).tracks[1].rows if r.model == "fpt").cells["bit-xor"]
    assert cell.gain == pytest.approx(30.0) and cell.gain_ci95 is None
    assert "paired over seeds [0] only" in cell.gains["random-frozen"].missing


def test_gain_table_html_sorted_and_missing_command(harness_results: Path, tmp_path: Path) -> None:
    d = _with_control(harness_results, tmp_path, {0: 0.6, 1: 0.7}, {0: 0.9, 1: 0.8})
    build_site([d], tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    table = re.search(r'<table class="lb gain" id="gain-open">(.*?)</table>', html, re.S).group(1)
    assert 'data-v="20.0"' in table and "+20.0" in table and "[10.0, 30.0]" in table
    assert "control missing" in table and "fptbench run --task bit-xor --model no-body" in table
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    row = next(r for t in data["tracks"] for r in t["rows"] if r["model"] == "fpt")
    cell = row["cells"]["bit-xor"]
    for key in ("ci95", "gain", "gain_ci95", "control", "norm_score", "train_flops", "train_time_s", "peak_mem_mb",
                "precision"):
        assert key in cell, key
    assert len(cell["ci95"]) == 2 and cell["gain"] == pytest.approx(20.0)
    for key in ("rank_ci95", "tied_with", "norm_mean"):
        assert key in row, key
    assert data["unit"] == "%"


def test_rank_intervals_and_ties(harness_results: Path, tmp_path: Path, two_task_track) -> None:
    d = tmp_path / "ranks"
    # three complete rows: A clearly best; B and C close on both tasks (their rank intervals overlap)
    vals = {"A": (0.95, 0.96), "B": (0.60, 0.70), "C": (0.65, 0.62)}
    for name, (s0, s1) in vals.items():
        for task in ("bit-xor", "bit-xor-b"):
            bump = 0.0 if task == "bit-xor" else 0.01
            clone(harness_results, d, is_fpt, f"-{name}-{task}", model=name, task=task, config={"model": name},
                  test_value=lambda s, a=s0, b=s1, k=bump: (a if s == 0 else b) + k)
    open_ = build_leaderboard([d]).tracks[1]
    rows = {r.model: r for r in open_.rows}
    assert [r.model for r in open_.rows][0] == "A" and rows["A"].mean_rank == 1.0
    assert rows["A"].rank_ci95 == [1.0, 1.0] and rows["A"].tied_with == []
    assert rows["B"].rank_ci95[0] < rows["B"].rank_ci95[1]
    assert rows["B"].slug in rows["C"].tied_with and rows["C"].slug in rows["B"].tied_with
    build_site([d], tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.count("\u2248 tied") == 2


def test_normalized_score_from_test_labels(harness_results: Path) -> None:
    import numpy as np

    from benchmark.task import get_task
    from report.normalize import majority_rate_of_labels, normalized

    y = get_task("bit-xor").fixed_split("test").y.numpy()
    y = y.reshape(len(y), -1)
    # by hand: per output position, the most frequent class's share; averaged over positions like the accuracy
    chance = 100.0 * np.mean([np.bincount(y[:, j]).max() / len(y) for j in range(y.shape[1])])
    open_ = build_leaderboard([harness_results]).tracks[1]
    assert open_.chance["bit-xor"] == pytest.approx(chance)
    cell = next(r for r in open_.rows if r.model == "lstm").cells["bit-xor"]
    assert cell.norm_score == pytest.approx(100 * (cell.mean - chance) / (100 - chance), abs=1e-3)
    assert normalized(chance, chance) == 0 and normalized(100.0, chance) == 100
    assert normalized(chance - 10, chance) < 0
    # multi-token labels: per-position majority, averaged like the accuracy
    assert majority_rate_of_labels(np.array([[0, 1], [0, 1], [1, 1], [0, 0]])) == pytest.approx((0.75 + 0.75) / 2)


def test_norm_mean_only_for_complete_rows(harness_results: Path, tmp_path: Path, two_task_track, monkeypatch) -> None:
    monkeypatch.setattr(lb_data, "majority_rate", lambda task: 0.5)
    only_fpt = tmp_path / "only"
    rewrite(harness_results, only_fpt, is_fpt, task="bit-xor-b", suffix="-b")
    rows = {r.model: r for r in build_leaderboard([harness_results, only_fpt]).tracks[1].rows}
    fpt = rows["fpt"]
    scores = [fpt.cells[t].norm_score for t in ("bit-xor", "bit-xor-b")]
    assert fpt.norm_mean == pytest.approx(sum(scores) / 2, abs=1e-3)
    assert rows["lstm"].norm_mean is None and rows["lstm"].cells["bit-xor"].norm_score is not None


def test_compute_columns_read_or_missing(harness_results: Path, tmp_path: Path) -> None:
    runs = read_table([harness_results], "runs")
    fpt_test = runs[(runs.model == "fpt") & (runs.split == "test") & (runs.metric == "accuracy")]
    cell = next(r for r in build_leaderboard([harness_results]).tracks[1].rows if r.model == "fpt").cells["bit-xor"]
    assert cell.train_time_s == pytest.approx(fpt_test.train_time_s.mean(), abs=1e-3)
    assert cell.peak_mem_mb == pytest.approx(fpt_test.peak_mem_mb.max(), abs=0.1)
    assert cell.n_params_trainable == int(fpt_test.n_params_trainable.iloc[0])
    flops = fpt_test.train_flops.dropna()
    assert (cell.train_flops is None) == flops.empty
    # FLOPs absent (runs before the compute record): shown as missing, not 0
    d = tmp_path / "noflops"
    clone(harness_results, d, is_fpt, "-nf", train_flops=None, precision=None)
    cell = build_leaderboard([d]).tracks[1].rows[0].cells["bit-xor"]
    assert cell.train_flops is None and cell.precision is None
    # and present: the mean over seeds
    d2 = tmp_path / "flops"
    clone(harness_results, d2, lambda g: is_fpt(g) and g.seed.iloc[0] == 0, "-f0", train_flops=1000, precision="bf16")
    clone(harness_results, d2, lambda g: is_fpt(g) and g.seed.iloc[0] == 1, "-f1", train_flops=3000, precision="bf16")
    cell = build_leaderboard([d2]).tracks[1].rows[0].cells["bit-xor"]
    assert cell.train_flops == 2000 and cell.precision == "bf16"
    build_site([d2], tmp_path / "site")
    assert any("flops" in p.name for p in (tmp_path / "site" / "plots").iterdir())


def test_data_efficiency_runs_leave_tracks(harness_results: Path, tmp_path: Path) -> None:
    d = tmp_path / "eff"
    clone(harness_results, d, is_fpt, "-f01", budget={"train_fraction": 0.1}, test_value=lambda s: 0.55 + s / 100)
    board = build_leaderboard([harness_results, d])
    fpt = next(r for r in board.tracks[1].rows if r.model == "fpt")
    assert fpt.cells["bit-xor"].n == 2 and not any("-f01" in i for i in fpt.cells["bit-xor"].run_ids)
    pts = [(p.model, p.fraction, p.n) for p in board.data_efficiency]
    assert pts == [("fpt", 0.1, 2), ("fpt", 1.0, 2)]
    assert board.data_efficiency[0].mean == pytest.approx(55.5)
    build_site([harness_results, d], tmp_path / "site")
    page = (tmp_path / "site" / "efficiency.html").read_text()
    assert '<img src="plots/' in page and "train_fraction" in page
    assert all((tmp_path / "site" / m).exists() for m in re.findall(r'<img src="(plots/[^"]+)"', page))


def test_tuned_track_and_verification_badges(harness_results: Path, tmp_path: Path, monkeypatch) -> None:
    import benchmark.submission as submission

    board = build_leaderboard([harness_results], select=lambda runs: runs[runs.model == "fpt"])
    assert [t.name for t in board.tracks] == ["paper", "open", "tuned"]
    assert [r.model for r in board.tracks[2].rows] == ["fpt"]
    sub = tmp_path / "sub"
    ids = rewrite(harness_results, sub, lambda g: g.model.iloc[0] == "lstm", source="submitted:bob")
    monkeypatch.setattr(submission, "verification_status", lambda dirs: {ids[0]: "contradicted"}, raising=False)
    build_site([sub], tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'class="badge submitted contradicted"' in html and "contradicted by bob" in html
    # each run shows its own verdict: a submission-level "verified" vouches for no run that was not rerun
    monkeypatch.setattr(submission, "verification_status", lambda dirs: {"submitted:bob": "verified"}, raising=False)
    rows = build_leaderboard([sub]).tracks[1].rows
    assert [r.verification for r in rows] == ["submitted"]
    monkeypatch.setattr(submission, "verification_status", lambda dirs: {ids[0]: "verified"}, raising=False)
    assert [r.verification for r in build_leaderboard([sub]).tracks[1].rows] == (["verified"] if len(ids) == 1
                                                                                  else ["submitted"])
    monkeypatch.setattr(submission, "verification_status", lambda dirs: {i: "verified" for i in ids}, raising=False)
    assert [r.verification for r in build_leaderboard([sub]).tracks[1].rows] == ["verified"]
    monkeypatch.setattr(submission, "verification_status", lambda dirs: {}, raising=False)
    assert [r.verification for r in build_leaderboard([sub]).tracks[1].rows] == ["submitted"]


def test_tuned_track_from_the_selection_protocol(harness_results: Path, tmp_path: Path) -> None:
    """Two learning rates of fpt (seeds 0, 1): the tuned row holds the lr best on validation; lstm ran another
    grid (seed 0 only), so it is not comparable on equal budget and stays out (``same_grid``)."""
    d = tmp_path / "grid"
    for lr, val, test in ((1e-3, 0.6, 0.61), (1e-2, 0.9, 0.91)):
        for model in ("fpt", "lstm"):
            clone(harness_results, d, lambda g, m=model: g.model.iloc[0] == m, f"-lr{lr}", budget={"lr": lr},
                  test_value=lambda s, t=test: t, val_value=val)
    board = build_leaderboard([d])
    assert "tuned" not in [t.name for t in board.tracks]  # fpt and lstm tried different (lr, seed) grids
    d2 = tmp_path / "grid-fpt"
    for lr, val, test in ((1e-3, 0.6, 0.61), (1e-2, 0.9, 0.91)):
        clone(harness_results, d2, is_fpt, f"-lr{lr}", budget={"lr": lr}, test_value=lambda s, t=test: t, val_value=val)
    tuned = next(t for t in build_leaderboard([d2]).tracks if t.name == "tuned")
    rows = {r.model: r for r in tuned.rows}
    assert set(rows) == {"fpt"}
    cell = rows["fpt"].cells["bit-xor"]
    assert cell.mean == pytest.approx(91.0) and all("-lr0.01" in i for i in cell.run_ids)
    # lr is chosen by design in this track: not a budget change there
    assert "lr" not in rows["fpt"].budget_changes.get("bit-xor", {})
    # one lr per configuration is not tuning: no tuned track
    assert [t.name for t in build_leaderboard([harness_results]).tracks] == ["paper", "open"]


def test_pareto_front_and_percent_format() -> None:
    from report.leaderboard.html import ci_text, pct
    from report.leaderboard.plots import pareto_front

    # (cost, acc): b dominates a? no (a cheaper); c dominated by b (costlier, worse); d best and costliest
    pts = [(10, 50.0), (100, 80.0), (200, 70.0), (1000, 90.0), (10, 40.0)]
    assert pareto_front(pts) == [0, 1, 3]
    assert pct(-0.04) == "0.0" and pct(-1.25) == "-1.2" or pct(-1.25) == "-1.3"
    assert ci_text(None, 1) == "one seed" and ci_text([1.0, 2.0], 2) == "[1.0, 2.0]"
