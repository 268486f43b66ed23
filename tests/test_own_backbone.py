"""Backbones named as users name them: a saved transformers folder, ``hf:<hub id>``, FPTBENCH_*_DIR.

What is pinned: a folder or hub backbone is recorded with its source and the sha256 of its config and
weights, and the run id depends on that hash, so two different models never share an id or get
skipped for each other; an architecture the harness has no body for is refused in one line that
names the supported families. The hub route goes through the real ``snapshot_download`` against a
local HTTP server (127.0.0.1) that answers as the hub's API does.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from hub_fixture import HubServer

from benchmark.cli import main
from benchmark.config import RunConfig
from benchmark.errors import FptError
from benchmark.profiles import Budget
from benchmark.results import read_table
from benchmark.runner import make_config, run


def _gpt2_folder(path, seed: int):
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(seed)
    GPT2Model(GPT2Config(vocab_size=32, n_embd=32, n_layer=2, n_head=4, n_positions=256)).save_pretrained(path)
    return path


def _bert_folder(path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                         intermediate_size=64), add_pooling_layer=False).save_pretrained(path)
    return path


def _run(backbone: str, out, seed: int = 0):
    cfg = make_config("bit-xor", "fpt", backbone=backbone, seed=seed, profile="ci", max_steps=2,
                      budget_overrides={"eval_every": 2, "eval_batch_size": 64})
    return cfg, run(cfg, out, progress=False)


def test_two_different_folders_get_two_ids_and_are_never_skipped_for_each_other(tmp_path):
    a, b = _gpt2_folder(tmp_path / "same-name-a", 0), _gpt2_folder(tmp_path / "same-name-b", 1)
    out = tmp_path / "results"
    cfg_a, status_a = _run(str(a), out)
    cfg_b, status_b = _run(str(b), out)
    assert (status_a, status_b) == ("finished", "finished")
    assert cfg_a.run_id != cfg_b.run_id
    assert cfg_a.backbone_id.startswith("sha256:") and cfg_a.backbone_id != cfg_b.backbone_id
    # the same folder again is the same run; changing its weights in place makes it another run
    assert _run(str(a), out)[1] == "skipped"
    _gpt2_folder(a, 2)
    cfg_a2, status_a2 = _run(str(a), out)
    assert status_a2 == "finished" and cfg_a2.run_id != cfg_a.run_id
    runs = read_table([out], "runs").drop_duplicates("run_id").set_index("run_id")
    rec = runs.loc[cfg_b.run_id]
    assert rec.backbone == str(b.resolve()) and str(b.resolve()) in rec.pretrained_on
    assert json.loads(rec.config)["backbone_id"] == cfg_b.backbone_id
    assert ":" not in cfg_b.run_id and "/" not in cfg_b.run_id and "same-name-b" in cfg_b.run_id


def test_relative_folder_is_recorded_by_absolute_path(tmp_path, monkeypatch):
    _gpt2_folder(tmp_path / "mine", 0)
    monkeypatch.chdir(tmp_path)
    cfg = make_config("bit-xor", "random-frozen", backbone="./mine", profile="ci", max_steps=1)
    assert cfg.backbone == str((tmp_path / "mine").resolve()) and cfg.backbone_id


def test_unsupported_family_and_bad_folders_are_one_line_refusals(tmp_path, capsys):
    from transformers import T5Config

    T5Config(d_model=32, num_layers=1, num_heads=2, d_ff=64, vocab_size=32).save_pretrained(tmp_path / "t5")
    (tmp_path / "t5" / "model.safetensors").write_bytes(b"x")
    code = main(["run", "--task", "bit-xor", "--model", "fpt", "--backbone", str(tmp_path / "t5"),
                 "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "model type 't5' is not a supported family" in err
    for family in ("GPT-2", "BERT", "Llama", "ViT", "DINOv2"):
        assert family in err
    (tmp_path / "empty").mkdir()
    with pytest.raises(FptError, match="no config.json"):
        make_config("bit-xor", "fpt", backbone=str(tmp_path / "empty"), profile="ci")
    with pytest.raises(FptError, match="write --backbone hf:org/model"):
        make_config("bit-xor", "fpt", backbone="org/model", profile="ci")


@pytest.mark.parametrize("family", ["llama", "vit", "dinov2", "bert"])
def test_every_supported_family_loads_from_a_folder(tmp_path, family):
    from transformers import BertConfig, BertModel, Dinov2Config, Dinov2Model, LlamaConfig, LlamaModel, ViTConfig, ViTModel

    from baselines.backbones import get_backbone

    small = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64)
    model = {
        "llama": lambda: LlamaModel(LlamaConfig(vocab_size=32, num_key_value_heads=2, **small)),
        "vit": lambda: ViTModel(ViTConfig(image_size=32, patch_size=16, **small), add_pooling_layer=False),
        "dinov2": lambda: Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                                   patch_size=14, image_size=28)),
        "bert": lambda: BertModel(BertConfig(vocab_size=32, **small), add_pooling_layer=False),
    }[family]()
    model.save_pretrained(tmp_path / family)
    backbone = get_backbone(str(tmp_path / family))
    body = backbone.build(pretrained=True)
    assert body.info.family == family and body.info.extra["backbone_id"] == backbone.identity
    name, param = next(iter(model.state_dict().items()))
    assert torch.equal(body.model.state_dict()[name], param)
    assert set(body.param_groups().values()) <= {"attn", "ff", "norm", "pos", "embed"}


def test_env_dir_route_records_the_folder_and_checks_its_family(tmp_path, monkeypatch):
    from baselines.backbones import get_backbone

    monkeypatch.setenv("FPTBENCH_GPT2_DIR", str(_bert_folder(tmp_path / "bert")))
    with pytest.raises(FptError, match="backbone 'gpt2' is a gpt2 model but .* holds a 'bert'"):
        get_backbone("gpt2")
    monkeypatch.setenv("FPTBENCH_GPT2_DIR", str(_gpt2_folder(tmp_path / "g", 0)))
    local = make_config("bit-xor", "fpt", backbone="gpt2", profile="ci", max_steps=1)
    assert local.backbone == "gpt2" and local.backbone_id.startswith("sha256:")
    monkeypatch.setenv("FPTBENCH_GPT2_DIR", str(_gpt2_folder(tmp_path / "g2", 1)))
    other = make_config("bit-xor", "fpt", backbone="gpt2", profile="ci", max_steps=1)
    assert other.run_id != local.run_id
    monkeypatch.delenv("FPTBENCH_GPT2_DIR")
    hub = make_config("bit-xor", "fpt", backbone="gpt2", profile="ci", max_steps=1)  # names only; no download
    assert hub.backbone_id == "" and hub.run_id not in (local.run_id, other.run_id)


def test_hub_id_downloads_through_the_hub_client_and_matches_the_folder(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants

    folder = _gpt2_folder(tmp_path / "src", 0)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with HubServer("someone/tiny-gpt2", folder) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        cfg, status = _run("hf:someone/tiny-gpt2", tmp_path / "results")
        assert any("/resolve/" in path and path.endswith("model.safetensors") for _, path in hub.log)
    assert status == "finished" and cfg.backbone == "hf:someone/tiny-gpt2"
    assert cfg.run_id.startswith("bit-xor__fpt__hf_someone_tiny-gpt2__")
    assert cfg.backbone_id == make_config("bit-xor", "fpt", backbone=str(folder), profile="ci").backbone_id
    rec = read_table([tmp_path / "results"], "runs").iloc[0]
    assert f"hub someone/tiny-gpt2@{hub.commit}" in rec.pretrained_on


def test_object_backbone_run_id_has_no_colon():
    cfg = RunConfig(task="bit-xor", task_version="1", task_fingerprint="f", model="mymlp:MeanMLP", backbone="mybb:MY",
                    seed=0, profile="ci", budget=Budget())
    assert ":" not in cfg.run_id and "mybb_MY" in cfg.run_id


def test_registered_backbones_keep_their_committed_run_ids():
    """backbone_id is left out of the hash when empty: committed runs still hash to their recorded ids."""
    from pathlib import Path

    runs = pd.concat(pd.read_parquet(f, columns=["run_id", "config", "config_hash"])
                     for f in sorted(Path("results/reference/ci/runs").glob("*.parquet"))).drop_duplicates("run_id")
    assert len(runs)
    for r in runs.itertuples():
        c = json.loads(r.config)
        cfg = RunConfig(**{**c, "budget": Budget(**c["budget"])})
        assert (cfg.config_hash, cfg.run_id) == (r.config_hash, r.run_id)


def test_a_folder_changed_after_planning_is_refused_not_trained(tmp_path):
    folder = _gpt2_folder(tmp_path / "m", 0)
    cfg = make_config("bit-xor", "fpt", backbone=str(folder), profile="ci", max_steps=2,
                      budget_overrides={"eval_every": 2, "eval_batch_size": 64})
    _gpt2_folder(folder, 1)  # the weights change between plan and run (a sweep queue, a resume)
    with pytest.raises(FptError, match="now hashes to"):
        run(cfg, tmp_path / "results", progress=False)
