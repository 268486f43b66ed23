"""The leaderboard in a real browser: Debian's headless Chromium driven by Playwright's Python API.

Needs ``apt-get install chromium`` (``/usr/bin/chromium``) and ``pip install playwright`` (never
``playwright install``: its browser download does not work here). Skips, saying which is absent.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from benchmark.results import write_table
from report.leaderboard import build_site

CHROMIUM = os.environ.get("FPTBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: .venv/bin/pip install playwright")
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM}; enable this test with: sudo apt-get install -y chromium "
                "(or FPTBENCH_CHROMIUM=/path/to/chromium)", allow_module_level=True)


def _copy_as_task(src: Path, dst: Path, model: str, task: str) -> None:
    """Real rows of ``model`` relabelled as another task (a second column, so another row has a missing cell)."""
    for f in sorted((src / "runs").glob("*.parquet")):
        rows = pq.read_table(f).to_pylist()
        if rows[0]["model"] != model:
            continue
        rid = f"{f.stem}-{task}"
        curves = pq.read_table(src / "curves" / f.name).to_pylist()
        write_table(dst, "curves", rid, [{**r, "run_id": rid} for r in curves])
        write_table(dst, "runs", rid, [{**r, "run_id": rid, "task": task} for r in rows])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from benchmark.runner import make_config, run

    root = tmp_path_factory.mktemp("browser")
    results = root / "results"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for model, backbone, opts in (("fpt", "tiny-gpt2", None), ("full", "tiny-gpt2", None),
                                      ("lstm", None, {"hidden": 8, "layers": 1})):
            cfg = make_config("bit-xor", model, backbone=backbone, seed=0, profile="ci", max_steps=10, options=opts,
                              budget_overrides={"eval_every": 5, "eval_batch_size": 1000, "batch_size": 8})
            assert run(cfg, results, progress=False) == "finished"
    finally:
        torch.set_num_threads(threads)
    _copy_as_task(results, root / "extra", "fpt", "bit-xor-b")
    build_site([results, root / "extra"], root / "site")
    # a second site for the transfer question: every row complete on the open track's declared tasks (ranked,
    # with rank intervals), a random-frozen control for fpt, and a train_fraction run for the efficiency page
    from report.leaderboard.data import declared_tasks

    more = root / "more"
    for model in ("fpt", "full", "lstm"):
        for task in declared_tasks("open")[0]:
            if task != "bit-xor":
                _clone(results, more, model, f"-{task}", task=task)
    _clone(results, more, "fpt", "-rf", model="random-frozen", model_family="frozen-random-transformer",
           config={"model": "random-frozen"}, test_value=0.5)
    _clone(results, more, "fpt", "-f01", budget={"train_fraction": 0.1}, test_value=0.6)
    build_site([results, more], root / "site2")
    return root / "site"


def _clone(src: Path, dst: Path, source_model: str, suffix: str, *, config: dict | None = None, budget: dict | None = None,
           test_value: float | None = None, **changes) -> None:
    """Real rows of ``source_model`` with changed columns / config / test accuracy (no extra training)."""
    for f in sorted((src / "runs").glob("*.parquet")):
        rows = pq.read_table(f).to_pylist()
        if rows[0]["model"] != source_model:
            continue
        rid = f"{f.stem}{suffix}"
        out = []
        for r in rows:
            cfg = json.loads(r["config"])
            cfg.update(config or {})
            if "task" in changes:  # a copy onto another task keeps that task's own learning rate (no budget change)
                from benchmark.profiles import expected_budget

                cfg["task"] = changes["task"]
                cfg["budget"]["lr"] = expected_budget(cfg["profile"], changes["task"], cfg["model"]).lr
            cfg["budget"].update(budget or {})
            r = {**r, **changes, "run_id": rid, "config": json.dumps(cfg, sort_keys=True)}
            if test_value is not None and r["split"] == "test" and r["metric"] != "loss":
                r["value"] = test_value
            out.append(r)
        curves = pq.read_table(src / "curves" / f.name).to_pylist()
        write_table(dst, "curves", rid, [{**r, "run_id": rid} for r in curves])
        write_table(dst, "runs", rid, out)


@pytest.fixture(scope="module")
def server(site: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _column(page, table: str, col: int) -> list[str]:
    return page.eval_on_selector_all(f"{table} tbody tr", f"rows => rows.map(r => r.cells[{col}].getAttribute('data-v'))")


def test_page_loads_sorts_and_shows_missing(browser, server: str) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/index.html", wait_until="load")
    assert page.title() == "fptbench leaderboard"
    table = "#table-open"
    heads = page.eval_on_selector_all(f"{table} thead th", "ths => ths.map(t => t.textContent)")
    col = next(i for i, h in enumerate(heads) if h.startswith("bit-xor") and not h.startswith("bit-xor-b"))
    col_b = next(i for i, h in enumerate(heads) if h.startswith("bit-xor-b"))
    assert len(_column(page, table, col)) == 3
    # each model's number before any sort (the three differ, so a sort that moved only the numbers shows)
    before = dict(zip(_column(page, table, 1), _column(page, table, col)))
    assert sorted(before) == ["fpt", "full", "lstm"] and len(set(before.values())) == 3

    # a missing cell is shown as missing, with its reason
    missing = page.locator(f"{table} tbody td.missing").first
    assert missing.inner_text().strip() == "\u2014"
    assert missing.get_attribute("title") == "never run"
    assert sum(v == "" for v in _column(page, table, col_b)) == 2  # full and lstm never ran bit-xor-b

    # clicking a task header sorts by it (best first), again reverses
    page.click(f"{table} thead th:nth-child({col + 1})")
    assert page.get_attribute(f"{table} thead th:nth-child({col + 1})", "aria-sort") == "descending"
    vals = [float(v) for v in _column(page, table, col)]
    assert vals == sorted(vals, reverse=True)
    page.click(f"{table} thead th:nth-child({col + 1})")
    vals = [float(v) for v in _column(page, table, col)]
    assert vals == sorted(vals)
    # the sort moves whole rows: each model name still sits beside its own number
    assert dict(zip(_column(page, table, 1), _column(page, table, col))) == before

    # a column with missing cells keeps them last in both directions
    for _ in range(2):
        page.click(f"{table} thead th:nth-child({col_b + 1})")
        assert _column(page, table, col_b)[-2:] == ["", ""]

    # text columns sort alphabetically
    page.click(f"{table} thead th:nth-child(2)")
    assert _column(page, table, 1) == ["fpt", "full", "lstm"]
    page.click(f"{table} thead th:nth-child(2)")
    assert _column(page, table, 1) == ["lstm", "full", "fpt"]

    # each row links to its curves page, which renders without errors
    page.click(f"{table} tbody tr:first-child td:nth-child(2) a")
    page.wait_for_load_state("load")
    assert page.locator("svg polyline").count() >= 1
    assert "curves" in page.inner_text("h2").lower()
    assert problems == []


def test_works_from_file_url(browser, site: Path) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto((site / "index.html").as_uri())
    page.click("#table-open thead th:nth-child(1)")
    assert page.get_attribute("#table-open thead th:nth-child(1)", "aria-sort") == "ascending"
    assert errors == []


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    return problems


def _images_loaded(page) -> list[int]:
    return page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)")


def test_transfer_gain_ranks_plots_render(browser, site: Path) -> None:
    page = browser.new_page()
    problems = _watch(page)
    page.goto((site.parent / "site2" / "index.html").as_uri(), wait_until="load")
    # complete rows are ranked, each with its bootstrap rank interval
    heads = page.eval_on_selector_all("#table-open thead th", "ths => ths.map(t => t.textContent)")
    rank_col = heads.index("mean rank")
    ranks = _column(page, "#table-open", rank_col)
    assert len(ranks) == 4 and sum(v != "" for v in ranks) == 3  # random-frozen has bit-xor only: not ranked
    texts = page.eval_on_selector_all(f"#table-open tbody td:nth-child({rank_col + 1}) small.ci",
                                      "els => els.map(e => e.textContent)")
    assert len(texts) == 3 and all(t.startswith("[") or t.startswith("no interval") for t in texts)
    assert "norm. mean" in heads
    # one seed per cell: shown as one seed, never as a tight interval
    assert page.locator("#table-open tbody td.num small.ci", has_text="one seed").count() >= 3

    # the gain table: fpt minus its random-frozen control, visible and sortable; missing controls say how to run them
    gain = page.locator("#gain-open")
    assert gain.is_visible()
    cell = page.locator("#gain-open td.gain").first
    assert cell.is_visible() and float(cell.get_attribute("data-v")) == pytest.approx(
        float(page.locator("#table-open tbody tr", has_text="fpt").first.locator("td.num").nth(1).get_attribute("data-v"))
        - 50.0)
    missing = page.locator("#gain-open td.gain-missing").first
    missing.locator("summary").click()
    assert "fptbench run --task" in missing.locator("code").inner_text()
    gain_heads = page.eval_on_selector_all("#gain-open thead th", "ths => ths.map(t => t.textContent)")
    mean_gain = next(i for i, h in enumerate(gain_heads) if h.startswith("mean gain")) + 1
    page.click(f"#gain-open thead th:nth-child({mean_gain})")
    assert page.get_attribute(f"#gain-open thead th:nth-child({mean_gain})", "aria-sort") in ("ascending", "descending")

    # compute table and Pareto plots: every image loads
    assert page.locator("#compute-open tbody tr").count() >= 4
    assert page.locator("figure.plot[data-axis=params] img").count() >= 1
    sizes = _images_loaded(page)
    assert sizes and all(w > 0 for w in sizes)
    assert page.locator("#definitions dt", has_text="norm_score").count() == 1

    # the data-efficiency page: its plot and table
    page.click("a[href='efficiency.html']")
    page.wait_for_load_state("load")
    assert page.title().startswith("data efficiency")
    sizes = _images_loaded(page)
    assert len(sizes) == 1 and sizes[0] > 0
    fractions = _column(page, "table.efficiency", 3)
    assert fractions == ["0.1", "1.0"]
    assert problems == []


@pytest.mark.parametrize("width,height", [(1280, 800), (1024, 768)])
def test_first_viewport_holds_the_figure_and_the_ranking(browser, site: Path, width: int, height: int) -> None:
    """A reader sees the answer without scrolling: the headline figure and the ranking's first row are inside
    the first viewport, the empty paper track is one line, and no page is wider than the window."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = _watch(page)
    page.goto((site.parent / "site2" / "index.html").as_uri(), wait_until="load")
    figure = page.locator("#headline img")
    assert figure.count() == 1 and _images_loaded(page)[0] > 0
    box = figure.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height
    first_row = page.locator("#table-open tbody tr").first.bounding_box()
    assert first_row is not None and first_row["y"] + first_row["height"] <= height
    assert page.locator("#track-paper").evaluate("e => e.tagName") == "P"  # collapsed to one line
    claims = page.locator("#claims").bounding_box()
    assert claims is None or claims["y"] > first_row["y"]  # claims come after the ranking
    for url in ("index.html", "efficiency.html"):
        page.goto((site.parent / "site2" / url).as_uri(), wait_until="load")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, url
    assert problems == []
