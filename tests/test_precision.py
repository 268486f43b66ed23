"""Precision `auto`: bf16 autocast where the CPU/GPU computes bf16 natively, fp32 elsewhere, recorded.

bf16 must really change the computation on a CPU that has it, and must not cost accuracy beyond the
regression gate's tolerance after a fixed budget (bit-xor and MNIST, tiny configs).
"""

from __future__ import annotations

import pytest
import torch

import benchmark.provenance as prov
from benchmark.errors import FptError
from benchmark.gate.settings import DEFAULT as GATE_DEFAULT
from benchmark.results import read_table
from benchmark.runner import make_config, run
from benchmark.task import get_task
from benchmark.trainer import Trainer

CPU = torch.device("cpu")
NATIVE = prov.cpu_native_bf16()
needs_bf16 = pytest.mark.skipif(not NATIVE, reason="this CPU has neither AVX512-BF16 nor AMX: auto runs fp32 here")


def test_auto_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(prov, "cpu_bf16_faster", lambda: True)
    assert prov.resolve_precision("auto", CPU) == "bf16"
    monkeypatch.setattr(prov, "cpu_bf16_faster", lambda: False)
    assert prov.resolve_precision("auto", CPU) == "fp32"
    assert prov.resolve_precision("bf16", CPU) == "bf16"  # an explicit request is honoured
    assert prov.resolve_precision("auto", torch.device("mps")) == "fp32"
    with pytest.raises(FptError, match="fp16 needs a CUDA"):
        prov.resolve_precision("fp16", CPU)


def test_cpu_flags_decide_native_bf16(monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert prov.cpu_native_bf16()
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    assert prov.cpu_native_bf16() and prov.cpu_bf16_faster()  # AMX: always worth it
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx512f"}))
    assert not prov.cpu_native_bf16() and not prov.cpu_bf16_faster()


def test_avx512_bf16_without_amx_resolves_to_fp32_by_rule(monkeypatch, tmp_path):
    """AVX512-BF16 alone was slower than fp32 on a Xeon VM hiding AMX: ``auto`` stays fp32 there, by a rule
    on the flags (no timing, so a loaded machine cannot flip it between runs)."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert prov.cpu_native_bf16() and not prov.cpu_bf16_faster()
    assert prov.resolve_precision("auto", CPU) == "fp32"
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}))
    assert prov.resolve_precision("auto", CPU) == "bf16"


def test_bf16_autocast_acts_on_cpu(tmp_path):
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", max_steps=2,
                      budget_overrides={"precision": "bf16"}, device="cpu")
    trainer = Trainer(cfg, tmp_path)
    with trainer._autocast():
        out = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and trainer.precision_label == "bf16"


def _run(tmp_path, task, model, precision, **budget):
    cfg = make_config(task, model, backbone="tiny-gpt2", profile="ci", device="cpu",
                      budget_overrides={"precision": precision, **budget})
    out = tmp_path / f"{task}-{precision}"
    run(cfg, out, progress=False)
    runs = read_table([out])
    return runs, read_table([out], "curves")


@needs_bf16
def test_bf16_really_changes_the_numbers_on_this_cpu(tmp_path):
    a, ca = _run(tmp_path, "bit-xor", "full", "fp32", steps=20, eval_every=10)
    b, cb = _run(tmp_path, "bit-xor", "full", "bf16", steps=20, eval_every=10)
    assert set(a.precision) == {"fp32"} and set(b.precision) == {"bf16"}
    assert not ca.train_loss.equals(cb.train_loss)  # same seed, other arithmetic


@needs_bf16
@pytest.mark.parametrize("task,model,budget,learned", [
    ("bit-xor", "full", {}, 0.9),  # ci budget: 300 steps, reaches 100% well inside it (chance 0.5)
    ("mnist", "full", {"steps": 150, "eval_every": 150}, 0.3),  # ~0.42 after 150 steps (chance 0.1)
])
def test_bf16_reaches_fp32_accuracy_within_gate_tolerance(tmp_path, task, model, budget, learned):
    ok, how = get_task(task).available()
    if not ok:
        pytest.skip(f"{task} data not prepared: {how}")
    results = {}
    for precision in ("fp32", "bf16"):
        runs, _ = _run(tmp_path, task, model, precision, **budget)
        test = runs[(runs.split == "test") & (runs.metric != "loss")]
        results[precision] = float(test.value.iloc[0])
    assert results["fp32"] > learned, results  # the budget must teach something, or the test proves nothing
    assert abs(results["bf16"] - results["fp32"]) <= GATE_DEFAULT.floor_mean, results
