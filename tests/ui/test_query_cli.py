"""`olw query`: read-only by construction, and usable while ingestion commits batches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.devnet.harness import DevnetHandle
from pipelines.quality.sample import build_sample_warehouse
from pipelines.query_cli import QueryRefused, check_read_only, run_query

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_warehouse(tmp_path_factory.mktemp("query") / "w.duckdb")


@pytest.mark.parametrize(
    "sql",
    [
        "insert into raw.logs select * from raw.logs",
        "update raw.cursors set block_number = 0",
        "delete from raw.blocks",
        "drop table raw.blocks",
        "create table x as select 1",
        "copy (select 1) to '/tmp/olw-out.csv'",
        "attach '/tmp/other.duckdb' as o",
        "select 1; delete from raw.blocks",
        "checkpoint",
        "pragma enable_profiling",
    ],
)
def test_write_statements_are_refused(sample: Path, sql: str) -> None:
    with pytest.raises(QueryRefused, match="read-only"):
        check_read_only(sql)
    res = runner.invoke(app, ["query", sql, "--warehouse", str(sample)])
    assert res.exit_code == 2
    assert "refused" in res.output and "read-only" in res.output


def test_refused_writes_change_nothing(sample: Path) -> None:
    before = run_query("select count(*) from raw.blocks", sample)[1]
    runner.invoke(app, ["query", "select 1; delete from raw.blocks", "--warehouse", str(sample)])
    assert run_query("select count(*) from raw.blocks", sample)[1] == before == [(10,)]


@pytest.mark.parametrize(
    "sql",
    [
        "select 1",
        "with a as (select 2) select * from a",
        "from raw.blocks",
        "describe raw.logs",
        "show tables",
        "summarize raw.blocks",
        "explain select 1",
    ],
)
def test_read_statements_pass(sample: Path, sql: str) -> None:
    check_read_only(sql)
    res = runner.invoke(app, ["query", sql, "--warehouse", str(sample)])
    assert res.exit_code == 0, res.output


def test_prints_a_table(sample: Path) -> None:
    res = runner.invoke(
        app,
        [
            "query",
            "select block_number, block_hash from raw.blocks order by 1 limit 3",
            "--warehouse",
            str(sample),
        ],
    )
    assert res.exit_code == 0
    assert "block_number" in res.output and "0x" in res.output and "(3 rows)" in res.output


def test_missing_warehouse_is_an_actionable_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["query", "select 1", "--warehouse", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 1 and "does not exist" in res.output


@pytest.mark.slow
def test_query_while_ingesting(devnet: DevnetHandle, tmp_path: Path) -> None:
    """A writer ingests the devnet (several commits) while queries run: every query answers,
    sees only whole batches (rows == what the journal says was committed), and the writer
    finishes without a lock error."""
    warehouse = tmp_path / "w.duckdb"
    env = {**os.environ, **devnet.env, "OLW_WAREHOUSE": str(warehouse)}
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pipelines.ingest import ingest_range; "
            # one block per request, one request at a time: a backfill of many small
            # commits that spans several lock leases, so readers get in between them
            "s = ingest_range('devnet-mainnet', batch_logs=5000, batch_s=0.5, workers=1, "
            "max_blocks=1); "
            "print('commits', s.commits)",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[int] = []
    consistent_sql = (
        "select (select count(*) from raw.logs), "
        "(select coalesce(sum(log_count), 0) from raw.ingest_journal where action = 'append')"
    )
    try:
        while writer.poll() is None:
            if not warehouse.exists():
                time.sleep(0.2)
                continue
            try:
                _, rows = run_query(consistent_sql, warehouse, wait_s=30)
            except Exception as exc:  # the schema may not be migrated for the first instant
                if "does not exist" in str(exc) and not seen:
                    time.sleep(0.2)
                    continue
                raise
            logs, journaled = rows[0]
            assert logs == journaled, "a reader saw part of a batch"
            assert not seen or logs >= seen[-1]
            seen.append(int(logs))
            time.sleep(0.2)
    finally:
        out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-3000:]
    commits = int(out.split()[-1])
    assert commits >= 3, out
    # Readers got in between commits: they saw the data grow, not just the end state.
    assert len({n for n in seen if n > 0}) >= 2, seen
