"""Long commands show progress on a terminal: each runs under a pseudo-terminal (`script`)
and its output must hold a progress line (stage, counts) and say what it wrote."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.metrics import synthetic
from tests.metrics.conftest import run

OLW = Path(sys.executable).parent / "olw"
SCRIPT = shutil.which("script")


def under_pty(args: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run `olw ARGS` with a pseudo-terminal as stdout/stderr; the terminal's output, with
    carriage-return redraws split into lines."""
    if SCRIPT is None:
        pytest.fail("`script` (util-linux) missing: apt-get install -y bsdutils")
    cmd = " ".join([str(OLW), *(f"'{a}'" for a in args)])
    out = subprocess.run(
        [SCRIPT, "-qec", cmd, "/dev/null"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "COLUMNS": "200"},
        timeout=timeout,
    )
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.stdout).replace("\r", "\n")
    assert out.returncode == 0, text[-3000:]
    return text


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A synthetic store with the metrics built."""
    path = tmp_path_factory.mktemp("progress") / "pristine.duckdb"
    conn = duckdb.connect(str(path))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=4_000, days=12))
    run(conn, world)
    conn.close()
    return path


@pytest.fixture(scope="module")
def warehouse(pristine) -> Path:
    """The same store with every day final, so there is something to export."""
    path = pristine.with_name("w.duckdb")
    shutil.copy(pristine, path)
    conn = duckdb.connect(str(path))
    # What finalized_before() reads: each chain's finalized block, one day past the data.
    conn.execute(
        "create table raw.blocks as select chain_id, 100::UBIGINT as block_number, "
        "(max(day) + 1)::TIMESTAMP as block_timestamp from metrics.inference_daily group by 1"
    )
    conn.execute(
        "create table raw.ingest_journal as select row_number() over ()::UBIGINT as journal_id, "
        "chain_id, 100::UBIGINT as finalized_block from raw.blocks"
    )
    conn.close()
    return path


def test_report_shows_steps_and_its_path(warehouse, tmp_path):
    out = under_pty(["report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r.html")])
    assert re.search(r"report · \d+/8 steps", out), out[-2000:]
    assert f"report written: {tmp_path / 'r.html'}" in out.replace("\n", "")


def test_export_shows_datasets_partitions_and_what_it_wrote(warehouse, tmp_path):
    out = under_pty(["export", "--warehouse", str(warehouse), "--out", str(tmp_path / "x")])
    assert re.search(r"export \d+/\d+ inference_daily", out), out[-2000:]
    assert re.search(r"\d+/\d+ partitions", out), out[-2000:]
    assert f"under {tmp_path / 'x'}" in out.replace("\n", "")


def test_metrics_shows_a_heartbeat(pristine, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(pristine, copy)
    out = under_pty(["metrics", "--warehouse", str(copy)])
    assert re.search(r"metrics \((full|incremental)\): updating the marts · .*elapsed", out), out


@pytest.mark.slow
def test_devnet_simulate_and_ingest_show_progress(tmp_path):
    from pipelines.devnet.harness import running_devnet

    with running_devnet(tmp_path / "devnet") as handle:
        out = under_pty(["devnet", "simulate", "--scenario", "smoke"], env=handle.env)
        # Ingesting what was just simulated: the progress bar counts blocks and logs.
        ingested = under_pty(["ingest", "--network", "devnet-mainnet"], env=handle.env)
    assert re.search(r"devnet-mainnet .*block [\d,]+ .*blocks/s .*logs/s", ingested), ingested[
        -2000:
    ]
    assert "simulate smoke · " in out, out[-2000:]
    assert re.search(r"simulate smoke · [\d,]+ blocks · .*blocks/s", out), out[-2000:]
    assert "ground truth:" in out
