"""The gate against REAL regressions: each one is trained through the harness and must fail the gate;
a pure-noise change (another seed set) must pass, and a rerun must reproduce the control bit for bit.

The regressions are the mistakes the issue lists, injected the way a bug would be: a wrong learning
rate in the budget, an adapter whose code replaces the input layer's orthogonal init, an adapter
whose code freezes the layer norms. All train a tiny body (tiny-gpt2, bit-xor); the control
reaches val accuracy 1.0 on every seed well inside its budget, so steps-to-threshold carries signal.

Frozen layer norms matter for a *pretrained frozen* body, not at CI budgets on tiny ones (measured,
see that test), so that regression is caught by the determinism tier, not by the statistics.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch

from baselines.fpt import FPT
from benchmark.cli import main
from benchmark.gate import GateConfig, compare_frames
from benchmark.gate.fingerprint import write_fingerprint
from benchmark.gate.reference import results_fingerprint
from benchmark.gate.table import render
from benchmark.results import read_table
from benchmark.runner import make_config
from benchmark.task import TaskSpec
from benchmark.trainer import Trainer

SEEDS = (0, 1, 2)
NOISE_SEEDS = (3, 4, 5)
TASK, BACKBONE = "bit-xor", "tiny-gpt2"
# The control: an FPT-style adapter whose trainable set includes the transformer blocks would be the
# paper's FPT on a pretrained body; on a *random* tiny body the frozen variant never reaches 100% on
# bit-xor in a few hundred steps, so the control trains everything (attention and feed-forward too,
# via the adapter's train_* options) and keeps FPT's input layer, norms and head.
MODEL = "fpt"
CONTROL_OPTIONS = {"train_attn": True, "train_ff": True}
# fp32 pinned: the same numbers on every machine (under precision=auto a CPU with native bf16 trains in bf16,
# and this chaotic little problem then converges at other steps; measured: seed 2 at 0.97 after 300 fp32 steps, so
# the budget leaves room).
BUDGET = {"steps": 500, "lr": 3e-3, "eval_every": 10, "checkpoint_every": 10_000, "eval_batch_size": 1000,
          "precision": "fp32"}
STATISTICAL = GateConfig(determinism="report")  # regressions must fail on statistics, not on bit-identity


class NormsFrozenByMistake(FPT):
    """A plausible bug: the FPT preset edited so that the layer norms no longer train."""

    trainable = dataclasses.replace(FPT.trainable, norm=False)


class ReplacedInputInit(FPT):
    """A plausible bug: someone 'simplifies' the input layer's orthogonal init (gain 1.41) to a tiny normal."""

    def build(self, spec: TaskSpec, seed: int) -> torch.nn.Module:
        model = super().build(spec, seed)
        with torch.no_grad():
            torch.nn.init.normal_(model.input.proj.weight, std=1e-3, generator=torch.Generator().manual_seed(seed))
        return model


def train(out: Path, seeds=SEEDS, options: dict | None = None, budget: dict | None = None,
          adapter_cls: type | None = None) -> pd.DataFrame:
    opts = {**CONTROL_OPTIONS, **(options or {})}
    for seed in seeds:
        cfg = make_config(TASK, MODEL, backbone=BACKBONE, seed=seed, profile="ci", options=opts,
                          budget_overrides={**BUDGET, **(budget or {})})
        adapter = adapter_cls(BACKBONE, **opts) if adapter_cls else None
        status = Trainer(cfg, out, progress=False, adapter=adapter).run()
        assert status == "finished"
    return read_table([out], "runs")


@pytest.fixture(scope="module")
def control(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("control")
    runs = train(out)
    # As `fptbench baseline update` does: the control records the machine that made it, so checks on
    # this machine get the strict (bit-identity) tier.
    write_fingerprint(out, results_fingerprint(runs))
    stt = runs.drop_duplicates("run_id").steps_to_threshold
    assert stt.notna().all(), "the control must reach the threshold on every seed for the speed gate to mean anything"
    return out, runs


def _verdict(report):
    assert len(report.verdicts) == 1
    return report.verdicts[0]


def test_learning_rate_100x_too_small_fails(control, tmp_path):
    runs = train(tmp_path, budget={"lr": BUDGET["lr"] / 100})
    report = compare_frames(control[1], runs, STATISTICAL)
    v = _verdict(report)
    print(render(report))
    assert report.failed and report.exit_code == 1
    assert v.speed == "regressed" and v.accuracy == "regressed"


def test_layer_norms_frozen_by_mistake_fails(control, tmp_path, capsys):
    """A code bug (not a config change: same config hash) that freezes the norms fails the determinism tier.

    Its effect on accuracy and speed is below seed noise at CI budgets (measured: tiny bodies learn
    as fast without trainable norms; FPT on MiniLM after the ci profile's 60 steps drops 0.727 ->
    0.694 with seed SD ~0.05), so the statistics cannot see it; bit-identity on the same torch
    version can, and the CLI exits 1.
    """
    runs = train(tmp_path, seeds=SEEDS[:1], adapter_cls=NormsFrozenByMistake)
    report = compare_frames(control[1], runs)
    print(render(report))
    assert report.exact.applied and report.exact.runs == 1 and len(report.exact.mismatches) == 1
    assert report.failed and report.exit_code == 1
    assert main(["check", "--reference", str(control[0]), "--results", str(tmp_path)]) == 1
    assert "1 DIFFER" in capsys.readouterr().out
    # With bit-identity switched off (another machine) only the statistics remain, and they pass.
    assert not compare_frames(control[1], runs, STATISTICAL).regressions


def test_input_orthogonal_init_replaced_fails(control, tmp_path):
    runs = train(tmp_path, adapter_cls=ReplacedInputInit)
    report = compare_frames(control[1], runs, STATISTICAL)
    print(render(report))
    assert report.failed and _verdict(report).regressed


def test_another_seed_set_is_noise_and_passes(control, tmp_path):
    runs = train(tmp_path, seeds=NOISE_SEEDS)
    report = compare_frames(control[1], runs)  # default (strict) config: no configuration in common
    print(render(report))
    assert not report.failed and report.exit_code == 0
    assert not report.exact.applied  # other seeds are other configs: the statistical gate alone decides


def test_rerun_reproduces_the_control_bit_for_bit_and_cli_passes(control, tmp_path, capsys):
    """The determinism tier: same torch, same configs -> identical numbers; through the CLI, exit 0."""
    train(tmp_path, seeds=SEEDS[:1])
    report = compare_frames(control[1], read_table([tmp_path], "runs"))
    assert report.exact.applied and report.exact.runs == 1 and report.exact.identical == 1
    assert main(["check", "--reference", str(control[0]), "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1/1 runs" in out and "bit-identical" in out and "PASS" in out
