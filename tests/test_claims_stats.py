"""The claims' interval is what its label says: a Student t-interval over matched seeds, not the seed range.

With 2 seeds the percentile bootstrap is exactly [min, max]; with 3 each extreme is drawn in 1/27 of
resamples, so it is essentially the range too, and "holds" would mean "every seed on one side". The
numbers below are computed by hand (t_{0.975,1} = 12.706, t_{0.975,2} = 4.303).
Mutation tried: the paired rule using the bootstrap (``paired_diff_ci``) again: the first rule test fails.
"""

from __future__ import annotations

import math

import pytest

from report import uncertainty as u
from report.claims import HOLDS, INCONCLUSIVE
from report.claims.base import FEW_SEEDS, STRADDLES
from test_claims import claim, finding, frame, seeds


def test_t_interval_by_hand():
    mean, (lo, hi) = u.t_interval([1.0, 3.0])  # sd sqrt(2), se 1, t 12.706
    assert mean == 2.0 and lo == pytest.approx(2 - 12.706) and hi == pytest.approx(2 + 12.706)
    mean, (lo, hi) = u.paired_t_interval([5.0, 9.0, 13.0], [4.0, 4.0, 4.0])  # diffs 1, 5, 9: sd 4
    half = 4.303 * 4 / math.sqrt(3)
    assert mean == 5.0 and (lo, hi) == pytest.approx((5 - half, 5 + half))
    assert u.t_interval([7.0]) == (7.0, None)  # one seed: no interval
    assert u.t_quantile(200) == 1.96


def test_three_seeds_on_one_side_are_not_a_95_percent_interval_clear_of_zero():
    # FPT beats random-frozen by 1, 5 and 9 points: every seed above 0 (the bootstrap's [1, 9] would say holds),
    # but the t-interval [-4.9, 14.9] contains 0
    r = claim(frame(seeds("mnist", "fpt", [0.51, 0.55, 0.59]), seeds("mnist", "random-frozen", [0.5, 0.5, 0.5])),
              "language-beats-random")
    f = finding(r, "mnist")
    assert f.verdict == INCONCLUSIVE and f.open_reason == STRADDLES
    assert f.ci[0] < 0 < f.ci[1] and "t-interval" in f.note


def test_all_seeds_agreeing_is_said_in_words_where_it_is_the_evidence():
    r = claim(frame(seeds("mnist", "fpt", [0.90, 0.91, 0.90]), seeds("mnist", "random-frozen", [0.5, 0.51, 0.5])),
              "language-beats-random")
    f = finding(r, "mnist")
    assert f.verdict == HOLDS and "all 3 seeds agree" in f.note


def test_two_seeds_never_decide_however_clear():
    r = claim(frame(seeds("mnist", "fpt", [0.90, 0.91]), seeds("mnist", "random-frozen", [0.5, 0.5])),
              "language-beats-random")
    f = finding(r, "mnist")
    assert f.verdict == INCONCLUSIVE and f.open_reason == FEW_SEEDS and f.n == 2
