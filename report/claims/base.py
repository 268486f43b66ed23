"""What a claim is and what checking it yields: verdicts, findings, results, the ``CLAIMS`` registry.

A claim is one of the paper's conclusions turned into a decision rule over the runs. It is a
registered object (like a table spec), not a branch in the renderer, so a new claim never needs an
edit to the report: register an instance of a :class:`Claim` subclass (or declare a module in the
``fptbench.claims`` entry-point group).

Verdicts are four, never a bare yes/no:

- ``holds`` / ``does not hold``: decided by a comparison whose every row trained and converged (or
  failed after the paper's convergence budget), on at least 3 matched seeds, by a 95% t-interval;
- ``open``: measured, but not decidable, with the reason: early training, a row did not train, a tie
  at the ceiling, fewer than 3 seeds, a selected learning rate at the edge of its grid, or an
  interval that contains the rule's bound;
- ``not measured``: a row the rule needs is missing; the result carries the commands that would run it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from benchmark.errors import FptError
from benchmark.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .evidence import ClaimContext

HOLDS = "holds"
FAILS = "does not hold"
OPEN = "open"
INCONCLUSIVE = OPEN  # the former name of "open"
NOT_MEASURED = "not measured"
VERDICTS = (HOLDS, FAILS, OPEN, NOT_MEASURED)
DECISIVE = (HOLDS, FAILS)

# why a measured finding is open (``Finding.open_reason``), in the order the gate checks them
FEW_SEEDS = "fewer than 3 seeds"
NOT_TRAINED = "a row did not train"
EARLY = "early training"
TIE = "tie at ceiling"
EQUAL_STEPS = "tie (equal steps)"
GRID_EDGE = "grid edge"
STRADDLES = "interval contains the bound"


@dataclass(frozen=True)
class Finding:
    """One comparison behind a verdict: rows of one profile on one task (or one part of a claim).

    ``estimate``/``ci`` are in ``unit`` (points, %, or x for a speed-up); ``ci`` is the 95% t-interval
    (``None`` for one seed or when the rule uses none). ``budgets``: steps each compared row trained;
    ``rows``: each row's status in words (mean, trained, converged). A superseded finding (a shorter
    budget than the one that decides its task) is shown in the details and never counts.
    """

    task: str
    what: str  # e.g. "FPT - random-frozen" or "FPT solves it"
    verdict: str
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0  # seeds (or matched seed pairs) behind the estimate
    unit: str = "pts"
    note: str = ""  # why this verdict, in words, with the numbers the rule compared
    seeds: dict[str, dict[int, float | None]] = field(default_factory=dict)  # row label -> seed -> value
    profile: str = ""
    part: str = ""  # a claim with several comparisons per task names them ("" the task's only one)
    budgets: dict[str, int] = field(default_factory=dict)  # row label -> steps trained
    means: dict[str, float] = field(default_factory=dict)  # row label -> mean over the compared seeds
    rows: dict[str, str] = field(default_factory=dict)  # row label -> status in words
    trained: dict[str, bool] = field(default_factory=dict)  # row label -> trained (report.claims.evidence)
    converged: dict[str, bool] = field(default_factory=dict)  # row label -> converged
    kind: str = ""  # the comparison's kind (report.claims.rules: gain, match, reach, miss, steps)
    open_reason: str = ""  # one of the reasons above when the verdict is open
    superseded: str = ""  # non-empty: superseded by (the deciding finding's profile and budget)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise FptError(f"finding verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def slot(self) -> tuple[str, str]:
        """What one decision is about: the task and, for a claim of several parts, the part."""
        return self.task, self.part

    @property
    def tie(self) -> bool:
        """A tie (at the ceiling, or equal steps): says nothing either way, so it neither decides nor blocks."""
        return self.verdict == OPEN and self.open_reason in (TIE, EQUAL_STEPS)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        d["seeds"] = {k: {str(s): v for s, v in sorted(vals.items())} for k, vals in self.seeds.items()}
        return d


@dataclass(frozen=True)
class ClaimResult:
    """A claim checked on one backbone, all profiles of the results as evidence: the verdict and why."""

    name: str
    number: int
    title: str
    statement: str
    rule: str
    paper_ref: str
    profile: str  # the profiles whose comparisons decide (comma-separated), or the ones examined
    backbone: str
    stand_in_for: str
    verdict: str
    reason: str
    findings: tuple[Finding, ...] = ()
    commands: tuple[str, ...] = ()  # exact `fptbench` commands that would measure what is missing
    evidence: str = ""  # one line in plain words with the numbers that decide it (the README's)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise FptError(f"claim '{self.name}': verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict == NOT_MEASURED and not self.commands:
            raise FptError(f"claim '{self.name}' is not measured but names no command that would measure it")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        d["commands"] = list(self.commands)
        return d


class Claim:
    """Base class of a registered claim. Subclasses implement :meth:`check`.

    ``statement`` is the conclusion in one sentence; ``rule`` states the decision rule (margins,
    interval, seeds) in words, printed beside every verdict. ``order`` places it in tables (default its
    number: a claim added later can sit next to the one it belongs with).
    """

    name: str = ""
    number: int = 0
    order: float = 0.0
    title: str = ""
    statement: str = ""
    rule: str = ""
    paper_ref: str = ""

    def check(self, ctx: "ClaimContext") -> tuple[str, str, list[Finding], list[str]]:
        """(verdict, one-line reason, findings, commands for what is missing)."""
        raise NotImplementedError

    def evaluate(self, ctx: "ClaimContext") -> ClaimResult:
        from .rules import ROW_CHARS, evidence_line

        verdict, reason, findings, commands = self.check(ctx)
        deciding = sorted({f.profile for f in findings if not f.superseded and f.verdict != NOT_MEASURED and f.profile})
        return ClaimResult(
            name=self.name, number=self.number, title=self.title, statement=self.statement, rule=self.rule,
            paper_ref=self.paper_ref, profile=", ".join(deciding) or ", ".join(ctx.profiles),
            backbone=ctx.group.backbone, stand_in_for=ctx.group.stand_in_for, verdict=verdict, reason=reason,
            findings=tuple(findings), commands=tuple(dict.fromkeys(commands)),
            evidence=evidence_line(verdict, findings, ROW_CHARS - len(self.title) - 50),
        )


# The built-ins are declared in pyproject's `fptbench.builtins` group (`claim = "report.claims.paper"`);
# naming the module here as well keeps them available in a checkout whose installed metadata predates that
# entry (importing a module twice is a no-op).
CLAIMS: Registry[Claim] = Registry("claim", "fptbench.claims", builtins=("report.claims.paper",))


def register_claim(claim: Claim) -> Claim:
    """Register a claim instance (call at import time of the module that declares it)."""
    if not isinstance(claim, Claim):
        raise FptError(f"register_claim expects a report.claims.Claim instance, got {type(claim).__name__}")
    if not claim.name or claim.number <= 0:
        raise FptError(f"claim {claim!r} needs a name and a positive number")
    CLAIMS.add(claim.name, claim)
    return claim


def get_claim(name: str) -> Claim:
    claim = CLAIMS.get(name)
    if not isinstance(claim, Claim):
        raise FptError(f"'{name}' is not a report.claims.Claim")
    return claim


def all_claims() -> list[Claim]:
    claims = [get_claim(n) for n in CLAIMS.names()]
    return sorted(claims, key=lambda c: (c.order or c.number, c.number, c.name))
