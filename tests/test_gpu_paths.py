"""The CUDA code paths, checked on a CPU with fakes: what a GPU run computes in, counts, records and resumes.

- the LSTM's precision under CUDA autocast is decided by ``baselines.lstm.rnn_policy`` (cuDNN's autocast
  wrapper casts RNNs to fp16 whatever the autocast dtype), the module follows it, and the run records it;
- cuDNN RNN FLOPs are counted (the same count as the CPU's fused kernel for the same LSTM);
- a training step reads the loss on the host once;
- the fp16 GradScaler's state travels in the checkpoint;
- ``auto`` picks bf16 only where the GPU has it natively; the GPU model, driver, CUDA and cuDNN are recorded;
- deterministic CUDA settings are what ``deterministic_cuda`` applies.
"""

from __future__ import annotations

import os
import sys

import pytest
import torch
from torch.overrides import TorchFunctionMode

from baselines import lstm as lstm_mod
from benchmark.task import get_task

SPEC = get_task("bit-xor").spec


def _lstm(layer_norm: bool = False) -> lstm_mod.LSTMModel:
    return lstm_mod.LSTMModel(SPEC, hidden=8, layers=2, generator=torch.Generator().manual_seed(0), layer_norm=layer_norm)


def test_rnn_policy_keeps_cudnn_out_of_fp16_under_bf16() -> None:
    policy = lstm_mod.rnn_policy
    assert policy("cuda", torch.bfloat16) == "fp32"  # cuDNN's autocast would run it in fp16, unscaled
    assert policy("cuda", torch.float16) == "autocast"  # fp16 is what cuDNN does, with the trainer's GradScaler
    assert policy("cpu", torch.bfloat16) == "autocast"  # oneDNN computes in bf16 itself: CPU results unchanged
    assert policy("cuda", None) == "off" and policy("cpu", None) == "off"


def _rnn_out_dtype(model: lstm_mod.LSTMModel) -> torch.dtype:
    seen = []
    model.lstm.register_forward_hook(lambda m, i, o: seen.append(o[0].dtype))
    x = torch.randn(2, SPEC.seq_len, SPEC.input_dim)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(x, None)
    return seen[0]


def test_lstm_module_follows_the_policy(monkeypatch) -> None:
    assert _rnn_out_dtype(_lstm()) == torch.bfloat16  # CPU bf16 autocast: the fused kernel computes in bf16
    monkeypatch.setattr(lstm_mod, "rnn_policy", lambda device_type, dtype: "fp32")  # what CUDA + bf16 decides
    assert _rnn_out_dtype(_lstm()) == torch.float32


def test_the_run_records_the_rnn_precision_it_computed_in(tiny_run) -> None:
    from benchmark.runner import make_config
    from benchmark.trainer import Trainer, precision_label

    assert _lstm().precision_note("cuda", "bf16") == "rnn-fp32"
    assert _lstm().precision_note("cuda", "fp16") == "" and _lstm().precision_note("cpu", "bf16") == ""
    assert _lstm(layer_norm=True).precision_note("cuda", "bf16") == ""  # plain matmuls: autocast's own dtype
    cfg = make_config("bit-xor", "lstm", profile="ci", options={"hidden": 8, "layers": 1})
    trainer = Trainer(cfg, "/nonexistent", progress=False)
    trainer.device, trainer.precision, trainer.tf32 = torch.device("cuda"), "bf16", True  # as on an A100
    trainer._note_precision(_lstm())
    assert trainer.precision_label == "bf16+rnn-fp32+tf32"
    assert precision_label("fp32") == "fp32" and precision_label("bf16", "", True) == "bf16+tf32"


def test_cudnn_rnn_flops_match_the_cpu_fused_count() -> None:
    from benchmark.flops import count_step_flops, cudnn_rnn_flops, extra_flop_formulas

    assert torch.ops.aten._cudnn_rnn in extra_flop_formulas() and torch.ops.aten._cudnn_rnn_backward in extra_flop_formulas()
    lstm = torch.nn.LSTM(6, 8, num_layers=3, batch_first=True)
    x = torch.randn(4, 5, 6)
    cpu = count_step_flops(lambda: lstm(x)[0].sum().backward())
    weights = [tuple(w.shape) for w in lstm._flat_weights]
    fwd = cudnn_rnn_flops(tuple(x.shape), weights)
    assert fwd > 0 and cpu == 3 * fwd  # forward + a backward of twice the forward, as on the CPU kernel


class _HostReads(TorchFunctionMode):
    """Counts host reads of tensors (float(), bool(), .item()...) made by the trainer module's own code."""

    READS = {"__float__", "__bool__", "__int__", "item", "tolist", "numpy"}

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.READS and sys._getframe(1).f_globals.get("__name__") == "benchmark.trainer":
            self.n += 1
        return func(*args, **(kwargs or {}))


def test_a_training_step_reads_the_loss_once() -> None:
    import numpy as np

    from benchmark.runner import make_config
    from benchmark.trainer import Trainer

    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", device="cpu")
    trainer = Trainer(cfg, "/nonexistent", progress=False)
    model = trainer.adapter.build(trainer.task.spec, 0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    batch = trainer.task.train_batch(np.random.default_rng([0, 0]), 4, 0, 0)
    called = []
    with _HostReads() as reads:
        loss, _ = trainer.train_step(model, opt, scaler, params, batch, 0, prefetch=lambda: called.append(reads.n))
    assert reads.n == 1  # one sync per step on CUDA (it was 2 here, 4 with the loop's)
    assert called == [0]  # the next batch is prepared before that read, while the device still works
    assert loss.device.type == "cpu" and loss.grad_fn is None  # the loop reads it without another sync


def test_fp16_scaler_state_resumes(tmp_path) -> None:
    from benchmark.runner import make_config
    from benchmark.trainer import RunState, Trainer

    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", device="cpu")
    trainer = Trainer(cfg, tmp_path, progress=False)
    model = trainer.adapter.build(trainer.task.spec, 0)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)  # stands in for CUDA's: same state
    scaler.scale(torch.ones(()))  # initialises the scale, as the first step does
    scaler.update(new_scale=123.0)
    trainer._save_checkpoint(model, opt, RunState(step=5), scaler)
    fresh = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=3)
    state = trainer._load_checkpoint(model, opt, fresh)
    assert state.step == 5 and fresh.get_scale() == 123.0


def _fake_gpu(monkeypatch, native: bool, name: str = "NVIDIA Fake") -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native or including_emulation)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (8, 0) if native else (7, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: name)


def test_auto_picks_bf16_only_where_the_gpu_has_it_natively(monkeypatch) -> None:
    from benchmark.provenance import resolve_precision

    _fake_gpu(monkeypatch, native=False)  # a V100/T4: bf16 only emulated
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    _fake_gpu(monkeypatch, native=True)  # an A100
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"


def test_cuda_runs_record_gpu_driver_cuda_and_cudnn(monkeypatch) -> None:
    import benchmark.cuda_env as ce

    _fake_gpu(monkeypatch, native=True, name="NVIDIA A100-SXM4-80GB")
    monkeypatch.setattr(ce, "_driver_version", lambda: "535.104.05")
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    text = ce.device_description(torch.device("cuda"))
    for fact in ("NVIDIA A100-SXM4-80GB", "sm 8.0", "driver 535.104.05", "CUDA 12.4", "cuDNN 90100", "deterministic"):
        assert fact in text
    assert ce.device_description(torch.device("cpu")) == "cpu"  # CPU results record what they always did


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch) -> None:
    import benchmark.cuda_env as ce

    _fake_gpu(monkeypatch, native=True)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert ce.visible_gpus() == ["0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert ce.visible_gpus() == ["3", "5"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ce.visible_gpus() == []


def test_deterministic_cuda_settings(monkeypatch) -> None:
    import benchmark.cuda_env as ce

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        ce.deterministic_cuda()
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ce.CUBLAS_WORKSPACE
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def test_gpu_smoke_on_this_cpu_says_no_cuda_in_one_line(capsys, monkeypatch) -> None:
    from benchmark.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["gpu-smoke"])
    out = capsys.readouterr()
    lines = [x for x in (out.out + out.err).splitlines() if x.strip()]
    assert code != 0 and len(lines) == 1 and "no CUDA device" in lines[0]


@pytest.mark.parametrize("bad", ["0", "-1"])
def test_gpu_smoke_refuses_bad_steps(bad, capsys) -> None:
    from benchmark.cli import main

    assert main(["gpu-smoke", "--steps", bad]) == 2


def test_gpu_smoke_checks_fail_on_what_they_guard() -> None:
    from benchmark.commands.gpu_smoke import run_checks

    good = [{"model": "fpt", "status": "finished", "precision": "bf16+tf32", "peak_mem_mb": 900.0,
             "device": "cuda (NVIDIA A100; sm 8.0; driver 1; CUDA 12.4; cuDNN 9; deterministic)"},
            {"model": "lstm", "status": "finished", "precision": "bf16+rnn-fp32+tf32", "peak_mem_mb": 300.0,
             "device": "cuda (NVIDIA A100; sm 8.0; driver 1; CUDA 12.4; cuDNN 9; deterministic)"}]
    assert all(c.ok for c in run_checks(good, {"lstm"}))
    for change in ({"precision": "bf16+tf32"}, {"peak_mem_mb": 0.0}, {"device": "cpu"}, {"status": "diverged"},
                   {"precision": ""}):
        rows = [good[0], {**good[1], **change}]
        assert not all(c.ok for c in run_checks(rows, {"lstm"})), change


def test_gpt2_body_runs_without_a_kv_cache_on_cuda(monkeypatch) -> None:
    from types import SimpleNamespace

    from baselines.backbones import get_backbone

    body = get_backbone("tiny-gpt2").build(pretrained=False)
    assert body.kwargs_for(SimpleNamespace(device=torch.device("cuda"))) == {"use_cache": False}
    assert body.kwargs_for(torch.zeros(1)) == {}  # CPU: the library default (the committed CPU numbers used it)
    seen = {}
    body.model.register_forward_pre_hook(lambda m, a, kw: seen.update(kw), with_kwargs=True)
    monkeypatch.setattr(type(body), "kwargs_for", lambda self, h: {"use_cache": False})  # what a CUDA input gets
    body(torch.randn(2, 5, body.info.d_model), None)
    assert seen.get("use_cache") is False  # ... reaches the library's forward


def test_gpt2_weights_load_in_an_explicit_fp32(monkeypatch) -> None:
    from transformers import GPT2Model

    from baselines.backbones import get_backbone

    seen = {}

    def fake_from_pretrained(source, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here: no download in tests")

    monkeypatch.setattr(GPT2Model, "from_pretrained", staticmethod(fake_from_pretrained))
    with pytest.raises(Exception):
        get_backbone("gpt2").build(pretrained=True)
    assert seen.get("dtype") is torch.float32  # never transformers' default "auto" (the checkpoint's own dtype)
