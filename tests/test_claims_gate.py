"""The gate on committed evidence: copies of committed runs (results/cpu-long), some with edited values.

Each test copies the Parquet files (runs, curves, predictions) of a few committed runs into a fresh
results directory, edits what the case needs, and checks the claim the way `fptbench claims` does
(`evaluate_claims(..., results_dirs=[copy])`). What each guards (and the mutation it was tried with):

- an early "fails" (FPT on the 75% Bit Memory copy plateau at 600 steps) never reads "does not hold"
  (mutations: count a flat curve of two evaluations as converged; let a missed level decide unconverged);
- a collapsed baseline never makes "holds" (mutation: drop the trained check from the gate);
- a tie at the ceiling does not fail claim 3 (mutation: drop the ceiling check);
- two profiles give one verdict, the longer budget deciding (mutation: let the shorter budget decide);
- a selected lr at the edge of its grid gives "open" (mutation: drop the grid-edge check).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark.results import read_table, write_table
from benchmark.runview import read_runs
from report.claims import FAILS, HOLDS, OPEN, evaluate_claims
from report.claims.base import GRID_EDGE, NOT_TRAINED, TIE, EARLY

COMMITTED = Path(__file__).resolve().parents[1] / "results" / "cpu-long"
TABLES = ("runs", "curves", "predictions")


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    return read_runs([COMMITTED]).runs


def copy_runs(committed: pd.DataFrame, dest: Path, **match) -> list[str]:
    """Copy the committed runs whose view columns equal ``match`` (``lr`` compared as float) into ``dest``."""
    sel = committed
    for k, v in match.items():
        sel = sel[(sel[k] - v).abs() < 1e-12] if k == "lr" else sel[sel[k] == v]
    assert len(sel), f"no committed run matches {match}"
    for rid in sel.run_id:
        for table in TABLES:
            src = COMMITTED / table / f"{rid}.parquet"
            if src.is_file():
                (dest / table).mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dest / table / src.name)
    return list(sel.run_id)


def edit(dest: Path, run_ids: list[str], *, accuracy: float | None = None, single_class: bool = False) -> None:
    """Rewrite copied runs: test/val accuracy and a flat validation curve at ``accuracy``, and/or
    predictions of one class (a model that collapsed)."""
    for rid in run_ids:
        if accuracy is not None:
            runs = pd.read_parquet(dest / "runs" / f"{rid}.parquet")
            main = runs.metric == "accuracy"
            runs.loc[main, "value"] = accuracy
            runs["steps_to_threshold"] = None
            write_table(dest, "runs", rid, _records(runs))
            curves = pd.read_parquet(dest / "curves" / f"{rid}.parquet")
            curves.loc[curves.metric == "accuracy", "value"] = accuracy
            write_table(dest, "curves", rid, curves.to_dict("records"))
        if single_class:
            pred = pd.read_parquet(dest / "predictions" / f"{rid}.parquet")
            pred["prediction"] = [[1] * len(p) for p in pred.prediction]
            write_table(dest, "predictions", rid, pred.to_dict("records"))


def _records(frame: pd.DataFrame) -> list[dict]:
    """Runs rows to write back: missing values as None (pandas reads a nullable int column back as float NaN),
    and columns added to the schema since the committed run was written as None."""
    from benchmark.results import RUNS_SCHEMA

    rows = [{k: (None if not isinstance(v, (list, str)) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]
    return [{f.name: r.get(f.name) for f in RUNS_SCHEMA} | {k: v for k, v in r.items()} for r in rows]


def check(dest: Path, name: str):
    (group, (result,)), = evaluate_claims(read_table([dest], "runs"), results_dirs=[dest], names=[name])
    return group, result


def deciding(result, task: str, part: str = ""):
    (f,) = [f for f in result.findings if f.task == task and f.part == part and not f.superseded]
    return f


def test_an_early_fails_never_reads_does_not_hold(tmp_path, committed):
    # FPT sits on Bit Memory's 75% copy plateau after 600 steps (cpu-long), flat from step 200 to 600
    copy_runs(committed, tmp_path, task="bit-memory", model="fpt", profile="cpu-long")
    _, r = check(tmp_path, "bit-tasks-solved")
    f = deciding(r, "bit-memory", "FPT")
    assert f.verdict == OPEN and f.open_reason == EARLY, f.note
    assert r.verdict != FAILS and "early training" in r.reason
    assert f.budgets == {"FPT": 600} and not f.converged["FPT"]


def test_the_same_row_at_the_longer_budget_decides(tmp_path, committed):
    copy_runs(committed, tmp_path, task="bit-memory", model="fpt")  # cpu-long 600 and cpu-converge 4000 steps
    _, r = check(tmp_path, "bit-tasks-solved")
    f = deciding(r, "bit-memory", "FPT")
    assert f.verdict == HOLDS and f.profile == "cpu-converge" and f.budgets == {"FPT": 4000}
    (old,) = [g for g in r.findings if g.task == "bit-memory" and g.part == "FPT" and g.superseded]
    assert old.profile == "cpu-long" and "cpu-converge (4,000 steps)" in old.superseded


def test_a_collapsed_baseline_never_makes_holds(tmp_path, committed):
    # from scratch at lr 1e-3 on bit-xor predicts one class on every seed (50.5%), its curve flat for 1000 steps
    copy_runs(committed, tmp_path, task="bit-xor", model="fpt", profile="cpu-long", lr=1e-3, preset="")
    copy_runs(committed, tmp_path, task="bit-xor", model="random-full", profile="cpu-long", lr=1e-3)
    _, r = check(tmp_path, "fpt-matches-scratch")
    f = deciding(r, "bit-xor")
    assert f.verdict == OPEN and f.open_reason == NOT_TRAINED, f.note
    assert "single-class" in f.note and r.verdict != HOLDS


def test_an_edited_baseline_that_collapsed_never_makes_holds(tmp_path, committed):
    # cpu-converge MNIST: FPT 93%; random-frozen edited to the share of digit 1 with one-class predictions
    copy_runs(committed, tmp_path, task="mnist", model="fpt", profile="cpu-converge")
    rf = copy_runs(committed, tmp_path, task="mnist", model="random-frozen", profile="cpu-converge")
    edit(tmp_path, rf, accuracy=0.1135, single_class=True)
    _, r = check(tmp_path, "language-beats-random")
    f = deciding(r, "mnist")
    assert f.estimate > 50 and f.verdict == OPEN and f.open_reason == NOT_TRAINED, f.note
    assert r.verdict != HOLDS
    assert f.converged["random-frozen"]  # its (edited) curve is flat: only the trained check stops it


def test_a_tie_at_the_ceiling_does_not_fail_claim_3(tmp_path, committed):
    # cpu-converge bit-xor: FPT and random-frozen both at 100% after 3000 steps (as in the paper's Table 2)
    copy_runs(committed, tmp_path, task="bit-xor", model="fpt", profile="cpu-converge")
    copy_runs(committed, tmp_path, task="bit-xor", model="random-frozen", profile="cpu-converge")
    _, r = check(tmp_path, "language-beats-random")
    f = deciding(r, "bit-xor")
    assert f.verdict == OPEN and f.open_reason == TIE and f.tie
    assert r.verdict != FAILS


def test_two_profiles_give_one_verdict(tmp_path, committed):
    for model in ("fpt", "random-frozen"):
        copy_runs(committed, tmp_path, task="bit-memory", model=model)  # cpu-long 600 and cpu-converge 4000
    group, r = check(tmp_path, "language-beats-random")
    assert group.profiles == ("cpu-long", "cpu-converge")
    f = deciding(r, "bit-memory")
    assert f.profile == "cpu-converge" and f.verdict == HOLDS, f.note
    assert [g.profile for g in r.findings if g.task == "bit-memory" and g.superseded] == ["cpu-long"]
    assert r.verdict == HOLDS and "4,000 steps" in r.evidence


def test_a_selected_lr_at_the_edge_of_its_grid_is_open(tmp_path, committed):
    # cpu-long MNIST: full fine-tuning collapses at 1e-3 and 1e-2, so 1e-4, the lowest rate tried, is selected
    copy_runs(committed, tmp_path, task="mnist", model="full", profile="cpu-long")
    copy_runs(committed, tmp_path, task="mnist", model="fpt", profile="cpu-long", preset="", backbone="minilm-l6")
    _, r = check(tmp_path, "tuned-lr-full-overtakes")
    f = deciding(r, "mnist")
    assert f.verdict == OPEN and f.open_reason == GRID_EDGE and "full's selected lr 0.0001 is the lowest" in f.note
    assert any("--model full" in c and "lr=1e-05" in c for c in r.commands)  # the run that widens the grid


def test_a_widened_grid_is_no_longer_at_its_edge(tmp_path, committed):
    copy_runs(committed, tmp_path, task="mnist", model="full", profile="cpu-long")
    copy_runs(committed, tmp_path, task="mnist", model="fpt", profile="cpu-long", preset="", backbone="minilm-l6")
    # fabricated 1e-5 runs of full (copies of its 1e-4 runs, lr and values edited), worse on validation
    low = committed[(committed.task == "mnist") & (committed.model == "full") & ((committed.lr - 1e-4).abs() < 1e-12)]
    for rid in low.run_id:
        runs = pd.read_parquet(COMMITTED / "runs" / f"{rid}.parquet")
        cfg = json.loads(runs.config.iloc[0])
        cfg["budget"]["lr"] = 1e-5
        new_id = rid[:-10] + "e5e5e5e5e5"
        runs = runs.assign(run_id=new_id, config=json.dumps(cfg, sort_keys=True), config_hash="e5e5e5e5e5")
        runs.loc[runs.metric == "accuracy", "value"] = 0.5
        write_table(tmp_path, "runs", new_id, _records(runs))
    _, r = check(tmp_path, "tuned-lr-full-overtakes")
    f = deciding(r, "mnist")
    assert "full (lr 0.0001)" in f.what and f.open_reason != GRID_EDGE, f.note
    assert f.verdict == OPEN  # still 2 seeds of full: fewer than 3


def test_an_early_training_row_says_what_convergence_would_cost_at_its_recorded_speed(tmp_path, committed):
    # ListOps at cpu-long's 100 steps, far below the paper's 2,000: the open comparison prices the run
    # that would settle it from the steps/s the runs themselves recorded
    ids = copy_runs(committed, tmp_path, task="listops", model="fpt", profile="cpu-long")
    copy_runs(committed, tmp_path, task="listops", model="random-full", profile="cpu-long")
    rate = float(committed[committed.run_id.isin(ids)].steps_per_s.median())
    _, r = check(tmp_path, "fpt-matches-scratch")  # FPT is a row of claim 2 on ListOps
    evidence_rows = [text for f in r.findings if f.task == "listops" for text in f.rows.values()]
    hours = f"~{2000 / rate / 3600:.1f} h of training per seed at the {rate:.2f} steps/s these runs recorded"
    assert any(hours in text for text in evidence_rows), evidence_rows
