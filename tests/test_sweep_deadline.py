"""``fptbench sweep --deadline``: a run starts only when its estimated wall time ends before the deadline.

Checked: the deadline's two spellings and the one-line refusal of anything else (before any compute); the
estimate is steps left x the wall seconds per step that finished runs of the same configuration recorded;
a run that would not fit, or cannot be priced, is deferred with the reason; admission is asked when a job
would start (lazily), not once at the sweep's start; a real sweep defers, writes nothing for the deferred
run and says so in its summary, and a later sweep without the deadline runs it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.deadline import Deadline, admitted, parse_deadline, preview, wall_seconds_per_step
from benchmark.errors import FptError
from benchmark.grid import expand, load_grid
from benchmark.results import read_table
from benchmark.sweep_cost import speed_key
from test_grid import GRID as BASE_GRID

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)

# test_grid's one-lr grid, with two seeds: one configuration, two runs
GRID = BASE_GRID.replace("seeds = [0]", "seeds = [0, 1]").replace("lrs = [1e-3, 1e-2]", "lrs = [1e-3]")
assert "seeds = [0, 1]" in GRID and "lrs = [1e-3]" in GRID


def test_a_deadline_is_a_time_of_day_in_utc_or_a_duration_from_now():
    assert parse_deadline("90m", NOW) == NOW + timedelta(minutes=90)
    assert parse_deadline("1h30m", NOW) == NOW + timedelta(minutes=90)
    assert parse_deadline("2h", NOW) == NOW + timedelta(hours=2)
    assert parse_deadline("17:15", NOW) == NOW.replace(hour=17, minute=15)
    assert parse_deadline("09:00", NOW) == NOW.replace(hour=9) + timedelta(days=1)  # passed today: tomorrow
    for bad in ("soon", "25:00", "", "m", "1.5h", "-2h"):
        with pytest.raises(FptError, match="--deadline"):
            parse_deadline(bad, NOW)


@pytest.fixture
def jobs(tmp_path: Path):
    path = tmp_path / "g.toml"
    path.write_text(GRID)
    return path, expand(load_grid(path))


def _clock(t: float):
    return lambda: t


def test_a_run_starts_only_if_its_estimate_ends_before_the_deadline(jobs, tmp_path):
    _, (job, _) = jobs
    key = speed_key(job.config)
    at = NOW + timedelta(seconds=100)
    fits = Deadline(at, {key: 9.0}, tmp_path, clock=_clock(NOW.timestamp()))  # 10 steps x 9 s = 90 s <= 100 s
    assert fits.estimate(job) == pytest.approx(90.0) and fits.admit(job) is None
    late = Deadline(at, {key: 11.0}, tmp_path, clock=_clock(NOW.timestamp()))  # 110 s > 100 s
    assert "1:50" in late.admit(job) and "1:40 left" in late.admit(job)
    unknown = Deadline(at, {}, tmp_path, clock=_clock(NOW.timestamp()))
    assert "no finished run of this configuration" in unknown.admit(job)


def test_admission_is_asked_when_each_job_would_start(jobs):
    _, (first, second) = jobs
    asked: list[str] = []
    deferred: list[tuple[str, str]] = []

    def admit(job):
        asked.append(job.run_id)
        return "too late" if job is second else None

    it = admitted([first, second], admit, lambda j, why: deferred.append((j.run_id, why)))
    assert asked == []  # nothing asked before a worker takes a job
    assert next(it) is first and asked == [first.run_id] and deferred == []
    assert next(it, None) is None and deferred == [(second.run_id, "too late")]


def test_wall_seconds_per_step_reads_finished_runs(jobs, tmp_path):
    path, (job, _) = jobs
    out = tmp_path / "r"
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--no-progress"]) == 0
    per_step = wall_seconds_per_step([out])
    assert set(per_step) == {speed_key(job.config)} and per_step[speed_key(job.config)] > 0


def test_a_sweep_defers_what_would_not_fit_and_a_later_sweep_runs_it(jobs, tmp_path, capsys):
    path, (first, second) = jobs
    out = tmp_path / "r"
    one = tmp_path / "one.toml"
    one.write_text(GRID.replace("seeds = [0, 1]", "seeds = [0]"))  # seed 0 runs first: it records the speed
    assert main(["sweep", "--grid", str(one), "--results", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--no-progress", "--deadline", "0m"]) == 0
    text = capsys.readouterr().out
    assert f"{second.run_id}: deferred (estimated" in text and "1 deferred" in text
    assert not (out / "runs" / f"{second.run_id}.parquet").exists()
    ledger = [json.loads(x) for x in (out / "sweep-log.jsonl").read_text().splitlines()]
    assert all(r["status"] != "deferred" for r in ledger)  # the ledger lists what ran
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--no-progress", "--deadline", "10h"]) == 0
    assert (out / "runs" / f"{second.run_id}.parquet").exists()


def test_bad_deadlines_are_refused_before_anything_runs(jobs, tmp_path, capsys):
    path, _ = jobs
    out = tmp_path / "r"
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--deadline", "soon"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--deadline 'soon'" in err[0] and "HH:MM" in err[0]
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--deadline", "2h", "--executor", "ray"]) != 0
    assert "local executor" in capsys.readouterr().err
    assert not out.exists()


def test_a_finished_run_of_this_sitting_reprices_its_configuration(jobs, tmp_path):
    _, (first, second) = jobs
    key = speed_key(first.config)
    records = Deadline(NOW + timedelta(seconds=100), {key: 1.0}, tmp_path, clock=_clock(NOW.timestamp()))
    assert records.admit(second) is None  # 10 steps x 1 s from records (another machine, maybe)
    records.observe(first, seconds=500.0, steps=10)  # this machine: 50 s per step
    assert records.estimate(second) == pytest.approx(500.0) and "8:20" in records.admit(second)


def test_the_sweep_reports_each_finished_run_to_its_deadline(jobs, tmp_path, monkeypatch):
    path, (first, second) = jobs
    seen: list[tuple[str, float, int]] = []
    monkeypatch.setattr(Deadline, "observe", lambda self, job, seconds, steps: seen.append((job.run_id, seconds, steps)))
    monkeypatch.setattr(Deadline, "admit", lambda self, job: None)
    assert main(["sweep", "--grid", str(path), "--results", str(tmp_path / "r"), "--no-progress", "--deadline", "1h"]) == 0
    assert [s[0] for s in seen] == [first.run_id, second.run_id] and all(s[1] > 0 and s[2] == 10 for s in seen)


def test_the_preview_gives_each_run_to_the_worker_that_frees_up_first(jobs, tmp_path):
    _, (first, second) = jobs
    d = Deadline(NOW + timedelta(seconds=100), {speed_key(first.config): 6.0}, tmp_path, clock=_clock(NOW.timestamp()))
    one = preview(d, [first, second], workers=1)  # 60 s each: the second would end at 120 s
    assert one[0][1] == pytest.approx(NOW.timestamp() + 60) and one[1][1] is None and "left" in one[1][2]
    two = preview(d, [first, second], workers=2)  # side by side: both end at 60 s
    assert [end for _, end, _ in two] == [pytest.approx(NOW.timestamp() + 60)] * 2
    assert d.clock() == NOW.timestamp()  # the preview leaves the deadline's clock as it was


def test_a_dry_run_with_a_deadline_says_what_it_would_defer(jobs, tmp_path, capsys):
    path, (first, second) = jobs
    out = tmp_path / "r"
    one = tmp_path / "one.toml"
    one.write_text(GRID.replace("seeds = [0, 1]", "seeds = [0]"))
    assert main(["sweep", "--grid", str(one), "--results", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--dry-run", "--deadline", "0m"]) == 0
    text = capsys.readouterr().out
    assert "0 of the 1 runs left would start" in text and f"deferred {second.run_id}: estimated" in text
    assert not (out / "runs" / f"{second.run_id}.parquet").exists()


def test_a_configuration_never_run_is_priced_by_one_probe(jobs, tmp_path):
    _, (first, second) = jobs
    calls: list[str] = []

    def probe(job):
        calls.append(job.run_id)
        return 2.0

    d = Deadline(NOW + timedelta(seconds=100), {}, tmp_path, clock=_clock(NOW.timestamp()), probe=probe)
    assert d.estimate(first) == pytest.approx(20.0) and d.admit(second) is None
    assert calls == [first.run_id]  # one probe per configuration (both seeds share it)
    calls.clear()

    def failing_probe(job):
        calls.append(job.run_id)

    failing = Deadline(NOW + timedelta(seconds=100), {}, tmp_path, clock=_clock(NOW.timestamp()), probe=failing_probe)
    assert "a probe could not price it" in failing.admit(first) and "a probe could not price it" in failing.admit(second)
    assert calls == [first.run_id]  # a configuration the probe cannot price is not probed again per run


def test_the_sweeps_deadline_probes_what_no_record_prices(tmp_path):
    from benchmark.deadline import probed_seconds_per_step

    assert Deadline.for_sweep("2h", tmp_path / "r").probe is probed_seconds_per_step


def test_a_probe_prices_the_evaluations_too(jobs, monkeypatch):
    from benchmark import sweep_cost
    from benchmark.deadline import probed_seconds_per_step
    from benchmark.sweep_cost import Speed

    _, (job, _) = jobs
    monkeypatch.setattr(sweep_cost, "probe_speed", lambda j, steps=6: Speed(10.0, "probe (6 steps)"))
    assert probed_seconds_per_step(job) > 1 / 10.0  # 0.1 s per training step, plus its share of the evaluations
    monkeypatch.setattr(sweep_cost, "probe_speed", lambda j, steps=6: Speed(None, "unknown: probe failed"))
    assert probed_seconds_per_step(job) is None


def test_a_record_in_another_precision_does_not_price_a_run_here(jobs, tmp_path, monkeypatch):
    """bf16 records made elsewhere priced the LSTM's fp32 runs on an AMX Xeon at a quarter of their time."""
    import benchmark.sweep_cost as sc
    from benchmark.sweep_cost import computed_here

    path, (job, _) = jobs
    out = tmp_path / "r"
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--no-progress"]) == 0
    recorded = read_table([out], "runs").precision.iloc[0]  # what these runs computed in (ci: fp32)
    other = "bf16" if recorded == "fp32" else "fp32"
    assert wall_seconds_per_step([out], keep=lambda r: computed_here(r, lambda m, p, d: recorded))
    assert wall_seconds_per_step([out], keep=lambda r: computed_here(r, lambda m, p, d: other)) == {}
    monkeypatch.setattr(sc, "_precision_here", lambda m, p, d: recorded)  # what the sweep asks by default
    assert speed_key(job.config) in Deadline.for_sweep("2h", out).per_step
    assert speed_key(job.config) in sc.speeds_from_results([out])  # the dry run and live view price the same way
    monkeypatch.setattr(sc, "_precision_here", lambda m, p, d: other)
    assert speed_key(job.config) not in Deadline.for_sweep("2h", out).per_step
    assert speed_key(job.config) not in sc.speeds_from_results([out])


def test_a_record_from_another_device_type_does_not_price_a_run_here(jobs, tmp_path, monkeypatch):
    import benchmark.sweep_cost as sc

    path, (job, _) = jobs
    out = tmp_path / "r"
    assert main(["sweep", "--grid", str(path), "--results", str(out), "--no-progress"]) == 0
    run = next(read_table([out], "runs").drop_duplicates("run_id").itertuples())
    assert sc.computed_here(run)
    assert not sc.computed_here(run._replace(device="cuda"))  # a GPU's speed never prices a CPU run
    monkeypatch.setattr(sc, "_device_type_here", lambda d: "cuda")
    assert not sc.computed_here(run)
