"""Data-level regressions injected into a copy of results: what the gate must catch (calibration, tests).

Each function takes ``runs`` (and ``curves``) tables as the harness writes them and returns edited
copies; nothing is written in place. Model-level regressions (frozen norms, lr x10, ...) are trained
for real by ``gate.calibrate``; these are the ones that are cheaper and exact to inject into numbers.
"""

from __future__ import annotations

import math

import pandas as pd

KEY = ("task", "model", "backbone")


def _test_metric(runs: pd.DataFrame) -> pd.Series:
    return (runs.split == "test") & (runs.metric != "loss")


def shift_accuracy(runs: pd.DataFrame, delta: float, key: tuple[str, str, str] | None = None,
                   seed: int | None = None) -> pd.DataFrame:
    """Move the test metric by ``delta`` (e.g. -0.03: 3 points lower), clipped to [0, 1].

    ``key`` / ``seed`` restrict the change to one (task, model, backbone) and/or one seed.
    """
    out = runs.copy()
    sel = _test_metric(out)
    if key is not None:
        sel &= (out.task == key[0]) & (out.model == key[1]) & (out.backbone == key[2])
    if seed is not None:
        sel &= out.seed == seed
    out.loc[sel, "value"] = (out.loc[sel, "value"] + delta).clip(0.0, 1.0)
    return out


def scale_steps(runs: pd.DataFrame, curves: pd.DataFrame, factor: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run learns ``factor`` times slower: curve steps and steps_to_threshold stretched alike."""
    r, c = runs.copy(), curves.copy()
    r["steps_to_threshold"] = [None if pd.isna(v) else int(round(float(v) * factor)) for v in r.steps_to_threshold]
    c["step"] = (c.step.astype(float) * factor).round().astype(c.step.dtype)
    return r, c


def stt_one_eval_later(runs: pd.DataFrame) -> pd.DataFrame:
    """steps_to_threshold recorded one evaluation late (the recording bug; the curves stay true).

    The evaluation interval comes from each run's budget in its config JSON.
    """
    import json

    out = runs.copy()
    every = {rid: json.loads(cfg)["budget"]["eval_every"] for rid, cfg in zip(out.run_id, out.config)}
    out["steps_to_threshold"] = [None if pd.isna(v) else int(v) + int(every[rid])
                                 for rid, v in zip(out.run_id, out.steps_to_threshold)]
    return out


def noisiest_key_seed(runs: pd.DataFrame) -> tuple[tuple[str, str, str], int]:
    """The key whose reference seeds spread most (where a seed-aware gate is weakest) and its best seed:
    collapsing that seed is the issue's case (one seed of bit-xor/fpt/minilm-l6 falling to chance)."""
    t = runs[_test_metric(runs)].dropna(subset=["value"])
    sd = t.groupby(list(KEY)).value.std().fillna(0.0)
    key = tuple(sd.idxmax())
    rows = t[(t.task == key[0]) & (t.model == key[1]) & (t.backbone == key[2])]
    return (str(key[0]), str(key[1]), str(key[2])), int(rows.loc[rows.value.idxmax()].seed)


def chance_collapse(runs: pd.DataFrame, key: tuple[str, str, str], seed: int, level: float = 0.5) -> pd.DataFrame:
    """One seed of one key collapses to ``level`` (0.5: chance on binary tasks)."""
    t = runs[_test_metric(runs) & (runs.task == key[0]) & (runs.model == key[1]) & (runs.backbone == key[2])
             & (runs.seed == seed)]
    value = float(t.value.iloc[0])
    return shift_accuracy(runs, min(level - value, 0.0) if not math.isnan(value) else 0.0, key, seed)


__all__ = ["chance_collapse", "scale_steps", "shift_accuracy", "stt_one_eval_later", "noisiest_key_seed"]
