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


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content hash: the file system's state."""
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


ATTACKS = [
    # EXPLAIN ANALYZE runs what it explains: a write, a setting, a download
    "explain analyze copy (select 1) to '{out}/stolen.csv'",
    "explain analyze copy (select 1) to '{exports}/planted.csv'",
    "explain analyze copy raw.blocks from '{out}/x.csv'",
    "explain /* hidden */ analyse set threads = 1",
    "EXPLAIN (FORMAT json) ANALYZE SET enable_external_access = true",
    "explain analyze install httpfs",
    "explain analyze load httpfs",
    "explain analyze attach '{out}/other.duckdb' as o",
    "explain analyze pragma enable_profiling",
    "explain analyze delete from raw.blocks",
    # reading files the user can read, by every table function that takes a path
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/hostname')",
    "select * from glob('/etc/*')",
    "select * from read_csv('/etc/passwd')",
    "select * from sniff_csv('/etc/passwd')",
    "select * from read_json('{out}/../secret.json')",
    "select * from read_text('{exports}/../secret.json')",
    "select * from read_parquet('https://127.0.0.1:9/x.parquet')",
    "select * from read_text('{home}/.duckdb/extensions')",
    # extensions and settings from inside a SELECT
    "select * from duckdb_extensions() where loaded",
    "select * from query('set enable_external_access = true')",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_sql_is_refused_or_neutralised(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    """Each attack exits non-zero with an error (never a traceback), and neither the warehouse
    nor any file around it (or the target folders) changes."""
    wh_dir = tmp_path / "wh"
    wh_dir.mkdir()
    wh = wh_dir / "w.duckdb"
    wh.write_bytes(sample.read_bytes())
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv").write_text("x\n1\n")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "secret.json").write_text('{"secret": 1}')
    monkeypatch.setenv("OLW_EXPORTS_DIR", str(exports))
    monkeypatch.setenv("OLW_LAKE_DIR", str(tmp_path / "lake"))
    sql = attack.format(out=out, exports=exports, home=Path.home())
    before = _tree(tmp_path)
    res = runner.invoke(app, ["query", sql, "--warehouse", str(wh)])
    assert res.exit_code != 0, res.output
    assert "error:" in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert _tree(tmp_path) == before
    # the warehouse still answers, with its rows
    assert run_query("select count(*) from raw.blocks", wh)[1] == [(10,)]


def test_allowed_folders_stay_readable(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock-down is not a blanket refusal: the exports folder (parquet shipped by
    `olw export`) is readable through `olw query`."""
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv").write_text("x\n41\n1\n")
    monkeypatch.setenv("OLW_EXPORTS_DIR", str(exports))
    sql = f"select sum(x) from read_csv('{exports}/a.csv')"
    assert run_query(sql, sample)[1] == [(42,)]


def test_query_timeout(sample: Path) -> None:
    res = runner.invoke(
        app,
        [
            "query",
            "select count(*) from range(1000000000000) t(i) where i % 7 = 3",
            "--warehouse",
            str(sample),
            "--timeout",
            "1",
        ],
    )
    assert res.exit_code == 1, res.output
    assert "stopped after 1 s (--timeout)" in res.output and "Traceback" not in res.output


def _holds(pid: int, path: Path) -> bool:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if Path(os.readlink(fd)) == path.resolve():
                return True
        except OSError:
            continue
    return False


def test_ctrl_c_stops_a_query_without_a_traceback(sample: Path) -> None:
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "query",
            "select count(*) from range(1000000000000) t(i) where i % 7 = 3",
            "--warehouse",
            str(sample),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _holds(proc.pid, sample):
        time.sleep(0.1)  # until the query has the warehouse open (start-up is slow on load)
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10, "Ctrl-C took too long to stop the query"
    assert proc.returncode == 130, err
    assert "Ctrl-C" in err and "Traceback" not in err and "RuntimeError" not in err


def test_the_connection_holds_without_the_statement_check(sample: Path, tmp_path: Path) -> None:
    """The DuckDB lock-down alone (no statement check) stops writes outside the allowed
    folders, setting changes and extensions."""
    import duckdb

    from pipelines.query_cli import lock_down

    con = duckdb.connect(str(sample), read_only=True)
    try:
        lock_down(con, sample)
        for st in [
            f"copy (select 1) to '{tmp_path}/x.csv'",
            "set enable_external_access = true",
            "set lock_configuration = false",
            "set allowed_directories = ['/']",
            "install httpfs",
            "load httpfs",
            "select * from read_text('/etc/hostname')",
        ]:
            with pytest.raises(duckdb.Error):
                con.execute(st)
    finally:
        con.close()
    assert list(tmp_path.iterdir()) == []
