"""What a claim is and what checking it yields: verdicts, findings, results, the ``CLAIMS`` registry.

A claim is one of the paper's conclusions turned into a decision rule over the runs table. It is a
registered object (like a table spec), not a branch in the renderer, so a new claim never needs an
edit to the report: register an instance of a :class:`Claim` subclass (or declare a module in the
``fptbench.claims`` entry-point group).

Verdicts are deliberately four, never a bare yes/no:

- ``holds`` / ``does not hold``: the rule's intervals settle it on at least two seeds;
- ``inconclusive``: measured, but the intervals straddle the rule's bound, or only one seed exists
  (one seed has no spread, so it can never settle a claim either way);
- ``not measured``: a run the rule needs is missing; the result carries the exact commands that
  would produce it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from benchmark.errors import FptError
from benchmark.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .evidence import ClaimContext

HOLDS = "holds"
FAILS = "does not hold"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED)


@dataclass(frozen=True)
class Finding:
    """One measured (or missing) comparison behind a verdict, usually one task.

    ``estimate`` and ``ci`` are in ``unit`` (percentage points of test accuracy, %, or steps);
    ``ci`` is ``None`` for one seed (never a degenerate interval) or when the rule uses none.
    """

    task: str
    what: str  # e.g. "FPT - random-frozen" or "FPT accuracy"
    verdict: str
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0  # seeds (or matched seed pairs) behind the estimate
    unit: str = "pts"
    note: str = ""  # why this verdict, in words, with the numbers the rule compared
    seeds: dict[str, dict[int, float | None]] = field(default_factory=dict)  # row label -> seed -> value

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise FptError(f"finding verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        d["seeds"] = {k: {str(s): v for s, v in sorted(vals.items())} for k, vals in self.seeds.items()}
        return d


@dataclass(frozen=True)
class ClaimResult:
    """A claim checked on one (profile, backbone) group: the verdict and everything behind it."""

    name: str
    number: int
    title: str
    statement: str
    rule: str
    paper_ref: str
    profile: str
    backbone: str
    stand_in_for: str
    verdict: str
    reason: str
    findings: tuple[Finding, ...] = ()
    commands: tuple[str, ...] = ()  # exact `fptbench` commands that would measure what is missing

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

    ``statement`` is the paper's conclusion in one sentence; ``rule`` states the decision rule
    (margins, interval level, seeds) in words: it is printed beside every verdict, so a reader never
    has to open the code to know what "holds" meant.
    """

    name: str = ""
    number: int = 0
    title: str = ""
    statement: str = ""
    rule: str = ""
    paper_ref: str = ""

    def check(self, ctx: "ClaimContext") -> tuple[str, str, list[Finding], list[str]]:
        """(verdict, one-line reason, findings, commands for what is missing)."""
        raise NotImplementedError

    def evaluate(self, ctx: "ClaimContext") -> ClaimResult:
        verdict, reason, findings, commands = self.check(ctx)
        findings, early = _mark_early_training(ctx, findings)
        if early:
            reason += f"; early training only on {', '.join(early)} (budget below the paper's convergence)"
        return ClaimResult(
            name=self.name, number=self.number, title=self.title, statement=self.statement, rule=self.rule,
            paper_ref=self.paper_ref, profile=ctx.group.profile, backbone=ctx.group.backbone,
            stand_in_for=ctx.group.stand_in_for, verdict=verdict, reason=reason, findings=tuple(findings),
            commands=tuple(dict.fromkeys(commands)),
        )


def _mark_early_training(ctx: "ClaimContext", findings: list[Finding]) -> tuple[list[Finding], list[str]]:
    """Every measured finding on a task whose budget stops before the paper's convergence says so in its
    note; returns the findings and those tasks (for the claim's one-line reason). Done here, once, so no
    claim can forget it."""
    out, early = [], []
    for f in findings:
        note = ctx.early_training(f.task) if f.verdict != NOT_MEASURED else ""
        if note:
            f = replace(f, note=f"{f.note}; {note}" if f.note else note)
            early.append(f.task)
        out.append(f)
    return out, sorted(set(early))


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
    return sorted(claims, key=lambda c: (c.number, c.name))
