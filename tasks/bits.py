"""Bit Memory and Bit XOR: the paper's two synthetic tasks (specs/tasks.md).

Training data is a fresh stream drawn from the run's seeded generator; validation and test sets are
generated once from fixed seeds, so their hashes enter the task fingerprint.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.task import Batch, SplitSpec, Task, TaskSpec, register_task

CITATION_FPT = "Lu, Grover, Abbeel, Mordatch. Pretrained Transformers as Universal Computation Engines. AAAI 2022 (arXiv 2103.05247)."


def bit_memory_examples(rng: np.random.Generator, n: int, n_strings: int = 5, n_bits: int = 1000,
                        patch: int = 50, p_mask: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Five random +-1 strings, then a copy of one of them with each bit zeroed with prob p_mask.

    Returns x: (n, (n_strings+1)*n_bits/patch, patch) float32 and y: (n, n_bits) int64 in {0, 1}.
    """
    strings = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, n_strings, n_bits))
    which = rng.integers(0, n_strings, size=n)
    target = strings[np.arange(n), which]  # (n, n_bits)
    keep = rng.random((n, n_bits)) >= p_mask
    query = target * keep
    x = np.concatenate([strings, query[:, None, :]], axis=1).astype(np.float32)
    x = x.reshape(n, (n_strings + 1) * n_bits // patch, patch)
    y = ((target + 1) // 2).astype(np.int64)
    return x, y


def bit_xor_examples(rng: np.random.Generator, n: int, n_bits: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Two random 0/1 strings as 2*n_bits tokens of dim 1; the target is their bitwise XOR."""
    a = rng.integers(0, 2, size=(n, 2 * n_bits))
    y = (a[:, :n_bits] ^ a[:, n_bits:]).astype(np.int64)
    return a.astype(np.float32)[..., None], y


@register_task("bit-memory")
class BitMemory(Task):
    spec = TaskSpec(
        name="bit-memory",
        version="1.0",
        modality="numerical",
        input_kind="continuous",
        input_dim=50,
        seq_len=120,
        output_tokens=20,
        output_dim=100,  # 50 bits x 2 logits per read token
        splits={
            "train": SplitSpec(size=1, seed=None, source="fresh random stream seeded by the run seed"),
            "val": SplitSpec(size=512, seed=1001, source="generated once"),
            "test": SplitSpec(size=2048, seed=2002, source="generated once"),
        },
        metric="accuracy",
        threshold=0.99,
        citation=CITATION_FPT,
        description="Recall one of 5 memorized 1000-bit strings from a copy with half its bits masked; "
        "accuracy is the share of bits right (copying the visible bits alone scores 75%).",
        version_notes="1.0: as the paper (5 strings x 1000 bits, patch 50, p_mask 0.5). Fixed seeded val/test sets "
        "replace the reference's 25 random test batches.",
    )

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        x, y = bit_memory_examples(rng, batch_size)
        return Batch(torch.from_numpy(x), torch.from_numpy(y))

    def fixed_split(self, split: str) -> Batch:
        s = self.spec.splits[split]
        x, y = bit_memory_examples(np.random.default_rng(s.seed), s.size)
        return Batch(torch.from_numpy(x), torch.from_numpy(y))

    def logits_view(self, out: torch.Tensor) -> torch.Tensor:
        return out.reshape(out.shape[0], 1000, 2)


@register_task("bit-xor")
class BitXor(Task):
    spec = TaskSpec(
        name="bit-xor",
        version="1.0",
        modality="numerical",
        input_kind="continuous",
        input_dim=1,
        seq_len=10,
        output_tokens=5,
        output_dim=2,
        splits={
            "train": SplitSpec(size=1, seed=None, source="fresh random stream seeded by the run seed"),
            "val": SplitSpec(size=1000, seed=1001, source="generated once"),
            "test": SplitSpec(size=1000, seed=2002, source="generated once"),
        },
        metric="accuracy",
        threshold=1.0,
        citation=CITATION_FPT,
        description="Bitwise XOR of two 5-bit strings fed one bit per token; the last 5 tokens give the answer.",
        version_notes="1.0: as the paper (n=5). There are only 1024 distinct inputs, so the training stream "
        "necessarily covers test inputs: the task measures whether XOR is learnable, not generalization.",
    )

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        x, y = bit_xor_examples(rng, batch_size)
        return Batch(torch.from_numpy(x), torch.from_numpy(y))

    def fixed_split(self, split: str) -> Batch:
        s = self.spec.splits[split]
        x, y = bit_xor_examples(np.random.default_rng(s.seed), s.size)
        return Batch(torch.from_numpy(x), torch.from_numpy(y))
