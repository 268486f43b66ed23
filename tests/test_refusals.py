"""Bad input is refused in one line, exit 2, before any compute (issue 23, items 5-8).

Every case runs the real CLI with training patched to fail loudly: a refusal that came after the
compute (the old behaviour for a read-only results directory) fails the test.
"""

from __future__ import annotations

import pytest
from data_fixtures import cifar_batches, unregister_small_tasks, write_cifar_folder  # noqa: F401

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.task import get_task

RUN = ["run", "--task", "bit-xor", "--model", "full", "--backbone", "tiny-gpt2", "--profile", "ci", "--max-steps", "4",
       "--no-progress"]


@pytest.fixture
def no_training(monkeypatch):
    """Training raises: any case that reaches it was not refused before the compute."""
    from benchmark import trainer

    def trained(self):
        raise AssertionError("training started")

    monkeypatch.setattr(trainer.Trainer, "_run", trained)


def refused(capsys, argv: list[str], *words: str, code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("fptbench: error:"), err
    for w in words:
        assert w in err, err
    return err


# -- item 5: typed adapter options ----------------------------------------------------------------------
@pytest.mark.parametrize("text, want", [("False", False), ("false", False), ("no", False), ("0", False),
                                        ("true", True), ("True", True), ("1", True)])
def test_bool_options_parse_as_booleans(text: str, want: bool) -> None:
    from benchmark.cli import parse_options

    adapter = get_adapter("fpt", "tiny-gpt2", **parse_options([f"train_norm={text}"]))
    assert adapter.options == {"train_norm": want}
    model = adapter.build(get_task("bit-xor").spec, 0)
    norms = [p.requires_grad for n, p in model.named_parameters() if ".ln_" in n or "norm" in n]
    assert norms and all(r is want for r in norms)


def test_bad_and_unknown_options_are_refused_before_compute(tmp_path, capsys, no_training) -> None:
    out = ["--results", str(tmp_path / "r")]
    refused(capsys, RUN + ["--option", "train_norm=maybe"] + out, "train_norm", "not true or false")
    err = refused(capsys, RUN + ["--option", "nosuchopt=1"] + out, "unknown option 'nosuchopt'")
    assert "train_norm" in err  # names the known ones
    refused(capsys, ["run", "--task", "bit-xor", "--model", "lstm", "--option", "hidden=big", "--profile", "ci"] + out,
            "hidden", "not an integer")
    assert not (tmp_path / "r" / "runs").exists()


# -- item 6: typed, ranged budgets and devices ---------------------------------------------------------------
@pytest.mark.parametrize("budget, words", [
    ("lr=abc", ("lr", "not a number")),
    ("lr=nan", ("lr", "finite number > 0")),
    ("lr=-1", ("lr", "finite number > 0")),
    ("lr=0", ("lr", "finite number > 0")),
    ("grad_clip=-1", ("grad_clip", "finite number > 0")),
    ("batch_size=true", ("batch_size", "not an integer")),
    ("steps=2.5", ("steps", "not an integer")),
    ("eval_at_start=maybe", ("eval_at_start", "not true or false")),
    ("precision=fp8", ("precision", "fp32")),
    ("lr", ("--budget 'lr' is not KEY=VALUE",)),
    ("nosuch=1", ("not a budget field", "grad_clip")),
])
def test_bad_budgets_are_refused_before_compute(budget: str, words: tuple[str, ...], tmp_path, capsys,
                                                no_training) -> None:
    refused(capsys, RUN + ["--budget", budget, "--results", str(tmp_path / "r")], *words)


def test_bad_devices_are_refused(tmp_path, capsys, no_training) -> None:
    refused(capsys, RUN + ["--device", "tpu", "--results", str(tmp_path / "r")], "tpu", "cpu")


def test_budget_values_are_checked_wherever_a_budget_is_made() -> None:
    """Grids and stored configs build Budgets too: the dataclass itself refuses."""
    from benchmark.profiles import Budget

    for bad in ({"lr": float("inf")}, {"grad_clip": 0}, {"steps": True}, {"steps": 2.5}, {"compile": "yes"},
                {"train_fraction": 0}):
        with pytest.raises(FptError):
            Budget(**bad)


# -- item 7: the results directory, before the compute ----------------------------------------------------
def test_unusable_results_directories_are_refused_before_compute(tmp_path, capsys, no_training) -> None:
    as_file = tmp_path / "file"
    as_file.write_text("x")
    refused(capsys, RUN + ["--results", str(as_file)], "is a file")
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "runs").write_text("x")
    refused(capsys, RUN + ["--results", str(blocked)], "runs is a file")


def test_a_corrupt_runs_file_of_this_run_is_refused_before_compute(tmp_path, capsys, no_training) -> None:
    from benchmark.runner import make_config

    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", max_steps=4)
    res = tmp_path / "r"
    (res / "runs").mkdir(parents=True)
    (res / "runs" / f"{cfg.run_id}.parquet").write_bytes(b"PAR1 garbage")
    refused(capsys, RUN + ["--results", str(res)], "corrupt", "delete it")


def test_an_unwritable_results_directory_is_refused(tmp_path, monkeypatch) -> None:
    """Read-only or immutable (root ignores chmod, so the write probe itself is made to fail)."""
    import tempfile

    from benchmark.runner import check_results_dir

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(FptError, match="not writable"):
        check_results_dir(tmp_path, "some-run")


# -- item 8: prepared data verified at load ------------------------------------------------------------------
def test_damaged_prepared_data_is_refused_at_load_and_reported(tmp_path, monkeypatch, capsys, no_training) -> None:
    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "data"))
    src = write_cifar_folder(tmp_path / "src" / "cifar-10-batches-py").parent
    assert main(["data", "prepare", "cifar10", "--source-dir", str(src)]) == 0
    get_task("cifar10").require_data()  # intact: fine
    f = tmp_path / "data" / "cifar10" / "train_x.npy"
    raw = bytearray(f.read_bytes())
    raw[10] ^= 0xFF  # inside the .npy header
    f.write_bytes(bytes(raw))
    capsys.readouterr()
    with pytest.raises(FptError, match="train_x.npy sha256 .* prepare cifar10 --force"):
        get_task("cifar10").require_data()
    refused(capsys, ["run", "--task", "cifar10", "--model", "lstm", "--profile", "ci", "--results",
                     str(tmp_path / "r")], "damaged", "--force", code=3)  # 3: needs data, as for absent data
    assert main(["data", "status"]) == 1
    assert "BAD prepared data: cifar10" in capsys.readouterr().out
    assert main(["tasks"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cifar10 "))
    assert "BAD data" in line and "--force" in line
