"""Crashes: kill -9 the ingest process at 20 random moments during a backfill (and at 8 during
a backfill of a sparse chain, where most commits span empty blocks); after each restart the
warehouse holds exactly the node's logs up to its cursor (no duplicate, no gap), and after
completion exactly all of them."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from pipelines.store import connect
from tests.ingest.conftest import MAINNET, IngestChain
from tests.ingest.sparse import SparseChain
from tests.ingest.truth import node_keys, node_logs, warehouse_keys


# Each run is a forked child of this (already imported) process, so 20 restarts cost no
# interpreter start-up; small commits (at most 2 blocks or 50 logs) so a backfill spans many
# transactions and kills land between and inside them.
def _child(
    network: str,
    end: int,
    wh: str,
    conn: Connection,
    batch_logs: int = 50,
    max_blocks: int = 2,
    batch_s: float = 5.0,
) -> None:
    from pipelines.ingest import ingest_range

    conn.send("go")
    ingest_range(
        network,
        end=end,
        warehouse=wh,
        batch_logs=batch_logs,
        max_blocks=max_blocks,
        batch_s=batch_s,
        progress=lambda p: conn.send(p.cursor),
    )
    conn.send("done")


def _check_prefix(wh: Path, truth: set[tuple[int, str, int]]) -> int:
    """Warehouse logs == truth up to the logs cursor, and each transaction up to the receipts
    cursor has exactly one receipt; returns the logs cursor (-1 if none)."""
    if not wh.exists():
        return -1
    con = connect(wh, read_only=True, wait_s=10)
    try:
        if not con.execute(
            "select 1 from information_schema.tables where table_schema = 'raw' "
            "and table_name = 'transactions'"
        ).fetchall():
            return -1  # killed before the migrations committed: nothing ingested yet
        cursors = dict(con.execute("select stream, block_number from raw.cursors").fetchall())
        rc = int(cursors.get("receipts", -1))
        bad = con.execute(
            "select count(*) from raw.transactions t full join raw.receipts r using "
            "(chain_id, block_hash, tx_hash) where coalesce(t.block_number, r.block_number) <= ?"
            " and (t.tx_hash is null or r.tx_hash is null)",
            [rc],
        ).fetchall()[0][0]
        dup = con.execute(
            "select count(*) - count(distinct (block_hash, tx_hash)) from raw.receipts"
        ).fetchall()[0][0]
        tx_dup = con.execute(
            "select count(*) - count(distinct (block_hash, tx_hash)) from raw.transactions"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert (bad, dup, tx_dup) == (0, 0, 0), "receipts do not match transactions after a crash"
    cursor = int(cursors.get("logs", -1))
    assert rc <= cursor, "the receipts stream ran ahead of the logs"
    got = warehouse_keys(wh, 1612)
    assert len(got) == len(set(got)), "duplicate logs after a crash"
    assert set(got) == {k for k in truth if k[0] <= cursor}, "missing or extra logs vs cursor"
    return cursor


@pytest.mark.slow
def test_kill_9_at_random_moments(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kill_at_random_moments(ingest_chain, tmp_path, monkeypatch, kills_wanted=20, partial_min=10)


@pytest.mark.slow
def test_kill_9_at_random_moments_across_empty_stretches(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most of this chain's blocks hold none of our logs: every 30-block chunk is a commit of
    its own (batch_s=0), so most commits carry both cursors over blocks without any log or
    transaction of ours, and a kill inside one loses nothing."""
    _kill_at_random_moments(
        sparse_chain,
        tmp_path,
        monkeypatch,
        kills_wanted=8,
        partial_min=4,
        batch_logs=1,
        max_blocks=30,
        batch_s=0.0,
        head=sparse_chain.head,
    )


def _kill_at_random_moments(
    chain: IngestChain | SparseChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kills_wanted: int,
    partial_min: int,
    batch_logs: int = 50,
    max_blocks: int = 2,
    batch_s: float = 5.0,
    head: int | None = None,
) -> None:
    chain.apply(monkeypatch, tmp_path / "unused.duckdb")
    head = chain.head if head is None else head
    truth = node_keys(node_logs(chain.url, chain.addresses, 0, head))
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20)
    args = (batch_logs, max_blocks, batch_s)
    kills = 0
    partial = 0  # kills that left a backfill half done (the interesting ones)
    runs = 0
    wh = tmp_path / "w0.duckdb"
    started = time.monotonic()
    while kills < kills_wanted:
        assert time.monotonic() - started < 240, "crash test is too slow"
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(MAINNET, head, str(wh), child, *args))
        proc.start()
        child.close()
        # a random moment: after a random number of commits (0 = during start-up), plus a
        # random offset that lands inside fetching, decoding or committing
        finished = False
        for _ in range(1 + rng.randrange(6)):
            try:
                if parent.recv() == "done":
                    finished = True
                    break
            except EOFError:
                finished = True
                break
        if not finished:
            time.sleep(rng.uniform(0.0, 0.15))
        if not finished and proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            kills += 1
            cur = _check_prefix(wh, truth)
            partial += 0 <= cur < head
        else:
            proc.join()
            assert proc.exitcode == 0
            cur = _check_prefix(wh, truth)
            assert cur == head
        if cur == head:  # complete: start another backfill to kill
            runs += 1
            wh = tmp_path / f"w{runs}.duckdb"
        parent.close()
    assert partial >= partial_min, f"only {partial} of {kills} kills landed mid-backfill"
    # finish the last one
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(MAINNET, head, str(wh), child, *args))
    proc.start()
    proc.join()
    assert proc.exitcode == 0
    assert _check_prefix(wh, truth) == head
    got = warehouse_keys(wh, 1612)
    assert sorted(got) == sorted(truth)
    con = connect(wh, read_only=True, wait_s=10)
    try:
        streams = dict(con.execute("select stream, block_number from raw.cursors").fetchall())
    finally:
        con.close()
    assert streams == {"logs": head, "receipts": head}
