"""A grid sweep through a real local Ray head survives a killed worker, and matches the local executor.

One test, on purpose: starting Ray costs seconds on a busy 2-core machine, so the head is started
once (on 127.0.0.1, no dashboard, one CPU so one run executes at a time and the run being killed is
known) and every claim is checked on the same sweep:
- a worker process is SIGKILLed mid-run (after its first checkpoint); the sweep reports that run as
  failed; a rerun resumes it and skips the others; every run finished exactly once (sweep ledger),
  nothing is lost (every expanded run has its results) or duplicated (one runs file per run, no
  repeated curve step);
- the same grid through the ``local`` executor gives identical numbers (also for the resumed run);
- ``fptbench select`` picks the learning rate a hand computation over the validation rows picks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (`pip install '.[ray]'`)")
psutil = pytest.importorskip("psutil", reason="psutil is not installed (it comes with ray)")

from benchmark.cli import main  # noqa: E402
from benchmark.grid import expand, load_grid  # noqa: E402
from benchmark.results import read_table  # noqa: E402

GRID = """
profile = "ci"
tasks = ["bit-xor"]
models = ["full"]
backbones = ["tiny-gpt2"]
seeds = [0, 1]
lrs = [1e-3, 1e-2]
[budget]
steps = 60
eval_every = 20
checkpoint_every = 10
[resources]
num_cpus = 1
"""

pytestmark = pytest.mark.slow


def _kill_first_worker_after_checkpoint(results: Path, killed: list, stop: threading.Event) -> None:
    """SIGKILL the Ray worker running a grid run as soon as that run has written a checkpoint."""
    me = psutil.Process()
    while not stop.is_set():
        ckpts = list((results / "checkpoints").glob("*.pt")) if (results / "checkpoints").is_dir() else []
        if ckpts:
            for p in me.children(recursive=True):
                try:
                    title = " ".join(p.cmdline())
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                if "ray::fptbench_run" in title:
                    os.kill(p.pid, signal.SIGKILL)
                    killed.append(ckpts[0].stem)
                    return
        time.sleep(0.02)


def _numbers(results: Path) -> dict[str, list[tuple]]:
    runs = read_table([results], "runs")
    curves = read_table([results], "curves")
    out = {}
    for rid, g in runs.groupby("run_id"):
        c = curves[curves.run_id == rid].sort_values(["step", "metric"])
        out[rid] = sorted(zip(g.split, g.metric, g.value, g.selected_step)) + list(zip(c.step, c.metric, c.value))
    return out


def test_ray_sweep_killed_worker_resume_local_parity_and_select(tmp_path: Path, capsys) -> None:
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(GRID)
    expected = {j.run_id for j in expand(load_grid(grid_file))}
    assert len(expected) == 4
    ray_results, local_results = tmp_path / "ray", tmp_path / "local"

    # Ray's socket paths must stay short: a temp dir directly under /tmp, not pytest's long tmp_path.
    ray_tmp = tempfile.mkdtemp(prefix="fptray", dir="/tmp")
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", _temp_dir=ray_tmp, configure_logging=False)
    try:
        killed: list[str] = []
        stop = threading.Event()
        killer = threading.Thread(target=_kill_first_worker_after_checkpoint, args=(ray_results, killed, stop), daemon=True)
        killer.start()
        code = main(["sweep", "--grid", str(grid_file), "--executor", "ray", "--retries", "0",
                     "--results", str(ray_results), "--no-progress"])
        stop.set()
        killer.join()
        assert killed, "no worker was killed mid-run (the runs finished before any checkpoint was seen)"
        assert code == 1  # the killed run is reported as failed ...
        # ... and left its checkpoint and no result. The victim is read from what is on disk: under load the
        # checkpoint the killer saw can belong to a run that finished just before the kill landed.
        (victim,) = [p.stem for p in (ray_results / "checkpoints").glob("*.pt")
                     if not (ray_results / "runs" / f"{p.stem}.parquet").exists()]

        assert main(["sweep", "--grid", str(grid_file), "--executor", "ray", "--results", str(ray_results),
                     "--no-progress"]) == 0
    finally:
        ray.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)

    # Every run finished exactly once; nothing lost, nothing duplicated.
    ledger = [json.loads(x) for x in (ray_results / "sweep-log.jsonl").read_text().splitlines()]
    finished = Counter(r["run_id"] for r in ledger if r["status"] == "finished")
    assert finished == Counter({rid: 1 for rid in expected})
    assert [r["run_id"] for r in ledger if r["status"] == "failed"] == [victim]
    assert {p.stem for p in (ray_results / "runs").glob("*.parquet")} == expected
    assert not list((ray_results / "checkpoints").glob("*.pt"))
    curves = read_table([ray_results], "curves")
    assert not curves.duplicated(["run_id", "step", "metric"]).any()
    resumed = ledger[-1] if ledger[-1]["run_id"] == victim else next(r for r in ledger[::-1] if r["run_id"] == victim)
    assert 0 < resumed["steps"] < 60  # the rerun resumed from the checkpoint, it did not start over

    # The same grid through the local executor: identical numbers, the resumed run included.
    assert main(["sweep", "--grid", str(grid_file), "--executor", "local", "--results", str(local_results),
                 "--no-progress"]) == 0
    assert _numbers(ray_results) == _numbers(local_results)

    # Selection = a hand computation over the validation rows.
    runs = read_table([ray_results], "runs")
    val = runs[(runs.split == "val") & (runs.metric != "loss")].copy()
    val["lr"] = [json.loads(c)["budget"]["lr"] for c in val.config]
    means = val.groupby("lr").value.mean()
    want = min(lr for lr in means.index if means[lr] == means.max())
    capsys.readouterr()
    assert main(["select", "--results", str(ray_results), "--json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["lr_selected"] == want
    assert rec["lrs_tried"] == [1e-3, 1e-2] and rec["n_seeds"] == 2
    test = runs[(runs.split == "test") & (runs.metric != "loss")].copy()
    test["lr"] = [json.loads(c)["budget"]["lr"] for c in test.config]
    assert rec["test_mean"] == pytest.approx(test[test.lr == want].value.mean(), abs=1e-12)
