"""`fptbench bench --quick --json` on a tiny subset: the records' schema, never the timings."""

from __future__ import annotations

import json
import math

import pytest
import torch

from baselines import speed
from benchmark.cli import main


def test_bench_quick_json_schema(capsys):
    code = main(["bench", "--quick", "--json", "--models", "fpt", "full", "--shapes", "bit-memory", "mnist",
                 "--backbones", "tiny-gpt2", "--batches", "2", "--rounds", "1", "--eval-examples", "8", "--no-levers"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"meta", "records"}
    peaks = result["meta"]["matmul_peak_gflops"]
    assert peaks["fp32"] > 0 and peaks["bf16"] > 0
    steps = [r for r in result["records"] if r["kind"] == "step"]
    evals = [r for r in result["records"] if r["kind"] == "eval"]
    assert sorted(r["config"] for r in steps) == sorted(
        f"{m}/tiny-gpt2/{s}/b2" for m in ("fpt", "full") for s in ("bit-memory", "mnist"))
    assert len(evals) == 2  # one evaluation pass per (backbone, shape)
    for rec in steps + evals:
        assert set(speed.RECORD_FIELDS) <= set(rec)
        assert rec["ours_s_per_step"] > 0 and rec["reference_s_per_step"] > 0
        assert math.isclose(rec["ratio"], rec["reference_s_per_step"] / rec["ours_s_per_step"])
        assert rec["peak_mem_mb"] > 0 and rec["precision"] in ("fp32", "bf16")
    for rec in steps:
        assert rec["achieved_gflops"] > 0  # FLOPs counted on our real step
        assert rec["ours_examples_per_s"] == pytest.approx(2 / rec["ours_s_per_step"])


def test_unknown_shape_is_refused(capsys):
    assert main(["bench", "--quick", "--shapes", "imagenet"]) != 0
    assert "unknown shape" in capsys.readouterr().err


def test_their_model_reads_the_last_ratio_tokens_like_theirs():
    """Bit memory: their (B, 6, 1000) input becomes 120 tokens of 50; the output is (B, 1, 2000)."""
    m = speed.TheirModel(torch.nn.Identity(), 50, speed.BIT_PATCH, 2 * speed.BIT_PATCH)
    m.transformer = None
    m.lstm = torch.nn.Identity()
    x, y = speed.their_bits(__import__("numpy").random.RandomState(0), 3)
    assert x.shape == (3, 6, 1000) and y.shape == (3, 1000)
    out = m(x)
    assert out.shape == (3, 1, 2000)
    loss_fn, acc_fn = speed.their_loss_and_acc("bit-memory")
    assert loss_fn(out, y).ndim == 0 and 0 <= acc_fn(out.detach().numpy(), y.numpy()) <= 1
