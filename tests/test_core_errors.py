"""Bad input gets one clear line naming the thing and the fix (never a traceback from the CLI)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.model import ModelAdapter
from benchmark.runner import make_config
from benchmark.trainer import Trainer


def _one_line_error(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, f"expected one line, got: {err!r}"
    return code, err


def test_unknown_task_and_model(capsys, tmp_path):
    code, err = _one_line_error(capsys, ["run", "--task", "bitxor", "--model", "fpt", "--results", str(tmp_path)])
    assert code == 2 and "unknown task 'bitxor'" in err and "bit-xor" in err
    code, err = _one_line_error(capsys, ["run", "--task", "bit-xor", "--model", "fptt", "--results", str(tmp_path)])
    assert code == 2 and "unknown model 'fptt'" in err and "'fpt'" in err


def test_missing_backbone_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("FPTBENCH_GPT2_DIR", str(tmp_path / "no-such-gpt2"))
    code, err = _one_line_error(capsys, ["run", "--task", "bit-xor", "--model", "fpt", "--backbone", "gpt2",
                                         "--max-steps", "1", "--results", str(tmp_path / "r")])
    assert code == 2 and "backbone 'gpt2'" in err and "FPTBENCH_GPT2_DIR" in err


def test_unknown_budget_key(capsys, tmp_path):
    code, err = _one_line_error(capsys, ["run", "--task", "bit-xor", "--model", "fpt", "--budget", "stepz=3"])
    assert code == 2 and "'stepz' is not a budget field" in err


class WrongShape(ModelAdapter):
    family = "broken"
    uses_backbone = False
    default_backbone = None

    def build(self, spec, seed):
        return ThreeLogitsPerToken(spec.input_dim)


class ThreeLogitsPerToken(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.lin = nn.Linear(d, 3)

    def forward(self, x, mask=None):
        return self.lin(x)  # (B, T, 3): wrong head


class NoMaskArgument(WrongShape):
    def build(self, spec, seed):
        return nn.Linear(spec.input_dim, 2)


def test_a_module_that_does_not_take_the_mask_is_refused(tmp_path):
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", max_steps=2)
    with pytest.raises(FptError, match=r"forward\(x, mask\)"):
        Trainer(cfg, tmp_path, progress=False, adapter=NoMaskArgument()).run()


def test_wrong_output_shape_names_the_adapter_and_the_expected_shape(tmp_path):
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", max_steps=2)
    adapter = WrongShape()
    adapter.name = "wrong-shape"
    trainer = Trainer(cfg, tmp_path, progress=False, adapter=adapter)
    with pytest.raises(FptError, match=r"model 'wrong-shape' returned output \((\d+), 10, 3\).*expected \(\1, 5, 2\)"):
        trainer.run()


class NothingTrainable(WrongShape):
    def build(self, spec, seed):
        model = ThreeLogitsPerToken(1)
        model.requires_grad_(False)
        return model


def test_a_model_with_nothing_trainable_is_refused(tmp_path):
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", max_steps=2)
    with pytest.raises(FptError, match="no trainable parameters"):
        Trainer(cfg, tmp_path, progress=False, adapter=NothingTrainable()).run()


def test_sequence_longer_than_the_backbone_positions_is_refused():
    from baselines.backbones import get_backbone
    from baselines.fpt import TransferModel
    from tasks.bits import BitMemory

    body = get_backbone("tiny-gpt2").build(pretrained=False)
    object.__setattr__(body.info, "max_positions", 64)
    with pytest.raises(FptError, match="exceeds backbone 'tiny-gpt2' with 64 positions"):
        TransferModel(BitMemory.spec, body, torch.Generator())


def test_corrupt_checkpoint_is_reported(tmp_path):
    from benchmark.results import checkpoint_path

    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", max_steps=2)
    path = checkpoint_path(tmp_path, cfg.run_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(FptError, match="fails its checksum.*delete it") as info:
        Trainer(cfg, tmp_path, progress=False).run()
    assert "\n" not in str(info.value)
