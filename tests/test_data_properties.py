"""Property tests: image patching and augmentation, and the protein tokenizer."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.data.transforms import patchify, random_crop, random_hflip, rotate, unpatchify
from tasks.remote_homology import CLS, RESIDUES, SEP, VOCAB, detokenize, pad_batch, tokenize

dims = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(dims, st.integers(0, 2**32 - 1))
def test_patchify_shape_order_and_round_trip(d, seed):
    b, c, gh, gw, p = d
    img = torch.from_numpy(np.random.default_rng(seed).random((b, c, gh * p, gw * p)).astype(np.float32))
    tokens = patchify(img, p)
    assert tokens.shape == (b, gh * gw, p * p * c)
    assert torch.equal(unpatchify(tokens, p, c, gh * p, gw * p), img)
    # the reference's 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)' element by element, at a drawn position
    rng = np.random.default_rng(seed + 1)
    bi, i, j, p1, p2, ch = (int(rng.integers(0, n)) for n in (b, gh, gw, p, p, c))
    assert tokens[bi, i * gw + j, (p1 * p + p2) * c + ch] == img[bi, ch, i * p + p1, j * p + p2]


def test_mnist_and_cifar_token_shapes():
    assert patchify(torch.zeros(2, 1, 28, 28), 4).shape == (2, 49, 16)
    assert patchify(torch.zeros(2, 3, 32, 32), 4).shape == (2, 64, 48)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_random_crop_is_a_window_of_the_padded_image(seed, b):
    img = torch.rand(b, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    out = random_crop(img, np.random.default_rng(seed), padding=2)
    offs = np.random.default_rng(seed).integers(0, 5, size=(b, 2))  # the same draws
    padded = torch.nn.functional.pad(img, (2, 2, 2, 2))
    for k, (r, c) in enumerate(offs):
        assert torch.equal(out[k], padded[k, :, r:r + 8, c:c + 8])
    assert torch.equal(random_crop(img, np.random.default_rng(seed), padding=0), img)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_flip_twice_with_the_same_draws_is_identity(seed):
    img = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    once = random_hflip(img, np.random.default_rng(seed))
    assert torch.equal(random_hflip(once, np.random.default_rng(seed)), img)
    flipped = np.random.default_rng(seed).random(6) < 0.5
    for k in range(6):
        assert torch.equal(once[k], img[k].flip(-1) if flipped[k] else img[k])


def test_rotation_matches_rot90_and_zero_is_identity():
    img = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rotate(img, np.zeros(2)), img)
    ccw = torch.from_numpy(np.rot90(img.numpy(), k=1, axes=(2, 3)).copy())  # counter-clockwise, like torchvision
    assert torch.equal(rotate(img, np.full(2, 90.0)), ccw)
    small = rotate(img, np.full(2, 20.0))
    assert small.shape == img.shape and bool((small[:, :, 0, 0] == 0).all())  # corners fill with zeros


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=RESIDUES, max_size=1500))
def test_tokenizer_round_trip_and_length(seq):
    ids = tokenize(seq)
    assert ids[0] == CLS and ids[-1] == SEP and len(ids) == min(len(seq), 1022) + 2
    assert detokenize(ids) == seq[:1022]
    assert ((ids >= 5) & (ids < len(VOCAB)))[1:-1].all()


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.integers(3, 64))
def test_tokenizer_vocab_bounds_on_any_text(text, max_len):
    ids = tokenize(text, max_len=max_len)
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < len(VOCAB) and len(ids) <= max_len


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=RESIDUES, max_size=30), min_size=1, max_size=6))
def test_padding_is_right_with_pad_zero_and_mask(seqs):
    x, mask = pad_batch([tokenize(s) for s in seqs])
    assert x.shape == mask.shape and x.shape[1] == max(len(s) for s in seqs) + 2
    for k, s in enumerate(seqs):
        n = len(s) + 2
        assert mask[k].tolist() == [True] * n + [False] * (x.shape[1] - n)
        assert detokenize(x[k].numpy()) == s and bool((x[k, n:] == 0).all())
