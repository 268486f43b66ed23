"""Uncertainty over seeds: bootstrap intervals for means, paired differences and ranks.

Why a module of its own: the leaderboard, the report's transfer-gain table and the paper-claims
checks all need the same intervals, and they must agree bit for bit. Every function takes an
explicit seed (a fresh ``numpy.random.Generator``, never global state) and an explicit ``n_boot`` so
a number on a page can be recomputed.

One seed is not an interval. With a single observation there is no spread to resample: the
percentile bootstrap would return the degenerate interval ``(x, x)``, which *looks* like perfect
certainty. Every function here returns ``None`` instead (see :data:`ONE_SEED`), and callers render
it as "one seed". Likewise a bootstrap interval is never narrower than the data allow: it always
contains the point estimate, and for n >= 2 distinct values it is never a single point.

API (all intervals are 95% percentile-bootstrap, ``(low, high)`` tuples of floats):

- :func:`bootstrap_mean_ci` -- CI of the mean of a sample (e.g. one cell's seeds).
- :func:`paired_diff_ci` -- CI of mean(a - b) over matched seeds (transfer gain vs a control).
- :func:`rank_intervals` -- per-row CI of the mean rank, resampling seeds within each cell and
  tasks (columns) jointly.
- :func:`tied_adjacent` -- which adjacent rows (in a given order) have overlapping intervals.
- :func:`t_interval`, :func:`paired_t_interval` -- the Student t-interval of a mean (of paired differences):
  what the claims decide with. With 3 seeds a percentile bootstrap is essentially the seed range (with 2
  it is exactly [min, max]), so it cannot say what its "95%" label says; the t-interval can.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.errors import FptError

Interval = tuple[float, float]
ONE_SEED = None  # what an interval is when there is one observation: "one seed", never (x, x)
DEFAULT_N_BOOT = 2000
DEFAULT_SEED = 0
LEVEL = 0.95


def _clean(values: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray([float(v) for v in values], dtype=float)
    if arr.size == 0:
        raise FptError(f"{what}: no values to bootstrap; run at least one seed")
    if not np.all(np.isfinite(arr)):
        raise FptError(f"{what}: non-finite value in {list(values)}; drop NaN seeds before bootstrapping")
    return arr


def _percentile_interval(stats: np.ndarray, level: float) -> Interval:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_means(values: Sequence[float], n_boot: int, seed: int) -> np.ndarray:
    """The ``n_boot`` bootstrap means: index draws ``rng.integers(0, n, size=(n_boot, n))``.

    Exposed so a test (or a reader) can recompute the interval by hand from the same draws.
    """
    arr = _clean(values, "bootstrap_means")
    if n_boot < 1:
        raise FptError(f"bootstrap_means: n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    return arr[idx].mean(axis=1)


def bootstrap_mean_ci(
    values: Sequence[float], *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED, level: float = LEVEL
) -> Interval | None:
    """95% percentile-bootstrap CI of the mean of ``values``; ``None`` for one value ("one seed").

    The interval always contains the sample mean's neighbourhood drawn from the data: its ends are
    means of resamples, so they lie within [min(values), max(values)].
    """
    arr = _clean(values, "bootstrap_mean_ci")
    if arr.size < 2:
        return ONE_SEED
    return _percentile_interval(bootstrap_means(arr, n_boot, seed), level)


def paired_diff_ci(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
) -> tuple[float, Interval | None]:
    """Mean of ``a - b`` over matched seeds and its paired bootstrap CI (``None`` for one pair).

    ``a[i]`` and ``b[i]`` must be the same seed (same data order, same init seed of the head): the
    pairing removes the seed-to-seed variance both share, which is why the gain's interval can be
    narrower than either cell's. Resampling is over pairs, not over each side independently.
    """
    if len(a) != len(b):
        raise FptError(f"paired_diff_ci: {len(a)} vs {len(b)} values; pass matched seeds only")
    diff = _clean(a, "paired_diff_ci(a)") - _clean(b, "paired_diff_ci(b)")
    mean = float(diff.mean())
    if diff.size < 2:
        return mean, ONE_SEED
    return mean, _percentile_interval(bootstrap_means(diff, n_boot, seed), level)


@dataclass(frozen=True)
class PairedGain:
    """A row minus its control, seed by seed, over the seeds both ran (``mean`` None: no seed in common)."""

    seeds: tuple[int, ...]  # in the row's order
    diffs: tuple[float, ...]
    mean: float | None
    ci: Interval | None  # None: no seed in common, or one pair ("one seed")


def paired_gain(seeds: Sequence[int], values: Sequence[float], control_seeds: Sequence[int],
                control_values: Sequence[float], *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> PairedGain:
    """The one paired-gain computation (report gain tables, leaderboard gains): match seeds, then
    :func:`paired_diff_ci` over the pairs."""
    seeds, control_seeds = list(seeds), list(control_seeds)
    both = [s for s in seeds if s in control_seeds]
    if not both:
        return PairedGain((), (), None, None)
    a = [float(values[seeds.index(s)]) for s in both]
    b = [float(control_values[control_seeds.index(s)]) for s in both]
    mean, ci = paired_diff_ci(a, b, n_boot=n_boot, seed=seed)
    return PairedGain(tuple(int(s) for s in both), tuple(x - y for x, y in zip(a, b)), mean, ci)


def mean_ranks(table: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Mean over columns of each row's rank (1 = best; ties share the average rank).

    ``table`` is rows x tasks, complete (no NaN): ranks over incomplete rows are not comparable.
    """
    scores = table if higher_is_better else -table
    ranks = np.empty_like(scores, dtype=float)
    for j in range(scores.shape[1]):
        col = scores[:, j]
        # average rank for ties: rank = 1 + #better + (#equal - 1) / 2
        better = (col[None, :] > col[:, None]).sum(axis=1)
        equal = (col[None, :] == col[:, None]).sum(axis=1)
        ranks[:, j] = 1.0 + better + (equal - 1) / 2.0
    return ranks.mean(axis=1)


def rank_intervals(
    cells: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
    higher_is_better: bool = True,
) -> dict[str, Interval | None]:
    """Per-row 95% CI of the mean rank, resampling seeds within every cell and tasks jointly.

    ``cells[row][task]`` is the list of per-seed scores. Every row must have every task (callers
    pass complete rows only). Each replicate: for each (row, task) draw seeds with replacement and
    take their mean; draw the task set with replacement; rank rows per drawn task; average.
    A row all of whose cells have one seed still gets an interval if the task resampling moves its
    rank; with one task and only one-seed cells it gets ``None`` (nothing to resample).
    """
    rows = list(cells)
    if not rows:
        return {}
    tasks = list(cells[rows[0]])
    for r in rows:
        if set(cells[r]) != set(tasks):
            raise FptError(f"rank_intervals: row '{r}' has tasks {sorted(cells[r])}, expected {sorted(tasks)}")
    data = {(r, t): _clean(cells[r][t], f"rank_intervals[{r}][{t}]") for r in rows for t in tasks}
    if len(tasks) < 2 and all(v.size < 2 for v in data.values()):
        return {r: ONE_SEED for r in rows}
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(rows)))
    for b in range(n_boot):
        means = np.empty((len(rows), len(tasks)))
        for i, r in enumerate(rows):
            for j, t in enumerate(tasks):
                v = data[(r, t)]
                means[i, j] = v[rng.integers(0, v.size, size=v.size)].mean()
        cols = rng.integers(0, len(tasks), size=len(tasks))
        out[b] = mean_ranks(means[:, cols], higher_is_better)
    return {r: _percentile_interval(out[:, i], level) for i, r in enumerate(rows)}


def overlaps(x: Interval | None, y: Interval | None, x_point: float, y_point: float) -> bool:
    """Whether two intervals overlap; a missing interval ("one seed") counts as its point."""
    x_lo, x_hi = x if x is not None else (x_point, x_point)
    y_lo, y_hi = y if y is not None else (y_point, y_point)
    return x_lo <= y_hi and y_lo <= x_hi


def tied_adjacent(
    order: Sequence[str], intervals: Mapping[str, Interval | None], points: Mapping[str, float] | None = None
) -> dict[str, list[str]]:
    """For rows in display ``order``, the adjacent rows (previous/next) whose intervals overlap.

    Returns ``{row: [tied neighbours]}`` for every row (empty list when not tied). A row with no
    interval and no point is never tied (nothing to compare). ``points`` gives each row's point
    estimate, used when its interval is ``None``.
    """
    points = points or {}
    tied: dict[str, list[str]] = {r: [] for r in order}
    for a, b in zip(order, order[1:]):
        ia, ib = intervals.get(a), intervals.get(b)
        pa, pb = points.get(a, math.nan), points.get(b, math.nan)
        if ia is None and math.isnan(pa) or ib is None and math.isnan(pb):
            continue
        if overlaps(ia, ib, pa, pb):
            tied[a].append(b)
            tied[b].append(a)
    return tied


# two-sided 95% quantiles of Student's t, t_{0.975, df}, df = 1..30 (standard tables); beyond 30 the
# normal's 1.96 is within 0.05 of the exact value and is used
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_quantile(df: int) -> float:
    """t_{0.975, df}: the multiplier of a two-sided 95% t-interval."""
    if df < 1:
        raise FptError(f"t_quantile: degrees of freedom must be >= 1, got {df}")
    return T975[df - 1] if df <= len(T975) else 1.96


def t_interval(values: Sequence[float]) -> tuple[float, Interval | None]:
    """Mean of ``values`` and its two-sided 95% Student t-interval, ``mean +- t_{0.975,n-1} * sd / sqrt(n)``
    (sd with ddof=1); ``None`` for one value. Unlike the percentile bootstrap on 2-3 seeds, it widens
    with few seeds as it should: seeds 1 and 3 give [-10.7, 14.7], not [1, 3]."""
    arr = _clean(values, "t_interval")
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, ONE_SEED
    half = t_quantile(arr.size - 1) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean, (mean - half, mean + half)


def paired_t_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, Interval | None]:
    """Mean of ``a - b`` over matched seeds and the 95% t-interval of it (``None`` for one pair)."""
    if len(a) != len(b):
        raise FptError(f"paired_t_interval: {len(a)} vs {len(b)} values; pass matched seeds only")
    diff = _clean(a, "paired_t_interval(a)") - _clean(b, "paired_t_interval(b)")
    return t_interval(diff)


def seed_spread(values: Sequence[float]) -> Interval:
    """(min, max) of the seeds: the widest an honest mean interval can claim to be narrower than."""
    arr = _clean(values, "seed_spread")
    return float(arr.min()), float(arr.max())
