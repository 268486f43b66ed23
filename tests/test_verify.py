"""`fptbench verify`: committed runs are rerun from their stored configs and must agree within tolerance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmark.cli import main
from benchmark.results import read_table
from benchmark.runner import make_config, run
from benchmark.config import RunConfig
from benchmark.rerun_committed import pick_sample

BUDGET = {"eval_every": 6, "eval_batch_size": 1000, "checkpoint_every": 1000, "batch_size": 8, "precision": "fp32"}


def _committed(tmp_path: Path) -> Path:
    out = tmp_path / "committed"
    for seed in (0, 1):
        cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", seed=seed, profile="ci", max_steps=12,
                          budget_overrides=BUDGET)
        assert run(cfg, out, progress=False) == "finished"
    return out


def _edit_test_score(folder: Path, run_id: str, delta: float) -> None:
    f = folder / "runs" / f"{run_id}.parquet"
    t = pq.read_table(f).to_pandas()
    sel = (t.split == "test") & (t.metric != "loss")
    t.loc[sel, "value"] = t.loc[sel, "value"] + delta
    pq.write_table(pa.Table.from_pandas(t, schema=pq.read_schema(f), preserve_index=False), f)


def test_stored_config_rebuilds_the_same_hash(tmp_path):
    committed = _committed(tmp_path)
    runs = read_table([committed], "runs").drop_duplicates("run_id")
    for row in runs.itertuples():
        assert RunConfig.from_json(row.config).config_hash == row.config_hash


def test_sample_is_seeded_cheap_and_skips_runs_built_on_other_runs():
    rows = pd.DataFrame({"run_id": [f"r{i}" for i in range(9)], "status": "finished",
                         "train_time_s": [float(i) for i in range(9)],
                         "pretrained_on": ["language"] * 8 + ["bit-memory (harness run abc)"]})
    rows.loc[0, "pretrained_on"] = "bit-memory (harness run abc, cpu)"
    a, b = pick_sample(rows, 2, seed=0), pick_sample(rows, 2, seed=0)
    assert a == b and len(a) == 2
    assert set(a) <= {"r1", "r2", "r3"}  # the cheapest third of the eligible runs; r0 depends on a pretraining


def test_verify_passes_on_honest_results_and_fails_on_an_edited_one(tmp_path, capsys):
    committed = _committed(tmp_path)
    run_id = sorted(read_table([committed], "runs").run_id.unique())[0]
    assert main(["verify", "--results", str(committed), "--run", run_id, "--workdir", str(tmp_path / "w1")]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "ok" in out and "|diff| 0.0000" in out
    _edit_test_score(committed, run_id, +0.2)  # a number nobody's code produced
    assert main(["verify", "--results", str(committed), "--run", run_id, "--workdir", str(tmp_path / "w2")]) == 1
    out = capsys.readouterr().out
    assert "CONTRADICTED" in out and "FAIL" in out
    assert main(["verify", "--results", str(tmp_path / "nothing"), "--sample", "1"]) == 2
