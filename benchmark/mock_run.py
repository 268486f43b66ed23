"""``fptbench mock-run``: check a new model adapter in well under a minute, without any real data.

For every registered task the adapter is built on a *mock* of that task: the same spec (input kind,
input_dim, output_tokens, output_dim, padding) with a short sequence and tiny random splits held
in memory, and the real task's ``logits_view``/``loss``/``scores``. Then:

0. build for the real spec (no forward): catches e.g. a sequence longer than the backbone's positions;
1. build + forward on the mock: the module returns ``(B, output_tokens, output_dim)`` finite logits, with and
   without padding when the task pads;
2. trainable: some parameter requires grad and receives a non-zero gradient from the task loss;
3. determinism: two Trainer runs with the same seed give identical curves and test values, and the
   adapter leaves numpy's and Python's global RNG state untouched;
4. serialization: the results read back with ``read_table`` have exactly the runs and curves schema.

Each problem is one line naming the adapter, the task and the fix. Why mock tasks: a submitter may
have no prepared datasets, and real splits would make this take minutes instead of seconds.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow.parquet as pq
import torch

from .config import RunConfig
from .errors import FptError
from .model import ModelAdapter, get_adapter
from .profiles import Budget
from .results import CURVES_SCHEMA, RUNS_SCHEMA, read_table
from .runner import trainer_for
from .task import TASKS, Batch, ScoredLike, SplitSpec, Task, get_task
from .trainer import seeded

MOCK_SEQ = 24
MOCK_EVAL = 8
# Two steps, evaluations at steps 0 and 2, a checkpoint at step 1: every code path of a real run.
MOCK_BUDGET = Budget(steps=2, batch_size=4, lr=1e-3, eval_every=2, eval_batch_size=MOCK_EVAL, checkpoint_every=1)


class MockTask(ScoredLike):
    """A tiny in-memory stand-in for a registered task: same output contract, random inputs/labels."""

    code_version = "mock"

    def __init__(self, real: Task, seq_len: int = MOCK_SEQ, eval_size: int = MOCK_EVAL) -> None:
        s = real.spec
        seq = max(s.output_tokens, min(s.seq_len, seq_len))
        self.real = real
        self.spec = dataclasses.replace(  # type: ignore[misc]
            s, version=f"{s.version}-mock", seq_len=seq,
            splits={"train": SplitSpec(1), "val": SplitSpec(eval_size, 1), "test": SplitSpec(eval_size, 2)},
        )
        probe = real.logits_view(torch.zeros(2, s.output_tokens, s.output_dim))
        self.label_shape = tuple(probe.shape[1:-1])
        self.n_classes = int(probe.shape[-1])

    def _make(self, rng: np.random.Generator, n: int) -> Batch:
        s = self.spec
        mask = None
        if s.input_kind == "tokens":
            low = 1 if s.pad_id == 0 and s.input_dim > 1 else 0
            x = torch.as_tensor(rng.integers(low, s.input_dim, size=(n, s.seq_len)), dtype=torch.long)
        else:
            x = torch.as_tensor(rng.standard_normal((n, s.seq_len, s.input_dim)), dtype=torch.float32)
        if s.pad_id is not None:  # variable length, right padding, never shorter than the read-out
            lengths = rng.integers(s.output_tokens, s.seq_len + 1, size=n)
            mask = torch.as_tensor(np.arange(s.seq_len)[None, :] < lengths[:, None])
            if s.input_kind == "tokens":
                x = x.masked_fill(~mask, s.pad_id)
            else:
                x = x * mask[..., None]
        y = torch.as_tensor(rng.integers(0, self.n_classes, size=(n, *self.label_shape)), dtype=torch.long)
        return Batch(x, y, mask)

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        return self._make(rng, batch_size)

    def fixed_split(self, split: str) -> Batch:
        s = self.spec.splits[split]
        return self._make(np.random.default_rng([s.seed or 0, 99]), s.size)


@dataclass
class MockReport:
    model: str
    backbone: str
    tasks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def _global_rng_state() -> tuple[Any, Any]:
    return np.random.get_state()[1].tobytes(), random.getstate()


def _config(task: MockTask, model: str, adapter: ModelAdapter, options: dict[str, Any], seed: int) -> RunConfig:
    return RunConfig(task=task.spec.name, task_version=task.spec.version, task_fingerprint=task.fingerprint,
                     model=model, backbone=adapter.backbone or "none", seed=seed, profile="mock",
                     budget=MOCK_BUDGET, model_options=dict(adapter.options), device="cpu")


def mock_task(task_name: str) -> MockTask:
    return MockTask(get_task(task_name))


def check_task(model: str, backbone: str | None, options: dict[str, Any], mock: MockTask,
               fail: Callable[[str, str], None], seed: int = 0) -> None:
    """Run every check on one mocked task; ``fail(problem, fix)`` records a failure."""
    real = mock.real.spec
    try:  # building for the real spec is cheap (no data, no forward) and catches e.g. too-long sequences
        with seeded(seed, torch.device("cpu")):
            get_adapter(model, backbone, **options).build(real, seed)
    except FptError as exc:
        fail(f"cannot be built for the real task (seq_len {real.seq_len}): {exc}",
             "follow the message, or accept that this task stays missing for this model")
        return
    except Exception as exc:
        fail(f"build() for the real spec raised {type(exc).__name__}: {exc}",
             f"make build(spec, seed) work for seq_len={real.seq_len}, input_dim={real.input_dim}, "
             f"output {real.output_tokens}x{real.output_dim}")
        return
    spec = mock.spec
    adapter = get_adapter(model, backbone, **options)
    try:
        with seeded(seed, torch.device("cpu")):
            module = adapter.build(spec, seed)
    except FptError:
        raise
    except Exception as exc:
        fail(f"build() raised {type(exc).__name__}: {exc}", "make build(spec, seed) work for this task's spec "
             f"(input_kind={spec.input_kind}, input_dim={spec.input_dim}, seq_len<= {spec.seq_len})")
        return
    if not isinstance(module, torch.nn.Module):
        fail(f"build() returned {type(module).__name__}, not a torch.nn.Module", "return an nn.Module from build()")
        return
    want = (MOCK_BUDGET.batch_size, spec.output_tokens, spec.output_dim)
    batch = mock.train_batch(np.random.default_rng([seed, 0]), MOCK_BUDGET.batch_size, 0, seed)
    try:
        with seeded(seed + 1, torch.device("cpu")):
            out = module(batch.x, batch.mask)
    except Exception as exc:
        fail(f"forward(x, mask) raised {type(exc).__name__}: {exc}",
             f"accept x of shape {tuple(batch.x.shape)} ({batch.x.dtype}) and mask "
             f"{None if batch.mask is None else tuple(batch.mask.shape)}")
        return
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"forward returned {got}, expected {want}",
             "return logits of shape (batch, spec.output_tokens, spec.output_dim)")
        return
    if not torch.isfinite(out).all():
        fail("forward returned non-finite logits", "check initialisation and normalisation in the module")
        return
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        fail("no parameter requires grad", "leave at least the input and output layers trainable")
        return
    module.zero_grad(set_to_none=True)
    mock.loss(out.float(), batch.y).backward()
    if not any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params):
        fail("the task loss sends no gradient to any trainable parameter",
             "make the logits depend on the trainable parameters (no .detach(), no torch.no_grad in forward)")
        return

    before = _global_rng_state()
    with tempfile.TemporaryDirectory(prefix="fptbench-mock-") as tmp:
        results = []
        for attempt in ("a", "b"):
            ad = get_adapter(model, backbone, **options)
            cfg = _config(mock, model, ad, options, seed)
            try:
                status = trainer_for(cfg, Path(tmp) / attempt, progress=False, task=mock, adapter=ad).run()
            except FptError as exc:
                fail(str(exc), "see the message above")
                return
            except Exception as exc:
                fail(f"training raised {type(exc).__name__}: {exc}",
                     "the module must train with Adam and be saved with torch.save (plain tensors in its state)")
                return
            if status != "finished":
                fail(f"a {MOCK_BUDGET.steps}-step training run ended '{status}'", "check for a non-finite loss (initialisation, lr)")
                return
            results.append(Path(tmp) / attempt)
        if _global_rng_state() != before:
            fail("the adapter changed numpy's or Python's global RNG state",
                 "use torch.Generator().manual_seed(seed) or np.random.default_rng(seed), never np.random.* / random.*")
        _check_schema(results[0], fail)
        runs_a, runs_b = (read_table([r], "runs") for r in results)
        curves_a, curves_b = (read_table([r], "curves") for r in results)
        same_runs = runs_a[["split", "metric", "value"]].equals(runs_b[["split", "metric", "value"]])
        same_curves = curves_a[["step", "metric", "value", "train_loss"]].equals(curves_b[["step", "metric", "value", "train_loss"]])
        if not (same_runs and same_curves):
            fail("two runs with the same seed gave different results",
                 "draw all randomness from the seed given to build() or torch's (forked) RNG; avoid nondeterministic ops")


def _check_schema(results: Path, fail: Callable[[str, str], None]) -> None:
    for table, schema in (("runs", RUNS_SCHEMA), ("curves", CURVES_SCHEMA)):
        files = sorted((results / table).glob("*.parquet"))
        if len(files) != 1:
            fail(f"expected one {table} file, found {len(files)}", "this is a harness bug; please report it")
            continue
        got = pq.read_schema(files[0])
        if not got.equals(schema, check_metadata=False):
            fail(f"{table} results do not match the schema", "this is a harness bug; please report it")
    df = read_table([results], "runs")
    if list(df.columns) != RUNS_SCHEMA.names or df.empty:
        fail("runs rows read back with other columns than RUNS_SCHEMA", "this is a harness bug; please report it")
    elif not (df.n_params_trainable > 0).all():
        fail("runs rows report no trainable parameters", "leave at least the output layer trainable")


def mock_run(model: str, backbone: str | None = None, options: dict[str, Any] | None = None,
             tasks: list[str] | None = None, seed: int = 0) -> MockReport:
    """Check ``model`` against a mock of every registered task (or ``tasks``)."""
    options = dict(options or {})
    t0 = time.perf_counter()
    adapter = get_adapter(model, backbone, **options)  # unknown names fail here, with close matches
    report = MockReport(model=model, backbone=adapter.backbone or "none")
    if not type(adapter).family:
        report.notes.append(f"adapter '{model}' sets no `family`; set family = '...' (shown on the leaderboard)")
    names = tasks or TASKS.names()
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise FptError(f"unknown task(s) {unknown}; see `fptbench tasks`")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add contention on a shared CPU
    try:
        for name in names:
            def fail(problem: str, fix: str, _name: str = name) -> None:
                report.failures.append(f"adapter '{model}' on task '{_name}': {problem}; fix: {fix}")

            try:
                mock = mock_task(name)
            except Exception as exc:  # a broken task plugin is not the adapter's failure: say so, go on
                report.notes.append(f"task '{name}' skipped: cannot load or mock it ({type(exc).__name__}: {exc}); "
                                    "report it to the task plugin's owner")
                continue
            check_task(model, backbone, options, mock, fail, seed)
            report.tasks.append(name)
    finally:
        torch.set_num_threads(threads)
    report.seconds = time.perf_counter() - t0
    return report
