"""Bootstrap intervals checked against hand computations on small fixed examples.

The hand computations enumerate the exact bootstrap distribution (every resample of n=4 seeds is a
Binomial count of the 1s), so the expected interval does not come from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import FptError
from report import uncertainty as u


def test_mean_ci_matches_exact_bootstrap_distribution() -> None:
    # values [0,0,0,1]: a resample's mean is k/4 with k ~ Binomial(4, 1/4):
    # P(k<=1)=.738, P(k<=2)=.949, P(k<=3)=.996 -> 2.5% quantile 0, 97.5% quantile 3/4.
    ci = u.bootstrap_mean_ci([0.0, 0.0, 0.0, 1.0], n_boot=20000, seed=1)
    assert ci == (0.0, 0.75)


def test_mean_ci_recomputed_by_hand_from_the_documented_draws() -> None:
    values = [0.61, 0.70, 0.66]
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 3, size=(50, 3))
    means = sorted(float(np.mean([values[i] for i in row])) for row in idx)
    # np.quantile's linear rule at q=0.025 and 0.975 over 50 sorted means
    def q(p: float) -> float:
        pos = p * (len(means) - 1)
        lo = int(pos)
        return means[lo] + (means[min(lo + 1, len(means) - 1)] - means[lo]) * (pos - lo)

    lo, hi = u.bootstrap_mean_ci(values, n_boot=50, seed=7)
    assert lo == pytest.approx(q(0.025))
    assert hi == pytest.approx(q(0.975))


def test_one_seed_is_never_an_interval() -> None:
    assert u.bootstrap_mean_ci([0.73]) is None
    assert u.paired_diff_ci([0.8], [0.6]) == (pytest.approx(0.2), None)


def test_interval_never_narrower_than_two_distinct_seeds_allow() -> None:
    # two seeds: resample means are 0.5 (p=1/4), 0.6 (1/2), 0.7 (1/4): the 95% CI is the full spread.
    lo, hi = u.bootstrap_mean_ci([0.5, 0.7], n_boot=4000, seed=3)
    assert (lo, hi) == pytest.approx(u.seed_spread([0.5, 0.7]))
    # and any interval lies inside the seed spread
    vals = [0.2, 0.4, 0.9, 0.5, 0.55]
    lo, hi = u.bootstrap_mean_ci(vals, n_boot=500, seed=0)
    assert min(vals) <= lo < float(np.mean(vals)) < hi <= max(vals)


def test_paired_diff_resamples_pairs_exact() -> None:
    # diffs [0, .1, 0, 0]: mean of a resample is 0.1*k/4, k ~ Bin(4, 1/4) -> CI (0, 0.075)
    mean, ci = u.paired_diff_ci([0.8, 0.9, 0.7, 0.8], [0.8, 0.8, 0.7, 0.8], n_boot=20000, seed=2)
    assert mean == pytest.approx(0.025)
    assert ci == pytest.approx((0.0, 0.075))


def test_paired_diff_pairing_removes_shared_seed_variance() -> None:
    a = [0.5, 0.7, 0.9, 0.6]
    b = [x - 0.1 for x in a]  # same seed effect on both sides: the gain is exactly 0.1
    mean, ci = u.paired_diff_ci(a, b, n_boot=500, seed=0)
    assert mean == pytest.approx(0.1)
    assert ci == pytest.approx((0.1, 0.1))


def test_paired_diff_rejects_unmatched() -> None:
    with pytest.raises(FptError, match="matched seeds"):
        u.paired_diff_ci([0.1, 0.2], [0.1])


def test_rank_intervals_exact_task_resampling() -> None:
    # one seed per cell; A wins t1, B wins t2. Task resamples {t1,t1},{t1,t2},{t2,t1},{t2,t2}
    # give A mean ranks 1, 1.5, 1.5, 2 -> CI (1, 2) for both: tied.
    cells = {"A": {"t1": [0.9], "t2": [0.1]}, "B": {"t1": [0.2], "t2": [0.8]}}
    ri = u.rank_intervals(cells, n_boot=4000, seed=0)
    assert ri == {"A": (1.0, 2.0), "B": (1.0, 2.0)}
    assert u.tied_adjacent(["A", "B"], ri) == {"A": ["B"], "B": ["A"]}


def test_rank_intervals_dominant_row_not_tied() -> None:
    cells = {
        "A": {"t1": [0.9, 0.92], "t2": [0.8, 0.85]},
        "B": {"t1": [0.5, 0.6], "t2": [0.4, 0.45]},
        "C": {"t1": [0.55, 0.58], "t2": [0.42, 0.5]},
    }
    ri = u.rank_intervals(cells, n_boot=300, seed=0)
    assert ri["A"] == (1.0, 1.0)
    tied = u.tied_adjacent(["A", "C", "B"], ri)
    assert tied["A"] == []
    assert tied["C"] == ["B"]


def test_rank_intervals_one_task_one_seed_is_none() -> None:
    assert u.rank_intervals({"A": {"t": [0.5]}, "B": {"t": [0.4]}}) == {"A": None, "B": None}


def test_rank_intervals_require_complete_rows() -> None:
    with pytest.raises(FptError, match="tasks"):
        u.rank_intervals({"A": {"t1": [0.5], "t2": [0.5]}, "B": {"t1": [0.4]}})


def test_mean_ranks_average_ties() -> None:
    table = np.array([[0.9, 0.5], [0.9, 0.7], [0.1, 0.7]])
    # t1: A,B tie for 1-2 -> 1.5 each, C 3; t2: B,C tie -> 1.5, A 3
    assert list(u.mean_ranks(table)) == [2.25, 1.5, 2.25]


def test_tied_adjacent_uses_point_for_one_seed_rows() -> None:
    order = ["A", "B", "C"]
    intervals = {"A": (0.7, 0.9), "B": None, "C": None}
    points = {"A": 0.7, "B": 0.75, "C": 0.5}
    assert u.tied_adjacent(order, intervals, points) == {"A": ["B"], "B": ["A"], "C": []}


def test_seeded_and_deterministic() -> None:
    vals = [0.3, 0.5, 0.4, 0.45]
    assert u.bootstrap_mean_ci(vals, n_boot=100, seed=5) == u.bootstrap_mean_ci(vals, n_boot=100, seed=5)
