"""Per-key gate settings: tolerance floors and convergence targets, registered by the profile that owns them.

Why per key: machine-to-machine noise differs by orders of magnitude between keys (a tiny body that
saturates at accuracy 1.0 has none; MiniLM after 60 steps moves by points), so one fixed floor is
either blind on the quiet keys or a false alarm on the noisy ones. The floors are sized from
measured noise (``fptbench check --calibrate`` prints it) and live beside the profile's budgets
(``benchmark/profile_ci.py``), because a budget change changes the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FptError
from ..registry import Registry


@dataclass(frozen=True)
class KeyGate:
    """How one (task, model, backbone) is gated.

    ``floor_mean``: the smallest drop of the mean test metric that may fail the key (accuracy
    units); ``floor_seed``: the same for one seed (paired difference, or worst seed against worst
    seed); ``target``: the validation level whose first crossing is the convergence signal (None:
    the task's own threshold, as recorded in ``steps_to_threshold``); ``factor``: the allowed growth
    of the median steps-to-target; ``two_sided``: a *control* key (e.g. random-frozen) fails when its
    score rises beyond tolerance too: a control that suddenly scores like the pretrained model is no
    longer the control (the paper's central comparison), not an improvement.
    """

    floor_mean: float = 0.02
    floor_seed: float = 0.05
    target: float | None = None
    factor: float = 1.25
    two_sided: bool = False

    def __post_init__(self) -> None:
        if self.floor_mean < 0 or self.floor_seed < 0:
            raise FptError(f"gate floors must be >= 0, got {self.floor_mean}, {self.floor_seed}")
        if self.factor < 1.0:
            raise FptError(f"gate factor must be >= 1.0 (allowed slow-down), got {self.factor}")


DEFAULT = KeyGate()
# profile -> its per-key settings; registered by the profile modules (benchmark/profile_*.py), which the
# profile registry finds, so asking for the profiles' names loads every gate too.
GATES: Registry[dict] = Registry("gate settings", "fptbench.gates", of=dict)


def key_name(key: tuple[str, str, str]) -> str:
    return "/".join(key)


def register_gate(profile: str, keys: dict[str, KeyGate]) -> None:
    """Register the per-key settings of a profile (``"task/model/backbone"`` -> KeyGate)."""
    GATES.add(profile, dict(keys))


def gates_for(profile: str) -> dict[str, KeyGate]:
    """The registered per-key settings of ``profile`` (empty: the defaults apply to every key)."""
    from ..profiles import PROFILES

    PROFILES.names()  # loads the built-in profile modules, which register their gates
    return dict(GATES.get(profile)) if profile in GATES else {}


__all__ = ["DEFAULT", "GATES", "KeyGate", "gates_for", "key_name", "register_gate"]
