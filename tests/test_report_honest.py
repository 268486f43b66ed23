"""Every number in the report means what its label says.

Table 1 compares the paper's from-scratch "Full" with ``random-full``; harness and submitted numbers
never share a cell; captions come from harness metadata and are escaped in every format; diverged
runs carry a mark; tasks evaluated differently from the paper are flagged; one unit (percent); a
single-point curve draws a marker; a delta never prints as -0.0. Harness runs are real (tiny GPT-2,
a few steps); the cases a real run cannot produce on demand (a divergence after a finite score, a
hostile caption, a submitted copy of a run) are made by rewriting copies of those Parquet files.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.results import read_table
from report.render import render_report
from report.specs import TABLE_SPECS, get_table

HOSTILE = "a|b <i>x</i> `c` 50%_{y} [l](http://e) \x1b[31mred\u202e"


def _run(out: Path, model: str, seed: int = 0, steps: int = 4) -> str:
    from benchmark.runner import make_config, run

    cfg = make_config("bit-xor", model, backbone="tiny-gpt2", seed=seed, profile="ci", max_steps=steps,
                      budget_overrides={"eval_every": 2, "checkpoint_every": 100, "eval_batch_size": 256})
    return run(cfg, out, progress=False)


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("honest")
    saved = os.environ.get("FPTBENCH_DATA_DIR")
    os.environ["FPTBENCH_DATA_DIR"] = str(root / "data")
    res = root / "results"
    for model, seed in (("fpt", 0), ("fpt", 1), ("random-full", 0), ("full", 0)):
        assert _run(res, model, seed) == "finished"
    yield res
    if saved is None:
        os.environ.pop("FPTBENCH_DATA_DIR", None)
    else:
        os.environ["FPTBENCH_DATA_DIR"] = saved


def rewrite_runs(src: Path, dst: Path, model: str, only_seed: int | None = None, *, curves: bool = True,
                 **changes) -> list[str]:
    """Copy the runs (and curves) of ``model`` from ``src`` into ``dst`` with columns changed; ``changes``
    values may be callables of the row. Returns the run ids written."""
    ids = []
    for f in sorted((src / "runs").glob("*.parquet")):
        table = pq.read_table(f)
        rows = table.to_pylist()
        if rows[0]["model"] != model or (only_seed is not None and rows[0]["seed"] != only_seed):
            continue
        for r in rows:
            for k, v in changes.items():
                r[k] = v(r) if callable(v) else v
        name = f"{rows[0]['run_id']}.parquet"
        (dst / "runs").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), dst / "runs" / name)
        if curves:
            (dst / "curves").mkdir(parents=True, exist_ok=True)
            shutil.copy(src / "curves" / f.name, dst / "curves" / name)
        ids.append(rows[0]["run_id"])
    return ids


def csv_of(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "tables.csv", keep_default_na=False)


def cell(csv: pd.DataFrame, table: str, row: str, task: str = "bit-xor", group: str = "tiny-gpt2") -> pd.Series:
    sel = csv[(csv.table == table) & (csv.row == row) & (csv.task == task) & (csv.backbone_group == group)]
    assert len(sel) == 1, sel[["table", "row", "task"]]
    return sel.iloc[0]


def test_table1_compares_the_papers_full_with_a_transformer_trained_from_scratch(harness: Path, tmp_path: Path) -> None:
    spec = get_table("table1")
    by_paper = {r.paper_row: r for r in spec.rows}
    assert by_paper["full"].model == "random-full"
    finetuned = [r for r in spec.rows if r.model == "full"]
    assert len(finetuned) == 1 and finetuned[0].paper_row is None
    assert "pretrained, finetuned" in finetuned[0].label and "not in the paper's Table 1" in finetuned[0].label
    out = tmp_path / "rep"
    render_report([harness], out, tables=["table1"], formats="csv,md", figures=False)
    csv = csv_of(out)
    runs = read_table([harness], "runs")
    acc = runs[(runs.split == "test") & (runs.metric == "accuracy")].set_index("model").value * 100
    scratch = cell(csv, "table1", by_paper["full"].label)
    assert scratch.model == "random-full" and float(scratch.ours_mean) == pytest.approx(acc["random-full"], abs=1e-5)
    assert float(scratch.paper_value) == 100.0 and scratch.row_backbone == "tiny-gpt2" and scratch.profile == "ci"
    fin = cell(csv, "table1", finetuned[0].label)
    assert float(fin.ours_mean) == pytest.approx(acc["full"], abs=1e-5) and fin.paper_value == "" and fin.delta == ""
    md = (out / "README.md").read_text(encoding="utf-8")
    assert f"| {finetuned[0].label} — paper" not in md  # no paper line beside the finetuned row


def _render(dirs: list[Path], out: Path, tables: list[str] | None = None) -> dict[str, str]:
    render_report(dirs, out, tables=tables or ["table1"], formats="md,csv,tex,html", figures=False)
    return {f: (out / name).read_text(encoding="utf-8") for f, name in
            (("md", "README.md"), ("csv", "tables.csv"), ("tex", "tables.tex"), ("html", "index.html"))}


def test_a_submitted_run_never_enters_a_harness_cell_nor_the_caption(harness: Path, tmp_path: Path) -> None:
    before = cell(_csv_render([harness], tmp_path / "before"), "table1", "FPT")
    sub = tmp_path / "submitted"
    # a submitted copy of harness run ids (same run id!) and of another seed, with other numbers and captions
    rewrite_runs(harness, sub, "fpt", source="submitted:mallory", stand_in_for="<b>gpt-5</b> | `evil`",
                 value=lambda r: 0.0 if r["metric"] == "accuracy" else r["value"])
    rewrite_runs(harness, sub, "fpt", only_seed=0, source="submitted:mallory", seed=7,
                 run_id=lambda r: r["run_id"] + "-s7", stand_in_for="<b>gpt-5</b>")
    rewrite_runs(harness, sub, "fpt", only_seed=0, source="submitted:mallory", backbone="gpt-9",
                 run_id=lambda r: r["run_id"] + "-g9", stand_in_for="<b>gpt-5</b>")  # a backbone the harness never ran
    texts = _render([harness, sub], tmp_path / "after")
    after = csv_of(tmp_path / "after")
    now = cell(after, "table1", "FPT")
    assert (now.ours_mean, now.ours_std, now.n_seeds, now.seeds) == (before.ours_mean, before.ours_std,
                                                                       before.n_seeds, before.seeds)
    assert now.source == "harness" and "submitted" not in now.notes
    claimed = after[(after.table == "table1") & (after.source == "submitted:mallory") & (after.task == "bit-xor")
                    & (after.backbone_group == "tiny-gpt2")]
    assert len(claimed) == 1 and "submitted by mallory" in claimed.iloc[0].row and "claimed" in claimed.iloc[0].row
    assert int(claimed.iloc[0].n_seeds) == 3 and claimed.iloc[0].paper_value == ""
    assert set(after[after.backbone_group == "tiny-gpt2"].stand_in_for) == {""}  # tiny-gpt2 declares no stand-in
    assert set(after[after.backbone_group == "gpt-9"].stand_in_for) == {"unknown (no harness run of this backbone)"}
    assert "backbone `gpt-9` (no harness run of this backbone here" in texts["md"]
    for fmt, text in texts.items():
        assert "gpt-5" not in text, fmt


def _csv_render(dirs: list[Path], out: Path) -> pd.DataFrame:
    render_report(dirs, out, tables=["table1"], formats="csv", figures=False)
    return csv_of(out)


def test_captions_and_values_are_escaped_in_every_format(harness: Path, tmp_path: Path) -> None:
    res = tmp_path / "res"
    rewrite_runs(harness, res, "fpt", stand_in_for=HOSTILE)
    texts = _render([res], tmp_path / "rep")
    for fmt, text in texts.items():
        assert "\x1b" not in text and "\u202e" not in text, fmt  # control characters never reach a file
        assert "u001b" in text, fmt  # but they are shown (\\u001b; LaTeX: \\textbackslash{}u001b)
    md = next(ln for ln in texts["md"].splitlines() if ln.startswith("> NOT the paper protocol"))
    assert r"a\|b \<i\>x\</i\> \`c\` 50%\_{y} [l]\(http://e)" in md
    assert "&lt;i&gt;x&lt;/i&gt;" in texts["html"] and "<i>" not in texts["html"]
    assert r"a\textbar{}b \textless{}i\textgreater{}x" in texts["tex"] and r"50\%\_\{y\}" in texts["tex"]
    assert "<i>x</i>" in csv_of(tmp_path / "rep").stand_in_for.iloc[0]  # CSV: the value itself, quoted by csv
    assert "`" not in md.split("stand-in for")[1].replace(r"\`", "")  # no unescaped backtick opens a code span


def test_csv_neutralises_formula_cells() -> None:
    from report.markup import plain

    assert plain("=HYPERLINK(1)") == "'=HYPERLINK(1)" and plain("@x") == "'@x" and plain("+ln") == "+ln"


def test_diverged_runs_keep_their_best_validation_score_and_carry_a_mark(harness: Path, tmp_path: Path) -> None:
    res = tmp_path / "res"
    shutil.copytree(harness, res)
    [rid] = rewrite_runs(harness, res, "fpt", only_seed=1, status="diverged")
    texts = _render([res], tmp_path / "rep")
    csv = csv_of(tmp_path / "rep")
    c = cell(csv, "table1", "FPT")
    assert int(c.n_seeds) == 2 and int(c.diverged_seeds) == 1
    assert float(c.ours_mean) == pytest.approx(float(cell(csv_of_render(harness, tmp_path), "table1", "FPT").ours_mean))
    line = next(ln for ln in texts["md"].splitlines() if ln.startswith("| FPT — ours"))
    assert "(n=2, 1†) †" in line
    assert "- [†] † some seeds of this cell diverged" in texts["md"]
    assert r"\dag{}" in texts["tex"] and "(n=2, 1†) †" in texts["html"]
    # a diverged run with no finite score is not averaged in, and is named in the notes
    (res / "runs" / f"{rid}.parquet").unlink()
    rewrite_runs(harness, res, "fpt", only_seed=1, status="diverged",
                 value=lambda r: float("nan") if r["split"] == "test" else r["value"])
    c = cell(_csv_render([res], tmp_path / "rep2"), "table1", "FPT")
    assert int(c.n_seeds) == 1 and int(c.diverged_seeds) == 0 and "1 diverged before any finite score" in c.notes


def csv_of_render(results: Path, tmp_path: Path) -> pd.DataFrame:
    return _csv_render([results], tmp_path / "plain")


def test_a_task_evaluated_unlike_the_paper_is_flagged_in_every_format(harness: Path, tmp_path: Path,
                                                                       monkeypatch) -> None:
    """Generic: whatever a task's spec declares as ``paper_comparability`` is shown beside its column."""
    from benchmark.task import get_task

    task_cls = type(get_task("bit-xor"))
    spec = task_cls.spec
    monkeypatch.setattr(task_cls, "spec", replace(spec, options={**spec.options,
                                                                   "paper_comparability": "scored on <valid>"}))
    texts = _render([harness], tmp_path / "rep")
    assert "bit-xor: not the paper evaluation, compare with care: scored on \\<valid\\>" in texts["md"]
    assert "| bit-xor [" in texts["md"]
    assert "scored on &lt;valid&gt;" in texts["html"] and "scored on \\textless{}valid\\textgreater{}" in texts["tex"]
    csv = csv_of(tmp_path / "rep")
    assert cell(csv, "table1", "FPT").comparability == "scored on <valid>"
    assert cell(csv, "table1", "FPT", "mnist").comparability == ""
    monkeypatch.setattr(task_cls, "spec", replace(spec, options={**spec.options, "paper_comparability": "exact"}))
    assert "bit-xor: not the paper evaluation" not in _render([harness], tmp_path / "rep2")["md"]
    # the tasks' own form: paper_comparable "false"/"true" with comparability_note
    monkeypatch.setattr(task_cls, "spec", replace(spec, options={**spec.options, "paper_comparable": "false",
                                                                   "comparability_note": "other split"}))
    assert "bit-xor: not the paper evaluation, compare with care: other split" in _render([harness], tmp_path / "r3")["md"]
    monkeypatch.setattr(task_cls, "spec", replace(spec, options={**spec.options, "paper_comparable": "true",
                                                                   "comparability_note": "the paper's"}))
    assert "bit-xor: not the paper evaluation" not in _render([harness], tmp_path / "r4")["md"]


def test_table1_flags_the_homology_column_whose_test_split_is_not_the_papers(harness: Path, tmp_path: Path) -> None:
    """remote-homology tests on TAPE's fold holdout; the paper's 12.7 is valid-split accuracy x 0.9739."""
    from report.reasons import task_comparability

    assert task_comparability("remote-homology") and not task_comparability("remote-homology-fpt")
    texts = _render([harness], tmp_path / "rep")
    header = next(ln for ln in texts["md"].splitlines() if ln.startswith("| row | backbone |"))
    assert "remote-homology [" in header and "bit-xor [" not in header
    assert "remote-homology: not the paper evaluation" in texts["md"]
    csv = csv_of(tmp_path / "rep")
    assert cell(csv, "table1", "FPT", "remote-homology").comparability == task_comparability("remote-homology")


def test_report_is_in_percent_and_deltas_never_print_minus_zero() -> None:
    from report.cells import Cell
    from report.formats import delta_text, signed
    from report.metrics import get_metric
    from report.paper_values import PaperValue

    assert get_metric("test-metric").unit == "%" and "(%)" in get_metric("test-metric").label
    assert signed(-0.04, 1) == "0.0" and signed(0.04, 1) == "0.0" and signed(-0.06, 1) == "-0.1"
    assert delta_text(Cell((99.96,), (0,)), PaperValue(100.0, "paper-summary", ""), 1) == "0.0"
    assert signed(2.5, 1) == "+2.5"
    from report.formats import num, ours_text

    assert num(-0.04, 1) == "0.0" and ours_text(Cell((-0.04,), (0,)), 1) == "0.0 (n=1)"


def test_a_single_point_curve_draws_a_marker() -> None:
    from report.figures import draw

    df = pd.DataFrame({"series": ["fpt", "lstm", "lstm"], "metric": ["accuracy"] * 3, "step": [10, 10, 20],
                       "wall_time_mean_s": [1.0, 1.0, 2.0], "value_mean": [50.0, 40.0, 45.0],
                       "value_min": [50.0, 40.0, 45.0], "value_max": [50.0, 40.0, 45.0], "n_seeds": [1, 1, 1]})
    fig = draw(df, "t")
    for ax in fig.axes[:2]:
        lines = {ln.get_label().split(" ")[0]: ln for ln in ax.get_lines()}
        assert lines["fpt"].get_marker() not in (None, "None", "", " ")
        assert lines["lstm"].get_marker() in (None, "None", "", " ")


def test_modality_and_ablation_specs_are_report_tables_that_cover_the_papers_rows() -> None:
    """Moved from baselines/ (report/ names models as strings; the layering test forbids the import)."""
    import csv

    from benchmark.model import MODELS
    from benchmark.paths import REPO_ROOT
    from report.tables.modality import table_specs

    with open(REPO_ROOT / "report" / "paper_tables.csv") as f:
        paper = {(r["table"], r["row"]) for r in csv.DictReader(f)}
    names = {"modality", "ablation-pretrained", "ablation-random", "unfreeze-more", "initialization"}
    assert names <= set(TABLE_SPECS.names())
    presets = {"output-only", "+ln", "+input", "+pos", "+ff", "+attn", "+both"}
    for spec in table_specs():
        ours = {r.paper_row for r in spec.rows if r.paper_row}
        for row in spec.rows:
            assert row.model in MODELS.names(), row
            opts = dict(row.options or ())
            if "preset" in opts:
                assert opts["preset"].strip('"') in presets
        assert {(spec.paper_table, r) for r in ours} <= paper
        assert {r for t, r in paper if t == spec.paper_table} <= ours
    rows = {s.name: s for s in table_specs("vit-base", "paper")}["modality"].rows
    assert rows[3].backbone == "vit-base" and rows[2].matches_options({"pretrain_profile": "paper"})


def test_a_grid_run_at_another_lr_never_enters_or_conflicts_a_plain_cell(harness: Path, tmp_path: Path) -> None:
    """Plain rows hold the profile's own learning rate; a grid sweep's other rates go to the lr-selection
    table (without this, the same seed at two rates made Table 1's cell a 'conflict')."""
    from benchmark.runner import make_config, run

    res = tmp_path / "res"
    shutil.copytree(harness, res)
    cfg = make_config("bit-xor", "fpt", backbone="tiny-gpt2", seed=0, profile="ci", max_steps=4,
                      budget_overrides={"eval_every": 2, "checkpoint_every": 100, "eval_batch_size": 256, "lr": 0.05})
    assert run(cfg, res, progress=False) == "finished"
    out = tmp_path / "rep"
    render_report([res], out, tables=["table1"], formats="csv", figures=False)
    fpt_row = next(r for r in get_table("table1").rows if r.model == "fpt")
    got = cell(csv_of(out), "table1", fpt_row.label)
    runs = read_table([harness], "runs")
    plain = runs[(runs.split == "test") & (runs.metric == "accuracy") & (runs.model == "fpt")].value * 100
    assert float(got.ours_mean) == pytest.approx(plain.mean(), abs=1e-5) and int(got.n_seeds) == 2
    assert "other learning rates" in got.notes


def test_a_run_on_a_fraction_of_the_training_split_never_fills_a_protocol_cell(harness: Path, tmp_path: Path) -> None:
    """Data-efficiency runs (``train_fraction`` < 1) belong to their own page: in a plain cell they made the
    same seed's cell a 'conflict' (seen on the committed MNIST results) or would pass for the protocol."""
    res = tmp_path / "res"
    shutil.copytree(harness, res)
    fpt_row = next(r for r in get_table("table1").rows if r.model == "fpt")
    for f in sorted((res / "runs").glob("*fpt*")):
        table = pq.read_table(f).to_pandas()
        cfg = json.loads(table.config.iloc[0])
        cfg["budget"]["train_fraction"] = 0.1
        table["config"] = json.dumps(cfg)
        table["run_id"] = table.run_id + "-frac"
        table["config_hash"] = table.config_hash + "f"
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), f.with_name(f.stem + "-frac.parquet"))
    out = tmp_path / "rep"
    render_report([res], out, tables=["table1"], formats="csv", figures=False)
    got = cell(csv_of(out), "table1", fpt_row.label)
    runs = read_table([harness], "runs")
    plain = runs[(runs.split == "test") & (runs.metric == "accuracy") & (runs.model == "fpt")].value * 100
    assert float(got.ours_mean) == pytest.approx(plain.mean(), abs=1e-5) and int(got.n_seeds) == 2
    assert "fraction of the training split" in got.notes
