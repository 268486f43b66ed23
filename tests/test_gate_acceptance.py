"""Issue 9's acceptance, on results frames (cheap): ``fptbench check`` of a real ``ci`` sweep against a copy
whose accuracies are 3 points lower on every key, or with one seed of one key 25 points lower, or with
steps to threshold 1.5 times higher, exits 1; the unmodified copy exits 0.

The "fresh sweep" is the committed reference itself (a real ``ci`` sweep with curves); the copies are
edited with ``benchmark.gate.mutate``, exactly what ``fptbench check --calibrate`` injects. Every check
runs with ``--determinism off`` so that the statistical tier alone must catch it (a copy with the same
config hashes would otherwise fail bit-identity on this machine, which proves nothing elsewhere).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.cli import main
from benchmark.gate import mutate
from benchmark.gate.reference import load_curves, load_runs
from benchmark.paths import REPO_ROOT
from benchmark.results import CURVES_SCHEMA, RUNS_SCHEMA

# Another reference can be checked the same way (e.g. a freshly regenerated one before it is committed).
REFERENCE = Path(os.environ.get("FPTBENCH_ACCEPTANCE_REFERENCE", REPO_ROOT / "results" / "reference" / "ci"))
pytestmark = pytest.mark.skipif(not (REFERENCE / "curves").is_dir(), reason="no committed ci reference with curves")


def _write(frame: pd.DataFrame, folder: Path, table: str) -> None:
    schema = {"runs": RUNS_SCHEMA, "curves": CURVES_SCHEMA}[table]
    shutil.rmtree(folder / table, ignore_errors=True)
    (folder / table).mkdir(parents=True)
    for run_id, part in frame.groupby("run_id"):
        cols = [f.name for f in schema]
        pq.write_table(pa.Table.from_pandas(part[cols], schema=schema, preserve_index=False),
                       folder / table / f"{run_id}.parquet")


def _copy(tmp_path: Path, name: str, runs: pd.DataFrame, curves: pd.DataFrame) -> Path:
    out = tmp_path / name
    _write(runs, out, "runs")
    _write(curves, out, "curves")
    return out


@pytest.fixture(scope="module")
def sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_runs(REFERENCE), load_curves(REFERENCE)


def _check(results: Path, capsys) -> tuple[int, str]:
    code = main(["check", "--reference", str(REFERENCE), "--results", str(results), "--determinism", "off"])
    return code, capsys.readouterr().out


def test_unmodified_copy_passes(sweep, tmp_path, capsys):
    code, out = _check(_copy(tmp_path, "same", *sweep), capsys)
    assert code == 0 and "PASS" in out


def test_three_points_lower_on_every_key_fails(sweep, tmp_path, capsys):
    runs, curves = sweep
    code, out = _check(_copy(tmp_path, "minus3", mutate.shift_accuracy(runs, -0.03), curves), capsys)
    assert code == 1 and "REGRESSION" in out and "REGRESSED accuracy" in out


def test_one_seed_of_one_key_25_points_lower_fails_for_every_key(sweep, tmp_path, capsys):
    runs, curves = sweep
    t = runs[(runs.split == "test") & (runs.metric != "loss")]
    for (task, model, backbone), rows in t.groupby(["task", "model", "backbone"]):
        seed = int(rows.seed.iloc[0])
        edited = mutate.shift_accuracy(runs, -0.25, (task, model, backbone), seed)
        code, out = _check(_copy(tmp_path, f"{task}-{model}-{backbone}", edited, curves), capsys)
        assert code == 1, f"{task}/{model}/{backbone} seed {seed} -25 points passed:\n{out}"
        assert f"REGRESSION {task}/{model}/{backbone}" in out


def test_steps_to_threshold_one_and_a_half_times_higher_fails(sweep, tmp_path, capsys):
    runs, curves = sweep
    slow_runs, slow_curves = mutate.scale_steps(runs, curves, 1.5)
    code, out = _check(_copy(tmp_path, "slow", slow_runs, slow_curves), capsys)
    assert code == 1 and "REGRESSED speed" in out


def test_steps_to_threshold_recorded_one_evaluation_late_fails(sweep, tmp_path, capsys):
    runs, curves = sweep
    code, out = _check(_copy(tmp_path, "late", mutate.stt_one_eval_later(runs), curves), capsys)
    assert code == 1 and "contradict the curve" in out
