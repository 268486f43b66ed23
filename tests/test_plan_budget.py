"""One budget derivation: ``runner.plan`` builds a run's budget with ``profiles.expected_budget`` (passing the
adapter it already has), and the run view compares stored budgets against ``expected_budget`` looked up by
model name. If the two ever disagreed, every fresh run would read as a "modified budget" (or a changed one
as the profile's). A model given by path (``module:Class``, not registered by name) plans too."""

from __future__ import annotations

import pytest

from baselines.lstm import LSTM
from benchmark.profiles import expected_budget
from benchmark.runner import plan


class OwnLR(LSTM):
    """A model given by path with a learning rate of its own (a registry lookup by name cannot know it)."""

    default_lr = 1.25e-3


MODELS = [("fpt", "tiny-gpt2"), ("random-frozen", "tiny-gpt2"), ("lstm", None), (f"{__name__}:OwnLR", None)]


@pytest.mark.parametrize("profile", ["ci", "cpu", "cpu-long", "paper"])
def test_plan_budget_is_the_expected_budget(profile: str) -> None:
    for model, backbone in MODELS:
        planned = plan("bit-xor", model, backbone=backbone, profile=profile)
        assert planned.config.budget == expected_budget(profile, "bit-xor", model), (profile, model)
        assert planned.config.budget == expected_budget(profile, "bit-xor", model, planned.adapter)


def test_the_adapter_lr_is_used_for_a_model_given_by_path() -> None:
    planned = plan("bit-xor", f"{__name__}:OwnLR", profile="cpu")
    assert planned.config.budget.lr == OwnLR.default_lr  # cpu pins no lr for this model: the adapter's applies
