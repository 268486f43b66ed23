"""The task plugin API: a frozen, validated spec plus code that yields batches and scores them.

A published task never changes under the same version. Its fingerprint covers the spec, the
content of its fixed splits and the task code's version, so two numbers are comparable exactly
when their fingerprints are equal.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Iterator, Literal

import numpy as np
import torch
import torch.nn.functional as F

from .errors import FptError
from .hashing import sha256_json
from .registry import Registry

InputKind = Literal["continuous", "tokens"]


@dataclass(frozen=True)
class SplitSpec:
    """A split's size and the seed (or carving rule) that fixes its content."""

    size: int
    seed: int | None = None
    source: str = "generated"  # e.g. "generated", "official test", "last 10% of official train"

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise FptError(f"split size must be positive, got {self.size}")


@dataclass(frozen=True)
class TaskSpec:
    """Everything that defines a task's numbers. Frozen: changing any field means a new version."""

    name: str
    version: str
    modality: str
    input_kind: InputKind
    input_dim: int  # vector size for continuous inputs, vocabulary size for token ids
    seq_len: int  # maximum number of input tokens
    output_tokens: int  # how many final tokens the head reads
    output_dim: int  # logits per read token
    splits: dict[str, SplitSpec]
    metric: str = "accuracy"
    threshold: float = 1.0  # validation metric that counts as "converged" for steps-to-threshold
    citation: str = ""
    description: str = ""
    version_notes: str = ""
    pad_id: int | None = None  # token tasks with variable length pad with this id
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_kind not in ("continuous", "tokens"):
            raise FptError(f"task '{self.name}': input_kind must be 'continuous' or 'tokens', got {self.input_kind!r}")
        for key in ("train", "val", "test"):
            if key not in self.splits:
                raise FptError(f"task '{self.name}' has no '{key}' split; every task needs train, val and test")
        for name in ("input_dim", "seq_len", "output_tokens", "output_dim"):
            if getattr(self, name) <= 0:
                raise FptError(f"task '{self.name}': {name} must be positive")
        if self.output_tokens > self.seq_len:
            raise FptError(f"task '{self.name}': output_tokens {self.output_tokens} > seq_len {self.seq_len}")
        if not 0.0 < self.threshold <= 1.0:
            raise FptError(f"task '{self.name}': threshold must be in (0, 1]")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Batch:
    """Model inputs and targets. ``mask`` is True on real tokens (None when there is no padding)."""

    x: torch.Tensor  # (B, T, input_dim) float, or (B, T) long token ids
    y: torch.Tensor
    mask: torch.Tensor | None = None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Batch":
        """On ``device`` (tensors already there are not copied). ``non_blocking`` from pinned memory lets
        the host build the next batch while the copy and the device's work proceed."""
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=non_blocking)

        return Batch(move(self.x), move(self.y), None if self.mask is None else move(self.mask))

    def pin(self) -> "Batch":
        """In page-locked host memory (what an asynchronous host-to-GPU copy needs); CUDA builds only."""
        def pin(t: torch.Tensor) -> torch.Tensor:
            return t if t.is_pinned() or t.device.type != "cpu" else t.pin_memory()

        return Batch(pin(self.x), pin(self.y), None if self.mask is None else pin(self.mask))

    def __len__(self) -> int:
        return int(self.x.shape[0])


class Task(abc.ABC):
    """Base class of a task plugin.

    Subclasses set ``spec`` and ``code_version`` and implement ``train_batch`` (a seeded stream)
    and ``fixed_split`` (validation and test, materialized once). Loss and metric default to
    per-token cross-entropy and accuracy over the logits the model emits for the read tokens.
    """

    spec: ClassVar[TaskSpec]
    code_version: ClassVar[str] = "1"

    # -- data ----------------------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """(is the data here, the exact command that gets it). Generated tasks are always here."""
        return True, ""

    def require_data(self) -> None:
        from .errors import NeedsData

        ok, how = self.available()
        if not ok:
            raise NeedsData(f"task '{self.spec.name}' needs data: run `{how}`")

    @abc.abstractmethod
    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        """One training batch. The harness passes a generator seeded by (run seed, step) so that a
        resumed run sees exactly the batches an uninterrupted one would; ``seed`` is the run seed,
        for tasks that walk a per-epoch permutation (see ``ArrayTask``)."""

    @abc.abstractmethod
    def fixed_split(self, split: str) -> Batch:
        """The whole validation or test split (CPU tensors), identical on every call and machine."""

    def eval_batches(self, split: str, batch_size: int) -> Iterator[Batch]:
        data = self._fixed(split)
        for start in range(0, len(data), batch_size):
            end = start + batch_size
            yield Batch(data.x[start:end], data.y[start:end], None if data.mask is None else data.mask[start:end])

    def _fixed(self, split: str) -> Batch:
        cache = self.__dict__.setdefault("_fixed_cache", {})
        if split not in cache:
            if split not in self.spec.splits or split == "train":
                raise FptError(f"task '{self.spec.name}' has no fixed split '{split}' (use 'val' or 'test')")
            cache[split] = self.fixed_split(split)
            want = self.spec.splits[split].size
            if len(cache[split]) != want:
                raise FptError(f"task '{self.spec.name}': split '{split}' has {len(cache[split])} examples, spec says {want}")
        return cache[split]

    # -- scoring -------------------------------------------------------------------------------
    def logits_view(self, out: torch.Tensor) -> torch.Tensor:
        """Reshape the model's (B, output_tokens, output_dim) output into (B, ..., classes)."""
        return out[:, 0, :] if self.spec.output_tokens == 1 else out

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = self.logits_view(out)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))

    def scores(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-example metric values; the task metric is their mean (kept per example so results
        can be re-scored offline)."""
        pred = self.logits_view(out).argmax(-1)
        correct = (pred == y).float()
        return correct.reshape(correct.shape[0], -1).mean(dim=1)

    # -- identity ------------------------------------------------------------------------------
    def split_hash(self, split: str) -> str:
        from .hashing import sha256_arrays

        data = self._fixed(split)
        arrays = [data.x.numpy(), data.y.numpy()] + ([] if data.mask is None else [data.mask.numpy()])
        return sha256_arrays(*arrays)

    def train_hash(self) -> str:
        """Hash of what defines the training data. Stream tasks: the spec alone; dataset tasks
        override this with the hash of their training split."""
        return "stream"

    @cached_property
    def fingerprint(self) -> str:
        return sha256_json(
            {
                "spec": self.spec.to_dict(),
                "code_version": self.code_version,
                "val": self.split_hash("val"),
                "test": self.split_hash("test"),
                "train": self.train_hash(),
            }
        )[:16]


class ScoredLike(Task):
    """A task with data of its own but the read-out and scoring of a real task (``self.real``).

    Why: ``mock-run``'s tiny in-memory variants and ``bench``'s shape tasks must interpret a model's
    output exactly as the task they stand for does; one delegation keeps both from drifting.
    """

    real: Task

    def logits_view(self, out: torch.Tensor) -> torch.Tensor:
        return self.real.logits_view(out)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.real.loss(out, y)

    def scores(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.real.scores(out, y)


TASKS: Registry[type[Task]] = Registry("task", "fptbench.tasks", declared_builtins=True, of=Task)


def register_task(name: str):
    """Class decorator: ``@register_task("bit-xor")``. The name must equal ``spec.name``."""

    def deco(cls: type[Task]) -> type[Task]:
        if cls.spec.name != name:
            raise FptError(f"task class {cls.__name__} registers as '{name}' but its spec is named '{cls.spec.name}'")
        TASKS.add(name, cls)
        return cls

    return deco


def get_task(name: str) -> Task:
    """A fresh instance of the registered task (the registry checked it is a Task subclass)."""
    return TASKS.get(name)()
