"""ListOps (Long Range Arena): evaluate nested MIN/MAX/MED/SM expressions, 10 classes.

The dataset ``listops`` is generated offline by ``tasks/listops_gen.py`` (a faithful, seeded
re-implementation of LRA's generator) or read from the official LRA files a user already has
(``basic_{train,val,test}.tsv`` in ``--source-dir``). The prepared copy holds the TSVs in LRA's
format plus both tokenizations as right-padded uint8 ``.npy`` arrays (memory-mapped at training).

Two tasks read it:

- ``listops`` (the default): the tokenization the FPT paper's code used, an alphanumeric-only
  tokenizer that drops every bracket, first 512 tokens. Default because the paper's ListOps numbers
  were produced with it, and because it fits the backbones this benchmark runs (MiniLM has 512
  positions, GPT-2 1024); 2000-token attention is also ~4-8x the CPU cost per step.
- ``listops-lra``: the current LRA tokenization (']' kept as 'X', parentheses dropped), 2000
  tokens. The well-posed task: without the closing brackets the expression's structure is lost.
"""

from __future__ import annotations

import csv
import time
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from benchmark.array_task import ArrayTask
from benchmark.data import DatasetSpec, prepared_dir, register_dataset
from benchmark.errors import FptError
from benchmark.task import SplitSpec, TaskSpec, register_task

from . import listops_gen as gen
from .bits import CITATION_FPT

DATASET = "listops"
SEED = 20210309  # the generator seed of the published prepared copy (the FPT paper's arXiv date)
SPLITS = ("train", "val", "test")
LRA_LEN = 2000
FPT_LEN = 512
CITATION_LRA = ("Tay et al. Long Range Arena: A Benchmark for Efficient Transformers. ICLR 2021; "
                "ListOps: Nangia & Bowman, NAACL SRW 2018.")


# ------------------------------------------------------------------------------------------------
# Dataset
# ------------------------------------------------------------------------------------------------
def _write_split(dest: Path, split: str, texts: list[str] | None, tokens: list[np.ndarray], labels: np.ndarray,
                 arity: list[np.ndarray] | None = None) -> None:
    """TSV (LRA format, header 'Source\\tTarget') and the two padded tokenizations of one split."""
    tsv = dest / f"basic_{split}.tsv"
    if texts is None:
        assert arity is not None
        texts = [gen.to_string(t, a) for t, a in zip(tokens, arity)]
    with open(tsv, "w", newline="") as f:  # exactly LRA's writer: csv, tab-delimited, '\r\n' line ends
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["Source", "Target"])
        writer.writerows(zip(texts, labels.tolist()))
    np.save(dest / f"{split}_lra.npy", gen.pad_rows(tokens, LRA_LEN))
    np.save(dest / f"{split}_fpt512.npy", gen.pad_rows([gen.lra_to_fpt(t) for t in tokens], FPT_LEN))
    np.save(dest / f"{split}_labels.npy", labels.astype(np.int64))
    np.save(dest / f"{split}_length.npy", np.array([len(t) for t in tokens], dtype=np.int32))


def _read_tsv(path: Path) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """An LRA ListOps TSV -> (texts, compact token ids, labels), checking format and vocabulary."""
    texts, tokens, labels = [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header != ["Source", "Target"]:
            raise FptError(f"{path}: header is {header!r}, expected ['Source', 'Target'] (an LRA ListOps TSV)")
        for line, row in enumerate(reader, start=2):
            if len(row) != 2 or not row[1].strip().isdigit() or not 0 <= int(row[1]) <= 9:
                raise FptError(f"{path} line {line}: expected '<expression>\\t<label 0-9>', got {row!r:.80}")
            ids = np.asarray(gen.tokenize_lra(row[0]), dtype=np.uint8)
            if (ids == gen.UNK).any() or len(ids) == 0:
                raise FptError(f"{path} line {line}: unknown token in {row[0][:60]!r}; ListOps uses only "
                               f"{' '.join(gen.OPERATORS)} ] ( ) and digits")
            texts.append(row[0])
            tokens.append(ids)
            labels.append(int(row[1]))
    return texts, tokens, np.asarray(labels, dtype=np.int64)


def build_listops(dest: Path, source_dir: Path | None = None, *, sizes: tuple[int, int, int] = gen.SIZES,
                  seed: int = SEED) -> dict:
    """Prepare ListOps into ``dest``: from the user's official TSVs, else generated.

    ``sizes`` and ``seed`` exist for tests (a small copy); the registered dataset uses the defaults.
    """
    dest = Path(dest)
    if source_dir is not None:
        files = {s: Path(source_dir) / f"basic_{s}.tsv" for s in SPLITS}
        missing = [str(p) for p in files.values() if not p.exists()]
        if missing:
            raise FptError(f"--source-dir lacks {', '.join(missing)}; ListOps from files needs LRA's "
                           f"basic_train.tsv, basic_val.tsv and basic_test.tsv")
        counts = {}
        for split, path in files.items():
            texts, tokens, labels = _read_tsv(path)
            _write_split(dest, split, texts, tokens, labels)
            counts[split] = len(labels)
        return {"from": f"user directory {source_dir} (LRA TSVs)", "sizes": counts}
    t0 = time.perf_counter()
    data = gen.generate(seed, sizes)
    seconds = time.perf_counter() - t0
    for split, (a, b) in zip(SPLITS, gen.split_bounds(sizes)):
        _write_split(dest, split, None, data.tokens[a:b], data.labels[a:b], data.arity[a:b])
    return {"from": "generated (tasks/listops_gen.py, LRA generator re-implementation)", "seed": seed,
            "sizes": dict(zip(SPLITS, sizes)), "candidates_drawn": data.candidates,
            "generation_seconds": round(seconds, 1)}


register_dataset(DatasetSpec(
    name=DATASET,
    description="LRA ListOps, 96k/2k/2k distinct expressions of length 500-2000 (generated offline, seeded)",
    build=build_listops,
    offline=True,
    sources=("--source-dir holding LRA's basic_{train,val,test}.tsv",
             f"generated by tasks/listops_gen.py with seed {SEED} (25-90 s on 2 cores)"),
    version="1",
))


# ------------------------------------------------------------------------------------------------
# Tasks
# ------------------------------------------------------------------------------------------------
_SPLITS = {
    "train": SplitSpec(size=96_000, seed=SEED, source="generated: first 96,000 distinct accepted trees in "
                       "generation order (LRA: first 96k of its set); official basic_train.tsv with --source-dir"),
    "val": SplitSpec(size=2_000, seed=SEED, source="generated: next 2,000 (basic_val.tsv)"),
    "test": SplitSpec(size=2_000, seed=SEED, source="generated: last 2,000 (basic_test.tsv)"),
}

_COMMON_NOTES = (
    "Data: a faithful re-implementation of LRA's generator (operators MIN MAX MED SM, values 0-9, "
    "P(operator)=0.25 below depth 10, 2-10 arguments, 500 < length < 2000, distinct trees), seeded; "
    "see docs/listops.md for why its speed-ups keep LRA's distribution. Preparing from the official LRA "
    "TSVs (--source-dir) gives different splits and therefore a different task fingerprint. "
    "Padding is on the right with id 0 and the mask is passed to the model (the FPT code attended to "
    "padding). Threshold 0.35: LRA's transformers reach 36-38% (the paper's Table 1 Full: 38%) and the paper's "
    "FPT 38.4%, while the majority class is ~17%, so 0.35 marks reaching that plateau. Test is scored on the "
    "test split (basic_test.tsv) once, at the best validation step; the FPT code scored ListOps on the "
    "validation split (basic_val.tsv) and reported that. 1.1: notes only (1.0 credited the paper's FPT with "
    "36-38% and did not say which split the FPT code scored); data, encoding and scoring identical to 1.0."
)


class _ListOps(ArrayTask):
    """Both ListOps tasks: same dataset, a different prepared tokenization."""

    dataset = DATASET

    variant: str = ""


    @cached_property
    def _arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        root = prepared_dir(DATASET)
        return {s: (np.load(root / f"{s}_{self.variant}.npy", mmap_mode="r"), np.load(root / f"{s}_labels.npy"))
                for s in SPLITS}

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays[split]

    def encode(self, x: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        tokens = torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))
        return tokens, tokens != gen.PAD


@register_task("listops")
class ListOpsFPT(_ListOps):
    variant = "fpt512"
    spec = TaskSpec(
        name="listops",
        version="1.1",
        modality="symbolic",
        input_kind="tokens",
        input_dim=len(gen.FPT_VOCAB),  # 15: pad + MIN MAX MED SM + 10 digits
        seq_len=FPT_LEN,
        output_tokens=1,
        output_dim=10,
        splits=_SPLITS,
        metric="accuracy",
        threshold=0.35,
        citation=CITATION_FPT + " " + CITATION_LRA,
        description="ListOps as the FPT paper ran it: LRA expressions through an alphanumeric-only tokenizer "
        "(every bracket dropped), first 512 tokens, 15-id vocabulary; predict the value 0-9.",
        version_notes="1.0: the FPT code's setting (it copied the original LRA release's tokenizer). Known flaw, "
        "kept for comparability with the paper: dropping ']' loses where each operator's arguments end, and "
        "~87% of expressions are longer than 512 tokens, so the input does not determine the label; "
        "`listops-lra` is the well-posed version. Default because the paper's numbers come from it and it fits "
        "512-position backbones. " + _COMMON_NOTES,
        pad_id=gen.PAD,
        options={
            "tokenizer": "fpt-alphanumeric", "max_tokens": str(FPT_LEN),
            "paper_comparable": "true",
            "comparability_note": "the paper's ListOps setting (FPT code's tokenizer, first 512 tokens); differences "
            "left: scored on the test split (the FPT code scored validation, basic_val.tsv), data from a seeded "
            "re-implementation of LRA's generator unless prepared from LRA's TSVs, padding masked",
        },
    )


@register_task("listops-lra")
class ListOpsLRA(_ListOps):
    variant = "lra"
    spec = TaskSpec(
        name="listops-lra",
        version="1.1",
        modality="symbolic",
        input_kind="tokens",
        input_dim=len(gen.LRA_VOCAB),  # 17: pad + 15 tokens + unknown
        seq_len=LRA_LEN,
        output_tokens=1,
        output_dim=10,
        splits=_SPLITS,
        metric="accuracy",
        threshold=0.35,
        citation=CITATION_LRA + " " + CITATION_FPT,
        description="ListOps with the current LRA tokenization (']' as X, parentheses dropped, 17-id vocabulary), "
        "full expressions up to 2000 tokens; predict the value 0-9.",
        version_notes="1.0: LRA's current input pipeline. Needs a backbone with >= 2000 positions or none "
        "(RoPE, LSTM); MiniLM (512) and GPT-2 (1024) cannot take it. " + _COMMON_NOTES,
        pad_id=gen.PAD,
        options={
            "tokenizer": "lra", "max_tokens": str(LRA_LEN),
            "paper_comparable": "false",
            "comparability_note": "LRA's current tokenization (2000 tokens, ']' kept), not the FPT code's: the paper's "
            "FPT number used 'listops'; LRA's own transformers (the paper's Full column) used this setting",
        },
    )
