"""Why a table cell has no number, or a number evaluated differently from the paper's.

Asked of the task registry and the profiles (never of the runs): a task not implemented here, a
task whose data is not prepared, a model a narrow profile's suite never plans, or a task plugin that
declares its evaluation differs from the paper's. The report's tables, the claims and the coverage
line all give the same reason for the same gap, so it lives here once.
"""

from __future__ import annotations

from typing import Mapping

from benchmark.errors import FptError

from .markup import value

COMPARABILITY_KEYS = ("paper_comparability", "comparability")
COMPARABLE = ("", "exact", "comparable", "same")
FALSE = ("false", "no", "0")


def task_comparability(task: str) -> str:
    """How a task's evaluation differs from the paper's, as its plugin declares it; '' when it does not.

    Read generically from the task's ``TaskSpec`` (the report names no task): ``options
    ["paper_comparable"]`` = ``"false"`` flags it, with ``options["comparability_note"]`` as the reason
    (``"true"``: the paper's evaluation, nothing flagged); or an attribute or ``options`` entry named
    ``paper_comparability`` (or ``comparability``) holding the note itself, where an empty value or
    ``exact`` means the paper's evaluation.
    """
    from benchmark.task import TASKS

    if task not in TASKS:
        return ""
    try:
        spec = TASKS.get(task).spec
    except (FptError, AttributeError):
        return ""
    options = getattr(spec, "options", None) or {}
    flag = options.get("paper_comparable", getattr(spec, "paper_comparable", None))
    if flag is not None:
        if str(flag).strip().lower() not in FALSE and flag is not False:
            return ""
        note = options.get("comparability_note") or getattr(spec, "comparability_note", "")
        return value(note) if note else "evaluated differently from the paper (the task declares it)"
    for key in COMPARABILITY_KEYS:
        for raw in (getattr(spec, key, None), options.get(key)):
            note = _comparability_text(raw)
            if note:
                return value(note)
    return ""


def _comparability_text(raw: object) -> str:
    """A declared comparability value as one line: a string, or a mapping with a note/reason."""
    if raw is None or isinstance(raw, bool):
        return "" if raw is None or raw else "differs from the paper's evaluation"
    if isinstance(raw, Mapping):
        if raw.get("comparable") is True or raw.get("exact") is True:
            return ""
        raw = raw.get("note") or raw.get("reason") or raw.get("differs") or "differs from the paper's evaluation"
    text = str(raw).strip()
    return "" if text.lower() in COMPARABLE else text


def task_absence_reason(task: str) -> str:
    """Why a cell with no runs at all is empty: not implemented, needs data, or simply never run."""
    from benchmark.task import TASKS, get_task

    if task not in TASKS:
        return "task not implemented in this checkout"
    try:
        ok, how = get_task(task).available()
    except FptError as exc:
        return f"task unavailable: {value(exc)}"
    return "never run" if ok else f"needs data (`{how}`)"  # backticks: a command (formats make it code)



def empty_reason(profile: str, task: str, model: str, absence: Mapping[str, str]) -> str:
    """Why (profile, task, model) has no run: the task's own reason (needs data, ...), else "not in the
    suite" when the profile is registered with a suite that never plans this model on this task (a
    narrow profile such as ``cpu-converge`` is not a half-run one), else "never run"."""
    from benchmark.profiles import PROFILES, get_profile

    reason = absence.get(task) or task_absence_reason(task)
    if reason != "never run" or profile not in PROFILES:
        return reason
    suite = get_profile(profile).suite
    if suite and not any(e.task == task and e.model == model for e in suite):
        return f"not in profile `{profile}`'s suite"
    return reason


def absence_reasons(tasks: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``task_absence_reason`` for each task: what this machine says about never-run cells."""
    return {t: task_absence_reason(t) for t in sorted(set(tasks))}


