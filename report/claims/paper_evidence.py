"""The paper's own numbers as evidence: the claims' rules run on ``report/paper_tables.csv``.

Why: a rule that fails the paper's own tables (a strict gain where Table 2 has a tie at 100%, a
margin tighter than the paper's own gaps) would judge the reproduction by a standard the paper does
not meet. :class:`PaperContext` answers a claim's questions from the transcribed tables as if they
were results: each reported mean as ``N_SEEDS`` identical seeds (n large, no spread: the paper gives
no per-seed numbers), trained, and converged at the paper's budget (Table 6). The tuned-lr claims read
Rothermel et al. 2021 (``rothermel2021`` rows: learning rates swept 1e-6..1e-2 and selected on
validation). ``tests/test_claims_paper.py`` checks that every claim the paper makes holds on them.
"""

from __future__ import annotations

import pandas as pd

from ..paper_values import paper_value
from .evidence import ClaimContext, ClaimGroup, Row, RowKey, paper_budget

PAPER = "paper (Lu et al. 2021)"
N_SEEDS = 10
TUNED_LR = 1.0  # a notional "selected" rate: the re-evaluation's own selection, well inside its grid
TUNED = {"full": "unfrozen-pretrained", "fpt": "frozen-pretrained", "random-full": "unfrozen-random"}


def _source(key: RowKey, column: str) -> tuple[str, str] | None:
    """(table, row) of the paper's CSV that holds ``key``'s number for ``column``."""
    preset = key.options_dict().get("preset", "")
    if key.lr not in ("profile", "any"):
        return ("rothermel2021", TUNED[key.model]) if key.model in TUNED else None
    if column in ("steps_to_threshold", "steps_trained"):
        return {"fpt": ("table6", "fpt"), "random-frozen": ("table6", "random")}.get(key.model)
    if preset:
        return "ablation-pretrained", preset
    if key.model == "fpt":
        return ("table2", "vit") if key.backbone in ("vit-base", "dinov2-s") else ("table2", "fpt-gpt2")
    return {"random-frozen": ("table2", "random"), "random-full": ("table1", "full"), "lstm": ("table1", "lstm"),
            "bit-memory-pretrained": ("table2", "bit-memory-pretrained")}.get(key.model)


class PaperContext(ClaimContext):
    """A claim context whose one profile is the paper: rows from its tables, never from runs."""

    tunes_plain_rows = False  # Table 1's Full column is the paper's own row; the re-evaluation's feeds 7 and 8

    def __init__(self) -> None:
        super().__init__(pd.DataFrame(columns=["run_id", "model", "backbone"]),
                         ClaimGroup("gpt2", "", (PAPER,)), {}, "RESULTS")

    def image_backbone(self) -> str:
        return "vit-base"

    def has_row(self, task: str, key: RowKey, profile: str) -> bool:
        src = _source(key, "test_value")
        return src is not None and paper_value(src[0], src[1], task) is not None

    def row(self, task: str, key: RowKey, profile: str, column: str = "test_value", scale: float = 100.0) -> Row:
        src = _source(key, column)
        value = paper_value(src[0], src[1], task) if src is not None else None
        if value is None:
            return Row(missing="the paper reports no number for it", profile=PAPER)
        budget = paper_budget(task, key.model) or 0
        v = float(value.value)
        return Row(values={s: v for s in range(N_SEEDS)}, profile=PAPER, budget=budget,
                   trained_note=f"the paper's reported result ({src[0]})",
                   converged_note="the paper's converged result")

    def tuned(self, task: str, model: str, profile: str):
        if not self.has_row(task, RowKey.of(model, lr=TUNED_LR), profile):
            return "the re-evaluation reports no number for it"
        return TUNED_LR, [TUNED_LR / 100, TUNED_LR, TUNED_LR * 100]

    def lrs_tried(self, task: str, model: str, profile: str) -> list[float]:
        return []

    def missing_commands(self, *args, **kwargs) -> list[str]:
        return []  # nothing to run: the paper's tables are what they are

    def run_command(self, *args, **kwargs) -> str:
        return "(the paper's tables: nothing to run)"

    def data_command(self, task: str) -> str | None:
        return None


def evaluate_on_paper(names=None):
    """Every registered claim (or ``names``) checked on the paper's own numbers."""
    from .base import all_claims

    ctx = PaperContext()
    return [c.evaluate(ctx) for c in all_claims() if names is None or c.name in names]
