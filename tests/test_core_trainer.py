"""The training loop: determinism, resume after an interruption, skip when done, divergence, schema."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.results import CURVES_SCHEMA, RUNS_SCHEMA, checkpoint_path, read_table
from benchmark.runner import make_config, run

REQUIRED = """schema_version run_id status task task_version task_fingerprint model model_family backbone seed profile
split metric value steps_trained steps_to_threshold threshold n_params_total n_params_trainable train_time_s steps_per_s
peak_mem_mb device torch_version transformers_version package_version git_commit git_dirty config config_hash""".split()


def _numbers(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = read_table([out]).sort_values(["split", "metric"]).reset_index(drop=True)
    curves = read_table([out], "curves").sort_values(["step", "metric"]).reset_index(drop=True)
    return runs[["split", "metric", "value", "steps_to_threshold", "selected_step"]], curves[["step", "metric", "value", "train_loss"]]


def test_same_seed_same_numbers_and_other_seed_differs(tiny_run, tmp_path):
    _, _, a = tiny_run(out=tmp_path / "a", steps=20)
    _, _, b = tiny_run(out=tmp_path / "b", steps=20)
    _, _, c = tiny_run(out=tmp_path / "c", steps=20, seed=1)
    pd.testing.assert_frame_equal(_numbers(a)[1], _numbers(b)[1])
    pd.testing.assert_frame_equal(_numbers(a)[0], _numbers(b)[0])
    assert not _numbers(a)[1].equals(_numbers(c)[1])


def test_the_harness_leaves_global_rng_untouched(tiny_run):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_run(steps=5)
    assert torch.equal(torch.rand(3), expected)


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", max_steps=30,
                      budget_overrides={"eval_every": 10, "checkpoint_every": 10})
    assert run(cfg, tmp_path / "whole", progress=False) == "finished"

    class Killed(Exception):
        pass

    def kill_at_25(step: int) -> None:
        if step == 25:
            raise Killed

    with pytest.raises(Killed):
        run(cfg, tmp_path / "cut", progress=False, on_step=kill_at_25)
    ckpt = checkpoint_path(tmp_path / "cut", cfg.run_id)
    assert ckpt.exists() and not (tmp_path / "cut" / "runs").exists()
    assert torch.load(ckpt, weights_only=True)["state"]["step"] == 20
    assert run(cfg, tmp_path / "cut", progress=False) == "finished"
    assert not ckpt.exists()
    for got, want in zip(_numbers(tmp_path / "cut"), _numbers(tmp_path / "whole")):
        pd.testing.assert_frame_equal(got, want)


def test_killed_cli_process_resumes_and_loses_nothing(tmp_path):
    """A real SIGKILL of `fptbench run` midway; rerunning the same command finishes from the checkpoint."""
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--task", "bit-xor", "--model", "full", "--backbone",
           "tiny-gpt2", "--profile", "ci", "--max-steps", "2000", "--budget", "eval_every=500", "--budget",
           "checkpoint_every=100", "--results", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    ckpts = out / "checkpoints"
    while time.time() < deadline and not (ckpts.exists() and any(ckpts.glob("*.pt"))):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any(ckpts.glob("*.pt")), "no checkpoint was written before the kill"
    step_at_kill = torch.load(next(ckpts.glob("*.pt")), weights_only=True)["state"]["step"]
    assert 0 < step_at_kill < 2000
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    curves = read_table([out], "curves")
    assert sorted(set(curves.step)) == list(range(0, 2001, 500))
    runs = read_table([out])
    assert set(runs.status) == {"finished"} and set(runs.steps_trained) == {2000}
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "skipped" in again.stdout


def test_finished_runs_are_skipped(tiny_run):
    cfg, status, out = tiny_run(steps=5)
    assert status == "finished"
    assert run(cfg, out, progress=False) == "skipped"


def test_nan_loss_ends_as_diverged_not_a_traceback(tiny_run):
    cfg, status, out = tiny_run(steps=20, budget={"lr": 1e12, "grad_clip": 1e30})
    runs = read_table([out])
    if status == "finished":  # an lr this large must blow up; if not, the test proves nothing
        pytest.fail("lr 1e12 did not diverge")
    assert status == "diverged" and set(runs.status) == {"diverged"}
    # The result is not lost: test is scored at the best validation state, val is that state's value.
    curves = read_table([out], "curves")
    val_acc = curves[curves.metric == "accuracy"]
    best = val_acc.loc[val_acc.value.idxmax()]
    get = runs.set_index(["split", "metric"]).value
    assert get["val", "accuracy"] == best.value and not runs.value.isna().any()
    assert set(runs.selected_step) == {int(best.step)}
    preds = read_table([out], "predictions")
    assert math.isclose(preds.score.mean(), get["test", "accuracy"])


def test_compute_is_recorded_per_run(tiny_run):
    cfg, _, out = tiny_run(steps=10)
    row = read_table([out]).iloc[0]
    from benchmark.provenance import resolve_precision

    # what the run asked for (the `ci` profile pins fp32), resolved on this machine: never `auto` itself
    assert cfg.budget.precision == "fp32"
    assert row.precision == resolve_precision(cfg.budget.precision, torch.device("cpu")) == "fp32"
    _, _, out16 = tiny_run(steps=10, out=out / "bf16", budget={"precision": "bf16"})
    assert read_table([out16]).iloc[0].precision == "bf16"  # the column records what ran, not a constant
    assert row.train_flops > 0 and row.train_flops % 10 == 0  # one counted step x steps
    assert row.wall_time_s >= row.train_time_s + row.eval_time_s * 0.99 and row.eval_time_s > 0
    assert row.threads == torch.get_num_threads()


def test_flops_are_counted_by_the_harness_not_guessed():
    """The counter sees a real step: a Linear(8->4) forward+backward on 2 rows is 3 matmuls."""
    from benchmark.trainer import count_step_flops

    lin = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8, requires_grad=True)
    flops = count_step_flops(lambda: lin(x).sum().backward())
    assert flops == 3 * 2 * 2 * 8 * 4


def test_lstm_kernels_are_counted():
    from benchmark.trainer import count_step_flops

    lstm = torch.nn.LSTM(8, 16, batch_first=True)
    x = torch.randn(2, 5, 8)
    fwd = count_step_flops(lambda: lstm(x))
    assert fwd >= 2 * 2 * 5 * (4 * 16 * 8 + 4 * 16 * 16)


def test_v1_results_files_stay_readable(tiny_run, tmp_path):
    """Files written before the compute columns read back with them (precision from the config)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, _, out = tiny_run(steps=5)
    path = next((out / "runs").glob("*.parquet"))
    v1 = pq.read_table(path).drop(["precision", "train_flops", "wall_time_s", "eval_time_s", "threads"])
    cfg = json.loads(v1.column("config")[0].as_py())
    cfg["budget"]["precision"] = "fp32"
    v1 = v1.set_column(v1.schema.get_field_index("config"), "config", pa.array([json.dumps(cfg)] * v1.num_rows))
    old = tmp_path / "old"
    (old / "runs").mkdir(parents=True)
    pq.write_table(v1, old / "runs" / path.name)
    runs = read_table([old, out])
    assert list(runs.columns) == RUNS_SCHEMA.names
    assert list(runs.precision[:4]) == ["fp32"] * 4 and runs.train_flops[:4].isna().all()


def test_result_rows_carry_every_column(tiny_run):
    cfg, _, out = tiny_run(steps=10)
    runs = read_table([out])
    assert list(runs.columns) == RUNS_SCHEMA.names
    assert set(REQUIRED) <= set(runs.columns)
    assert set(zip(runs.split, runs.metric)) == {("val", "accuracy"), ("val", "loss"), ("test", "accuracy"), ("test", "loss")}
    row = runs.iloc[0]
    assert row.run_id == cfg.run_id and row.config_hash == cfg.config_hash and row.task_fingerprint == cfg.task_fingerprint
    assert json.loads(row.config)["budget"]["steps"] == 10
    assert 0 < row.n_params_trainable <= row.n_params_total
    assert row.steps_trained == 10 and row.steps_per_s > 0 and row.peak_mem_mb > 0
    assert row.torch_version == torch.__version__ and row.profile == "ci" and row.backbone == "tiny-gpt2"
    for col in REQUIRED:
        if col != "steps_to_threshold":
            assert not pd.isna(row[col]), col
    curves = read_table([out], "curves")
    assert list(curves.columns) == CURVES_SCHEMA.names
    assert sorted(set(curves.step)) == [0, 10]
    preds = read_table([out], "predictions")
    assert len(preds) == 1000 and math.isclose(preds.score.mean(), runs.query("split=='test' and metric=='accuracy'").value.iloc[0])


def test_results_are_written_atomically_one_file_per_run(tiny_run):
    _, _, out = tiny_run(steps=5)
    _, _, out = tiny_run(steps=5, seed=1)
    files = sorted(p.name for p in (out / "runs").iterdir())
    assert len(files) == 2 and all(f.endswith(".parquet") for f in files)
    assert not [p for p in out.rglob("*.tmp")]
