"""What a reader of the leaderboard sees first and whether rows can be told apart (issue 25).

The index opens with the headline figure and the ranking; an empty track is one line; claims and each
track's details come after the ranking; a grid's learning rates are rows of their own (never one
merged row of "not comparable" cells) with preset, lr and profile as columns; rank numbers only on
ranked rows; plot legends name each row once; the data-efficiency link only when that page has data.
The headline figure is chosen by rule: the longest-trained fpt/random-frozen pair with >= 5 evaluations
per curve and a gain interval excluding 0, else the gain per task, else none.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import test_leaderboard as tl

from benchmark.results import write_table
from report.leaderboard import build_leaderboard, build_site
from report.leaderboard import headline as hl
from report.leaderboard.html import row_label
from report.leaderboard.plots import cost_points

harness_results = tl.harness_results  # the module's fixture: three real tiny runs
clone, is_fpt = tl.clone, tl.is_fpt


def _dense_curves(d: Path, run_ids: list[str], points: int, level) -> None:
    """Rewrite the curves of ``run_ids`` with ``points`` evaluations (``level(seed, i)`` in 0..1)."""
    for rid in run_ids:
        seed = int(pq.read_table(d / "runs" / f"{rid}.parquet").to_pylist()[0]["seed"])
        base = pq.read_table(d / "curves" / f"{rid}.parquet").to_pylist()[0]
        rows = [{**base, "step": 10 * i, "metric": "accuracy", "value": level(seed, i)} for i in range(points)]
        write_table(d, "curves", rid, rows)


def _pair(harness_results: Path, d: Path, points: int) -> Path:
    pre = clone(harness_results, d, is_fpt, "-pre", test_value=lambda s: 0.9 + 0.01 * s)
    ctl = clone(harness_results, d, is_fpt, "-rf", model="random-frozen", model_family="frozen-random-transformer",
                config={"model": "random-frozen"}, test_value=lambda s: 0.6 + 0.01 * s)
    _dense_curves(d, pre, points, lambda s, i: 0.5 + 0.08 * i)
    _dense_curves(d, ctl, points, lambda s, i: 0.5 + 0.01 * i + 0.001 * s)
    return d


def test_headline_is_the_curve_pair_with_enough_points_else_the_gain_figure(harness_results, tmp_path):
    d = _pair(harness_results, tmp_path / "dense", hl.MIN_POINTS)
    board = build_leaderboard([d])
    from benchmark.results import read_table

    curves = read_table([d], "curves")
    h = hl.headline(board, curves[curves.metric != "loss"])
    assert h is not None and "validation accuracy of FPT" in h.caption and "bit-xor" in h.caption
    assert h.svg.count("<path") > 2
    sparse = _pair(harness_results, tmp_path / "sparse", hl.MIN_POINTS - 1)
    curves = read_table([sparse], "curves")
    h = hl.headline(build_leaderboard([sparse]), curves[curves.metric != "loss"])
    assert h is not None and "per task" in h.caption and f"at least {hl.MIN_POINTS} evaluations" in h.caption
    assert hl.headline(build_leaderboard([harness_results]), curves.iloc[:0]) is None  # no control: no figure


def test_index_opens_with_headline_and_ranking_then_claims_and_details(harness_results, tmp_path):
    d = _pair(harness_results, tmp_path / "dense", hl.MIN_POINTS)
    build_site([d], tmp_path / "site")
    text = (tmp_path / "site" / "index.html").read_text()
    assert (tmp_path / "site" / "plots" / "headline.svg").is_file()
    order = [text.index(s) for s in ('id="headline"', 'id="table-open"', 'class="small empty-track"',
                                     'id="claims"', 'id="details-open"', 'id="definitions"')]
    assert order == sorted(order)
    assert "No runs in this track yet" not in text and text.count("empty-track") == 1
    assert 'href="efficiency.html"' not in text  # no train_fraction run: no link to an empty page
    for href in re.findall(r'href="([^"#:]+)"', text):  # every link leads somewhere
        assert (tmp_path / "site" / href).is_file(), href
    for anchor in re.findall(r'href="#([^"]+)"', text):
        assert f'id="{anchor}"' in text, anchor


def test_grid_learning_rates_are_rows_of_their_own(harness_results, tmp_path):
    d = tmp_path / "grid"
    for lr in (1e-4, 1e-2):
        clone(harness_results, d, is_fpt, f"-lr{lr}", budget={"lr": lr})
    board = build_leaderboard([d])
    rows = [r for r in board.tracks[1].rows if r.model == "fpt"]
    assert sorted(r.lr for r in rows) == [1e-4, 1e-2]
    assert all(r.cells["bit-xor"].mean is not None for r in rows)  # not one merged "not comparable" row
    labels = [row_label(r) for r in rows]
    assert len(set(labels)) == 2 and all("lr " in x for x in labels)
    points = cost_points(board.tracks[1], "bit-xor", "params")
    assert len({p.label for p in points}) == len(points)


def test_rank_numbers_only_on_ranked_rows_and_config_columns(harness_results, tmp_path, monkeypatch):
    from report.leaderboard import data as lb_data

    monkeypatch.setattr(lb_data, "declared_tasks", lambda track: (["bit-xor"], "test declaration"))
    extra = tmp_path / "extra"  # a row on another task only: not ranked
    clone(harness_results, extra, is_fpt, "-x", model="full", task="bit-xor-b", config={"model": "full"})
    build_site([harness_results, extra], tmp_path / "site")
    text = (tmp_path / "site" / "index.html").read_text()
    table = text[text.index('id="table-open"'):text.index("</table>", text.index('id="table-open"'))]
    heads = re.findall(r"<th[^>]*>([^<]+)", table)
    assert heads[:6] == ["#", "model", "backbone", "preset", "lr", "profile"]
    first_cells = re.findall(r'<tr data-slug="[^"]+" class="row[^"]*"><td class="num" data-v="([^"]*)"', table)
    board = build_leaderboard([harness_results, extra])
    ranked = sum(r.mean_rank is not None for r in board.tracks[1].rows)
    assert 0 < ranked < len(board.tracks[1].rows)
    assert first_cells == [str(i) for i in range(1, ranked + 1)] + [""] * (len(first_cells) - ranked)
    assert "{&quot;hidden&quot;" in table  # options other than the preset stay visible beside it
