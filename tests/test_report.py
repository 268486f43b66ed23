"""The report: tables and figures rendered from real (tiny) harness runs, and ``report --check``.

One module-scoped results directory is filled by actually running the harness for a few steps on the
tiny random GPT-2: two FPT seeds, one Full seed, a run that diverges (an adapter that emits NaN), two
'oracle' runs that reach the threshold at known evaluation steps (for the steps-to-threshold table and
its derived speed-up row), and one run under another profile. Expected numbers are always recomputed
from the Parquet files, never typed in.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from benchmark.cli import main as cli_main
from benchmark.errors import FptError
from benchmark.model import MODELS, ModelAdapter
from benchmark.profiles import get_profile
from benchmark.results import read_table
from report.render import check_note, check_report, render_report
from report.specs import TABLE_SPECS, DerivedRow, RowSpec, TableSpec

NAN_MODEL, ORACLE_MODEL = "report-test-nan", "report-test-oracle"


class _NaNModule(nn.Module):
    def __init__(self, spec) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(spec.output_dim))
        self.spec = spec

    def forward(self, x, mask=None):
        return (self.w * float("nan")).expand(x.shape[0], self.spec.output_tokens, self.spec.output_dim)


class NaNAdapter(ModelAdapter):
    """Always NaN: the first training loss is NaN, so the harness records status 'diverged'."""

    family = "test"
    uses_backbone = False
    default_backbone = None

    def build(self, spec, seed):
        return _NaNModule(spec)


class _XorOracle(nn.Module):
    """Bit-XOR solved exactly up to a scale ``w`` that starts at 0 (all ties: ~50%) and becomes
    positive after the first Adam step, so validation accuracy hits 100% at the first evaluation."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x, mask=None):
        xor = (x[:, :5, 0] - x[:, 5:, 0]).abs()
        return self.w * torch.stack([1 - xor, xor], dim=-1)


class OracleAdapter(ModelAdapter):
    family = "test"
    uses_backbone = False
    default_backbone = None

    def build(self, spec, seed):
        return _XorOracle()


TEST_TABLE = TableSpec(
    name="report-test-acc", title="Test table <accuracy>",
    rows=(RowSpec("FPT", "fpt", paper_row="fpt"), RowSpec("Diverges <b>", NAN_MODEL, paper_row="full")),
    tasks=("bit-xor",), paper_table="table1", order=1,
)
TEST_STEPS = TableSpec(
    name="report-test-steps", title="Test steps table",
    rows=(RowSpec("fast", ORACLE_MODEL, paper_row="fpt"),
          RowSpec("slow", ORACLE_MODEL, options={"variant": "slow"}, paper_row="random")),
    derived=(DerivedRow("speed-up", numerator="slow", denominator="fast", paper_row="speedup"),),
    tasks=("bit-xor",), metric="steps-to-threshold", paper_table="table6", average=False, order=2,
)
TABLES = ["table1", "report-test-acc", "report-test-steps"]


def _run(out: Path, task: str, model: str, backbone: str | None, seed: int = 0, profile: str = "ci", steps: int = 10,
         eval_every: int = 5, options: dict | None = None) -> str:
    from benchmark.runner import make_config, run

    cfg = make_config(task, model, backbone=backbone, seed=seed, profile=profile, max_steps=steps, options=options,
                      budget_overrides={"eval_every": eval_every, "checkpoint_every": 100, "eval_batch_size": 500})
    return run(cfg, out, progress=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Registered test plugins, an empty data dir (so data tasks 'need data') and the shared results;
    all undone afterwards, even when building them fails."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp, contextlib.ExitStack() as plugins:
        mp.setenv("FPTBENCH_DATA_DIR", str(root / "data"))
        mp.setenv("FPTBENCH_CACHE_DIR", str(root / "cache"))
        plugins.enter_context(MODELS.temporarily(NAN_MODEL, NaNAdapter))
        plugins.enter_context(MODELS.temporarily(ORACLE_MODEL, OracleAdapter))
        plugins.enter_context(TABLE_SPECS.temporarily(TEST_TABLE.name, TEST_TABLE))
        plugins.enter_context(TABLE_SPECS.temporarily(TEST_STEPS.name, TEST_STEPS))
        res = root / "results"
        status = {
            "fpt0": _run(res, "bit-xor", "fpt", "tiny-gpt2", seed=0, eval_every=2),  # >= 5 evaluations: a drawn line
            "fpt1": _run(res, "bit-xor", "fpt", "tiny-gpt2", seed=1, eval_every=2),
            "nan0": _run(res, "bit-xor", NAN_MODEL, None),
            "fast": _run(res, "bit-xor", ORACLE_MODEL, None, eval_every=2, steps=6),
            "slow": _run(res, "bit-xor", ORACLE_MODEL, None, eval_every=3, steps=6, options={"variant": "slow"}),
            "cpu0": _run(res, "bit-xor", "fpt", "tiny-gpt2", profile="cpu", steps=5),
        }
        yield {"root": root, "results": res, "status": status}


@pytest.fixture(scope="module")
def rendered(env):
    out = env["root"] / "out"
    written = render_report([env["results"]], out, tables=TABLES)
    return {"out": out, "written": written, "csv": pd.read_csv(out / "tables.csv", keep_default_na=False),
            "md": (out / "README.md").read_text(encoding="utf-8")}


def _test_acc(results: Path, model: str, profile: str = "ci") -> pd.Series:
    runs = read_table([results], "runs")
    sel = runs[(runs.model == model) & (runs.profile == profile) & (runs.split == "test") & (runs.metric == "accuracy")]
    return sel.sort_values("seed").value * 100


def _cell(csv: pd.DataFrame, table: str, row: str, task: str, profile: str = "ci") -> pd.Series:
    sel = csv[(csv.table == table) & (csv.row == row) & (csv.task == task) & (csv.profile == profile)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_harness_statuses(env):
    s = env["status"]
    assert s["nan0"] == "diverged"
    assert all(v == "finished" for k, v in s.items() if k != "nan0")


def test_cell_is_mean_std_n_with_paper_value_source_and_delta(env, rendered):
    acc = _test_acc(env["results"], "fpt")
    cell = _cell(rendered["csv"], "table1", "FPT", "bit-xor")
    assert int(cell.n_seeds) == 2 and cell.seeds == "0 1"
    assert float(cell.ours_mean) == pytest.approx(statistics.fmean(acc), abs=1e-5)
    assert float(cell.ours_std) == pytest.approx(statistics.stdev(acc), abs=1e-5)
    assert cell.paper_source == "paper-summary" and float(cell.paper_value) == 100.0
    assert float(cell.delta) == pytest.approx(statistics.fmean(acc) - 100.0, abs=1e-5)
    assert cell.backbone_group == "tiny-gpt2" and cell.paper_protocol in (False, "False")
    md = rendered["md"]
    line = next(ln for ln in md.splitlines() if ln.startswith("| FPT — ours | tiny-gpt2"))
    budget = get_profile("ci").budget("bit-xor", "fpt").steps
    from report.uncertainty import bootstrap_mean_ci

    lo, hi = bootstrap_mean_ci(list(acc))
    assert f"{statistics.fmean(acc):.1f} [{lo:.1f}, {hi:.1f}] (n=2) [10 steps, profile budget {budget}]" in line
    assert "| FPT — paper (paper-summary) | gpt2 |" in md
    assert "NOT the paper protocol: profile `ci`, backbone `tiny-gpt2`" in md


def test_transcribed_paper_values_say_so(rendered):
    cell = _cell(rendered["csv"], "report-test-steps", "fast", "bit-xor")
    assert cell.paper_source == "transcription"
    assert "fast — paper (transcription)" in rendered["md"]


def test_missing_cells_say_why_and_averages_over_them_are_empty(rendered):
    csv = rendered["csv"]
    # the ci profile's suite never plans an LSTM: "not in the suite", not "never run" (which reads as "not yet")
    assert _cell(csv, "table1", "LSTM", "bit-xor").missing_reason == "not in profile `ci`'s suite"
    assert _cell(csv, "table1", "LSTM", "bit-xor").ours_mean == ""
    assert "needs data (`fptbench data prepare" in _cell(csv, "table1", "FPT", "mnist").missing_reason
    avg = _cell(csv, "table1", "FPT", "(average)")
    assert avg.ours_mean == "" and avg.paper_value != ""  # ours has 1 of 7 tasks: no average, paper has all 7
    assert avg.coverage == "1/7"
    md = rendered["md"]
    assert "- [a] " in md and "not in profile `ci`'s suite" in md and "Coverage: " in md


def test_diverged_cell_is_scored_at_best_validation_and_marked(env, rendered):
    """The trainer keeps a diverged run's best-validation test score when it has one (else NaN): the
    cell shows it with the divergence mark, or says the seed diverged (test_report_honest covers both)."""
    csv = rendered["csv"]
    runs = read_table([env["results"]], "runs")
    acc = runs[(runs.model == NAN_MODEL) & (runs.split == "test") & (runs.metric == "accuracy")].value.iloc[0]
    nan = _cell(csv, "report-test-acc", "Diverges <b>", "bit-xor")
    if pd.isna(acc):
        assert nan.missing_reason == "diverged (1 of 1 seeds)" and nan.ours_mean == ""
        assert _cell(csv, "report-test-acc", "Diverges <b>", "(average)").ours_mean == ""
    else:
        assert float(nan.ours_mean) == pytest.approx(100 * acc, abs=1e-5) and int(nan.diverged_seeds) == 1
        assert "(n=1, 1†) †" in rendered["md"]
    fpt = _cell(csv, "report-test-acc", "FPT", "bit-xor")
    assert _cell(csv, "report-test-acc", "FPT", "(average)").ours_mean == fpt.ours_mean  # full row: average exists
    assert _cell(csv, "report-test-acc", "FPT", "(average)").coverage == "1/1"


def test_profiles_render_as_separate_tables(env, rendered):
    csv = rendered["csv"]
    cpu = _cell(csv, "table1", "FPT", "bit-xor", profile="cpu")
    assert int(cpu.n_seeds) == 1
    assert float(cpu.ours_mean) == pytest.approx(float(_test_acc(env["results"], "fpt", "cpu").iloc[0]), abs=1e-5)
    assert "profile `cpu`, backbone `tiny-gpt2`" in rendered["md"]
    assert _cell(csv, "table1", "Full (trained from scratch)", "bit-xor", profile="cpu").missing_reason == "never run"  # planned by cpu's suite


def test_steps_to_threshold_and_derived_speedup(env, rendered):
    runs = read_table([env["results"]], "runs")
    runs = runs[(runs.model == ORACLE_MODEL) & (runs.split == "test") & (runs.metric == "accuracy")]
    stt = {("slow" if "variant" in c else "fast"): int(s) for c, s in zip(runs.config, runs.steps_to_threshold)}
    csv = rendered["csv"]
    assert float(_cell(csv, "report-test-steps", "fast", "bit-xor").ours_mean) == stt["fast"]
    assert float(_cell(csv, "report-test-steps", "slow", "bit-xor").ours_mean) == stt["slow"]
    assert stt["fast"] != stt["slow"]
    speed = _cell(csv, "report-test-steps", "speed-up", "bit-xor")
    assert float(speed.ours_mean) == pytest.approx(stt["slow"] / stt["fast"])
    assert float(speed.paper_value) > 0 and speed.paper_source == "transcription"


def test_tex_and_html_escape_and_show_the_same_cells(rendered):
    out = rendered["out"]
    html = (out / "index.html").read_text(encoding="utf-8")
    tex = (out / "tables.tex").read_text(encoding="utf-8")
    assert "Diverges &lt;b&gt;" in html and "<b>" not in html.replace("<body>", "")
    assert "Test table &lt;accuracy&gt;" in html
    assert "[" in tex and r"\toprule" in tex and "report-test-acc" in tex
    assert 'class="missing"' in html


def test_figures_exist_are_linked_and_their_data_matches_the_curves(env, rendered):
    out = rendered["out"]
    stem = "figures/ci__tiny-gpt2__bit-xor"
    for ext in ("png", "svg", "csv"):
        assert (out / f"{stem}.{ext}").stat().st_size > 0
        assert f"({stem}.{ext})" in rendered["md"]
    data = pd.read_csv(out / f"{stem}.csv")
    curves = read_table([env["results"]], "curves")
    runs = read_table([env["results"]], "runs")
    fpt_ids = set(runs[(runs.model == "fpt") & (runs.profile == "ci")].run_id)
    c = curves[curves.run_id.isin(fpt_ids) & (curves.metric == "accuracy") & (curves.step == 10)]
    row = data[(data.series == "fpt") & (data.step == 10)].iloc[0]
    assert row.n_seeds == 2
    assert row.value_mean == pytest.approx(100 * c.value.mean(), abs=1e-5)
    assert row.value_min == pytest.approx(100 * c.value.min(), abs=1e-5)
    assert "lstm" not in set(data.series) and NAN_MODEL not in set(data.series)  # never run / diverged: no line


def test_rerender_is_byte_identical_including_images(env, rendered):
    again = env["root"] / "again"
    render_report([env["results"]], again, tables=TABLES)
    files = sorted(p.relative_to(rendered["out"]) for p in rendered["out"].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        if f.name == "manifest.json" or f.suffix in (".md", ".html"):
            continue  # these name their own --out directory in the regenerate command
        assert (rendered["out"] / f).read_bytes() == (again / f).read_bytes(), f


def test_check_passes_on_fresh_render_and_fails_after_an_edit(env, tmp_path):
    out = tmp_path / "committed"
    render_report([env["results"]], out, tables=TABLES)
    assert check_report(out) == []
    assert cli_main(["report", "--check", "--out", str(out)]) == 0
    md = out / "README.md"
    md.write_text(md.read_text(encoding="utf-8").replace("(n=2)", "(n=3)"), encoding="utf-8")
    (out / "figures" / "ci__tiny-gpt2__bit-xor.csv").unlink()
    (out / "stray.txt").write_text("x")
    diffs = check_report(out)
    assert any(d.startswith("README.md: differs") for d in diffs)
    assert any(d.startswith("figures/ci__tiny-gpt2__bit-xor.csv: missing") for d in diffs)
    assert any(d.startswith("stray.txt:") for d in diffs)
    assert cli_main(["report", "--check", "--out", str(out)]) == 1


def test_check_fails_when_results_change(env, tmp_path):
    res = tmp_path / "res"
    shutil.copytree(env["results"], res)
    out = tmp_path / "rep"
    render_report([res], out, tables=["report-test-acc"], formats="md,csv", figures=False)
    assert check_report(out) == []
    assert _run(res, "bit-xor", NAN_MODEL, None, seed=1) == "diverged"  # a second diverged seed changes the cell
    diffs = check_report(out)
    assert "README.md: differs" in diffs and "tables.csv: differs" in diffs


def test_conflicting_configs_for_one_seed_are_shown_not_picked(env, tmp_path):
    res = tmp_path / "res"
    shutil.copytree(env["results"], res)
    assert _run(res, "bit-xor", ORACLE_MODEL, None, eval_every=2, steps=4) == "finished"  # same seed, other budget
    out = tmp_path / "rep"
    render_report([res], out, tables=["report-test-steps"], formats="csv", figures=False)
    cell = _cell(pd.read_csv(out / "tables.csv", keep_default_na=False), "report-test-steps", "fast", "bit-xor")
    assert cell.missing_reason.startswith("conflict: several configs") and cell.ours_mean == ""


def test_empty_results_render_every_cell_as_missing(env, tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "rep"
    render_report([tmp_path / "empty"], out, tables=["table1"], formats="csv,md", figures=False)
    csv = pd.read_csv(out / "tables.csv", keep_default_na=False)
    body = csv[csv.task != "(average)"]
    assert len(body) == 28 and (body.ours_mean == "").all() and (body.missing_reason != "").all()
    md = (out / "README.md").read_text(encoding="utf-8")
    assert "(no results)" not in md and "No run in these results for: Table 1" in md  # one line, no empty section


def test_bad_input_is_one_clear_error(env, tmp_path):
    with pytest.raises(FptError, match="repeats row labels"):
        TableSpec("x", "x", rows=(RowSpec("a", "fpt"), RowSpec("a", "full")), tasks=("bit-xor",))
    with pytest.raises(FptError, match="unknown row 'nope'"):
        TableSpec("x", "x", rows=(RowSpec("a", "fpt"),), tasks=("bit-xor",), derived=(DerivedRow("d", "a", "nope"),))
    with pytest.raises(FptError, match="unknown report format 'pdf'"):
        render_report([env["results"]], tmp_path / "r", formats="md,pdf")
    with pytest.raises(FptError, match="unknown table 'tabel1'.*table1"):
        render_report([env["results"]], tmp_path / "r", tables=["tabel1"])
    src = tmp_path / "src"
    src.mkdir()
    (src / "code.py").write_text("x = 1\n")
    with pytest.raises(FptError, match="refusing to replace"):
        render_report([env["results"]], src, tables=["table1"])
    assert (src / "code.py").exists()
    with pytest.raises(FptError, match="does not exist"):
        render_report([tmp_path / "nope"], tmp_path / "r2")
    with pytest.raises(FptError, match="not a rendered report"):
        check_report(src)


def test_options_filter_keeps_ablations_out_of_the_plain_row():
    row = RowSpec("FPT", "fpt")
    assert row.matches_options({}) and not row.matches_options({"preset": "+ln"})
    assert RowSpec("ln", "fpt", options={"preset": "+ln"}).matches_options({"preset": "+ln"})
    assert RowSpec("any", "fpt", options=None).matches_options({"preset": "+ln"})


def test_paper_tables_copy_matches_shared():
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "paper" / "fpt_tables.csv"
    if not shared.exists():
        pytest.skip("../shared is not present in this checkout")
    assert (Path(__file__).resolve().parents[1] / "report" / "paper_tables.csv").read_bytes() == shared.read_bytes()


def test_check_compares_images_by_presence_when_the_renderer_differs(env, tmp_path):
    out = tmp_path / "rep"
    render_report([env["results"]], out, tables=["report-test-acc"], formats="md")
    manifest = json.loads((out / "manifest.json").read_text())
    png = out / "figures" / "ci__tiny-gpt2__bit-xor.png"
    png.write_bytes(png.read_bytes() + b"\0")
    assert check_report(out) == ["figures/ci__tiny-gpt2__bit-xor.png: differs"]  # same renderer: bytes count
    manifest["renderer"] = {"matplotlib": "0.0-other", "freetype": "0"}
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert check_report(out) == []
    assert "presence only" in check_note(out)
    png.unlink()
    assert check_report(out) == ["figures/ci__tiny-gpt2__bit-xor.png: missing from " + str(out) + " (the results produce it)"]
    data = out / "figures" / "ci__tiny-gpt2__bit-xor.csv"
    data.write_text(data.read_text().replace("fpt", "fpt2"))
    assert "figures/ci__tiny-gpt2__bit-xor.csv: differs" in check_report(out)


def test_the_same_run_in_two_results_dirs_counts_once(env, rendered, tmp_path):
    out = tmp_path / "rep"
    render_report([env["results"], env["results"]], out, tables=["table1"], formats="csv", figures=False)
    twice = pd.read_csv(out / "tables.csv", keep_default_na=False)
    cell = _cell(twice, "table1", "FPT", "bit-xor")
    assert int(cell.n_seeds) == 2 and cell.ours_mean == _cell(rendered["csv"], "table1", "FPT", "bit-xor").ours_mean


def test_external_specs_register_and_exact_duplicates_are_skipped():
    from dataclasses import replace

    from report.specs import get_table
    from report.tables import register_external

    t6 = get_table("table6")
    try:
        assert register_external([replace(t6, name="report-test-dup", title="same content")]) == []
        assert register_external([replace(t6, name="report-test-new", tasks=("bit-xor",))]) == ["report-test-new"]
        assert get_table("report-test-new").tasks == ("bit-xor",)
        with pytest.raises(FptError, match="registered twice"):
            register_external([replace(t6, name="report-test-new", tasks=("bit-memory",))])
    finally:
        TABLE_SPECS._items.pop("report-test-new", None)


def test_a_backbone_pinned_by_a_row_does_not_form_its_own_group():
    """The image row pins dinov2-s: its fpt run must not fill 'Language (FPT)' in a dinov2-s group."""
    import pandas as pd

    from report.cells import groups_for
    from report.specs import get_table

    spec = get_table("modality")
    rec = pd.DataFrame({"model": ["fpt", "fpt"], "options": [{}, {}], "options_key": ["{}", "{}"], "task": ["bit-xor", "bit-xor"],
                        "profile": ["cpu", "cpu"], "backbone": ["minilm-l6", "dinov2-s"],
                        "stand_in_for": ["", ""]})
    assert [g.backbone for g in groups_for(spec, rec)] == ["minilm-l6"]


def test_contents_lead_to_headings_main_profile_first_one_interval_notation(env, rendered):
    """The report opens with a table of contents whose links all resolve (GitHub's anchors), the profile
    with the most runs comes first, and cells use the leaderboard's notation: mean [95% interval] (n)."""
    import re

    from report.formats import gh_anchor

    md = rendered["md"]
    assert md.index("## Contents") < md.index("\n## ", md.index("## Contents") + 5)
    seen: dict[str, int] = {}
    anchors = {gh_anchor(h, seen) for h in re.findall(r"^#{1,4} (.+)$", md, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", md)
    assert links and set(links) <= anchors
    headings = [h for h in re.findall(r"^## (.+)$", md, flags=re.M) if "profile `" in h]
    assert headings and "profile `ci`" in headings[0] and any("profile `cpu`" in h for h in headings)
    assert " ± " not in md and re.search(r"\d \[\d+\.\d, \d+\.\d\] \(n=2", md)


def test_the_profile_with_most_runs_comes_first_and_empty_tables_are_named():
    from types import SimpleNamespace as NS

    from report.render import main_profile_first

    def table(profile: str, backbone: str = "x", title: str = "T") -> NS:
        return NS(group=NS(profile=profile, backbone=backbone), spec=NS(title=title))

    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "profile": ["zz", "zz", "aa"], "backbone": ["x", "x", "x"]})
    ordered, empty = main_profile_first([table("aa"), table("zz"), table("(no results)", "(none)", "E")], runs)
    assert [t.group.profile for t in ordered][:2] == ["zz", "aa"] and empty == ["E"]
