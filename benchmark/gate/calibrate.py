"""``fptbench check --calibrate``: measure the gate's false-alarm rate and its power, for real.

Why: a gate whose tolerances were never confronted with noise and with real bugs is a guess. This
trains the reference's profile again under noise-only changes (other seeds, another thread count,
the other precision: under ``precision=auto`` a machine without native bf16 trains in fp32, the
realistic cross-machine perturbation) and under injected regressions (model-level ones trained for
real through the harness; data-level ones edited into a copy of the reference), and runs the
*statistical tier alone* on each (``--determinism off``: bit-identity would catch every same-config
change on this machine, but proves nothing about other machines). It prints one row per variant and
the noise each key showed, from which the per-key floors in the profile module are sized.

Regressions are run key by key, cheapest first, and stop at the first key that trips the gate: the
gate fails when any key fails, so a tripped subset proves the whole suite would fail. Noise variants
run every key, since one false alarm anywhere is a false alarm.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import FptError
from ..results import read_table
from . import mutate
from .compare import GateConfig, GateReport, compare_frames
from ..executors.job import pinned_threads
from .reference import load_curves, load_runs

Key = tuple[str, str, str]


@dataclass
class Variant:
    """One calibration row: a noise-only change (must pass) or a regression (must fail)."""

    name: str
    kind: str  # "noise" | "regression"
    how: str
    seeds: tuple[int, ...] | None = None  # None: the suite's seeds
    options: dict[str, Any] = field(default_factory=dict)
    budget: Callable[[Any], dict[str, Any]] | None = None  # resolved budget -> overrides
    threads: int | None = None
    keys: Callable[[Key], bool] | None = None  # which suite keys the change applies to
    trainer_patch: Callable[[Any], None] | None = None  # edits a Trainer instance (code-level bugs)
    adapter_patch: Callable[[Any], None] | None = None
    data: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]] | None = None
    prefer: tuple[str, ...] = ()  # "task/model/backbone" keys to train first (where the change should show)


def _no_restore(trainer: Any) -> None:
    """The best-state restore made a no-op: every evaluation overwrites the 'best' weights, so the final
    restore loads the last evaluation's (= the final) weights, exactly as if the restore were ``pass``."""
    from ..trainer import trainable_state

    original = trainer._eval_point

    def eval_point(model, state):
        original(model, state)
        state.best_state = trainable_state(model)

    trainer._eval_point = eval_point


def _no_clip(trainer: Any) -> None:
    """Gradient clipping removed: the step clips at a norm no gradient reaches (the config, and so the
    comparison with the reference, unchanged)."""
    trainer.budget = dataclasses.replace(trainer.budget, grad_clip=1e30)


def _seed_blind(trainer: Any) -> None:
    """A training stream that ignores the run's seed: every seed draws seed 0's batches."""
    import numpy as np

    original = trainer.task.train_batch
    trainer.task.train_batch = lambda rng, size, step, seed: original(np.random.default_rng([0, step]), size, step, 0)


def _pretrained(adapter: Any) -> None:
    adapter.pretrained = True  # the random-frozen adapter built from the pretrained checkpoint


def _transformer(key: Key) -> bool:
    """Keys whose model is a transformer adapter with norms and positions to freeze."""
    return key[1] in ("fpt", "full", "random-frozen", "statistics-only", "bit-memory-pretrained")


def variants(ref_precision: str) -> list[Variant]:
    """The rows, in the order they run: free data-level edits, the realistic cross-machine perturbation,
    the trained regressions, then the remaining noise variants."""
    other = "fp32" if ref_precision.startswith("bf16") else "bf16"
    fpt_minilm = ("bit-xor/fpt/minilm-l6",)
    return [
        Variant("one seed collapsed", "regression", "copy of the reference: the best seed of the noisiest key set to chance (0.5)",
                data=lambda r, c: (mutate.chance_collapse(r, *mutate.noisiest_key_seed(r)), c)),
        Variant("uniform -1.5 points", "regression", "copy of the reference: every test score -0.015",
                data=lambda r, c: (mutate.shift_accuracy(r, -0.015), c)),
        Variant("stt one interval later", "regression", "copy of the reference: steps_to_threshold + eval_every "
                "(recorded late, curves true)", data=lambda r, c: (mutate.stt_one_eval_later(r), c)),
        Variant("-3 points every key", "regression", "copy of the reference: every test score -0.03",
                data=lambda r, c: (mutate.shift_accuracy(r, -0.03), c)),
        Variant("one seed -25 points", "regression", "copy of the reference: the best seed of the noisiest key -0.25",
                data=lambda r, c: (mutate.shift_accuracy(r, -0.25, *mutate.noisiest_key_seed(r)), c)),
        Variant("steps x1.5", "regression", "copy of the reference: curves and steps_to_threshold stretched x1.5",
                data=lambda r, c: mutate.scale_steps(r, c, 1.5)),
        Variant(f"precision {other}", "noise", f"--budget precision={other} (the reference computed in "
                f"{ref_precision}): a machine without native bf16", budget=lambda b: {"precision": other}),
        Variant("layer norms frozen", "regression", "--option train_norm=false", options={"train_norm": False},
                keys=_transformer, prefer=fpt_minilm),
        Variant("positions frozen", "regression", "--option train_pos=false", options={"train_pos": False},
                keys=_transformer, prefer=fpt_minilm),
        Variant("lr x10", "regression", "--budget lr=10x the profile's", budget=lambda b: {"lr": b.lr * 10},
                prefer=("bit-xor/full/tiny-gpt2",)),
        Variant("best-val restore removed", "regression", "trainer patched: test scored on the final weights",
                trainer_patch=_no_restore, prefer=("mnist/full/tiny-gpt2",)),
        Variant("grad clipping removed", "regression", "trainer patched: no gradient clipping",
                trainer_patch=_no_clip, prefer=("bit-xor/full/tiny-gpt2",)),
        Variant("seed-blind stream", "regression", "trainer patched: batches drawn from seed 0 for every seed",
                trainer_patch=_seed_blind, prefer=("bit-xor/full/tiny-gpt2",)),
        Variant("random-frozen made pretrained", "regression", "random-frozen adapter built from the pretrained "
                "checkpoint", keys=lambda k: k[1] == "random-frozen", adapter_patch=_pretrained,
                prefer=("bit-xor/random-frozen/minilm-l6",)),
        Variant("2 threads", "noise", "2 intra-op threads instead of 1", threads=2),
        Variant("other seeds 3-5", "noise", "seeds 3, 4, 5 instead of the reference's", seeds=(3, 4, 5)),
        Variant("other seeds 6-8", "noise", "seeds 6, 7, 8", seeds=(6, 7, 8)),
    ]


def _suite_keys(profile: str) -> list[tuple[Key, tuple[int, ...]]]:
    from ..profiles import get_profile

    return [((e.task, e.model, e.backbone or "none"), tuple(e.seeds)) for e in get_profile(profile).suite]


def _train_key(v: Variant, profile: str, key: Key, seeds: tuple[int, ...], out: Path) -> None:
    from ..errors import NeedsData
    from ..model import get_adapter
    from ..runner import backbone_arg, make_config, trainer_for

    for seed in v.seeds or seeds:
        try:
            cfg = make_config(key[0], key[1], backbone=backbone_arg(key[2]), seed=seed,
                              profile=profile, options=dict(v.options))
        except NeedsData:
            return
        if v.budget:
            cfg = dataclasses.replace(cfg, budget=dataclasses.replace(cfg.budget, **v.budget(cfg.budget)))
        adapter = get_adapter(cfg.model, backbone_arg(cfg.backbone), **cfg.model_options)
        if v.adapter_patch:
            v.adapter_patch(adapter)
        trainer = trainer_for(cfg, out, progress=False, adapter=adapter)
        if v.trainer_patch:
            v.trainer_patch(trainer)
        with pinned_threads(v.threads):
            trainer.run()


@dataclass
class Row:
    variant: Variant
    tripped: bool  # the statistical tier alone
    keys: list[str]
    runs: int
    cpu_s: float
    report: GateReport | None = None
    note: str = ""
    strict: str = "n/a"  # the strict tier on the reference's machine: FAIL | pass | n/a (no config in common)

    @property
    def caught(self) -> bool:
        return self.tripped or self.strict == "FAIL"

    @property
    def as_expected(self) -> bool:
        if self.variant.kind == "noise":
            return not self.tripped and self.strict != "FAIL"
        return self.caught


def _compare(ref: pd.DataFrame, ref_curves: pd.DataFrame | None, new: pd.DataFrame, new_curves: pd.DataFrame | None,
             cfg: GateConfig) -> GateReport:
    return compare_frames(ref, new, dataclasses.replace(cfg, determinism="off"), ref_curves=ref_curves,
                          new_curves=new_curves)


def _strict(reference: Path, ref: pd.DataFrame, new: pd.DataFrame) -> str:
    """What the strict tier says on this machine (the reference's, when calibrating where it was made)."""
    from .reference import load_fingerprint, results_fingerprint

    ex = compare_frames(ref, new, GateConfig(determinism="strict", keys={}), ref_fingerprint=load_fingerprint(reference),
                        new_fingerprint=results_fingerprint(new)).exact
    if not ex.applied:
        return "n/a"
    return "FAIL" if ex.failed else "pass"


def run_variant(v: Variant, reference: Path, ref: pd.DataFrame, ref_curves: pd.DataFrame | None, workdir: Path,
                cfg: GateConfig, cost_order: list[Key], train: bool = True) -> Row:
    t0 = time.process_time()
    profile = str(ref.profile.iloc[0])
    if v.data:
        new, new_curves = v.data(ref, ref_curves if ref_curves is not None else pd.DataFrame())
        rep = _compare(ref, ref_curves, new, new_curves, cfg)
        return Row(v, rep.failed, [f"{r.task}/{r.model}/{r.backbone}" for r in rep.regressions],
                   new.run_id.nunique(), time.process_time() - t0, rep, strict=_strict(reference, ref, new))
    out = workdir / v.name.replace(" ", "_")
    suite = dict(_suite_keys(profile))
    order = [k for k in cost_order if "/".join(k) in v.prefer] + [k for k in cost_order if "/".join(k) not in v.prefer]
    keys = [k for k in order if k in suite and (v.keys is None or v.keys(k))]
    rep: GateReport | None = None
    strict = "n/a"
    for key in keys if train else keys[-1:]:
        if train:
            _train_key(v, profile, key, suite[key], out)
        new = read_table([out], "runs")
        if new.empty:
            continue
        rep = _compare(ref, ref_curves, new, load_curves(out), cfg)
        strict = _strict(reference, ref, new)
        preferred_done = keys.index(key) + 1 >= sum("/".join(k) in v.prefer for k in keys)  # they come first
        if v.kind == "regression" and (rep.failed or (strict == "FAIL" and preferred_done)):
            break  # the gate fails when any key fails: the rest cannot undo it
    if rep is None:
        return Row(v, False, [], 0, time.process_time() - t0, None, "no key applies")
    return Row(v, rep.failed, [f"{r.task}/{r.model}/{r.backbone}" for r in rep.regressions],
               read_table([out], "runs").run_id.nunique(), time.process_time() - t0, rep, strict=strict)


def noise_table(rows: list[Row]) -> str:
    """Per key, the largest drops noise produced: mean (paired or not) and worst seed, against the floors."""
    lines = ["noise seen per key (largest drop over the noise variants; floors in the profile module):",
             "  key                                  mean drop  floor   worst seed  floor1"]
    worst: dict[str, list[float]] = {}
    floors: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row.variant.kind != "noise" or row.report is None:
            continue
        for v in row.report.verdicts:
            k = f"{v.task}/{v.model}/{v.backbone}"
            a, b = worst.get(k, [0.0, 0.0])
            worst[k] = [min(a, v.delta), min(b, v.worst if not math.isnan(v.worst) else 0.0)]
            floors[k] = (v.tol, v.tol_seed) if v.paired else floors.get(k, (v.tol, v.tol_seed))
    for k, (m, w) in sorted(worst.items()):
        lines.append(f"  {k:<36} {m:+.4f}    {floors[k][0]:.4f}  {w:+.4f}     {floors[k][1]:.4f}")
    return "\n".join(lines)


def render_rows(rows: list[Row]) -> str:
    head = ["variant", "kind", "injected as", "runs", "statistical tier (any machine)", "keys that failed",
            "strict tier (this machine)", "as expected"]
    body = []
    for r in rows:
        if r.variant.kind == "regression":
            stat = "FAIL (caught)" if r.tripped else "pass (missed)"
        else:
            stat = "FALSE ALARM" if r.tripped else "pass"
        body.append([r.variant.name, r.variant.kind, r.variant.how, str(r.runs), stat, ", ".join(r.keys) or "-",
                     r.strict, "yes" if r.as_expected else "NO"])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(b, widths)) + " |" for b in body]
    noise = [r for r in rows if r.variant.kind == "noise"]
    regs = [r for r in rows if r.variant.kind == "regression"]
    out.append("")
    out.append(f"noise-only variants that tripped the gate: {sum(not r.as_expected for r in noise)}/{len(noise)}; "
               f"injected regressions caught by the statistical tier: {sum(r.tripped for r in regs)}/{len(regs)}, "
               f"by the gate on the reference's machine (statistical or strict): {sum(r.caught for r in regs)}/{len(regs)}")
    return "\n".join(out)


def run_calibration(reference: str | Path, cfg: GateConfig, workdir: str | Path | None = None,
                    only: list[str] | None = None, train: bool = True) -> int:
    """Run every variant against ``reference`` and print the table; exit 0 iff all behave as expected.

    ``train=False`` trains nothing: it re-judges the sweeps already in ``workdir`` (after the floors
    changed, or sweeps trained in parallel by the same code); the runs column shows what they hold.
    """
    ref_dir = Path(reference)
    ref = load_runs(ref_dir, "reference")
    ref_curves = load_curves(ref_dir)
    if ref_curves is None:
        raise FptError(f"calibration needs the reference's curves ({ref_dir}/curves); regenerate it with "
                       "`fptbench reference update`")
    profiles = sorted(set(ref.profile))
    if len(profiles) != 1:
        raise FptError(f"reference {ref_dir} mixes profiles {profiles}; calibrate one profile at a time")
    precision = ",".join(sorted({str(p) for p in ref.get("precision", pd.Series(["fp32"])).dropna()})) or "fp32"
    wanted = variants(precision)
    if only:
        unknown = set(only) - {v.name for v in wanted}
        if unknown:
            raise FptError(f"unknown calibration variant(s) {sorted(unknown)}; known: {[v.name for v in wanted]}")
        wanted = [v for v in wanted if v.name in only]
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="fptbench-calibrate-"))
    work.mkdir(parents=True, exist_ok=True)
    # cheapest keys first: the reference's own training time orders them
    t = ref.drop_duplicates("run_id").groupby(["task", "model", "backbone"]).train_time_s.sum().sort_values()
    cost_order = [tuple(k) for k in t.index]
    rows = []
    print(f"calibrating the gate against {ref_dir} (profile {profiles[0]}, precision {precision}); sweeps in {work}",
          flush=True)
    for v in wanted:
        row = run_variant(v, ref_dir, ref, ref_curves, work, cfg, cost_order, train)
        rows.append(row)
        print(f"  {v.kind:<10} {v.name:<32} {'tripped' if row.tripped else 'passed ':<8} "
              f"({', '.join(row.keys) or 'no key failed'}; {row.runs} runs, {row.cpu_s:.0f} s CPU)", flush=True)
    print()
    print(render_rows(rows))
    print()
    print(noise_table(rows))
    return 0 if all(r.as_expected for r in rows) else 1


__all__ = ["Variant", "run_calibration", "variants"]
