"""A real browser (Debian's chromium, headless, via Playwright) opens the UI of `dagster dev`
served on loopback and finds the asset graph and the schedules."""

from __future__ import annotations

import shutil
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.query_cli import start_dagster_dev, stop_process_group
from tests.browser import ARGS, CHROMIUM

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `make test` installs it (apt-get install -y chromium)")
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml", home)
    port = free_port()
    log = open(tmp / "dagster.log", "wb")  # noqa: SIM115 (closed in the finally below)
    proc = start_dagster_dev(
        port,
        home,
        env={"OLW_AUTOMATION": "off", "OLW_WAREHOUSE": str(tmp / "w.duckdb")},
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited: {(tmp / 'dagster.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"UI not up in 240 s: {(tmp / 'dagster.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        stop_process_group(proc)
        log.close()
        assert proc.poll() is not None, "dagster dev survived its process group being stopped"


def test_ui_shows_asset_graph_and_schedules(dagster_ui: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(180_000)
            # The code location loads (dbt manifest, 40-odd assets) before the graph renders.
            page.goto(f"{dagster_ui}/asset-groups")
            page.get_by_text("Global asset lineage").first.wait_for()
            # The graph opens with one collapsed node per group: raw → decoded → dbt layers.
            for group in ("raw", "decoded", "staging", "intermediate", "marts"):
                page.get_by_text(group, exact=True).first.wait_for()

            page.goto(f"{dagster_ui}/automation")
            page.get_by_text("tail_ingest__devnet_mainnet__every_minute").first.wait_for()
            page.get_by_text("new_finalized_blocks").first.wait_for()
        finally:
            browser.close()
