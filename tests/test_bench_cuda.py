"""`fptbench bench --device cuda` without a GPU: the one-line refusal, and the CUDA wiring checked with a
fake device (really the CPU) whose synchronize and memory readers are recording fakes."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
import torch

from baselines import bench_device, speed
from benchmark import cuda_env
from benchmark.cli import main


def test_device_cuda_without_a_gpu_is_refused_in_one_line_before_any_model(capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    built = []
    monkeypatch.setattr(speed, "our_trainer", lambda *a, **k: built.append(a))
    monkeypatch.setattr(speed, "run_bench", lambda *a, **k: built.append(a))
    code = main(["bench", "--quick", "--device", "cuda", "--models", "fpt", "--backbones", "tiny-gpt2"])
    out = capsys.readouterr()
    lines = [x for x in (out.out + out.err).splitlines() if x.strip()]
    assert code != 0 and built == []
    assert len(lines) == 1, lines
    assert "--device cuda needs a CUDA device" in lines[0] and "torch.cuda.is_available() is False" in lines[0]
    assert "drop --device" in lines[0]


class Recorder:
    """A fake device: every sync, clock read, memory read and step lands in one event list."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.t = 0.0

    def probe(self, device: str = "cpu", peak: float = 500.0, now: float = 100.0) -> bench_device.DeviceProbe:
        def clock() -> float:
            self.events.append("clock")
            self.t += 1.0
            return self.t

        def note(name: str, value: float | None = None):
            def f():
                self.events.append(name)
                return value
            return f

        return bench_device.DeviceProbe(torch.device(device), note("sync"), note("reset"), note("peak", peak),
                                        note("now", now), "cuda", clock)

    def step(self, name: str):
        return lambda: self.events.append(f"step:{name}")


def test_every_timed_call_is_synchronized_and_memory_comes_from_the_probe() -> None:
    rec = Recorder()
    p = rec.probe()
    ours, theirs = bench_device.Side(rec.step("ours"), p), bench_device.Side(rec.step("theirs"), p)
    bench_device.alternate(ours, theirs, rounds=2, warmup=1)

    def timed(name: str, mem: bool) -> list[str]:
        return (["sync", "reset", "now", "clock", f"step:{name}", "sync", "clock", "peak"] if mem
                else ["sync", "clock", f"step:{name}", "sync", "clock"])

    warm = ["sync", "clock", "step:ours", "step:theirs", "sync", "clock"]
    assert rec.events == warm + timed("ours", True) + timed("theirs", True) + timed("ours", False) + timed("theirs", False)
    assert ours.times == [1.0, 1.0] and theirs.times == [1.0, 1.0]  # clock read after the sync, one tick apart
    assert (ours.peak_mb, ours.mem_mb) == (500.0, 400.0)


@pytest.fixture
def fake_cuda(monkeypatch):
    """cuda_env's helpers replaced by recorders; RSS readers made to fail (the CUDA figure must not be RSS)."""
    calls: dict[str, int] = {"sync": 0, "reset": 0, "peak": 0, "now": 0}

    def count(name: str, value: float | None = None):
        def f(device):
            calls[name] += 1
            return value
        return f

    monkeypatch.setattr(cuda_env, "synchronize", count("sync"))
    monkeypatch.setattr(cuda_env, "reset_cuda_peak", count("reset"))
    monkeypatch.setattr(cuda_env, "cuda_peak_mem_mb", count("peak", 321.0))
    monkeypatch.setattr(cuda_env, "cuda_mem_mb", count("now", 21.0))

    def no_rss(*a):
        raise AssertionError("memory read from RSS on a CUDA probe")

    monkeypatch.setattr(bench_device, "_rss_mb", no_rss)
    monkeypatch.setattr(bench_device, "peak_mem_mb", no_rss)
    monkeypatch.setattr(bench_device, "reset_peak_mem", no_rss)
    return calls


def test_cuda_probe_reads_the_cuda_allocator(fake_cuda) -> None:
    side = bench_device.Side(lambda: None, bench_device.cuda_probe(torch.device("cpu")))
    side.run(measure_mem=True)
    assert (side.peak_mb, side.mem_mb) == (321.0, 300.0)
    assert fake_cuda == {"sync": 2, "reset": 1, "peak": 1, "now": 1}


def test_step_and_eval_rows_time_on_the_probe(fake_cuda) -> None:
    """A real tiny step and evaluation pass on a fake CUDA probe (the CPU underneath)."""
    probe = bench_device.cuda_probe(torch.device("cpu"))
    cfg = speed.BenchConfig("fpt", "tiny-gpt2", "mnist", 2)
    peaks = {"fp32": 10.0, "tf32": 20.0, "bf16": 40.0, "fp16": 40.0}
    for make in (lambda: speed.step_record(cfg, 1, peaks, 8, probe=probe),
                 lambda: speed.eval_record(cfg, 1, peaks, 8, probe)):
        fake_cuda["sync"] = 0
        rec = make()
        assert fake_cuda["sync"] == 2 + 2 * 2  # the warm-up pair, then each side's one timed call
        assert rec["peak_mem_mb"] == rec["reference_peak_mem_mb"] == 321.0 and rec["memory"] == "cuda"
        assert rec["step_mem_mb"] == 300.0


class _FakeTrainer:
    precision_label = "fp32"

    def grad_scaler(self):
        return torch.amp.GradScaler("cuda", enabled=False)

    def _matmul_mode(self):
        return contextlib.nullcontext()

    def train_step(self, *a, **k):
        return torch.tensor(0.0), None


def test_lever_rows_build_every_trainer_on_the_device(monkeypatch) -> None:
    """Every lever's trainer asks for the probe's device; the CPU-only threads lever is skipped on CUDA."""
    from baselines import bench_levers

    devices: list[str] = []

    def fake_trainer(cfg, task, **kw):
        devices.append(kw.get("device", "<default>"))
        model = torch.nn.Linear(2, 2)
        model.body = SimpleNamespace(read_tokens=lambda x: None)
        return _FakeTrainer(), model, lambda: None, lambda: 1

    monkeypatch.setattr(bench_levers, "our_trainer", fake_trainer)
    monkeypatch.setattr(bench_levers, "eval_record", lambda *a, **k: {"probe": a[4] if len(a) > 4 else k.get("probe")})
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    rec = Recorder()
    probe = rec.probe(device="cuda")
    out = bench_levers.lever_records("tiny-gpt2", 1, {"fp32": 1.0}, 8, quick=True, probe=probe)
    assert devices and set(devices) == {"cuda"}
    assert not any("intra-op threads" in r["config"] for r in out)
    assert all(r["device"] == "cuda" for r in out if "probe" not in r)
    assert out[-1]["probe"] is probe


def test_peak_follows_the_recorded_precision() -> None:
    peaks = {"fp32": 1.0, "tf32": 2.0, "bf16": 3.0, "fp16": 4.0}
    assert bench_device.peak_for("fp32", peaks) == 1.0
    assert bench_device.peak_for("fp32+tf32", peaks) == 2.0
    assert bench_device.peak_for("bf16+rnn-fp32", peaks) == 3.0
    assert bench_device.peak_for("fp16", peaks) == 4.0
    assert bench_device.peak_for("fp32+tf32", {"fp32": 1.0}) == 1.0  # a CPU record has no TF32 peak


def test_fp16_on_cuda_gets_an_enabled_scaler(monkeypatch) -> None:
    from benchmark.trainer import Trainer

    t = Trainer.__new__(Trainer)
    t.device, t.precision = torch.device("cuda"), "fp16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # GradScaler warns and disables itself without it
    assert t.grad_scaler().is_enabled()
    t.precision = "bf16"
    assert not t.grad_scaler().is_enabled()
    t.device, t.precision = torch.device("cpu"), "fp16"
    assert not t.grad_scaler().is_enabled()
