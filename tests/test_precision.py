"""Precision `auto`: bf16 autocast where this machine measurably computes it faster, fp32 elsewhere, recorded.

bf16 must really change the computation on a CPU that has it, and must not cost accuracy beyond the
regression gate's tolerance after a fixed budget (bit-xor and MNIST, tiny configs).
"""

from __future__ import annotations

import pytest
import torch

import benchmark.precision as prec
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


def _timer(fp32: float, bf16: float, calls: list | None = None):
    """Injected matmul timings: seconds per matmul for each dtype (shape-independent)."""
    def timer(dtype, shape):
        if calls is not None:
            calls.append((dtype, shape))
        return fp32 if dtype == torch.float32 else bf16
    return timer


def _calibration(ratio: float) -> prec.Calibration:
    return prec.Calibration(ratio=ratio, margin=prec.MARGIN, per_shape=(ratio,), fingerprint="test",
                                 threads=1, measured_at="now")


def test_auto_follows_the_calibration(monkeypatch):
    monkeypatch.setattr(prec, "process_calibration", lambda *_: _calibration(4.0))
    assert prov.resolve_precision("auto", CPU) == "bf16"
    decision = prec.decide("auto", CPU)
    assert decision.ratio == 4.0 and "margin" in decision.reason
    monkeypatch.setattr(prec, "process_calibration", lambda *_: _calibration(1.2))
    assert prov.resolve_precision("auto", CPU) == "fp32"
    assert prov.resolve_precision("bf16", CPU) == "bf16"  # an explicit request is honoured, never timed
    assert prec.decide("fp32", CPU).ratio is None
    assert prov.resolve_precision("auto", torch.device("mps")) == "fp32"
    with pytest.raises(FptError, match="fp16 needs a CUDA"):
        prov.resolve_precision("fp16", CPU)


def test_decision_margin_with_injected_timings(tmp_path):
    fast = prec.calibrate(timer=_timer(fp32=4e-3, bf16=1e-3), directory=tmp_path / "a")
    assert fast.precision == "bf16" and fast.ratio == pytest.approx(4.0)
    slow = prec.calibrate(timer=_timer(fp32=1e-3, bf16=1.4e-3), directory=tmp_path / "b")  # Intel guest hiding AMX
    assert slow.precision == "fp32"
    edge = prec.calibrate(timer=_timer(fp32=prec.MARGIN * 0.99e-3, bf16=1e-3), directory=tmp_path / "c")
    assert edge.precision == "fp32"  # just under the margin: a small matmul gain does not pay for autocast's casts


def test_timings_alternate_and_keep_each_dtypes_fastest():
    calls: list = []
    spiked = {0, 5, 6, 7}  # load spikes hit the first and the last samples

    def timer(dtype, shape):
        calls.append(dtype)
        base = 4e-3 if dtype == torch.float32 else 1e-3
        return 10.0 if len(calls) - 1 in spiked else base

    ratio, per_shape = prec.measure_ratio(timer, shapes=((8, 8, 8),), rounds=4)
    assert ratio == pytest.approx(4.0) and per_shape == pytest.approx((4.0,))  # minimum per dtype discards the spikes
    assert calls == [torch.float32, torch.bfloat16, torch.bfloat16, torch.float32] * 2  # order swaps every round


def test_calibration_is_cached_per_machine_fingerprint(tmp_path, monkeypatch):
    first = prec.calibrate(timer=_timer(4e-3, 1e-3), directory=tmp_path)

    def must_not_measure(dtype, shape):
        raise AssertionError("a cached machine measured again")

    again = prec.calibrate(timer=must_not_measure, directory=tmp_path)
    assert again == first  # one machine never flips: the cached answer is reused
    monkeypatch.setattr(prov, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))  # another machine kind
    other = prec.calibrate(timer=_timer(1e-3, 2e-3), directory=tmp_path)
    assert other.fingerprint != first.fingerprint and other.precision == "fp32"
    path = tmp_path / f"precision-{first.fingerprint}.json"
    assert path.exists()
    monkeypatch.undo()
    path.write_text("{not json")  # a damaged cache is measured again, not trusted or fatal
    assert prec.calibrate(timer=_timer(1e-3, 1e-3), directory=tmp_path).precision == "fp32"


def test_each_workload_is_calibrated_and_cached_apart(tmp_path):
    slow_rnn = prec.Workload("rnn-test", _timer(fp32=1e-3, bf16=1.9e-3), ((2, 2, 2),), "RNN steps")
    mm = prec.calibrate(timer=_timer(fp32=7e-3, bf16=1e-3), directory=tmp_path)
    rnn = prec.calibrate(workload=slow_rnn, directory=tmp_path)
    assert (mm.precision, rnn.precision) == ("bf16", "fp32")
    assert "RNN steps" in rnn.reason() and "matmuls" in mm.reason()
    assert len(list(tmp_path.glob("precision-*.json"))) == 2
    # cached apart: reading either again measures nothing and keeps its own answer
    def must_not_measure(dtype, shape):
        raise AssertionError("cached")
    assert prec.calibrate(timer=must_not_measure, directory=tmp_path).precision == "bf16"
    assert prec.calibrate(timer=must_not_measure, workload=slow_rnn, directory=tmp_path).precision == "fp32"


def test_auto_times_the_models_own_workload(monkeypatch, tmp_path):
    """bf16 matmuls paying must not put the LSTM in bf16: it is decided on LSTM steps."""
    from baselines.lstm import LSTM_STEPS

    seen = []

    def calibration(workload=prec.MATMUL):
        seen.append(workload.name)
        return _calibration(7.0 if workload is prec.MATMUL else 0.9)

    monkeypatch.setattr(prec, "process_calibration", calibration)
    lstm = Trainer(make_config("bit-xor", "lstm", profile="cpu", max_steps=2, device="cpu"), tmp_path)
    fpt = Trainer(make_config("bit-xor", "fpt", backbone="tiny-gpt2", profile="cpu", max_steps=2, device="cpu"),
                  tmp_path)
    assert (lstm.precision, fpt.precision) == ("fp32", "bf16")
    assert seen == [LSTM_STEPS.name, prec.MATMUL.name]


def test_the_lstm_workload_times_a_real_recurrence():
    from baselines.lstm import LSTM, LSTM_STEPS, lstm_step

    assert LSTM.precision_workload is LSTM_STEPS
    assert lstm_step(torch.float32, (2, 3, 8))() == torch.float32
    state = torch.random.get_rng_state()
    assert 0 < LSTM_STEPS.timer(torch.float32, (2, 3, 8)) < 1
    try:
        computed = lstm_step(torch.bfloat16, (2, 3, 8))()
    except RuntimeError:  # oneDNN has no bf16 LSTM kernel on this CPU (seen: AVX2-only AMD EPYC)
        with pytest.raises(prec.Bf16Unsupported):
            prec.measure_ratio(LSTM_STEPS.timer, shapes=((2, 3, 8),), rounds=1)
    else:
        assert computed == torch.bfloat16  # timed as a bf16 run computes it
        assert 0 < LSTM_STEPS.timer(torch.bfloat16, (2, 3, 8)) < 1
    assert torch.equal(state, torch.random.get_rng_state())  # no global RNG used


def _no_bf16_kernel(dtype, shape):
    if dtype == torch.bfloat16:
        raise RuntimeError("could not create a primitive descriptor for the LSTM forward propagation primitive. "
                           "Run workload with environment variable ONEDNN_VERBOSE=all")
    return 1e-3


def test_a_workload_bf16_cannot_run_is_calibrated_fp32_and_cached(tmp_path):
    rnn = prec.Workload("rnn-test", _no_bf16_kernel, ((2, 2, 2),), "RNN steps")
    cal = prec.calibrate(workload=rnn, directory=tmp_path)
    assert cal.precision == "fp32" and cal.unsupported.startswith("RuntimeError: could not create a primitive")
    assert "do not run on this machine" in cal.reason() and "ONEDNN_VERBOSE" not in cal.reason()

    def must_not_measure(dtype, shape):
        raise AssertionError("cached")
    assert prec.calibrate(timer=must_not_measure, workload=rnn, directory=tmp_path) == cal

    def fp32_broken(dtype, shape):
        raise RuntimeError("out of memory")
    with pytest.raises(RuntimeError, match="out of memory"):  # an fp32 failure is a fault, not an answer
        prec.calibrate(timer=fp32_broken, workload=rnn, directory=tmp_path / "other")


def test_auto_and_explicit_bf16_where_the_models_kernels_do_not_run(monkeypatch):
    rnn = prec.Workload("rnn-test", _no_bf16_kernel, ((2, 2, 2),), "RNN steps")
    unsupported = prec.Calibration(ratio=0.0, margin=prec.MARGIN, per_shape=(), fingerprint="test", threads=1,
                                   measured_at="now", what="RNN steps", unsupported="RuntimeError: no kernel")
    monkeypatch.setattr(prec, "process_calibration", lambda *_: unsupported)
    decision = prec.decide("auto", CPU, rnn)
    assert (decision.precision, decision.ratio) == ("fp32", None)
    with pytest.raises(FptError, match="RNN steps do not run in bf16 on this machine.*precision=fp32"):
        prec.decide("bf16", CPU, rnn)  # refused before any training, with the fix


def test_ci_profile_stays_fp32_and_never_calibrates(monkeypatch, tmp_path):
    from benchmark.profiles import get_profile

    def boom(*_):
        raise AssertionError("ci must not depend on a timing")

    monkeypatch.setattr(prec, "process_calibration", boom)
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", max_steps=2, device="cpu")
    assert cfg.budget.precision == "fp32"
    assert Trainer(cfg, tmp_path).precision_label == "fp32"
    profile = get_profile("ci")
    assert profile.base.precision == "fp32"
    assert all(v.get("precision", "fp32") == "fp32" for *_, v in profile.rules)


def test_run_records_the_precision_and_the_ratio_behind_auto(monkeypatch, tmp_path):
    monkeypatch.setattr(prec, "process_calibration", lambda *_: _calibration(3.25))
    runs, _ = _run(tmp_path, "bit-xor", "full", "auto", steps=2, eval_every=2)
    assert set(runs.precision) == {"bf16"} and set(runs.precision_ratio) == {3.25}
    runs, _ = _run(tmp_path / "explicit", "bit-xor", "full", "fp32", steps=2, eval_every=2)
    assert set(runs.precision) == {"fp32"} and runs.precision_ratio.isna().all()


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
