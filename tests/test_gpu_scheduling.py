"""GPU scheduling without a GPU: every sweep that runs on CUDA asks for GPUs, and each run gets its own.

Checked with fakes (no GPU is lent to this project): placement decisions on a fake GPU count; the local
pool's workers pinned one per (fake) visible GPU; a Ray head with declared fake GPUs (``num_gpus`` on a
CPU-only head) giving each run of a grid sweep and of a profile sweep one GPU id. On this CPU the runs
then fail with the no-CUDA message, which is what a worker that cannot see its GPU must do (never train on
the CPU in silence); the GPU id each was given is in the sweep ledger and the sweep's lines.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.executors.local import LocalExecutor
from benchmark.executors.placement import DeviceRequest, place
from benchmark.grid import Job, Resources
from benchmark.runner import make_config


def _jobs(n: int = 2, device: str = "auto", steps: int = 3) -> list[Job]:
    out = []
    for seed in range(n):
        cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", seed=seed, profile="ci", max_steps=steps,
                          device=device)
        out.append(Job(cfg, "", cfg.budget.lr, Resources(), pin_threads=False))
    return out


def test_auto_on_a_machine_with_gpus_becomes_cuda_with_one_gpu_per_run() -> None:
    placed, note = place(_jobs(), DeviceRequest("auto"), gpus_here=2, where="here")
    assert [j.config.device for j in placed] == ["cuda", "cuda"]
    assert [j.resources.num_gpus for j in placed] == [1.0, 1.0]
    assert [j.run_id for j in placed] == [j.run_id for j in _jobs()]  # the device is not hashed: same runs
    assert "cuda" in note


def test_gpu_counts_come_from_flag_then_grid_or_profile_then_one() -> None:
    assert place(_jobs(), DeviceRequest("cuda", default_gpus=0.5), 1, "h")[0][0].resources.num_gpus == 0.5
    assert place(_jobs(), DeviceRequest("cuda", gpus_per_run=2, default_gpus=0.5), 2, "h")[0][0].resources.num_gpus == 2
    with pytest.raises(FptError, match="no GPU"):
        place(_jobs(), DeviceRequest("cuda", gpus_per_run=0), 1, "h")
    with pytest.raises(FptError, match="has 1"):
        place(_jobs(), DeviceRequest("cuda", gpus_per_run=2), 1, "h")


def test_cpu_sweeps_ask_for_no_gpu_and_keep_their_configs() -> None:
    jobs = [Job(j.config, "", j.lr, Resources(num_gpus=1)) for j in _jobs()]  # e.g. paper-lr's [resources]
    placed, _ = place(jobs, DeviceRequest("cpu", explicit=True, default_gpus=1), gpus_here=0, where="here")
    assert [j.resources.num_gpus for j in placed] == [0.0, 0.0]  # a Ray task asking a GPU here would wait forever
    placed, _ = place(_jobs(), DeviceRequest("auto"), gpus_here=0, where="here")
    assert [j.config for j in placed] == [j.config for j in _jobs()]


def test_a_cuda_profile_refuses_the_cpu_unless_told() -> None:
    with pytest.raises(FptError, match="--device cpu"):
        place(_jobs(), DeviceRequest("cuda", owner="profile paper", default_gpus=1), gpus_here=0, where="this machine")
    with pytest.raises(FptError, match="--device cuda"):
        place(_jobs(), DeviceRequest("cuda", explicit=True), gpus_here=0, where="this machine")


def test_paper_sweep_on_this_cpu_is_refused_in_one_line(capsys, tmp_path: Path, monkeypatch) -> None:
    import benchmark.cuda_env as ce

    monkeypatch.setattr(ce, "visible_gpus", lambda: [])

    def must_not_run(self, jobs, *a, **k):
        raise AssertionError(f"the paper suite started on the CPU ({len(jobs)} runs, device {jobs[0].config.device})")

    monkeypatch.setattr(LocalExecutor, "run", must_not_run)
    code = main(["sweep", "--profile", "paper", "--results", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--device cpu" in err[0] and "profile paper" in err[0]
    assert not (tmp_path / "runs").exists()


def test_paper_dry_run_prices_gpu_hours_per_task_and_in_total(capsys, tmp_path: Path) -> None:
    from benchmark.profiles import get_profile

    assert main(["sweep", "--profile", "paper", "--dry-run", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    block = out[out.index("GPU-hours"):]
    rows = {m.group(1): (int(m.group(2)), int(m.group(3).replace(",", "")), float(m.group(4)))
            for m in re.finditer(r"^  (\S+)\s+(\d+)\s+([\d,]+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)", block, re.M)}
    prof = get_profile("paper")
    tasks = {e.task for e in prof.suite}
    assert tasks <= set(rows)  # every task, prepared here or not
    want_steps = sum(prof.budget(e.task, e.model).steps * len(e.seeds) for e in prof.suite if e.model != "lstm") \
        + sum(prof.budget(e.task, e.model, 3e-4).steps * len(e.seeds) for e in prof.suite if e.model == "lstm")
    assert rows["total"][1] == want_steps and rows["total"][0] == sum(len(e.seeds) for e in prof.suite)
    speed = prof.stated_speed("gpt2", "cuda")
    assert speed is not None and speed.source in block  # the throughput says where it comes from
    assert rows["total"][2] >= want_steps / speed.steps_per_s / 3600  # training alone, evaluation on top


def _total_gpu_hours(capsys, profile: str, tmp_path: Path) -> tuple[float, float]:
    assert main(["sweep", "--profile", profile, "--dry-run", "--results", str(tmp_path / profile)]) == 0
    out = capsys.readouterr().out
    m = re.search(r"^  total\s+\d+\s+[\d,]+\s+([\d.]+)\s+[\d.]+\s+([\d.]+)", out[out.index("GPU-hours"):], re.M)
    return float(m.group(1)), float(m.group(2))


def test_readme_states_the_estimates_the_dry_run_prints(capsys, tmp_path: Path) -> None:
    from benchmark.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for profile in ("paper", "paper-day"):
        train, total = _total_gpu_hours(capsys, profile, tmp_path)
        row = next(x for x in readme.splitlines() if x.startswith(f"| `{profile}` | ") and "GPU-hours" in x)
        assert f"{train:g} GPU-hours" in row and f"{total:g} GPU-hours" in row, (profile, train, total, row)
    assert _total_gpu_hours(capsys, "paper-day", tmp_path)[1] <= 24  # one GPU-day, evaluations included


def test_local_pool_has_one_worker_per_fake_gpu(monkeypatch) -> None:
    import benchmark.cuda_env as ce

    monkeypatch.setattr(ce, "visible_gpus", lambda: ["0", "1"])
    jobs, _ = place(_jobs(4), DeviceRequest("auto"), gpus_here=2, where="here")
    assert LocalExecutor().parallelism(jobs) == 2
    assert LocalExecutor(runs_per_gpu=3).parallelism(jobs) == 6
    assert LocalExecutor(workers=1).parallelism(jobs) == 1
    assert sorted(LocalExecutor(runs_per_gpu=2).slots(jobs)) == ["0", "0", "1", "1"]
    half, _ = place(_jobs(4), DeviceRequest("cuda", gpus_per_run=0.5), gpus_here=2, where="here")
    assert LocalExecutor().parallelism(half) == 4  # half a GPU each: two runs share a card
    assert LocalExecutor().parallelism(_jobs(4)) >= 1  # CPU runs: counted from cores, as before


@pytest.mark.slow
def test_local_pool_pins_each_worker_to_its_own_fake_gpu(monkeypatch, tmp_path: Path) -> None:
    import benchmark.cuda_env as ce

    monkeypatch.setattr(ce, "visible_gpus", lambda: ["0", "1"])
    jobs, _ = place(_jobs(4), DeviceRequest("auto"), gpus_here=2, where="here")
    outs = LocalExecutor().run(jobs, tmp_path, lambda o: None)
    assert len(outs) == 4
    by_pid = defaultdict(set)
    for o in outs:
        by_pid[o.pid].add(o.gpu)
        if not torch.cuda.is_available():  # here: cuda was asked for, never a silent CPU run
            assert o.status == "failed" and "no CUDA device" in o.error
    assert all(len(g) == 1 for g in by_pid.values())  # a worker keeps its one device
    gpus = [next(iter(g)) for g in by_pid.values()]
    assert set(gpus) <= {"0", "1"} and len(gpus) == len(set(gpus)) <= 2  # one worker per device


GRID = """
profile = "ci"
tasks = ["bit-xor"]
models = ["full"]
backbones = ["tiny-gpt2"]
seeds = [0, 1, 2]
max_steps = 3
"""


@pytest.mark.slow
def test_ray_head_with_fake_gpus_gives_each_run_its_own_gpu(tmp_path: Path, capsys) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (`pip install '.[ray]'`)")
    from benchmark.profiles import PROFILES, Budget, Profile, SuiteEntry

    profile = Profile("gpu-sched-test", "tiny suite for the GPU scheduling test", Budget(steps=3),
                      suite=(SuiteEntry("bit-xor", "full", "tiny-gpt2", (0, 1)),))
    grid_file = tmp_path / "g.toml"
    grid_file.write_text(GRID)
    ray_tmp = tempfile.mkdtemp(prefix="fptgpu", dir="/tmp")
    ray.init(address="local", num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", _temp_dir=ray_tmp, configure_logging=False)
    with PROFILES.temporarily(profile.name, profile):  # not left registered for later tests
        try:
            # a grid without [resources] and device auto: the cluster has GPUs, so every run asks for one
            code = main(["sweep", "--grid", str(grid_file), "--executor", "ray", "--retries", "0",
                         "--results", str(tmp_path / "grid"), "--no-progress"])
            grid_out = capsys.readouterr().out
            # a profile's suite likewise (profile jobs used to get 0 GPUs, i.e. an empty CUDA_VISIBLE_DEVICES)
            code2 = main(["sweep", "--profile", "gpu-sched-test", "--executor", "ray", "--retries", "0",
                          "--results", str(tmp_path / "profile"), "--no-progress"])
            prof_out = capsys.readouterr().out
        finally:
            ray.shutdown()
            shutil.rmtree(ray_tmp, ignore_errors=True)
    real = torch.cuda.is_available()
    assert real or (code == 1 and code2 == 1)  # no real CUDA here: each run fails loudly on its GPU
    ledger = [json.loads(x) for x in (tmp_path / "grid" / "sweep-log.jsonl").read_text().splitlines()]
    assert len(ledger) == 3
    for rec in ledger:
        assert rec["gpu"] in {"0", "1"}, rec  # exactly one of the declared GPUs, never "" or "0,1"
        assert real or "no CUDA device" in rec["error"]
    assert "device cuda, 1 GPU per run" in grid_out
    lines = [x for x in prof_out.splitlines() if x.startswith("bit-xor__full")]
    assert len(lines) == 2 and all(re.search(r" on GPU [01]\b", x) for x in lines), prof_out
