"""The gate's statistics on synthetic runs tables: tolerances, pairing, worst seed, convergence, tiers, exit codes.

The synthetic helper writes validation scores that differ from test scores, so a gate that judged
the validation split (model selection's split) instead of the test split fails these tests.
"""

from __future__ import annotations

import json
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
from benchmark.gate.compare import median_steps
from benchmark.gate.settings import KeyGate
from benchmark.gate.table import render, to_json
from benchmark.results import CURVES_SCHEMA, RUNS_SCHEMA

KEYNAME = "bit-xor/fpt/tiny-gpt2"
QUIET = GateConfig(keys={KEYNAME: KeyGate(floor_mean=0.01, floor_seed=0.03)})


def runs(values, stt=None, *, task="bit-xor", model="fpt", backbone="tiny-gpt2", seeds=None, fp="fp1",
         torch_version="2.13.0", profile="ci", hash_prefix="h", status=None, val=None, threshold=1.0,
         precision="fp32", eval_every=10) -> pd.DataFrame:
    """A runs table as the harness writes it: per run a test-metric, a test-loss and a val-metric row.

    Validation scores default to ``0.97 - test`` (never equal to test) unless ``val`` gives them.
    """
    seeds = list(seeds if seeds is not None else range(len(values)))
    stt = list(stt if stt is not None else [None] * len(values))
    val = list(val if val is not None else [None if v is None else round(0.97 - v, 6) for v in values])
    rows = []
    for seed, value, s, vv in zip(seeds, values, stt, val):
        run_id = f"{task}__{model}__{backbone}__s{seed}__{profile}__{hash_prefix}{seed}"
        dead = value is None or (isinstance(value, float) and math.isnan(value))
        base = dict(run_id=run_id, status=status or ("diverged" if dead else "finished"),
                    task=task, model=model, backbone=backbone, seed=seed, profile=profile,
                    task_fingerprint=fp, steps_to_threshold=s, threshold=threshold, torch_version=torch_version,
                    transformers_version="5.24.0", precision=precision, threads=1,
                    config=json.dumps({"budget": {"eval_every": eval_every, "precision": precision}}),
                    config_hash=f"{hash_prefix}{task}{model}{backbone}{seed}")
        v = math.nan if value is None else value
        rows.append({**base, "split": "test", "metric": "accuracy", "value": v})
        rows.append({**base, "split": "test", "metric": "loss", "value": 0.1})
        rows.append({**base, "split": "val", "metric": "accuracy", "value": math.nan if vv is None else vv})
    return pd.DataFrame(rows)


def curves_for(frame: pd.DataFrame, steps: int = 200, every: int = 10) -> pd.DataFrame:
    """Validation curves consistent with ``frame``: each run reaches its recorded val score at its
    recorded steps_to_threshold (or at the last step), rising linearly before."""
    rows = []
    for rid, g in frame.groupby("run_id"):
        first = g.iloc[0]
        best = float(g[(g.split == "val") & (g.metric != "loss")].value.iloc[0])
        reach = steps if pd.isna(first.steps_to_threshold) else int(first.steps_to_threshold)
        for step in range(0, steps + 1, every):
            value = best if step >= reach else min(best * step / reach, first.threshold - 1e-3)
            rows.append(dict(run_id=rid, step=step, split="val", metric="accuracy", value=value,
                             train_loss=0.1, wall_time_s=0.0))
    return pd.DataFrame(rows)


def test_median_steps_counts_never_as_infinity():
    assert median_steps(pd.Series([100, None, 120])) == 120
    assert math.isinf(median_steps(pd.Series([100, None, None])))


def test_identical_results_pass_and_are_exact():
    ref = runs([0.9, 0.92, 0.91], [100, 110, 120])
    rep = compare_frames(ref, ref.copy())
    assert not rep.failed and rep.exit_code == 0
    assert rep.exact.applied and rep.exact.runs == 3 and rep.exact.identical == 3
    out = render(rep)
    assert "PASS" in out and "tier: strict" in out


def test_gate_scores_the_test_split_not_validation():
    ref = runs([0.90, 0.90, 0.90], hash_prefix="a")
    # Validation collapsed, test unchanged: not a regression (model selection's split is not the score).
    assert not compare_frames(ref, runs([0.90] * 3, val=[0.1] * 3, hash_prefix="b"), QUIET).failed
    # Test collapsed, validation unchanged: a regression.
    rep = compare_frames(ref, runs([0.60] * 3, val=[0.07] * 3, hash_prefix="b"), QUIET)
    assert rep.failed and rep.verdicts[0].new_values == [0.60] * 3


def test_paired_mean_drop_beyond_floor_fails_within_passes():
    ref = runs([0.90, 0.80, 0.70], hash_prefix="a")
    assert not compare_frames(ref, runs([0.895, 0.795, 0.695], hash_prefix="b"), QUIET).failed  # -0.005
    rep = compare_frames(ref, runs([0.885, 0.785, 0.685], hash_prefix="b"), QUIET)  # -0.015 on every seed
    v = rep.verdicts[0]
    assert rep.failed and rep.exit_code == 1 and v.paired and v.accuracy == "regressed"
    assert v.delta == pytest.approx(-0.015) and v.tol == 0.01  # paired: seed spread (0.1) does not widen it
    assert "REGRESSED accuracy" in render(rep)


def test_tolerance_comes_from_the_reference_only():
    """A regression that adds variance must not widen its own tolerance."""
    ref = runs([0.80, 0.82, 0.84], hash_prefix="a")
    calm = compare_frames(ref, runs([0.80, 0.82, 0.84], seeds=[3, 4, 5], hash_prefix="b"), QUIET).verdicts[0]
    wild = compare_frames(ref, runs([0.99, 0.50, 0.84], seeds=[3, 4, 5], hash_prefix="b"), QUIET).verdicts[0]
    assert not calm.paired and calm.tol == wild.tol and calm.tol_seed == wild.tol_seed
    assert wild.regressed and "collapsed" in " ".join(wild.reasons)


def test_one_collapsed_seed_fails_even_when_the_mean_is_within_tolerance():
    # The case: bit-xor/fpt/minilm-l6 seed 0 collapsing from 0.765 to 0.50 (mean -8.9 points).
    ref = runs([0.7654, 0.7126, 0.7032], hash_prefix="a")
    loose = GateConfig(keys={KEYNAME: KeyGate(floor_mean=0.10, floor_seed=0.05)})
    rep = compare_frames(ref, runs([0.50, 0.7126, 0.7032], hash_prefix="b"), loose)
    v = rep.verdicts[0]
    assert v.delta > -v.tol, "the mean rule alone would pass this"
    assert rep.failed and v.worst == pytest.approx(-0.2654) and "worst paired seed" in " ".join(v.reasons)


def test_uniform_small_drop_on_a_quiet_key_fails():
    # The case: bit-memory, seed SD ~0.0013, a uniform 1.5-point drop.
    ref = runs([0.6336, 0.6360, 0.6341], hash_prefix="a")
    quiet = GateConfig(keys={KEYNAME: KeyGate(floor_mean=0.005, floor_seed=0.01)})
    assert compare_frames(ref, runs([0.6186, 0.6210, 0.6191], hash_prefix="b"), quiet).failed
    assert compare_frames(ref, runs([0.6186, 0.6210, 0.6191], seeds=[3, 4, 5], hash_prefix="b"), quiet).failed


def test_unpaired_comparison_is_seed_aware_from_the_reference_spread():
    noisy = runs([0.80, 0.85, 0.90], hash_prefix="a")
    other = runs([0.77, 0.82, 0.87], seeds=[3, 4, 5], hash_prefix="b")  # -0.03 < 2 x 0.05 x sqrt(2/3)
    assert not compare_frames(noisy, other, QUIET).failed
    quiet = runs([0.85, 0.85, 0.85], hash_prefix="a")
    assert compare_frames(quiet, other, QUIET).failed
    assert compare_frames(noisy, other, GateConfig(k=0.1, keys=QUIET.keys)).failed


def test_gate_is_directional_improvements_marked_not_failed():
    ref = runs([0.70, 0.70, 0.70], [None, None, None], hash_prefix="a")
    rep = compare_frames(ref, runs([0.95, 0.95, 0.95], [300, 300, 300], hash_prefix="b"), QUIET)
    assert not rep.failed
    assert rep.verdicts[0].accuracy == "improved" and rep.verdicts[0].speed == "n/a"
    assert len(rep.improvements) == 1 and "improvement" in render(rep)


def test_convergence_every_seed_and_factor():
    ref = runs([1.0, 1.0, 1.0], [100, 100, 120], hash_prefix="a")
    assert not compare_frames(ref, runs([1.0] * 3, [120, 120, 130], hash_prefix="b"), QUIET).failed  # x1.2
    slow = compare_frames(ref, runs([1.0] * 3, [130, 140, 130], hash_prefix="b"), QUIET)  # x1.3
    assert slow.failed and slow.verdicts[0].speed == "regressed" and slow.verdicts[0].accuracy == "ok"
    assert not compare_frames(ref, runs([1.0] * 3, [130, 140, 130], hash_prefix="b"), GateConfig(factor=1.5)).failed
    # One seed that no longer reaches the threshold fails, although the median is fine.
    one = compare_frames(ref, runs([1.0, 1.0, 0.995], [100, 110, None], hash_prefix="b"), QUIET)
    assert one.failed and "never reach" in " ".join(one.verdicts[0].reasons)
    faster = compare_frames(ref, runs([1.0] * 3, [50, 60, 50], hash_prefix="b"), QUIET)
    assert not faster.failed and faster.verdicts[0].speed == "improved"
    # A reference seed that never reaches it: the key is not speed-gated.
    part = runs([1.0, 1.0, 0.99], [100, 100, None], hash_prefix="a")
    assert compare_frames(part, runs([1.0, 0.99, 0.99], [300, None, None], hash_prefix="b"), QUIET).verdicts[0].speed == "n/a"


def test_convergence_targets_come_from_the_curves():
    ref = runs([0.70, 0.71, 0.72], [None] * 3, hash_prefix="a", val=[0.70, 0.71, 0.72])
    new = runs([0.70, 0.71, 0.72], [None] * 3, hash_prefix="b", val=[0.70, 0.71, 0.72])
    cfg = GateConfig(keys={KEYNAME: KeyGate(floor_mean=0.01, floor_seed=0.03, target=0.6)})
    rc, nc = curves_for(ref, steps=100), curves_for(new, steps=100)
    v = compare_frames(ref, new, cfg, ref_curves=rc, new_curves=nc).verdicts[0]
    assert v.speed == "ok" and v.ref_stt == 90 and "ci target" in v.target
    slow = nc.assign(step=nc.step * 2)
    rep = compare_frames(ref, new, cfg, ref_curves=rc, new_curves=slow)
    assert rep.failed and rep.verdicts[0].speed == "regressed" and rep.verdicts[0].new_stt == 180


def test_recorded_steps_to_threshold_must_match_the_curve():
    ref = runs([1.0, 1.0, 1.0], [100, 110, 120], hash_prefix="a", val=[1.0] * 3)
    new = runs([1.0, 1.0, 1.0], [100, 110, 120], hash_prefix="b", val=[1.0] * 3)
    rc, nc = curves_for(ref), curves_for(new)
    assert not compare_frames(ref, new, QUIET, ref_curves=rc, new_curves=nc).failed
    late = new.assign(steps_to_threshold=new.steps_to_threshold + 10)  # one evaluation late, curve true
    rep = compare_frames(ref, late, QUIET, ref_curves=rc, new_curves=nc)
    assert rep.failed and "contradict the curve" in " ".join(rep.verdicts[0].reasons)
    assert not rep.verdicts[0].accuracy == "regressed" and len(rep.inconsistent) == 3
    # A recorded validation score that is not the curve's best (selection bug) is caught too.
    wrong_val = new.copy()
    wrong_val.loc[wrong_val.split == "val", "value"] -= 0.01
    assert compare_frames(ref, wrong_val, QUIET, ref_curves=rc, new_curves=nc).failed


def test_diverged_runs_are_regressions():
    ref = runs([0.9, 0.9, 0.9], hash_prefix="a")
    rep = compare_frames(ref, runs([0.9, None, 0.9], hash_prefix="b"), QUIET)
    assert rep.failed and "diverged" in rep.verdicts[0].reasons[0]


def test_fingerprint_mismatch_refuses():
    ref = runs([0.9] * 3, fp="aaaa")
    with pytest.raises(NotComparable, match="not comparable") as exc:
        compare_frames(ref, runs([0.9] * 3, fp="bbbb"))
    assert exc.value.exit_code == EXIT_NOT_COMPARABLE == 4


MACHINE = {"cpu_model": "Intel Xeon A", "isa_flags": ["avx2", "avx512f"], "machine": "x86_64", "torch": "2.13.0",
           "transformers": "5.24.0", "numpy": "2.4.6", "tokenizers": "0.23.3", "safetensors": "0.8.0",
           "blas": "BLAS_INFO=mkl", "cpu_capability": "AVX512", "threads": 1, "precision": "fp32"}


def test_strict_tier_only_on_a_matching_machine():
    ref = runs([0.9, 0.91, 0.92], [100, 100, 100])
    drift = runs([0.9, 0.91, 0.92 + 1e-9], [100, 100, 100])  # same configs, a last-bit difference
    same = compare_frames(ref, drift, QUIET, ref_fingerprint=MACHINE, new_fingerprint=dict(MACHINE))
    assert same.failed and same.exact.applied and len(same.exact.mismatches) == 1
    assert not same.regressions and "strict" in same.exact.tier  # statistically fine: only the exact tier fails
    assert not compare_frames(ref, drift, GateConfig(determinism="report", keys=QUIET.keys),
                              ref_fingerprint=MACHINE, new_fingerprint=MACHINE).failed
    for field_, value in (("cpu_model", "AMD EPYC B"), ("isa_flags", ["avx2", "avx512f", "amx_tile"]),
                          ("transformers", "5.23.0"), ("numpy", "2.0.0"), ("blas", "openblas")):
        other = compare_frames(ref, drift, QUIET, ref_fingerprint=MACHINE, new_fingerprint={**MACHINE, field_: value})
        assert not other.exact.applied and not other.failed, field_
        assert field_ in other.exact.reason and "statistical tier decides alone" in other.exact.reason
        assert "tier: statistical only" in render(other)
    # Threads and precision: what the runs record wins over the fingerprint file (a sweep may run under
    # another OMP_NUM_THREADS than the check).
    for column, value in (("threads", 2), ("precision", "bf16")):
        moved = drift.assign(**{column: value})
        other = compare_frames(ref, moved, QUIET, ref_fingerprint=MACHINE, new_fingerprint=MACHINE)
        assert not other.exact.applied and not other.failed and column in other.exact.reason, column
    unknown = compare_frames(ref, drift, QUIET, ref_fingerprint=None, new_fingerprint=MACHINE)
    assert not unknown.exact.applied and "no machine fingerprint" in unknown.exact.reason
    # Without fingerprint files the runs' own records (torch, precision, threads) decide.
    other_torch = compare_frames(ref, runs([0.9, 0.91, 0.92 + 1e-9], [100] * 3, torch_version="2.99.0"), QUIET)
    assert not other_torch.exact.applied and not other_torch.failed and "torch" in other_torch.exact.reason
    bf16 = compare_frames(ref, runs([0.9, 0.91, 0.92 + 1e-9], [100] * 3, precision="bf16"), QUIET)
    assert not bf16.exact.applied and "precision" in bf16.exact.reason
    other_seeds = compare_frames(ref, runs([0.9, 0.91, 0.92], [100] * 3, seeds=[3, 4, 5]), QUIET)
    assert not other_seeds.exact.applied and not other_seeds.failed


def test_missing_and_unreferenced_keys():
    ref = pd.concat([runs([0.9] * 3), runs([0.8] * 3, task="mnist", fp="m")])
    new = pd.concat([runs([0.9] * 3), runs([0.5] * 3, model="lstm", backbone="none")])
    rep = compare_frames(ref, new)
    assert not rep.failed and rep.missing == [("mnist", "fpt", "tiny-gpt2")]
    assert rep.unreferenced == [("bit-xor", "lstm", "none")]
    required = compare_frames(ref, new, GateConfig(require_all=True))
    assert required.failed and required.exit_code == 5  # distinct from a regression's 1 (README's table)
    worse = pd.concat([runs([0.5] * 3), runs([0.5] * 3, model="lstm", backbone="none")])
    assert compare_frames(ref, worse, GateConfig(require_all=True)).exit_code == 1  # a regression wins
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
    with pytest.raises(FptError):
        KeyGate(floor_mean=-1)


def _write_results(frame: pd.DataFrame, folder: Path, curves: pd.DataFrame | None = None) -> Path:
    """Write a synthetic frame as a results dir (one runs file per run, the harness's schema)."""
    for table, schema, data in (("runs", RUNS_SCHEMA, frame), ("curves", CURVES_SCHEMA, curves)):
        if data is None:
            continue
        full = data.copy()
        for f in schema:
            if f.name not in full:
                full[f.name] = None
        for run_id, part in full.groupby("run_id"):
            (folder / table).mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pandas(part[[f.name for f in schema]], schema=schema, preserve_index=False),
                           folder / table / f"{run_id}.parquet")
    return folder


def test_cli_exit_codes(tmp_path: Path, capsys):
    ref = _write_results(runs([0.9] * 3, [100] * 3), tmp_path / "ref")
    same = _write_results(runs([0.9] * 3, [100] * 3), tmp_path / "same")
    worse = _write_results(runs([0.6] * 3, [None] * 3, hash_prefix="w"), tmp_path / "worse")
    other = _write_results(runs([0.9] * 3, [100] * 3, fp="zzz"), tmp_path / "other")
    assert main(["check", "--reference", str(ref), "--results", str(same)]) == 0
    out = capsys.readouterr().out
    assert "control" in out and "tier: statistical only" in out and "no machine fingerprint" in out
    assert main(["check", "--reference", str(ref), "--results", str(worse)]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["check", "--reference", str(ref), "--results", str(other)]) == 4
    assert "not comparable" in capsys.readouterr().err
    assert main(["check", "--reference", str(tmp_path / "nope"), "--results", str(same)]) == 2
    assert "reference update" in capsys.readouterr().err
    # A single Parquet file works as a reference too.
    single = tmp_path / "ref.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(f) for f in sorted((ref / "runs").glob("*.parquet"))]), single)
    assert main(["check", "--reference", str(single), "--results", str(worse), "--json"]) == 1
    assert '"failed": true' in capsys.readouterr().out


def test_cli_reads_curves_and_catches_a_late_recording(tmp_path: Path, capsys):
    frame = runs([1.0] * 3, [100, 110, 120], val=[1.0] * 3)
    ref = _write_results(frame, tmp_path / "ref", curves_for(frame))
    late = _write_results(frame.assign(steps_to_threshold=frame.steps_to_threshold + 10), tmp_path / "late",
                          curves_for(frame))
    assert main(["check", "--reference", str(ref), "--results", str(late)]) == 1
    assert "contradict the curve" in capsys.readouterr().out


def test_pairing_needs_matching_seeds():
    ref = runs([0.9, 0.8, 0.7], hash_prefix="a")
    assert compare_frames(ref, runs([0.9, 0.8], hash_prefix="b"), QUIET).verdicts[0].paired
    assert not compare_frames(ref, runs([0.9, 0.8], seeds=[0, 7], hash_prefix="b"), QUIET).verdicts[0].paired
    assert np.isfinite(compare_frames(ref, runs([0.9, 0.8], seeds=[0, 7], hash_prefix="b"), QUIET).verdicts[0].tol)


def test_a_control_key_fails_when_it_rises():
    """random-frozen built from pretrained weights scores higher: for a control that is a regression."""
    ref = runs([0.50, 0.51, 0.50], hash_prefix="a")
    rose = runs([0.66, 0.70, 0.68], hash_prefix="b")
    assert not compare_frames(ref, rose, QUIET).failed  # an ordinary key: an improvement
    control = GateConfig(keys={KEYNAME: KeyGate(floor_mean=0.02, floor_seed=0.03, two_sided=True)})
    rep = compare_frames(ref, rose, control)
    assert rep.failed and "control key moved up" in " ".join(rep.verdicts[0].reasons)
    assert not compare_frames(ref, runs([0.51, 0.50, 0.52], hash_prefix="b"), control).failed
