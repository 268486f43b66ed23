"""Leaderboard site from real tiny harness runs: tracks, cells, missing reasons, ranks, intervals, transfer
gains over controls, normalized scores, compute columns, data efficiency, escaping, sorting data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.results import read_table, write_table
from report.leaderboard import build_leaderboard, build_site
from report.leaderboard import data as lb_data
from benchmark.runview import budget_changes as view_budget_changes

BUDGET = {"eval_every": 5, "checkpoint_every": 100, "eval_batch_size": 1000, "batch_size": 8}
LSTM_OPTS = {"hidden": 16, "layers": 1}


@pytest.fixture(scope="module")
def harness_results(tmp_path_factory) -> Path:
    """Three real runs through the harness: fpt on tiny-gpt2 (seeds 0, 1) and a small LSTM (seed 0), on bit-xor."""
    from benchmark.runner import make_config, run

    out = tmp_path_factory.mktemp("lb") / "results"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for model, backbone, seed, opts in (("fpt", "tiny-gpt2", 0, None), ("fpt", "tiny-gpt2", 1, None),
                                            ("lstm", None, 0, LSTM_OPTS)):
            cfg = make_config("bit-xor", model, backbone=backbone, seed=seed, profile="ci", max_steps=10,
                              options=opts, budget_overrides=BUDGET)
            assert run(cfg, out, progress=False) == "finished"
    finally:
        torch.set_num_threads(threads)
    return out


def rewrite(src: Path, dst: Path, run_filter=None, **changes) -> list[str]:
    """Copy runs (and curves) of ``src`` into ``dst`` through the harness writer, changing columns.

    Used to make a second task column or a diverged run from real rows without paying for more training.
    ``run_filter`` gets the run's rows as a DataFrame.
    """
    ids = []
    for f in sorted((src / "runs").glob("*.parquet")):
        rows = pq.read_table(f).to_pylist()  # pyarrow keeps nulls in int columns (pandas would make NaN)
        if run_filter and not run_filter(pd.DataFrame(rows)):
            continue
        new_id = f.stem + changes.get("suffix", "")
        for r in rows:
            r.update({k: v for k, v in changes.items() if k != "suffix"})
            r["run_id"] = new_id
        curves = pq.read_table(src / "curves" / f.name).to_pylist()
        for r in curves:
            r["run_id"] = new_id
        write_table(dst, "curves", new_id, curves)
        write_table(dst, "runs", new_id, rows)
        ids.append(new_id)
    return ids


def test_board_from_real_runs(harness_results: Path) -> None:
    board = build_leaderboard([harness_results])
    paper, open_ = board.tracks
    assert paper.title == "paper protocol" and paper.rows == []  # ci runs with --max-steps are not the protocol
    declared, _ = lb_data.declared_tasks("open")
    assert open_.declared_tasks == declared and open_.tasks[: len(declared)] == declared and "bit-xor" in open_.tasks
    by_model = {r.model: r for r in open_.rows}
    assert set(by_model) == {"fpt", "lstm"}
    fpt = by_model["fpt"]
    runs = read_table([harness_results], "runs")
    want = 100 * runs[(runs.model == "fpt") & (runs.split == "test") & (runs.metric == "accuracy")].value
    cell = fpt.cells["bit-xor"]
    # percentages, like the report: one unit
    assert cell.n == 2 and cell.mean == pytest.approx(want.mean()) and cell.std == pytest.approx(want.std(ddof=1))
    assert cell.ci95 is not None and want.min() <= cell.ci95[0] <= cell.mean <= cell.ci95[1] <= want.max()
    assert fpt.profile_label == "ci*" and fpt.budget_changes["bit-xor"]["steps"] == 10
    lstm = by_model["lstm"]
    assert lstm.options == LSTM_OPTS and lstm.cells["bit-xor"].n == 1
    assert lstm.cells["bit-xor"].ci95 is None  # one seed is shown as one seed, never a tight interval
    # one task of the track's declared set is not a complete row: nobody is ranked #1 of 1
    assert len(declared) > 1
    assert all(r.mean_rank is None and "not ranked" in r.mean_rank_reason for r in open_.rows)
    meta = fpt.meta
    assert meta["params"]["bit-xor"]["trainable"][0] < meta["params"]["bit-xor"]["total"][0]
    assert meta["package_version"] and meta["git_commit"] and meta["pretrained_on"] == ["nothing (random test config)"]


@pytest.fixture
def two_task_track(monkeypatch):
    """The open track declares bit-xor and bit-xor-b (a copy of real bit-xor rows), so rows can be complete."""
    monkeypatch.setattr(lb_data, "declared_tasks", lambda track: (["bit-xor", "bit-xor-b"], "test declaration"))


def test_missing_cells_and_ranks_over_complete_rows(harness_results: Path, tmp_path: Path, two_task_track) -> None:
    # a second task column that only fpt has, and a diverged lstm run on it
    extra = tmp_path / "extra"
    rewrite(harness_results, extra, lambda g: g.model.iloc[0] == "fpt", task="bit-xor-b", suffix="-b")
    rewrite(harness_results, extra, lambda g: g.model.iloc[0] == "lstm", task="bit-xor-b", status="diverged",
            value=math.nan, suffix="-div")
    board = build_leaderboard([harness_results, extra])
    open_ = board.tracks[1]
    assert open_.tasks == ["bit-xor", "bit-xor-b"]
    rows = {r.model: r for r in open_.rows}
    lstm = rows["lstm"].cells["bit-xor-b"]
    assert lstm.mean is None and lstm.n_diverged == 1 and "diverged" in lstm.reason
    assert rows["lstm"].coverage == 1 and rows["lstm"].mean_rank is None
    assert "not ranked" in rows["lstm"].mean_rank_reason and "bit-xor-b" in rows["lstm"].mean_rank_reason
    assert rows["fpt"].coverage == 2 and rows["fpt"].mean_rank == 1.0  # the only complete row
    # a never-run cell: without the diverged run, lstm has no bit-xor-b run at all
    only_fpt = tmp_path / "only"
    rewrite(harness_results, only_fpt, lambda g: g.model.iloc[0] == "fpt", task="bit-xor-b", suffix="-b")
    rows = {r.model: r for r in build_leaderboard([harness_results, only_fpt]).tracks[1].rows}
    assert rows["lstm"].cells["bit-xor-b"].reason == "never run"


def test_partly_diverged_cell_is_qualified_not_silent(harness_results: Path, tmp_path: Path) -> None:
    # seed 1 of fpt diverged before any finite score: the mean is over seed 0 only (report.cell's rule: a
    # diverged seed is in the mean when it has a score at its best validation state) and the cell says so
    div = tmp_path / "div"
    rewrite(harness_results, div, lambda g: g.model.iloc[0] == "fpt" and g.seed.iloc[0] == 1, status="diverged",
            value=math.nan)
    seed0 = tmp_path / "seed0"
    rewrite(harness_results, seed0, lambda g: g.model.iloc[0] == "fpt" and g.seed.iloc[0] == 0)
    cell = next(r for r in build_leaderboard([seed0, div]).tracks[1].rows if r.model == "fpt").cells["bit-xor"]
    runs = read_table([seed0], "runs")
    assert cell.n == 1 and cell.n_runs == 2 and cell.n_diverged == 1
    assert cell.mean == pytest.approx(100 * runs[(runs.split == "test") & (runs.metric == "accuracy")].value.iloc[0])
    assert "1 diverged before any finite score" in cell.reason


def test_submitted_rows_marked_until_harness_reruns(harness_results: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    rewrite(harness_results, sub, lambda g: g.model.iloc[0] == "lstm", source="submitted:bob")
    # the harness has the same run ids: its rerun replaces the submission
    assert all(r.source == "harness" for r in build_leaderboard([harness_results, sub]).tracks[1].rows)
    # without the harness's copy, the row is shown as submitted
    rows = build_leaderboard([sub]).tracks[1].rows
    assert [(r.model, r.submitted_by) for r in rows] == [("lstm", "bob")]


def test_site_files_escaping_and_determinism(harness_results: Path, tmp_path: Path) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    hostile = tmp_path / "hostile"
    rewrite(harness_results, hostile, lambda g: g.model.iloc[0] == "lstm", model=evil, pretrained_on=evil,
            backbone="</td><b>bb</b>", source="submitted:<i>eve</i>", suffix="-evil")
    out = tmp_path / "site"
    board, written = build_site([harness_results, hostile], out)
    html = (out / "index.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bb</b>" not in html and "<i>eve" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert html.count("<script") == 2  # the JSON data block and the sort script, nothing else
    # embedded JSON cannot close its script element, and parses back to the sibling file
    data = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and json.loads(data) == json.loads((out / "leaderboard.json").read_text())
    for page in (out / "models").glob("*.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "<svg" in text  # curves drawn from the curves table
    assert len(list((out / "models").glob("*.html"))) == sum(len(t.rows) for t in board.tracks) == 3
    # no external resource: works from file:// with no network
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # regenerating gives identical bytes
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    build_site([harness_results, hostile], out)
    assert first == {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_missing_cell_html_and_rank_reason(harness_results: Path, tmp_path: Path, two_task_track) -> None:
    only_fpt = tmp_path / "only"
    rewrite(harness_results, only_fpt, lambda g: g.model.iloc[0] == "fpt", task="bit-xor-b", suffix="-b")
    build_site([harness_results, only_fpt], tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert re.search(r'<td class="missing" data-v="" title="never run"><span aria-label="missing">\u2014</span></td>', html)
    assert 'title="not ranked: 1 of 2 declared tasks missing (bit-xor-b)' in html


def test_out_dir_safety(tmp_path: Path, harness_results: Path) -> None:
    precious = tmp_path / "repo"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(FptError, match="not a leaderboard site"):
        build_site([harness_results], precious)
    assert (precious / "keep.txt").read_text() == "mine"


def test_empty_results_render(tmp_path: Path) -> None:
    board, _ = build_site([tmp_path / "none"], tmp_path / "site")
    assert board.n_runs == 0
    text = (tmp_path / "site" / "index.html").read_text()
    assert text.count('class="small empty-track"') == 2 and "no runs yet" in text  # each empty track: one line


def budget_changes(cfg: dict, legacy_schema: bool = False) -> dict:
    """The run view's budget changes of a (profile, task, model, budget) config dict."""
    return view_budget_changes(cfg["profile"], cfg["task"], cfg["model"], cfg["budget"], legacy_schema=legacy_schema)


def test_budget_changes_paper_track() -> None:
    from benchmark.profiles import get_profile

    paper = get_profile("paper").budget("bit-xor", "fpt").to_dict()
    cfg = {"profile": "paper", "task": "bit-xor", "model": "fpt", "budget": paper}
    assert budget_changes(cfg) == {}
    assert budget_changes({**cfg, "budget": {**paper, "steps": 7}}) == {"steps": 7}
    assert budget_changes({**cfg, "profile": "someone-elses"}) == {"profile": "not registered here (budget unchecked)"}


def test_cli_leaderboard_and_check(harness_results: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "site"
    argv = ["leaderboard", "--results", str(harness_results), "--submissions", str(tmp_path / "sub"), "--out", str(out)]
    assert main(argv) == 0
    assert (out / "index.html").exists()
    assert main(argv + ["--check"]) == 0
    (out / "index.html").write_text("stale")
    assert main(argv + ["--check"]) == 1
    assert "stale" in capsys.readouterr().out


# -- honest tracks, intervals, gains, normalization, compute, data efficiency (issues 10 and 13) -------
def clone(src: Path, dst: Path, run_filter, suffix: str, *, config: dict | None = None, budget: dict | None = None,
          test_value=None, val_value: float | None = None, **changes) -> list[str]:
    """Copy real runs with changed columns, config fields, budget fields and per-seed test accuracy.

    ``test_value`` maps a seed to the test accuracy (fraction) written into the copy."""
    ids = []
    for f in sorted((src / "runs").glob("*.parquet")):
        rows = pq.read_table(f).to_pylist()
        if not run_filter(pd.DataFrame(rows)):
            continue
        new_id = f.stem + suffix
        for r in rows:
            r.update(changes)
            cfg = json.loads(r["config"])
            cfg.update(config or {})
            cfg["budget"].update(budget or {})
            r["config"] = json.dumps(cfg, sort_keys=True)
            r["run_id"] = new_id
            if test_value is not None and r["split"] == "test" and r["metric"] == "accuracy":
                r["value"] = test_value(r["seed"])
            if val_value is not None and r["split"] == "val" and r["metric"] == "accuracy":
                r["value"] = val_value
        curves = [{**c, "run_id": new_id} for c in pq.read_table(src / "curves" / f.name).to_pylist()]
        write_table(dst, "curves", new_id, curves)
        write_table(dst, "runs", new_id, rows)
        ids.append(new_id)
    return ids


def is_fpt(g: pd.DataFrame) -> bool:
    return g.model.iloc[0] == "fpt"


def test_paper_track_requires_every_budget_field_lr_included(harness_results: Path, tmp_path: Path) -> None:
    from benchmark.model import MODELS
    from benchmark.profiles import get_profile

    paper_budget = get_profile("paper").budget("bit-xor", "fpt", MODELS.get("fpt").default_lr).to_dict()
    exact, lr = tmp_path / "exact", tmp_path / "lr"
    clone(harness_results, exact, is_fpt, "-paper", profile="paper", config={"profile": "paper"}, budget=paper_budget)
    clone(harness_results, lr, is_fpt, "-paperlr", profile="paper", config={"profile": "paper"},
          budget={**paper_budget, "lr": 0.05})
    paper, open_ = build_leaderboard([exact]).tracks[:2]
    assert [r.model for r in paper.rows] == ["fpt"] and open_.rows == []
    paper, open_ = build_leaderboard([lr]).tracks[:2]
    assert paper.rows == []  # an fpt bundle with lr 0.05 is not the paper protocol
    row = open_.rows[0]
    assert row.profile_label == "paper*" and row.budget_changes["bit-xor"] == {"lr": 0.05}
    # the paper track declares the paper's task set: one task is not a complete row
    assert len(paper.declared_tasks) > 1


def test_budget_changes_compare_lr_with_the_adapters_default() -> None:
    from benchmark.model import MODELS
    from benchmark.profiles import get_profile

    lstm = get_profile("paper").budget("bit-xor", "lstm", MODELS.get("lstm").default_lr).to_dict()
    cfg = {"profile": "paper", "task": "bit-xor", "model": "lstm", "budget": lstm}
    assert budget_changes(cfg) == {}
    assert budget_changes({**cfg, "budget": {**lstm, "lr": 0.05}}) == {"lr": 0.05}
    assert budget_changes({**cfg, "model": "someone-elses"}) == {"model": "not registered here (budget unchecked)"}
    # a schema-v1 run asked fp32 when fp32 was every profile's precision: not a change
    old = {**cfg, "budget": {**lstm, "precision": "fp32"}}
    assert budget_changes(old, legacy_schema=True) == {}
    assert budget_changes(old) == ({} if lstm["precision"] == "fp32" else {"precision": "fp32"})
