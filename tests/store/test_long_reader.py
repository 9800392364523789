"""A long `olw query` while `olw ingest --follow` runs: the follower keeps committing during the
query (the query moved to a private snapshot), is alive afterwards and catches up, and the query
answers from one snapshot. ``OLW_LONG_READER_S`` sets the query's length (12 s in the suite;
the acceptance run used 60)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.devnet.harness import running_devnet
from tests.ingest.traffic import Node, bulk_transfers, contracts, every_event
from tests.ingest.truth import node_keys, node_logs, warehouse_keys

MAINNET = "devnet-mainnet"
QUERY_S = float(os.environ.get("OLW_LONG_READER_S", "12"))


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_devnet(tmp_path_factory.mktemp("long-reader")) as h:
        node = Node(h.urls[MAINNET])
        c = contracts(h.contracts_dir, MAINNET)
        every_event(node, c)
        bulk_transfers(node, c, blocks=20, per_tx=20, txs=2)
        yield h, node, c


def _state(wh: Path) -> tuple[int, int, int] | None:
    """(logs cursor, raw.logs rows, logs the journal says were appended), read briefly."""
    try:
        con = duckdb.connect(str(wh), read_only=True)
    except duckdb.Error:
        return None  # the writer holds it for a commit this instant
    try:
        return con.execute(
            "select (select max(block_number) from raw.cursors where stream = 'logs'), "
            "(select count(*) from raw.logs), (select coalesce(sum(log_count), 0) "
            "from raw.ingest_journal where action = 'append')"
        ).fetchone()  # type: ignore[return-value]
    except duckdb.Error:
        return None  # not migrated yet
    finally:
        con.close()


def _spin_rows(seconds: float) -> int:
    """Rows of ``range`` a count runs through in about ``seconds`` on this machine right now."""
    con = duckdb.connect()
    n = 20_000_000
    t0 = time.monotonic()
    con.execute(f"select count(*) from range({n}) t(i) where hash(i) % 3 = 0").fetchall()
    rate = n / max(1e-3, time.monotonic() - t0)
    con.close()
    return int(rate * seconds)


@pytest.mark.slow
def test_long_query_while_following(chain: Any, tmp_path: Path) -> None:
    h, node, c = chain
    wh = tmp_path / "w.duckdb"
    env = {**os.environ, **h.env, "OLW_WAREHOUSE": str(wh)}
    cli = [sys.executable, "-m", "pipelines.cli"]
    follower = subprocess.Popen(
        [*cli, "ingest", "--network", MAINNET, "--follow", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:

        def wait_caught_up(timeout: float) -> tuple[int, int, int]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                assert follower.poll() is None, follower.communicate()[1][-3000:]
                st = _state(wh)
                if st and st[0] == node.head():
                    return st
                time.sleep(0.2)
            raise AssertionError(f"follower did not catch up: {_state(wh)} vs {node.head()}")

        before = wait_caught_up(120)
        spin = _spin_rows(QUERY_S)
        sql = (
            "select (select count(*) from raw.logs) as logs, "
            f"(select count(*) from range({spin}) t(i) where hash(i) % 3 = 0) as spin, "
            "(select coalesce(sum(log_count), 0) from raw.ingest_journal "
            "where action = 'append') as journaled, "
            "(select max(block_number) from raw.cursors where stream = 'logs') as cursor"
        )
        t0 = time.monotonic()
        reader = subprocess.Popen(
            [*cli, "query", sql, "--format", "csv", "--warehouse", str(wh)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        cursors: list[int] = []
        while reader.poll() is None:  # new blocks keep coming while the query runs
            bulk_transfers(node, c, blocks=1, per_tx=10, txs=1)
            st = _state(wh)
            if st:
                cursors.append(st[0])
            time.sleep(0.5)
        out, err = reader.communicate()
        took = time.monotonic() - t0
        assert reader.returncode == 0, err
        assert took >= QUERY_S * 0.5, f"the query ran {took:.1f} s only"
        assert "moved to a snapshot" in err
        logs, _, journaled, cursor = (int(v) for v in out.splitlines()[1].split(","))
        # one snapshot: its rows are exactly the batches its journal says were committed, and
        # exactly the chain's logs up to its cursor (no later block leaked into it)
        assert logs == journaled and logs >= before[1]
        assert logs == len(node_logs(node.url, sorted(c.values()), end=cursor))
        print(f"query {took:.1f} s; cursor {before[0]} -> {cursor} (snapshot) -> {cursors}")
        # the follower committed while the query ran (it did not wait for the reader)
        during = [x for x in cursors if x > cursor]
        assert len(set(during)) >= 2, (cursor, cursors)
        assert follower.poll() is None, "the follower died while a query ran"
        after = wait_caught_up(120)
        assert after[1] == after[2] > logs
        truth = node_keys(node_logs(node.url, sorted(c.values())))
        assert set(warehouse_keys(wh, 1612)) == truth
    finally:
        if follower.poll() is None:
            os.killpg(follower.pid, signal.SIGINT)
        try:
            _, ferr = follower.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(follower.pid, signal.SIGKILL)
            _, ferr = follower.communicate()
    assert follower.returncode == 0, ferr[-3000:]
    assert "locked" not in ferr
