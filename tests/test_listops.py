"""ListOps: the generator against an independent evaluator and a port of LRA's code, determinism
across processes, the tokenizers (hypothesis), reading official TSVs, and a tiny training run."""

from __future__ import annotations

import csv
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tasks.listops as lo
import tasks.listops_gen as gen
from benchmark.errors import FptError


# -- an evaluator written independently of the generator: a stack machine over the text ------------
def stack_eval(text: str) -> int:
    stack: list[tuple[str, list[int]]] = []
    result = None
    for tok in text.split():
        if tok in ("(", ")"):
            continue
        if tok.startswith("["):
            stack.append((tok, []))
        elif tok == "]":
            op, args = stack.pop()
            args = sorted(args)
            n = len(args)
            value = {"[MIN": args[0], "[MAX": args[-1], "[SM": sum(args) % 10,
                     "[MED": (args[(n - 1) // 2] + args[n // 2]) // 2}[op]
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        else:
            stack[-1][1].append(int(tok))
    assert not stack and result is not None
    return result


def lra_length(text: str) -> int:
    """LRA's length: operators + values + closing brackets (parentheses not counted)."""
    return sum(tok not in ("(", ")") for tok in text.split())


@pytest.fixture(scope="module")
def small() -> gen.Generated:
    return gen.generate(11, (300,))


def test_labels_match_an_independent_evaluator_and_lengths_are_strictly_bounded(small):
    assert len(small) == 300
    for toks, ar, label in zip(small.tokens, small.arity, small.labels):
        text = gen.to_string(toks, ar)
        assert stack_eval(text) == label
        assert 500 < lra_length(text) < 2000 and lra_length(text) == len(toks)
        assert text.count("(") == text.count(")")
    assert len({t.tobytes() for t in small.tokens}) == len(small)  # distinct trees


def test_text_and_labels_equal_a_port_of_lra_code(small):
    for toks, ar, label in list(zip(small.tokens, small.arity, small.labels))[:60]:
        tree = gen.tokens_to_tree(toks)
        assert gen.reference_to_string(tree) == gen.to_string(toks, ar)
        assert gen.reference_to_value(tree) == label
    assert gen.to_string(np.array([gen.DIGIT0 + 7], dtype=np.uint8), np.zeros(1, dtype=np.uint8)) == "7"


def test_label_edge_cases_med_truncates_and_sm_is_mod_10():
    text = "( ( ( ( ( [MED 1 ) 2 ) 4 ) 9 ) ] )"  # median of 1 2 4 9 = 3.0
    assert stack_eval(text) == 3
    toks = np.array(gen.tokenize_lra(text), dtype=np.uint8)
    assert gen.reference_to_value(gen.tokens_to_tree(toks)) == 3
    assert gen.reference_to_value(gen.tokens_to_tree(np.array(gen.tokenize_lra("( ( ( [MED 2 ) 5 ) ] )"),
                                                                dtype=np.uint8))) == 3  # int(3.5)
    assert gen.reference_to_value(gen.tokens_to_tree(np.array(gen.tokenize_lra("( ( ( [SM 9 ) 8 ) ] )"),
                                                                dtype=np.uint8))) == 7


def _digest(g: gen.Generated) -> str:
    h = hashlib.sha256()
    for t in g.tokens:
        h.update(t.tobytes() + b"|")
    h.update(g.labels.tobytes())
    return h.hexdigest()


def test_same_seed_same_trees_in_other_processes_and_hash_seeds(small):
    # load the module by path: importing the ``tasks`` package would pull in torch and every task
    code = ("import hashlib, sys, importlib.util as u; s = u.spec_from_file_location('g', 'tasks/listops_gen.py'); "
            "g = sys.modules['g'] = u.module_from_spec(s); s.loader.exec_module(g); d = g.generate(11, (300,)); "
            "h = hashlib.sha256(); [h.update(t.tobytes() + b'|') for t in d.tokens]; h.update(d.labels.tobytes()); "
            "print(h.hexdigest())")
    root = Path(__file__).resolve().parent.parent
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == _digest(small)
    assert _digest(gen.generate(12, (300,))) != _digest(small)


def test_generation_leaves_global_rng_untouched():
    np.random.seed(5)
    random.seed(5)
    a, b = np.random.random(), random.random()
    np.random.seed(5)
    random.seed(5)
    gen.generate(1, (20,))
    assert (np.random.random(), random.random()) == (a, b)


def test_fast_generator_has_the_law_of_lra_recursion():
    """Same parameters, many candidates: acceptance, mean length and label law agree with the
    straight port of LRA's generate_tree (depth 4 and bounds 10..80 so the port is cheap and the
    early abort is exercised). Seeded, so the outcome is fixed; tolerances are ~4 sigma."""
    n, lo_len, hi_len, depth = 40_000, 10, 80, 4
    toks, labels, _ = gen._chunk(np.random.default_rng(3), n, lo_len, hi_len, depth, 10)
    fast_len = np.array([len(t) for t in toks])
    rng = random.Random(3)
    ref_len, ref_lab = [], []
    for _ in range(n):
        tree, length = gen.reference_tree(rng, 1, depth, 10)
        if lo_len < length < hi_len:
            ref_len.append(length)
            ref_lab.append(gen.reference_to_value(tree))
    ref_len = np.array(ref_len)
    p_fast, p_ref = len(fast_len) / n, len(ref_len) / n
    assert abs(p_fast - p_ref) < 4 * np.sqrt(2 * p_ref * (1 - p_ref) / n)
    se = np.sqrt(ref_len.var() / len(ref_len) + fast_len.var() / len(fast_len))
    assert abs(fast_len.mean() - ref_len.mean()) < 4 * se
    pf = np.bincount(labels, minlength=10) / len(labels)
    pr = np.bincount(ref_lab, minlength=10) / len(ref_lab)
    assert 0.5 * np.abs(pf - pr).sum() < 0.04
    assert fast_len.min() > lo_len and fast_len.max() < hi_len


def test_split_bounds_follow_lra():
    assert list(gen.split_bounds()) == [(0, 96_000), (96_000, 98_000), (98_000, 100_000)]
    for task in (lo.ListOpsFPT, lo.ListOpsLRA):
        assert {k: v.size for k, v in task.spec.splits.items()} == {"train": 96_000, "val": 2_000, "test": 2_000}


# -- tokenizers -------------------------------------------------------------------------------------
def _lra_tree(node):
    """(op, [children]) / int -> LRA's nested tuples."""
    if isinstance(node, int):
        return node
    op, children = node
    t = (op, _lra_tree(children[0]))
    for c in children[1:]:
        t = (t, _lra_tree(c))
    return (t, gen.END)


def _value(node) -> int:
    if isinstance(node, int):
        return node
    op, children = node
    vals = sorted(_value(c) for c in children)
    return {"[MIN": vals[0], "[MAX": vals[-1], "[SM": sum(vals) % 10,
            "[MED": int(np.median(vals))}[op]


trees = st.recursive(st.integers(0, 9),
                     lambda kids: st.tuples(st.sampled_from(gen.OPERATORS), st.lists(kids, min_size=2, max_size=10)),
                     max_leaves=60).filter(lambda t: not isinstance(t, int))


@settings(max_examples=80, deadline=None)
@given(trees)
def test_tokenizers_on_random_expressions(node):
    text = gen.reference_to_string(_lra_tree(node))
    lra = np.array(gen.tokenize_lra(text), dtype=np.uint8)
    assert lra.min() >= 1 and lra.max() <= 15  # 15 real tokens; pad 0 and unknown 16 never appear
    assert len(lra) == lra_length(text)
    assert (lra == gen.X_ID).sum() == text.count("]")
    # round trip: tokens -> tree -> LRA text
    assert gen.reference_to_string(gen.tokens_to_tree(lra)) == text
    assert gen.reference_to_value(gen.tokens_to_tree(lra)) == _value(node) == stack_eval(text)
    fpt = gen.lra_to_fpt(lra)
    assert fpt.min() >= 1 and fpt.max() <= 14 and len(fpt) == len(lra) - text.count("]")
    words = [w.strip("[") for w in text.split() if w not in ("(", ")", "]")]  # alphanumeric-only tokenizer
    assert [gen.FPT_VOCAB[i] for i in fpt] == words


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 16), min_size=1, max_size=30), min_size=1, max_size=8), st.integers(1, 20))
def test_padding_and_mask(rows, width):
    arr = [np.array(r, dtype=np.uint8) for r in rows]
    padded = gen.pad_rows(arr, width)
    assert padded.shape == (len(rows), width) and padded.dtype == np.uint8
    task = lo.ListOpsFPT()
    x, mask = task.encode(padded, None)
    assert x.dtype == torch.int64 and mask.dtype == torch.bool
    for i, r in enumerate(rows):
        n = min(len(r), width)
        assert padded[i, :n].tolist() == r[:n] and not padded[i, n:].any()  # right padding with 0
        assert mask[i].tolist() == [True] * n + [False] * (width - n)


def test_unknown_words_map_to_unk():
    assert gen.tokenize_lra("( ( [MIN 3 ) [FIRST ] )") == [1, gen.DIGIT0 + 3, gen.UNK, gen.X_ID]


# -- the dataset ------------------------------------------------------------------------------------
SMALL = (64, 2000, 2000)  # train is small; val/test keep the spec's sizes (the harness checks them)
TINY = (32, 16, 16)  # for the training run: evaluating 2,000 x 512 tokens costs ~1 min even on tiny-bert


def prepare_small(root: Path, sizes: tuple[int, int, int] = SMALL) -> Path:
    from benchmark.data import DATASETS
    from benchmark.data.manifest import write_manifest

    dest = root / "listops"
    dest.mkdir(parents=True)
    source = lo.build_listops(dest, sizes=sizes, seed=3)
    write_manifest(dest, name="listops", version=DATASETS.get("listops").version, source=source)
    return dest


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    return prepare_small(tmp_path_factory.mktemp("lo") / "data")


def test_prepared_files_are_lra_tsvs_and_both_tokenizations(small_data):
    with open(small_data / "basic_val.tsv", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["Source", "Target"] and len(rows) == 2001
    labels = np.load(small_data / "val_labels.npy")
    lra = np.load(small_data / "val_lra.npy")
    fpt = np.load(small_data / "val_fpt512.npy")
    assert lra.shape == (2000, 2000) and fpt.shape == (2000, 512)
    for i in range(0, 2000, 97):
        text, target = rows[i + 1]
        assert int(target) == labels[i] == stack_eval(text)
        toks = gen.tokenize_lra(text)
        assert lra[i, : len(toks)].tolist() == toks and not lra[i, len(toks):].any()
        words = [gen.FPT_VOCAB.index(w.strip("[")) for w in text.split() if w not in ("(", ")", "]")][:512]
        assert fpt[i, : len(words)].tolist() == words


def test_build_from_official_tsvs_matches_the_generated_copy(small_data, tmp_path):
    out = tmp_path / "from_files"
    out.mkdir()
    source = lo.build_listops(out, small_data)
    assert source["sizes"] == dict(zip(lo.SPLITS, SMALL))
    for name in ("train_lra.npy", "val_fpt512.npy", "test_labels.npy"):
        assert np.array_equal(np.load(out / name), np.load(small_data / name))


def test_bad_tsvs_are_clear_errors(tmp_path):
    with pytest.raises(FptError, match="lacks"):
        lo.build_listops(tmp_path / "o", tmp_path)
    for split in lo.SPLITS:
        (tmp_path / f"basic_{split}.tsv").write_text("Source\tTarget\r\n( ( [MIN 3 ) [FIRST ] )\t3\r\n")
    with pytest.raises(FptError, match="line 2: unknown token"):
        lo.build_listops(tmp_path / "o", tmp_path)
    (tmp_path / "basic_train.tsv").write_text("src\ttgt\n")
    with pytest.raises(FptError, match="header"):
        lo.build_listops(tmp_path / "o", tmp_path)


@pytest.fixture
def one_thread():
    """Torch's 2 threads busy-wait badly on a shared, oversubscribed machine; one is faster here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_tiny_training_run_on_listops(tmp_path, monkeypatch, tiny_run, one_thread):
    """Both tasks read a small prepared copy; the training run uses a copy of the ``listops`` spec with
    small val/test sizes (monkeypatched for this test only: the registered spec stays 96k/2k/2k)."""
    import dataclasses

    monkeypatch.setenv("FPTBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    from benchmark.results import read_table
    from benchmark.task import SplitSpec, get_task

    assert get_task("listops").available() == (False, "fptbench data prepare listops")
    prepare_small(tmp_path / "data", TINY)
    splits = {k: SplitSpec(size=n, seed=3) for k, n in zip(lo.SPLITS, TINY)}
    for cls in (lo.ListOpsFPT, lo.ListOpsLRA):
        monkeypatch.setattr(cls, "spec", dataclasses.replace(cls.spec, splits=splits))
    lra = get_task("listops-lra").fixed_split("test")
    assert lra.x.shape == (TINY[2], 2000) and int(lra.x.max()) < 17 and torch.equal(lra.mask, lra.x != 0)
    fpt = get_task("listops").fixed_split("test")
    assert fpt.x.shape == (TINY[2], 512) and int(fpt.x.max()) < 15 and torch.equal(fpt.y, lra.y)
    cfg, status, out = tiny_run(task="listops", model="fpt", backbone="tiny-bert", steps=4,
                                budget={"eval_every": 4, "checkpoint_every": 4})
    assert status == "finished"
    runs = read_table([out])
    assert set(runs["split"]) >= {"val", "test"}
    assert len(read_table([out], "predictions")) == TINY[2]
