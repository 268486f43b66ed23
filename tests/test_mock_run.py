"""mock-run: good adapters pass on every registered task without data; broken ones get one clear line each."""

from __future__ import annotations

import sys
import textwrap

import pytest

from benchmark.cli import main
from benchmark.mock_run import MockTask, mock_run
from benchmark.model import MODELS
from benchmark.task import TASKS, get_task



def builtin_tasks() -> set[str]:
    """The tasks package's own plugins (other tests may register more, some no longer importable)."""
    TASKS.names()
    return {n for n, cls in TASKS._items.items() if getattr(cls, "__module__", "").startswith("tasks.")}

BROKEN = '''
import numpy as np, torch
from torch import nn
from benchmark.model import ModelAdapter

class Base(ModelAdapter):
    family = "test"
    uses_backbone = False
    default_backbone = None

class Linear(nn.Module):
    def __init__(self, spec, out_tokens=None, frozen=False, noisy=False):
        super().__init__()
        self.spec, self.noisy = spec, noisy
        self.k = out_tokens or spec.output_tokens
        d = spec.input_dim if spec.input_kind == "continuous" else 1
        self.lin = nn.Linear(d, spec.output_dim)
        if frozen:
            self.lin.requires_grad_(False)
    def forward(self, x, mask=None):
        x = x.float() if x.dim() == 3 else x.float()[..., None]
        out = self.lin(x[:, -self.k:, :])
        if self.noisy:
            out = out + torch.from_numpy(np.random.standard_normal(out.shape).astype("float32"))
        return out

class Good(Base):
    def build(self, spec, seed):
        return Linear(spec)

class WrongShape(Base):
    def build(self, spec, seed):
        return Linear(spec, out_tokens=spec.output_tokens + 1)

class Frozen(Base):
    def build(self, spec, seed):
        return Linear(spec, frozen=True)

class Noisy(Base):
    def build(self, spec, seed):
        return Linear(spec, noisy=True)

class ShortOnly(Base):
    def build(self, spec, seed):
        from benchmark.errors import FptError
        if spec.seq_len > 50:
            raise FptError(f"sequence length {spec.seq_len} exceeds 50 positions")
        return Linear(spec)

class Crashes(Base):
    def build(self, spec, seed):
        raise RuntimeError("no such layer")
'''


@pytest.fixture(scope="module")
def broken_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("adapters")
    (path / "mock_adapters_under_test.py").write_text(textwrap.dedent(BROKEN))
    sys.path.insert(0, str(path))
    yield "mock_adapters_under_test"
    sys.path.remove(str(path))
    for name in [n for n in MODELS.names() if n.startswith("mock_adapters_under_test:")]:
        MODELS._items.pop(name, None)  # keep broken test adapters out of later tests' registry listings


def test_mock_task_keeps_the_output_contract() -> None:
    for name in sorted(builtin_tasks()):
        real = get_task(name)
        mock = MockTask(real)
        s, m = real.spec, mock.spec
        assert (m.input_kind, m.input_dim, m.output_tokens, m.output_dim, m.pad_id) == \
               (s.input_kind, s.input_dim, s.output_tokens, s.output_dim, s.pad_id)
        assert m.seq_len <= s.seq_len and m.splits["test"].size == 8
        b = mock.fixed_split("val")
        assert b.x.shape[1] == m.seq_len and (b.x.dtype.is_floating_point == (m.input_kind == "continuous"))


def test_builtin_adapters_pass_on_every_task() -> None:
    for model, backbone, opts in (("fpt", "tiny-gpt2", {}), ("lstm", None, {"hidden": 8, "layers": 1})):
        report = mock_run(model, backbone, opts)
        assert report.ok, report.failures
        assert set(report.tasks) >= builtin_tasks()  # every built-in task, no data needed


def test_good_plugin_passes_via_module_path(broken_module: str) -> None:
    report = mock_run(f"{broken_module}:Good", tasks=["bit-xor", "bit-memory"])
    assert report.ok, report.failures


@pytest.mark.parametrize("cls, problem", [
    ("WrongShape", "expected (4, 5, 2)"),
    ("Frozen", "no parameter requires grad"),
    ("Noisy", "global RNG state"),
    ("Crashes", "raised RuntimeError: no such layer"),
])
def test_broken_adapters_fail_with_one_line(broken_module: str, cls: str, problem: str) -> None:
    model = f"{broken_module}:{cls}"
    report = mock_run(model, tasks=["bit-xor"])
    assert not report.ok
    assert any(problem in line for line in report.failures), report.failures
    for line in report.failures:
        assert "\n" not in line and f"adapter '{model}' on task 'bit-xor'" in line and "fix:" in line


def test_real_spec_limits_are_caught_despite_short_mocks(broken_module: str) -> None:
    """bit-memory's mock is 24 tokens long, but the real task has 120: the real-spec build catches it."""
    report = mock_run(f"{broken_module}:ShortOnly", tasks=["bit-memory", "bit-xor"])
    assert report.failures == [f"adapter '{broken_module}:ShortOnly' on task 'bit-memory': cannot be built for the "
                               "real task (seq_len 120): sequence length 120 exceeds 50 positions; fix: follow the "
                               "message, or accept that this task stays missing for this model"]


def test_nondeterminism_is_caught(broken_module: str) -> None:
    failures = mock_run(f"{broken_module}:Noisy", tasks=["bit-xor"]).failures
    assert any("two runs with the same seed gave different results" in f for f in failures), failures


def test_cli_exit_codes(broken_module: str, capsys) -> None:
    assert main(["mock-run", "--model", f"{broken_module}:Good", "--task", "bit-xor"]) == 0
    assert "1 task(s) checked, ok" in capsys.readouterr().out
    assert main(["mock-run", "--model", f"{broken_module}:Frozen", "--task", "bit-xor"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("FAIL adapter") and "fix:" in err[0]
    assert main(["mock-run", "--model", "no-such-model"]) == 2  # FptError: unknown name, one line
