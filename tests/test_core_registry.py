"""Plugin registry: built-ins, entry points from another package, module:Class, close-match errors."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.errors import FptError
from benchmark.model import MODELS, get_adapter
from benchmark.registry import Registry
from benchmark.task import TASKS, get_task

EXTERNAL_PKG = '''
import numpy as np, torch
from torch import nn
from benchmark.task import Task, TaskSpec, SplitSpec, Batch
from benchmark.model import ModelAdapter

class ParityTask(Task):
    spec = TaskSpec(name="ext-parity", version="0.1", modality="numerical", input_kind="continuous", input_dim=1,
                    seq_len=4, output_tokens=1, output_dim=2,
                    splits={"train": SplitSpec(1), "val": SplitSpec(64, 1), "test": SplitSpec(64, 2)})
    def _make(self, rng, n):
        x = rng.integers(0, 2, size=(n, 4))
        return Batch(torch.tensor(x, dtype=torch.float32)[..., None], torch.tensor(x.sum(1) % 2))
    def train_batch(self, rng, batch_size, step, seed):
        return self._make(rng, batch_size)
    def fixed_split(self, split):
        return self._make(np.random.default_rng(self.spec.splits[split].seed), self.spec.splits[split].size)

class Mean(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.lin = nn.Linear(spec.input_dim * spec.seq_len, spec.output_tokens * spec.output_dim)
        self.spec = spec
    def forward(self, x, mask=None):
        return self.lin(x.flatten(1)).view(-1, self.spec.output_tokens, self.spec.output_dim)

class MeanAdapter(ModelAdapter):
    family = "linear"
    uses_backbone = False
    default_backbone = None
    def build(self, spec, seed):
        return Mean(spec)
'''


@pytest.fixture
def external_package(tmp_path: Path, monkeypatch):
    """A separately 'installed' package: a module plus a dist-info with fptbench entry points."""
    (tmp_path / "ext_fpt_plugin.py").write_text(textwrap.dedent(EXTERNAL_PKG))
    dist = tmp_path / "ext_fpt_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ext-fpt-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[fptbench.tasks]\next-parity = ext_fpt_plugin:ParityTask\n\n[fptbench.models]\next-mean = ext_fpt_plugin:MeanAdapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("ext_fpt_plugin", None)


def test_builtins_are_registered():
    assert {"bit-memory", "bit-xor"} <= set(TASKS.names())
    assert {"fpt", "full", "random-frozen", "lstm"} <= set(MODELS.names())


def test_external_task_and_adapter_via_entry_points_run_in_the_harness(external_package, tiny_run):
    assert get_task("ext-parity").spec.name == "ext-parity"
    adapter = get_adapter("ext-mean")
    assert adapter.family == "linear"
    cfg, status, out = tiny_run(task="ext-parity", model="ext-mean", backbone=None, steps=5)
    assert status == "finished"
    from benchmark.results import read_table

    runs = read_table([out])
    assert set(runs.task) == {"ext-parity"} and set(runs.model) == {"ext-mean"}


def test_module_colon_class_names_load_without_registration(external_package):
    adapter = get_adapter("ext_fpt_plugin:MeanAdapter")
    assert adapter.name == "ext_fpt_plugin:MeanAdapter"


def test_unknown_names_suggest_close_matches():
    with pytest.raises(FptError, match="did you mean 'bit-xor'"):
        get_task("bit-xo")
    with pytest.raises(FptError, match="did you mean 'fpt'"):
        get_adapter("fpr")


def test_collisions_are_errors():
    reg: Registry[object] = Registry("thing", "fptbench.test-things")
    reg.add("a", object())
    with pytest.raises(FptError, match="registered twice"):
        reg.add("a", object())


def test_bad_module_spec_is_one_clear_line():
    with pytest.raises(FptError, match="cannot import module 'no_such_mod'"):
        get_adapter("no_such_mod:Thing")


def test_missing_builtin_declarations_name_the_cause(monkeypatch) -> None:
    """Stale install metadata must fail loudly, not as "unknown model 'fpt'" (seen with an old egg-info)."""
    import benchmark.registry as registry_mod
    from benchmark.errors import FptError
    from benchmark.registry import Registry

    monkeypatch.setattr(registry_mod, "builtin_modules", lambda kind: [])
    reg: Registry[object] = Registry("model", "fptbench.models", declared_builtins=True)
    with pytest.raises(FptError, match="egg-info"):
        reg.names()


def test_a_typed_registry_refuses_the_wrong_kind_once_at_registration() -> None:
    """One typed registry: a wrong object is refused when added, so ``get`` needs no wrapper re-checking it."""
    from benchmark.profiles import PROFILES, Budget, Profile
    from benchmark.registry import Registry
    from benchmark.task import TASKS, Task

    reg: Registry[Profile] = Registry("profile", "fptbench.nothing", of=Profile)
    with pytest.raises(FptError, match="not a benchmark.profiles.Profile"):
        reg.add("x", Budget())
    good = Profile("x", "", Budget())
    reg.add("x", good)
    assert reg.get("x") is good
    with pytest.raises(FptError, match="not a benchmark.task.Task"):
        TASKS.add("zz-not-a-task", dict)
    assert PROFILES.of is Profile and TASKS.of is Task


def test_gate_settings_are_a_typed_registry_filled_by_the_profiles() -> None:
    """The ci profile's module registers its per-key gate settings; an unknown profile has none (defaults)."""
    from benchmark.gate.settings import GATES, KeyGate, gates_for

    ci = gates_for("ci")
    assert ci and all(isinstance(g, KeyGate) for g in ci.values()) and "ci" in GATES
    assert gates_for("no-such-profile") == {}
    with pytest.raises(FptError, match="not a builtins.dict"):
        GATES.add("zz", [])


def test_a_temporary_entry_is_gone_after_its_block_and_still_refuses_a_clash():
    reg: Registry[object] = Registry("thing", "fptbench.no-such-group")
    keep = object()
    reg.add("kept", keep)
    with reg.temporarily("tmp", object()):
        assert reg.names() == ["kept", "tmp"]
    assert reg.names() == ["kept"]  # what the command line lists afterwards
    with pytest.raises(FptError, match="registered twice"):
        with reg.temporarily("kept", object()):
            pass
    assert reg.get("kept") is keep
