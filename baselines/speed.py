"""``fptbench bench``: fptbench's training step beside a re-creation of the authors' step, in one process.

Every claim is a ratio measured side by side on whatever machine runs this: the two steps alternate
(ours, theirs, ours, theirs, ...) so that drift of a shared machine hits both alike, and the machine's
own fp32 and bf16 matmul peak is measured in the same run.

*Ours* is ``Trainer.train_step`` itself (the step every run takes): the task's vectorized batch
generator, autocast at the resolved precision (``auto``: bf16 where the CPU/GPU has it), the last
layer computed only where the head reads, fused ``nn.LSTM``, loss in fp32, clip 1.0, Adam over the
trainable parameters.

*Theirs* re-creates the authors' step (kzl/universal-computation: ``FPT`` + ``Trainer.train_epoch``,
written from its behaviour, not copied): ``nn.Sequential(Linear, Dropout)`` input layer, the HF model
called with ``inputs_embeds`` in fp32 with **eager** attention, read-out of the last ``ratio`` tokens,
their loss functions, per-step accuracy through numpy (``.detach().cpu().numpy()``), ``loss.item()``,
clip 1.0, Adam, and their data generation (``np.random.randint`` then ``torch.from_numpy(...).float()``
for the bit tasks). Their image loaders (torchvision) are not re-created: image shapes draw random
arrays of the task's shape on both sides. Their LSTM is the layer-normalised LSTM of their
``models/lstm.py``, a Python loop over time per layer, here unidirectional with 3 layers of 768
(how the paper configured it is not in their code); its fresh random initial state per call is kept.

The same weights feed both sides (the reference body is a deep copy of ours before precision and
attention changes). ``ratio`` is always reference seconds / our seconds: above 1, ours is faster.
Lever rows compare ours with one lever off (``reference_*``) against ours with it on.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from benchmark.config import RunConfig
from benchmark.model import get_adapter
from benchmark.profiles import Budget
from benchmark.task import Batch, ScoredLike, get_task
from benchmark.trainer import Trainer, peak_mem_mb, reset_peak_mem, seeded

SHAPES = ("bit-memory", "mnist", "cifar10", "cifar10-lra")
MODELS = ("fpt", "full", "lstm")
# label -> (registered backbone, pretrained?): the random GPT-2 has GPT-2 small's shape (12 x 768).
BACKBONES = {"gpt2-small-random": ("gpt2", False), "minilm-l6": ("minilm-l6", True)}
BATCHES = (4, 16)
BIT_N, BIT_PATTERNS, BIT_PATCH = 1000, 5, 50  # bit memory as the paper runs it: 6 x 1000 bits in 120 tokens of 50

RECORD_FIELDS = ("config", "kind", "ours_s_per_step", "reference_s_per_step", "ratio", "peak_mem_mb",
                 "achieved_gflops", "peak_gflops", "precision")


# -- shapes ------------------------------------------------------------------------------------
class ShapeTask(ScoredLike):
    """A task's exact spec with random data of its shape (image datasets need not be present).

    Bit memory uses the real task (its generator is part of what is timed). The split sizes are
    replaced so an evaluation pass covers ``eval_examples``.
    """

    def __init__(self, name: str, eval_examples: int) -> None:
        self.real = get_task(name)
        base = self.real.spec
        splits = {k: (dataclasses.replace(v, size=eval_examples, seed=v.seed or 7) if k != "train" else v)
                  for k, v in base.splits.items()}
        self.spec = dataclasses.replace(base, splits=splits)  # type: ignore[misc]
        self.generated = name.startswith("bit-")

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        if self.generated:
            return self.real.train_batch(rng, batch_size, step, seed)
        s = self.spec
        x = torch.from_numpy(rng.random((batch_size, s.seq_len, s.input_dim), dtype=np.float32))
        return Batch(x, torch.from_numpy(rng.integers(0, s.output_dim, batch_size)))

    def fixed_split(self, split: str) -> Batch:
        n = self.spec.splits[split].size
        if self.generated:
            data = self.real.fixed_split(split)
            reps = -(-n // len(data))
            return Batch(data.x.repeat(reps, *([1] * (data.x.dim() - 1)))[:n], data.y.repeat(reps, *([1] * (data.y.dim() - 1)))[:n])
        return self.train_batch(np.random.default_rng(self.spec.splits[split].seed), n, 0, 0)


# -- the authors' step, re-created ---------------------------------------------------------------
def their_bits(rng: np.random.RandomState, batch_size: int, xor: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Their bit-memory generator (global-RNG numpy calls; here a local legacy RandomState)."""
    bits = 2 * rng.randint(low=0, high=2, size=(batch_size, BIT_PATTERNS, BIT_N)) - 1
    query_inds = rng.randint(low=0, high=BIT_PATTERNS, size=batch_size)
    query_bits = bits[range(batch_size), query_inds]
    mask = rng.randint(low=0, high=2, size=query_bits.shape)
    x = np.concatenate([bits, (mask * query_bits).reshape(batch_size, 1, BIT_N)], axis=1)
    return torch.from_numpy(x).float(), torch.from_numpy(query_bits).float()


class TheirModel(nn.Module):
    """Their FPT forward: input net, body on inputs_embeds, last `ratio` tokens, output net."""

    def __init__(self, body: nn.Module | None, d: int, input_dim: int, output_dim: int, lstm: bool = False) -> None:
        super().__init__()
        self.input_dim, self.output_dim = input_dim, output_dim
        lin = nn.Linear(input_dim, d)
        nn.init.orthogonal_(lin.weight, gain=1.41)
        lin.bias.data.zero_()
        self.in_net = nn.Sequential(lin, nn.Dropout(0.1))
        self.transformer = body
        self.lstm = TheirLNLSTM(d, d, 3) if lstm else None
        self.out_net = nn.Sequential(nn.Linear(d, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ratio = 1
        if x.shape[-1] != self.input_dim:
            ratio = x.shape[-1] // self.input_dim
            x = x.reshape(x.shape[0], x.shape[1] * ratio, self.input_dim)
        x = self.in_net(x)
        if self.lstm is not None:
            x = self.lstm(x)
        else:
            x = self.transformer(inputs_embeds=x, return_dict=True).last_hidden_state
        x = self.out_net(x[:, -ratio:])
        if ratio > 1:
            x = x.reshape(x.shape[0], x.shape[1] // ratio, ratio * self.output_dim)
        return x


class TheirLayerNorm(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n)
        self.alpha = nn.Parameter(torch.empty(1, n).uniform_(-bound, bound))
        self.beta = nn.Parameter(torch.empty(1, n).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.size()
        x = x.view(x.size(0), -1)
        x = (x - torch.mean(x, 1).unsqueeze(1).expand_as(x)) / torch.sqrt(torch.var(x, 1).unsqueeze(1).expand_as(x) + 1e-6)
        return (self.alpha.expand_as(x) * x + self.beta.expand_as(x)).view(size)


class TheirLNLSTMCell(nn.Module):
    def __init__(self, inp: int, hidden: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.i2h, self.h2h = nn.Linear(inp, 4 * hidden), nn.Linear(hidden, 4 * hidden)
        self.ln_i2h, self.ln_h2h, self.ln_cell = TheirLayerNorm(4 * hidden), TheirLayerNorm(4 * hidden), TheirLayerNorm(hidden)

    def forward(self, x, hidden):
        h, c = hidden
        h, c, x = h.view(h.size(1), -1), c.view(c.size(1), -1), x.view(x.size(1), -1)
        preact = self.ln_i2h(self.i2h(x)) + self.ln_h2h(self.h2h(h))
        hs = self.hidden_size
        gates = preact[:, :3 * hs].sigmoid()
        g_t = preact[:, 3 * hs:].tanh()
        c_t = self.ln_cell(torch.mul(c, gates[:, hs:2 * hs]) + torch.mul(gates[:, :hs], g_t))
        h_t = torch.mul(gates[:, -hs:], c_t.tanh())
        h_t, c_t = h_t.view(1, h_t.size(0), -1), c_t.view(1, c_t.size(0), -1)
        return h_t, (h_t, c_t)


class TheirLNLSTM(nn.Module):
    """Their LNLSTM loop: per layer, per time step one cell call; fresh random initial state."""

    def __init__(self, inp: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TheirLNLSTMCell(inp if i == 0 else hidden, hidden) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(1, 0, 2).contiguous()
        for layer in self.layers:
            std = math.sqrt(2.0 / (2 * layer.hidden_size))
            h = (torch.randn(1, x.shape[1], layer.hidden_size) * std, torch.randn(1, x.shape[1], layer.hidden_size) * std)
            ys = []
            for i in range(x.size(0)):
                y, h = layer(x.narrow(0, i, 1), h)
                ys.append(y)
            x = torch.cat(ys, 0)
        return x.permute(1, 0, 2)


def their_loss_and_acc(shape: str) -> tuple[Callable, Callable]:
    ce = nn.CrossEntropyLoss()
    if shape.startswith("bit-"):
        def loss_fn(out, y):
            out = torch.reshape(out, (-1, BIT_N, 2))
            ids = torch.zeros(y.shape).long()
            ids[y < 0], ids[y > 0] = 0, 1
            return ce(torch.reshape(out, (-1, 2)), torch.reshape(ids, (-1,)))

        def acc_fn(preds, true):
            preds = preds.reshape(-1, BIT_N, 2).argmax(-1) * 2 - 1
            return (np.sign(preds) == np.sign(true)).mean()
    else:
        def loss_fn(out, y):
            return ce(out[:, 0], y)

        def acc_fn(preds, true):
            return (preds[:, 0].argmax(-1) == true).mean()
    return loss_fn, acc_fn


def their_freeze(model: TheirModel, family: str, frozen: bool) -> None:
    """Their name-substring freezing (GPT-2 names; for BERT the equivalent LayerNorm/position names)."""
    if model.transformer is None or not frozen:
        return
    train = ("ln", "wpe") if family == "gpt2" else ("layernorm", "position_embeddings")
    for name, p in model.transformer.named_parameters():
        p.requires_grad = any(t in name.lower() for t in train)


# -- timing --------------------------------------------------------------------------------------
@dataclass
class Side:
    """One side of a comparison: a step function (does one whole step) plus its memory."""

    step: Callable[[], None]
    times: list[float] = field(default_factory=list)
    mem_mb: float = 0.0
    peak_mb: float = 0.0

    def run(self, measure_mem: bool = False) -> None:
        """One timed step; with ``measure_mem`` also its peak RSS (window reset just before it)."""
        cpu = torch.device("cpu")
        if measure_mem:
            reset_peak_mem(cpu)
            base = _rss_mb()
        t0 = time.perf_counter()
        self.step()
        self.times.append(time.perf_counter() - t0)
        if measure_mem:
            self.peak_mb = peak_mem_mb(cpu)
            self.mem_mb = max(self.peak_mb - base, 0.0)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def alternate(ours: Side, theirs: Side, rounds: int, warmup: int = 1, slow_s: float = 20.0) -> None:
    """Warm both up, then alternate ``rounds`` times (the first round also measures memory).

    Steps slower than ``slow_s`` get at most 2 rounds; each record says how many it got.
    """
    for _ in range(warmup):
        t0 = time.perf_counter()
        ours.step()
        theirs.step()
        if time.perf_counter() - t0 > 2 * slow_s:
            rounds = min(rounds, 2)
    for i in range(rounds):
        ours.run(measure_mem=i == 0)
        theirs.run(measure_mem=i == 0)


def matmul_peak(dtype: torch.dtype, n: int, seconds: float = 1.0) -> float:
    """Sustained GFLOP/s of an n x n matmul in ``dtype`` on this machine, with torch's threads."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


# -- building both sides -------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchConfig:
    model: str
    backbone: str  # label in BACKBONES, or "none" (lstm), or any registered backbone (tests: tiny-gpt2)
    shape: str
    batch: int

    @property
    def name(self) -> str:
        return f"{self.model}/{self.backbone}/{self.shape}/b{self.batch}"


def _our_adapter(cfg: BenchConfig, options: dict[str, Any]):
    if cfg.model == "lstm":
        return get_adapter("lstm", None, **options)
    backbone, pretrained = BACKBONES.get(cfg.backbone, (cfg.backbone, True))
    adapter = get_adapter(cfg.model, backbone, **options)
    if not pretrained:  # same architecture and trainable set, random weights (no download needed)
        adapter.pretrained = False
    return adapter


def our_trainer(cfg: BenchConfig, task: ShapeTask, precision: str = "auto", options: dict[str, Any] | None = None,
                eval_batch_size: int = 256, compile: bool = False,
                cast_frozen: bool = True) -> tuple[Trainer, nn.Module, Callable[[], None], Callable[[], int]]:
    """(trainer, model, one step as the trainer takes it, FLOPs of that step)."""
    opts = dict(options or {})
    if cfg.model != "lstm" and task.spec.seq_len > 512 and cfg.backbone == "minilm-l6":
        opts["extend_positions"] = True
    adapter = _our_adapter(cfg, opts)
    budget = Budget(steps=10**6, batch_size=cfg.batch, precision=precision, eval_batch_size=eval_batch_size,
                    eval_every=10**6, checkpoint_every=10**6, compile=compile)
    run_cfg = RunConfig(task=task.spec.name, task_version=task.spec.version, task_fingerprint="bench", model=cfg.model,
                        backbone=cfg.backbone, seed=0, profile="bench", budget=budget, model_options=opts, device="cpu")
    trainer = Trainer(run_cfg, "/nonexistent-bench", progress=False, task=task, adapter=adapter)
    trainer.cast_frozen = cast_frozen
    with seeded(0, trainer.device):
        model = adapter.build(task.spec, 0)
    model.train()
    trainer.prepare_model(model)  # as Trainer.run does
    if compile:  # as Trainer.run does: the compiled wrapper runs forwards
        trainer._compiled = torch.compile(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    state = {"t": 0}

    def step() -> None:
        t = state["t"]
        batch = task.train_batch(np.random.default_rng([0, t]), cfg.batch, t, 0)
        loss, _ = trainer.train_step(model, opt, scaler, params, batch, t)
        float(loss.detach())  # the trainer's per-step loss bookkeeping
        state["t"] += 1

    def flops() -> int:
        batch = task.train_batch(np.random.default_rng([0, 0]), cfg.batch, 0, 0)
        _, n = trainer.train_step(model, opt, scaler, params, batch, 0, count_flops=True)
        return int(n or 0)

    return trainer, model, step, flops


def their_step(cfg: BenchConfig, task: ShapeTask, our_model: nn.Module) -> Callable[[], None]:
    """The authors' step on the same shape, weights copied from ours (fp32, eager attention)."""
    spec = task.spec
    bits = cfg.shape.startswith("bit-")
    input_dim = BIT_PATCH if bits else spec.input_dim
    output_dim = 2 * BIT_PATCH if bits else spec.output_dim
    if cfg.model == "lstm":
        model = TheirModel(None, 768, input_dim, output_dim, lstm=True)
        family = "lstm"
    else:
        body = copy.deepcopy(our_model.body)
        body.read_tokens(None)
        hf = body.model.float()
        if hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation("eager")
        else:  # pragma: no cover - older transformers
            hf.config._attn_implementation = "eager"
        for p in hf.parameters():
            p.requires_grad = True
        model = TheirModel(hf, body.info.d_model, input_dim, output_dim)
        family = body.info.family
        their_freeze(model, family, frozen=cfg.model == "fpt")
    model.train()
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    loss_fn, acc_fn = their_loss_and_acc(cfg.shape)
    rng = np.random.RandomState(0)

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        if bits:
            return their_bits(rng, cfg.batch)
        x = torch.from_numpy(rng.rand(cfg.batch, spec.seq_len, spec.input_dim)).float()
        return x, torch.from_numpy(rng.randint(0, spec.output_dim, cfg.batch)).long()

    def step() -> None:
        x, y = get_batch()
        out = model(x)
        loss = loss_fn(out, y)
        acc_fn(out.detach().cpu().numpy(), y.detach().cpu().numpy())
        x.detach().cpu().numpy()
        loss.backward()
        loss.detach().cpu().item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad()

    return step


# -- records -------------------------------------------------------------------------------------
def record(config: str, kind: str, ours: Side, theirs: Side, *, precision: str, batch: int | None,
           flops: int | None, peaks: dict[str, float], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    o, r = ours.median, theirs.median
    peak = peaks.get("bf16" if precision.startswith("bf16") else "fp32", math.nan)
    achieved = flops / o / 1e9 if flops and o > 0 else None
    out = {
        "config": config, "kind": kind, "ours_s_per_step": o, "reference_s_per_step": r,
        "ratio": r / o if o > 0 else math.nan, "peak_mem_mb": ours.peak_mb, "reference_peak_mem_mb": theirs.peak_mb,
        "step_mem_mb": ours.mem_mb, "reference_step_mem_mb": theirs.mem_mb,
        "achieved_gflops": achieved, "peak_gflops": peak,
        "pct_of_peak": (100 * achieved / peak) if achieved and peak == peak else None,
        "precision": precision, "rounds": len(ours.times), "threads": torch.get_num_threads(),
    }
    if batch:
        out["ours_examples_per_s"] = batch / o if o > 0 else math.nan
        out["reference_examples_per_s"] = batch / r if r > 0 else math.nan
    out.update(extra or {})
    return out


def step_record(cfg: BenchConfig, rounds: int, peaks: dict[str, float], eval_examples: int,
                fresh_peak_s: float = 0.0) -> dict[str, Any]:
    """One configuration; with ``fresh_peak_s`` the matmul peak is re-measured just before it (a
    shared machine's load drifts, and % of peak must compare like with like)."""
    task = ShapeTask(cfg.shape, eval_examples)
    trainer, model, ours_step, flops = our_trainer(cfg, task)
    theirs = their_step(cfg, task, model)
    n_flops = flops()
    if fresh_peak_s > 0:
        peaks = measure_peaks(fresh_peak_s, 1024)
    ours, ref = Side(ours_step), Side(theirs)
    alternate(ours, ref, rounds)
    return record(cfg.name, "step", ours, ref, precision=trainer.precision_label, batch=cfg.batch, flops=n_flops,
                  peaks=peaks)


def measure_peaks(seconds: float, n: int) -> dict[str, float]:
    return {"fp32": matmul_peak(torch.float32, n, seconds), "bf16": matmul_peak(torch.bfloat16, n, seconds)}


def todays_eval(trainer: Trainer, model: nn.Module, batch_size: int) -> None:
    """Evaluation as it was before this change: no_grad, fp32, per-batch host transfers and loss."""
    task = trainer.task
    model.eval()
    with torch.no_grad():
        loss_sum, n = 0.0, 0
        for batch in task.eval_batches("val", batch_size):
            out = model(batch.x, batch.mask).float().cpu()
            loss_sum += float(task.loss(out, batch.y)) * len(batch)
            n += len(batch)
            task.scores(out, batch.y)
            task.logits_view(out).argmax(-1)
    model.train()


def eval_record(cfg: BenchConfig, rounds: int, peaks: dict[str, float], eval_examples: int) -> dict[str, Any]:
    """Examples/s of a full pass over ``eval_examples`` examples: ours vs the fp32 per-batch loop."""
    task = ShapeTask(cfg.shape, eval_examples)
    trainer, model, _, _ = our_trainer(cfg, task, eval_batch_size=256)
    task._fixed("val")
    fp32 = copy.deepcopy(model).float()  # the old loop ran fp32 weights without autocast
    for m in fp32.modules():
        if hasattr(m, "read_tokens"):
            m.read_tokens(None)
    ours = Side(lambda: trainer.evaluate(model, "val"))
    ref = Side(lambda: todays_eval(trainer, fp32, 64))
    alternate(ours, ref, rounds)
    rec = record(f"eval {cfg.model}/{cfg.backbone}/{cfg.shape}", "eval", ours, ref, precision=trainer.precision_label,
                 batch=None, flops=None, peaks=peaks, extra={"eval_examples": eval_examples})
    rec["ours_examples_per_s"] = eval_examples / ours.median
    rec["reference_examples_per_s"] = eval_examples / ref.median
    return rec


# -- levers: each one alone, ours with it off vs on ------------------------------------------------
class _Emitting(list):
    """A list that hands each appended record on at once (long lever runs print as they go)."""

    def __init__(self, emit: Callable[[dict], None] | None) -> None:
        super().__init__()
        self.emit = emit

    def append(self, rec: dict) -> None:  # type: ignore[override]
        super().append(rec)
        if self.emit is not None:
            self.emit(rec)


def lever_records(backbone: str, rounds: int, peaks: dict[str, float], eval_examples: int, quick: bool,
                  emit: Callable[[dict], None] | None = None) -> list[dict]:
    out: list[dict] = _Emitting(emit)
    base = BenchConfig("fpt", backbone, "mnist", 4 if quick else 16)
    task = ShapeTask("mnist", eval_examples)

    def pair(name: str, on: Callable[[], None], off: Callable[[], None], precision: str, batch: int | None,
             flops: int | None = None) -> None:
        a, b = Side(on), Side(off)
        alternate(a, b, rounds)
        out.append(record(f"lever {name}", "lever", a, b, precision=precision, batch=batch, flops=flops, peaks=peaks))

    # bf16 autocast vs fp32, both forced (whatever `auto` resolves to on this machine)
    trb, _, on_bf16, flops_bf16 = our_trainer(base, task, precision="bf16")
    _, _, off_fp32, _ = our_trainer(base, task, precision="fp32")
    pair(f"bf16 autocast vs fp32 ({base.name})", on_bf16, off_fp32, trb.precision_label, base.batch, flops_bf16())
    # frozen weights converted to bf16 once vs recast by autocast at every forward (both bf16)
    trc, _, on_cast, _ = our_trainer(base, task, precision="bf16")
    _, _, off_cast, _ = our_trainer(base, task, precision="bf16", cast_frozen=False)
    pair(f"frozen weights in bf16 once vs recast every step ({base.name})", on_cast, off_cast, trc.precision_label, base.batch)
    tr, model, on, _ = our_trainer(base, task)  # `auto`: the default every other lever runs at
    # last layer only at the read positions
    tr2, model2, on2, _ = our_trainer(base, task)
    tr3, model3, off3, _ = our_trainer(base, task)
    model3.body.read_tokens(None)
    pair(f"last layer at read positions vs everywhere ({base.name})", on2, off3, tr2.precision_label, base.batch)
    # intra-op threads: torch's default vs one
    threads = torch.get_num_threads()
    if threads > 1:
        def one_thread() -> None:
            torch.set_num_threads(1)
            try:
                on()
            finally:
                torch.set_num_threads(threads)
        pair(f"{threads} intra-op threads vs 1 ({base.name})", on, one_thread, tr.precision_label, base.batch)
    # vectorized data generation (bit memory, batch 16): ours vs their numpy loop
    bits = get_task("bit-memory")
    state = {"t": 0}

    def ours_data() -> None:
        bits.train_batch(np.random.default_rng([0, state["t"]]), 16, state["t"], 0)
        state["t"] += 1

    rs = np.random.RandomState(0)
    pair("vectorized data generation vs theirs (bit-memory batch 16, data only)", ours_data, lambda: their_bits(rs, 16),
         "n/a", 16)
    # fused nn.LSTM vs our faithful layer-normalised loop (same shape: cifar10-lra is long; mnist in quick)
    shape = "mnist" if quick else "cifar10-lra"
    lcfg = BenchConfig("lstm", "none", shape, 4)
    ltask = ShapeTask(shape, eval_examples)
    trl, _, lon, _ = our_trainer(lcfg, ltask)
    _, _, loff, _ = our_trainer(lcfg, ltask, options={"layer_norm": True})
    pair(f"fused nn.LSTM vs layer-normalised loop ({lcfg.name})", lon, loff, trl.precision_label, 4)
    # feature cache: reservoir (output-only, cached frozen prefix) vs the same output-only model uncached,
    # both in the second epoch of a 64-example pool (dataset tasks repeat their examples)
    pool = task.train_batch(np.random.default_rng(5), 64, 0, 0)
    rcfg = BenchConfig("reservoir", backbone, "mnist", 16)
    cached = _pool_step(rcfg, task, pool, {"body": "random-frozen" if backbone in BACKBONES and not BACKBONES[backbone][1] else "fpt"})
    uncached = _pool_step(rcfg, task, pool, {"body": "random-frozen" if backbone in BACKBONES and not BACKBONES[backbone][1] else "fpt",
                                             "feature_cache": False})
    for _ in range(4):  # epoch 1 fills the cache
        cached()
    pair(f"feature cache vs recomputed frozen prefix (reservoir, {backbone}, mnist, epoch 2)", cached, uncached,
         tr.precision_label, 16)
    # opt-in torch.compile
    if not quick:
        try:
            trc, _, conc, _ = our_trainer(base, task, compile=True)
            pair(f"torch.compile vs eager ({base.name}, steady state)", conc, on, trc.precision_label, base.batch)
        except Exception as exc:  # compile needs a C compiler and can fail on odd setups: say so
            out.append({"config": f"lever torch.compile ({base.name})", "kind": "lever", "error": str(exc)[:200],
                        **{k: None for k in RECORD_FIELDS if k not in ("config", "kind")}})
    # evaluation: ours (inference mode, autocast, one transfer) vs the fp32 per-batch loop
    out.append({**eval_record(base, rounds, peaks, eval_examples), "kind": "lever",
                "config": f"lever evaluation pass vs fp32 per-batch loop ({base.model}/{backbone}/mnist, "
                          f"{eval_examples} examples)"})
    return out


def _pool_step(cfg: BenchConfig, task: ShapeTask, pool: Batch, options: dict[str, Any]) -> Callable[[], None]:
    trainer, model, _, _ = our_trainer(cfg, task, options=options)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    state = {"t": 0}

    def step() -> None:
        t = state["t"]
        i = (t * 16) % len(pool)
        batch = Batch(pool.x[i:i + 16], pool.y[i:i + 16])
        loss, _ = trainer.train_step(model, opt, scaler, params, batch, t)
        float(loss.detach())
        state["t"] += 1

    return step


# -- the whole bench -------------------------------------------------------------------------------
def configs(models=MODELS, backbones=tuple(BACKBONES), shapes=SHAPES, batches=BATCHES) -> list[BenchConfig]:
    out = []
    for shape in shapes:
        for model in models:
            for backbone in (("none",) if model == "lstm" else backbones):
                for batch in batches:
                    out.append(BenchConfig(model, backbone, shape, batch))
    return out


def machine() -> dict[str, Any]:
    import platform

    from benchmark.provenance import cpu_flags, cpu_native_bf16

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx2", "fma", "avx_vnni")))
    from benchmark.precision import process_calibration

    cal = process_calibration()  # what precision=auto picks on this machine, and why
    return {"cpu": model or platform.processor(), "flags": flags, "native_bf16": cpu_native_bf16(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "auto_precision": cal.precision, "bf16_matmul_ratio": round(cal.ratio, 2), "auto_reason": cal.reason()}


def run_bench(cfgs: list[BenchConfig], *, rounds: int, eval_examples: int, levers: bool, lever_backbone: str,
              quick: bool, emit: Callable[[dict], None], matmul_n: int = 2048) -> dict[str, Any]:
    peaks = measure_peaks(1.0, matmul_n)
    meta = {"machine": machine(), "matmul_peak_gflops": peaks, "rounds": rounds, "eval_examples": eval_examples}
    records: list[dict] = []

    def keep(rec: dict) -> None:
        records.append(rec)
        emit(rec)

    with torch.random.fork_rng():
        torch.manual_seed(0)
        for cfg in cfgs:
            keep(step_record(cfg, rounds, peaks, eval_examples, fresh_peak_s=0.0 if quick else 0.3))
        seen = set()
        for cfg in cfgs:  # one evaluation pass per (backbone, shape): fpt and full evaluate the same network
            key = (cfg.backbone, cfg.shape)
            if cfg.model == "lstm" or key in seen:
                continue
            seen.add(key)
            keep(eval_record(cfg, rounds, peaks, eval_examples))
        if levers:
            lever_records(lever_backbone, rounds, peaks, eval_examples, quick, emit=keep)
    return {"meta": meta, "records": records}


def fmt_row(rec: dict) -> str:
    def f(x, spec):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    if rec.get("error"):
        return f"| {rec['config']} | error: {rec['error']} | | | | | | | | |"
    return (f"| {rec['config']} | {f(rec['ours_s_per_step'], '.4f')} | {f(rec['reference_s_per_step'], '.4f')} | "
            f"{f(rec['ratio'], '.2f')}x | {f(rec.get('ours_examples_per_s'), '.1f')} | "
            f"{f(rec.get('step_mem_mb'), '.0f')} / {f(rec.get('reference_step_mem_mb'), '.0f')} | "
            f"{f(rec['peak_mem_mb'], '.0f')} | {f(rec['achieved_gflops'], '.1f')} | {f(rec.get('pct_of_peak'), '.0f')} | "
            f"{rec['precision']} |")


# step MB: growth of resident memory during one step (ours / reference); peak MB: the process's peak
# resident memory during our step (grows over a run: earlier configurations' allocations stay mapped)
TABLE_HEADER = ("| config | ours s | reference s | ratio | ours ex/s | step MB ours / ref | peak MB | GFLOP/s | "
                "% of peak | precision |\n|---|---|---|---|---|---|---|---|---|---|")


def write_jsonl(path: Path | None) -> Callable[[dict], None]:
    import json

    def emit(rec: dict) -> None:
        if path is not None:
            with open(path, "a") as f:
                f.write(json.dumps(rec, default=float) + "\n")

    return emit
