from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.metrics import synthetic
from pipelines.report import ReportError, write_report
from tests.browser import ARGS, CHROMIUM
from tests.metrics.conftest import run


@pytest.fixture(scope="module")
def report_path(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report")
    conn = duckdb.connect(str(d / "w.duckdb"))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=6_000, days=20))
    run(conn, world)
    out = write_report(conn, d / "report.html")
    conn.close()
    return out


def test_report_is_self_contained(report_path):
    text = report_path.read_text()
    assert "<script src" not in text  # plotly.js inlined: the machine has no internet
    assert "Key numbers" in text and "Real mainnet inferences" in text
    assert "does NOT cover" in text or "covers its costs" in text


def test_report_refuses_an_empty_warehouse(tmp_path):
    with pytest.raises(ReportError, match="olw metrics"):
        write_report(duckdb.connect(), tmp_path / "r.html")


def test_report_renders_in_headless_chromium(report_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report_path.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        plots = page.locator(".js-plotly-plot").count()
        svgs = page.locator(".js-plotly-plot svg.main-svg").count()
        bars = page.locator(".js-plotly-plot g.trace.bars, .js-plotly-plot g.trace.scatter").count()
        browser.close()
    assert plots == 5, plots
    assert svgs >= plots and bars >= 5
    assert all(u.startswith("file:") or u.startswith("data:") for u in requests), requests
