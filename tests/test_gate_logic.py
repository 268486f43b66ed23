"""The gate's statistics on synthetic runs tables: thresholds, direction, seeds, fingerprints, exit codes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.gate import EXIT_NOT_COMPARABLE, GateConfig, NotComparable, compare_frames
from benchmark.gate.compare import median_steps, pooled_sd
from benchmark.gate.table import render, to_json
from benchmark.results import RUNS_SCHEMA


def runs(values, stt=None, *, task="bit-xor", model="fpt", backbone="tiny-gpt2", seeds=None, fp="fp1",
         torch_version="2.13.0", profile="ci", hash_prefix="h", status=None) -> pd.DataFrame:
    """A runs table as the harness writes it: per run a test-metric row and a loss row."""
    seeds = list(seeds if seeds is not None else range(len(values)))
    stt = list(stt if stt is not None else [None] * len(values))
    rows = []
    for seed, value, s in zip(seeds, values, stt):
        run_id = f"{task}__{model}__{backbone}__s{seed}__{profile}__{hash_prefix}{seed}"
        base = dict(run_id=run_id, status=status or ("diverged" if value is None or (isinstance(value, float) and math.isnan(value)) else "finished"),
                    task=task, model=model, backbone=backbone, seed=seed, profile=profile,
                    task_fingerprint=fp, steps_to_threshold=s, threshold=1.0, torch_version=torch_version,
                    config_hash=f"{hash_prefix}{task}{model}{backbone}{seed}")
        v = math.nan if value is None else value
        rows.append({**base, "split": "test", "metric": "accuracy", "value": v})
        rows.append({**base, "split": "test", "metric": "loss", "value": 0.1})
        rows.append({**base, "split": "val", "metric": "accuracy", "value": v})
    return pd.DataFrame(rows)


def test_pooled_sd_and_median_steps():
    assert pooled_sd(np.array([1.0]), np.array([2.0])) == 0.0
    a, b = np.array([0.0, 2.0]), np.array([1.0, 3.0, 5.0])
    assert pooled_sd(a, b) == pytest.approx(math.sqrt((1 * 2.0 + 2 * 4.0) / 3))
    assert median_steps(pd.Series([100, None, 120])) == 120
    assert math.isinf(median_steps(pd.Series([100, None, None])))


def test_identical_results_pass_and_are_exact():
    ref = runs([0.9, 0.92, 0.91], [100, 110, 120])
    rep = compare_frames(ref, ref.copy())
    assert not rep.failed and rep.exit_code == 0
    assert rep.exact.applied and rep.exact.runs == 3 and rep.exact.identical == 3
    assert "PASS" in render(rep)


def test_accuracy_drop_beyond_abs_tol_fails_within_passes():
    ref = runs([0.90, 0.90, 0.90], hash_prefix="a")
    assert not compare_frames(ref, runs([0.89, 0.89, 0.89], hash_prefix="b")).failed  # -0.01 < 0.02
    rep = compare_frames(ref, runs([0.85, 0.85, 0.85], hash_prefix="b"))
    assert rep.failed and rep.exit_code == 1
    assert rep.verdicts[0].accuracy == "regressed"
    assert "REGRESSED accuracy" in render(rep)


def test_accuracy_gate_is_seed_aware():
    # Noisy seeds (sd ~0.05): a 0.05 drop is within 2 pooled sds, so it is not a regression ...
    ref = runs([0.80, 0.85, 0.90], hash_prefix="a")
    assert not compare_frames(ref, runs([0.75, 0.80, 0.85], hash_prefix="b")).failed
    # ... while the same drop with quiet seeds is.
    quiet = runs([0.85, 0.85, 0.85], hash_prefix="a")
    assert compare_frames(quiet, runs([0.80, 0.80, 0.80], hash_prefix="b")).failed
    # k scales the allowance.
    assert compare_frames(ref, runs([0.75, 0.80, 0.85], hash_prefix="b"), GateConfig(k=0.5)).failed


def test_gate_is_directional_improvements_marked_not_failed():
    ref = runs([0.70, 0.70, 0.70], [None, None, None], hash_prefix="a")
    rep = compare_frames(ref, runs([0.95, 0.95, 0.95], [300, 300, 300], hash_prefix="b"))
    assert not rep.failed
    assert rep.verdicts[0].accuracy == "improved" and rep.verdicts[0].speed == "n/a"
    assert len(rep.improvements) == 1 and "improvement" in render(rep)


def test_convergence_gate_factor_and_never_reached():
    ref = runs([1.0, 1.0, 1.0], [100, 100, 120], hash_prefix="a")
    assert not compare_frames(ref, runs([1.0] * 3, [120, 120, 130], hash_prefix="b")).failed  # x1.2
    slow = compare_frames(ref, runs([1.0] * 3, [130, 140, 130], hash_prefix="b"))  # x1.3
    assert slow.failed and slow.verdicts[0].speed == "regressed" and slow.verdicts[0].accuracy == "ok"
    assert not compare_frames(ref, runs([1.0] * 3, [130, 140, 130], hash_prefix="b"), GateConfig(factor=1.5)).failed
    never = compare_frames(ref, runs([1.0, 0.99, 0.99], [110, None, None], hash_prefix="b"))
    assert never.failed and "no longer reached" in " ".join(never.verdicts[0].reasons)
    # One unlucky seed does not move the median.
    assert not compare_frames(ref, runs([1.0, 1.0, 0.995], [100, 110, None], hash_prefix="b")).failed
    faster = compare_frames(ref, runs([1.0] * 3, [50, 60, 50], hash_prefix="b"))
    assert not faster.failed and faster.verdicts[0].speed == "improved"


def test_diverged_runs_are_regressions():
    ref = runs([0.9, 0.9, 0.9], hash_prefix="a")
    rep = compare_frames(ref, runs([0.9, None, 0.9], hash_prefix="b"))
    assert rep.failed and "diverged" in rep.verdicts[0].reasons[0]


def test_fingerprint_mismatch_refuses():
    ref = runs([0.9] * 3, fp="aaaa")
    with pytest.raises(NotComparable, match="not comparable") as exc:
        compare_frames(ref, runs([0.9] * 3, fp="bbbb"))
    assert exc.value.exit_code == EXIT_NOT_COMPARABLE == 4


def test_determinism_tier():
    ref = runs([0.9, 0.91, 0.92], [100, 100, 100])
    drift = runs([0.9, 0.91, 0.92 + 1e-9], [100, 100, 100])  # same configs, a last-bit difference
    strict = compare_frames(ref, drift)
    assert strict.failed and strict.exact.applied and len(strict.exact.mismatches) == 1
    assert not strict.regressions  # statistically fine: only the exact tier fails
    assert not compare_frames(ref, drift, GateConfig(determinism="report")).failed
    other_torch = compare_frames(ref, runs([0.9, 0.91, 0.92 + 1e-9], [100] * 3, torch_version="2.99.0"))
    assert not other_torch.exact.applied and not other_torch.failed and "statistical" in other_torch.exact.reason
    other_seeds = compare_frames(ref, runs([0.9, 0.91, 0.92], [100] * 3, seeds=[3, 4, 5]))
    assert not other_seeds.exact.applied and not other_seeds.failed


def test_missing_and_unreferenced_keys():
    ref = pd.concat([runs([0.9] * 3), runs([0.8] * 3, task="mnist", fp="m")])
    new = pd.concat([runs([0.9] * 3), runs([0.5] * 3, model="lstm", backbone="none")])
    rep = compare_frames(ref, new)
    assert not rep.failed and rep.missing == [("mnist", "fpt", "tiny-gpt2")]
    assert rep.unreferenced == [("bit-xor", "lstm", "none")]
    assert compare_frames(ref, new, GateConfig(require_all=True)).failed
    assert '"missing"' in to_json(rep)


def test_nothing_to_compare_is_an_error():
    with pytest.raises(FptError, match="no results of profile ci"):
        compare_frames(runs([0.9] * 3), runs([0.9] * 3, profile="cpu"))
    with pytest.raises(FptError, match="matches the reference"):
        compare_frames(runs([0.9] * 3), runs([0.9] * 3, task="bit-memory"))
    with pytest.raises(FptError, match="different runs"):
        compare_frames(runs([0.9] * 3), pd.concat([runs([0.9] * 3), runs([0.9] * 3, hash_prefix="z")]))
    with pytest.raises(FptError):
        GateConfig(factor=0.9)


def _write_results(frame: pd.DataFrame, folder: Path) -> Path:
    """Write a synthetic frame as a results dir (one runs file per run, the harness's schema)."""
    full = frame.copy()
    for f in RUNS_SCHEMA:
        if f.name not in full:
            full[f.name] = None
    for run_id, part in full.groupby("run_id"):
        (folder / "runs").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(part[[f.name for f in RUNS_SCHEMA]], schema=RUNS_SCHEMA,
                                            preserve_index=False), folder / "runs" / f"{run_id}.parquet")
    return folder


def test_cli_exit_codes(tmp_path: Path, capsys):
    ref = _write_results(runs([0.9] * 3, [100] * 3), tmp_path / "ref")
    same = _write_results(runs([0.9] * 3, [100] * 3), tmp_path / "same")
    worse = _write_results(runs([0.6] * 3, [None] * 3, hash_prefix="w"), tmp_path / "worse")
    other = _write_results(runs([0.9] * 3, [100] * 3, fp="zzz"), tmp_path / "other")
    assert main(["check", "--reference", str(ref), "--results", str(same)]) == 0
    assert "control" in capsys.readouterr().out
    assert main(["check", "--reference", str(ref), "--results", str(worse)]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["check", "--reference", str(ref), "--results", str(other)]) == 4
    assert "not comparable" in capsys.readouterr().err
    assert main(["check", "--reference", str(tmp_path / "nope"), "--results", str(same)]) == 2
    assert "baseline update" in capsys.readouterr().err
    # A single Parquet file works as a reference too.
    single = tmp_path / "ref.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(f) for f in sorted((ref / "runs").glob("*.parquet"))]), single)
    assert main(["check", "--reference", str(single), "--results", str(worse), "--json"]) == 1
    assert '"failed": true' in capsys.readouterr().out
