from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.metrics import synthetic
from pipelines.report import ReportError, write_report
from tests.browser import ARGS, CHROMIUM
from tests.metrics.conftest import run

# Set OLW_SCREENSHOTS=<folder> to keep PNGs of the first screen and the economics chart.
SHOTS = os.environ.get("OLW_SCREENSHOTS")

# Text boxes of every label plotly drew, per plot; pairs whose boxes intersect by more than a
# pixel each way overlap on screen (hover labels excluded: they are not drawn until hovered).
OVERLAPS_JS = """() => {
  const out = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const boxes = [];
    for (const t of plot.querySelectorAll('svg.main-svg text')) {
      if (t.closest('.hoverlayer')) continue;
      const txt = (t.textContent || '').trim();
      const r = t.getBoundingClientRect();
      if (!txt || r.width < 1 || r.height < 1) continue;
      boxes.push({txt, l: r.left, r: r.right, t: r.top, b: r.bottom});
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      const w = Math.min(a.r, b.r) - Math.max(a.l, b.l);
      const h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      if (w > 1 && h > 1) out.push([plot.id, a.txt, b.txt]);
    }
  }
  return out;
}"""

# Every trace of every real-demand plot: its name and the sum of its values.
DEMAND_TRACES_JS = """() => [...document.querySelectorAll('section[data-demand] .js-plotly-plot')]
  .map(p => ({id: p.id, traces: p.data.map(t => ({name: t.name || '',
    total: (t.orientation === 'h' ? t.x : t.y).reduce((s, v) => s + (+v || 0), 0)}))}))"""


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory) -> Path:
    """A report from a small synthetic store (no devnet): fast checks of the page itself."""
    d = tmp_path_factory.mktemp("report")
    conn = duckdb.connect(str(d / "w.duckdb"))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=6_000, days=20))
    run(conn, world)
    out = write_report(conn, d / "report.html")
    conn.close()
    return out


@pytest.fixture(scope="module")
def report_path(devnet, tmp_path_factory) -> tuple[Path, Path]:
    """The report of the session devnet (default scenario) ingested and built: the data a
    person sees after `make demo`, self-dealing models with a negative net included."""
    from tests.metrics.conftest import ingest_devnet

    d = tmp_path_factory.mktemp("devnet-report")
    conn = ingest_devnet(devnet, d / "w.duckdb")
    try:
        out = write_report(conn, d / "report.html")
    finally:
        conn.close()
    return out, d / "w.duckdb"


def test_report_is_self_contained(synthetic_report):
    text = synthetic_report.read_text()
    assert "<script src" not in text  # plotly.js inlined: the machine has no internet
    assert "Key numbers" in text and "Real mainnet inferences" in text
    assert "does NOT cover" in text or "covers its costs" in text
    assert "Only on-chain gas counts as a cost" in text
    # A store that records no ingested network is not presented as real data either.
    assert 'id="data-notice"' in text and "Not real chain data" in text


def test_report_refuses_an_empty_warehouse(tmp_path):
    with pytest.raises(ReportError, match="olw metrics"):
        write_report(duckdb.connect(), tmp_path / "r.html")


def test_no_notice_for_a_real_network(tmp_path):
    from pipelines.report.html import source_notice

    conn = duckdb.connect()
    conn.execute("create schema raw")
    conn.execute("create table raw.networks (network VARCHAR, chain_id UINTEGER)")
    conn.execute("insert into raw.networks values ('openledger-mainnet', 1612)")
    assert source_notice(conn) is None
    conn.execute("insert into raw.networks values ('devnet-testnet', 161201)")
    notice = source_notice(conn)
    assert notice is not None and "devnet-testnet" in notice and "kind: devnet" in notice
    assert "openledger-mainnet" not in notice


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report_path):
    path, warehouse = report_path
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test installs it)")
    from playwright.sync_api import sync_playwright

    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        nets = dict(
            conn.execute(
                "select model_name, net_earnings_wei::DOUBLE from metrics.model_economics "
                "where chain_id = 1612"
            ).fetchall()
        )
        mainnet_total, testnet_total = conn.execute(
            "select sum(inference_count) filter (where chain_id = 1612 "
            "and traffic_class <> 'testnet'), sum(inference_count) filter (where chain_id = "
            "161201) from metrics.inference_daily"
        ).fetchall()[0]
    finally:
        conn.close()
    assert any(v < 0 for v in nets.values()), "the synthetic world must hold a losing model"
    assert testnet_total > 0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        page.wait_for_timeout(300)
        plots = page.locator(".js-plotly-plot").count()
        svgs = page.locator(".js-plotly-plot svg.main-svg").count()
        bars = page.locator(".js-plotly-plot g.trace.bars, .js-plotly-plot g.trace.scatter").count()
        # The devnet notice is on the first screen (inside the initial viewport).
        notice = page.locator("#data-notice")
        box = notice.bounding_box()
        notice_text = notice.inner_text()
        # The verdict per model, as the page states it.
        verdicts = page.evaluate(
            """() => [...document.querySelectorAll('#model-economics tbody tr')].map(r =>
                 [r.cells[0].textContent, +r.dataset.net, r.querySelector('.verdict')
                   .textContent])"""
        )
        overlaps = page.evaluate(OVERLAPS_JS)
        demand = page.evaluate(DEMAND_TRACES_JS)
        demand_rows = page.locator("#key-numbers tr[data-demand]").all_inner_texts()
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / "report-first-screen.png"))
            page.locator("#chart-economics").screenshot(
                path=str(Path(SHOTS) / "report-economics.png")
            )
        browser.close()

    assert plots == 7, plots
    assert svgs >= plots and bars >= 7
    assert all(u.startswith("file:") or u.startswith("data:") for u in requests), requests

    assert box is not None and box["y"] + box["height"] <= 800, box
    assert "Simulated data" in notice_text and "devnet-mainnet" in notice_text

    assert len(verdicts) == len(nets)
    losing = [(n, v) for n, net, v in verdicts if net < 0]
    assert losing and all(v == "no" for _, v in losing), losing
    assert {n.split(" (#")[0] for n, _ in losing} == {n for n, v in nets.items() if v < 0}

    assert overlaps == [], json.dumps(overlaps)[:2000]

    ids = {d["id"] for d in demand}
    assert {"plot-volume", "plot-economics", "plot-dapps"} <= ids, ids
    for plot in demand:
        names = [t["name"] for t in plot["traces"]]
        assert not any("testnet" in n.lower() for n in names), (plot["id"], names)
    for plot in (d for d in demand if d["id"] in ("plot-volume", "plot-dapps")):
        # Every mainnet inference once, and not one testnet inference.
        assert sum(t["total"] for t in plot["traces"]) == mainnet_total, plot
    assert demand_rows and not any("testnet" in r.lower() for r in demand_rows), demand_rows
    real_row = next(r for r in demand_rows if r.startswith("Real mainnet inferences"))
    assert f"of {int(mainnet_total):,}" in real_row
