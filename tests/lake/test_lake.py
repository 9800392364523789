"""Sealed history in the lake: concurrent writers, a SIGKILLed one, a partition sealed twice;
the lake equals the chain, polars and DuckDB agree, and `olw query` over history + tail equals
a single-store ingest of the same blocks. Then the many-machine form: a PostgreSQL catalog
filled by `olw backfill --parallel 2` (a Dagster run, one process per partition)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from pipelines import query_cli
from pipelines.config import REPO_ROOT
from pipelines.devnet.harness import patched_env
from pipelines.ingest import ingest_range
from pipelines.lake import LakeSettings, keys_between, open_catalog, open_with_history, watermarks
from pipelines.lake.views import read_markers
from pipelines.query_cli import run_query
from tests.ingest.truth import node_keys, node_logs
from tests.lake.conftest import BIG_AMOUNTS, MAINNET, PARTITIONS, LakeChain
from tests.lake.postgres import running_postgres

pytestmark = pytest.mark.slow
CHAIN_ID = 1612
STORE_TABLES = ("raw.blocks", "raw.logs", "raw.transactions", "raw.receipts", "raw.dead_letters")


def query_app() -> typer.Typer:
    """`olw query` and `olw backfill` as the CLI registers them."""
    app = typer.Typer()
    query_cli.register(app)
    return app


def lake_env(chain: LakeChain, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **chain.handle.env,
        "OLW_LAKE_DIR": str(tmp / "lake"),
        "OLW_LAKE_PARTITION_BLOCKS": str(chain.size),
        "OLW_WAREHOUSE": str(tmp / "tail.duckdb"),
        **extra,
    }


def writer(keys: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.lake", "seal", MAINNET, *keys],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def lake_counts(catalog: Any) -> dict[str, tuple[int, int]]:
    """Per lake table: (rows by polars' scan_iceberg, rows by DuckDB over its data files)."""
    out = {}
    for ns in ("raw", "decoded"):
        for ident in catalog.list_tables(ns):
            table = catalog.load_table(ident)
            n_polars = pl.scan_iceberg(table).select(pl.len()).collect().item()
            files = [t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()]
            n_duck = 0
            if files:
                con = duckdb.connect()
                (n_duck,) = con.execute(f"select count(*) from read_parquet({files})").fetchall()[0]
                con.close()
            out[f"{ns}.{ident[-1]}"] = (int(n_polars), int(n_duck))
    return out


def lake_log_keys(catalog: Any) -> list[tuple[int, str, int]]:
    logs = catalog.load_table(("raw", "logs")).scan().to_arrow()
    cols = [logs.column(c).to_pylist() for c in ("block_number", "block_hash", "log_index")]
    return [(int(n), h, int(i)) for n, h, i in zip(*cols, strict=True)]


def store_queries(path: Path) -> dict[str, str]:
    """For every raw/decoded table of a store: a query of all its rows in a fixed order, without
    the local journal id (boundary headers differ between fetch plans: blocks with logs only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_schema in ('raw', 'decoded') "
            "group by all"
        ).fetchall()
    finally:
        con.close()
    out = {}
    for name, cols in rows:
        if name not in STORE_TABLES and not name.startswith("decoded."):
            continue
        keep = ", ".join(f'"{c}"' for c in cols if c != "journal_id")
        where = " where has_logs" if name == "raw.blocks" else ""
        out[name] = f"select {keep} from {name}{where} order by all"
    return out


def direct(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_three_writers_one_killed_seal_history_that_reads_as_one_store(
    lake_chain: LakeChain, tmp_path: Path
) -> None:
    chain = lake_chain
    env = lake_env(chain, tmp_path)
    keys = keys_between(0, chain.sealed_end, chain.size)
    assert len(keys) == PARTITIONS
    # three writers; the third seals keys[1] a second time; the second is killed and restarted
    plans = [[keys[0], keys[1]], [keys[2], keys[3]], [keys[4], keys[5], keys[1]]]
    procs = [writer(p, env) for p in plans]
    victim = procs[1]
    assert victim.stdout is not None
    victim.stdout.readline()  # its first partition is sealed: the kill lands mid-partition
    delay = random.uniform(0.0, 1.5)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL, f"writer 2 ended before the kill ({delay:.2f}s)"
    procs[1] = writer(plans[1], env)
    for p, plan in zip(procs, plans, strict=True):
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"writer of {plan} failed: {err.decode()[-2000:]}"

    with patched_env(env):
        s = LakeSettings.from_env()
        catalog = open_catalog(s, create=False)
        markers = read_markers(catalog)
        assert sorted(int(m["partition_start"]) for m in markers) == [
            i * chain.size for i in range(PARTITIONS)
        ], "one marker per partition, the twice-sealed one included"
        mark = watermarks(catalog)[CHAIN_ID]
        assert (mark.start, mark.block, mark.partitions) == (0, chain.sealed_end, PARTITIONS)

        truth = node_keys(node_logs(chain.url, chain.addresses, 0, chain.sealed_end))
        got = lake_log_keys(catalog)
        assert len(got) == len(set(got)), "every log key once"
        assert set(got) == truth, "the lake's logs are the chain's logs exactly"
        assert sum(int(m["log_count"]) for m in markers) == len(truth)

        counts = lake_counts(catalog)
        assert counts["raw.logs"] == (len(truth), len(truth))
        for table, (n_polars, n_duck) in counts.items():
            assert n_polars == n_duck, f"{table}: polars {n_polars} rows, DuckDB {n_duck}"
        assert counts["decoded.open_token__transfer"][0] > 2000

        # the local tail starts at the watermark; a second store ingests everything alone
        tail = tmp_path / "tail.duckdb"
        single = tmp_path / "single.duckdb"
        ingest_range(MAINNET, chain.sealed_end + 1, chain.head, tail, rpc_url=chain.url)
        ingest_range(MAINNET, None, chain.head, single, rpc_url=chain.url)
        (lowest,) = direct(tail, "select min(block_number) from raw.blocks")[0]
        assert lowest == chain.sealed_end + 1

        both = open_with_history(tail)  # what `olw query` opens: history + the tail
        twice = open_with_history(single)  # a local store that also holds the sealed blocks
        assert both is not None and twice is not None
        try:
            for name, sql in store_queries(single).items():
                want = direct(single, sql)
                assert both.execute(sql).fetchall() == want, f"{name}: history + tail differs"
                assert twice.execute(sql).fetchall() == want, f"{name}: counted twice"
            big = "from decoded.open_token__approval where value >= 2::uhugeint ** 127"
            rows = both.execute(f"select value, block_number {big} order by 1").fetchall()
            assert [int(v) for v, _ in rows] == list(BIG_AMOUNTS), "amounts past 2^127 exact"
            assert all(b <= chain.sealed_end for _, b in rows), "and they are sealed history"
        finally:
            both.close()
            twice.close()

        (n_logs,) = direct(single, "select count(*) from raw.logs")[0]
        _, rows = run_query("select count(*) from raw.logs", tail)
        assert rows == [(n_logs,)]
        res = CliRunner().invoke(
            query_app(), ["query", "select count(*) from raw.logs", "--format", "csv"], env=env
        )
        assert res.exit_code == 0, res.output
        assert res.stdout.splitlines()[1] == str(n_logs)


def test_postgres_catalog_filled_by_a_parallel_dagster_backfill(
    lake_chain: LakeChain, tmp_path: Path
) -> None:
    chain = lake_chain
    size = chain.size * 3  # two partitions, run side by side
    with running_postgres() as url:
        env = lake_env(
            chain,
            tmp_path,
            OLW_LAKE_CATALOG_URI=url,
            OLW_LAKE_WAREHOUSE=(tmp_path / "objects").as_uri(),
            OLW_LAKE_PARTITION_BLOCKS=str(size),
        )
        res = CliRunner().invoke(
            query_app(),
            ["backfill", "--network", MAINNET, "--from", "2025-01-01", "--to", "2030-12-31",
             "--parallel", "2", "--dagster-home", str(tmp_path / "dagster")],
            env=env,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert "the local tail starts at" in res.output
        with patched_env(env):
            catalog = open_catalog(create=False)
            assert catalog.engine.url.get_backend_name() == "postgresql"
            markers = read_markers(catalog)
            fin = chain.head - 12
            want = keys_between(0, fin, size)
            assert len(want) >= 2
            assert sorted(int(m["partition_start"]) for m in markers) == [
                int(k.split("-")[0]) for k in want
            ]
            end = int(want[-1].split("-")[1])
            got = lake_log_keys(catalog)
            assert sorted(got) == sorted(node_keys(node_logs(chain.url, chain.addresses, 0, end)))
            for table, (n_polars, n_duck) in lake_counts(catalog).items():
                assert n_polars == n_duck, table
            catalog.engine.dispose()
