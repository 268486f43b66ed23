"""Transfer gains: each pretrained-transformer row paired with its controls, seed by seed.

Which controls a row has is the adapter's declaration (``ModelAdapter.controls``, first = primary),
never a guess from its free-text family; a control that uses no backbone (``uses_backbone = False``)
is looked for on backbone "none", the others on the row's backbone. A missing control is shown with
the ``fptbench run`` command that fills it (``benchmark.run_command``), with the row's budget changes.
"""

from __future__ import annotations

from benchmark.errors import FptError
from benchmark.run_command import run_command
from report.uncertainty import paired_gain

from .schema import BOOT_SEED, N_BOOT, GainVs, Row, Track

NOT_COPIED = ("lr", "profile", "model")  # budget changes a control does not inherit (it uses its own adapter's lr)


def controls_of(model: str) -> tuple[str, ...]:
    """The controls ``model``'s adapter declares; () for a model not registered here (a submitter's own)."""
    from benchmark.model import MODELS

    try:
        return tuple(getattr(MODELS.get(model), "controls", ()) or ())
    except FptError:
        return ()


def control_backbone(control: str, backbone: str) -> str:
    """The backbone a control run of a row on ``backbone`` uses: "none" for a backbone-free control."""
    from benchmark.model import MODELS

    try:
        uses = getattr(MODELS.get(control), "uses_backbone", True)
    except FptError:
        uses = True
    return backbone if uses else "none"


def pair_controls(rows: list[Row], track: Track) -> None:
    """Pair each row whose adapter declares controls with them and compute per-task gains."""
    for row in rows:
        controls = controls_of(row.model)
        if not controls:
            continue
        row.is_pretrained = True
        row.controls = list(controls)
        for k, control_model in enumerate(controls):
            want_bb = control_backbone(control_model, row.backbone)
            match = [r for r in rows if r.model == control_model and r.backbone == want_bb and not r.options
                     and r.profile_label == row.profile_label and r.source == "harness"]
            control = match[0] if match else None
            for t in track.tasks:
                cell = row.cells[t]
                if cell.mean is None:
                    continue
                changes = {k: v for k, v in row.budget_changes.get(t, {}).items() if k not in NOT_COPIED}
                cmd = run_command(t, control_model, row.profile, cell.seeds, backbone=want_bb, budget=changes)
                ccell = control.cells[t] if control else None
                if control is None or ccell is None or ccell.mean is None:
                    why = "never run" if ccell is None else ccell.reason
                    g = GainVs(control_model, control.slug if control else None, None, None, 0,
                               f"control '{control_model}' missing ({why}); run: {cmd}")
                else:
                    gain = paired_gain(cell.seeds, cell.values, ccell.seeds, ccell.values, n_boot=N_BOOT, seed=BOOT_SEED)
                    both = list(gain.seeds)
                    if gain.mean is None:
                        g = GainVs(control_model, control.slug, None, None, 0,
                                   f"no seed in common with control '{control_model}' (seeds {cell.seeds} vs "
                                   f"{ccell.seeds}); run: {cmd}")
                    else:
                        g = GainVs(control_model, control.slug, gain.mean,
                                   None if gain.ci is None else [gain.ci[0], gain.ci[1]], len(both),
                                   "" if len(both) == len(cell.seeds) else
                                   f"paired over seeds {both} only (control lacks {sorted(set(cell.seeds) - set(both))})")
                cell.gains[control_model] = g
                if k == 0:
                    cell.gain, cell.gain_ci95, cell.control = g.gain, g.gain_ci95, g.control
        primary = controls[0]
        gains = [row.cells[t].gains.get(primary) for t in track.declared_tasks]
        if track.declared_tasks and all(g is not None and g.gain is not None for g in gains):
            row.mean_gain = round(sum(g.gain for g in gains) / len(gains), 6)  # type: ignore[union-attr,misc]
