"""Faults: with a proxy injecting errors, 429s, timeouts, truncation and "too many results" at
20 %, the warehouse still equals the node's truth; a dead node gives an error naming the range.

Lies (well-formed answers that are wrong: a log twice, a log marked removed, logs past the
asked range, no logs for blocks not yet indexed, a header with a wrong parent) are each
detected and fetched again, and the warehouse equals the node's truth; a parent link that
never fits ends in a clear error naming the block, within seconds, with nothing retracted
and the warehouse released."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.chain import ChainReader, RetryPolicy, RpcClient, RpcUnavailable
from pipelines.chain.testing import FAULTS, LIES, FaultProxy
from pipelines.config import get_network
from pipelines.ingest import InconsistentChain, ingest_range
from pipelines.store import connect
from tests.ingest.conftest import MAINNET, IngestChain
from tests.ingest.truth import node_keys, node_logs, per_block, warehouse_keys

FAST = RetryPolicy(timeout_s=0.5, deadline_s=30, base_backoff_s=0.01, max_backoff_s=0.3)


def test_ingest_through_faults_equals_truth(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    ingest_chain.apply(monkeypatch, wh)
    with FaultProxy(ingest_chain.url, rate=0.2, delay_s=0.8, seed=3, max_span=3) as proxy:
        s = ingest_range(
            MAINNET, end=ingest_chain.head, rpc_url=proxy.url, policy=FAST, batch_logs=1000
        )
        counts = dict(proxy.counts)
    for f in FAULTS:
        assert counts[f] > 0, f"fault {f} never injected: {counts}"
    assert s.rpc["retries"] > 0
    truth = node_keys(node_logs(ingest_chain.url, ingest_chain.addresses, 0, ingest_chain.head))
    got = warehouse_keys(wh, 1612)
    assert len(got) == len(set(got))
    assert set(got) == truth and per_block(got) == per_block(truth)
    con = connect(wh, read_only=True)
    try:
        txs, receipts, matched = con.execute(
            "select (select count(*) from raw.transactions), (select count(*) from "
            "raw.receipts), (select count(*) from raw.transactions join raw.receipts "
            "using (chain_id, block_hash, tx_hash))"
        ).fetchall()[0]
        emitting = con.execute(
            "select count(distinct (block_hash, tx_hash)) from raw.logs"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert txs == receipts == matched == emitting, "receipts through faults are incomplete"


def _assert_equals_truth(wh: Path, chain: IngestChain) -> None:
    truth = node_keys(node_logs(chain.url, chain.addresses, 0, chain.head))
    got = warehouse_keys(wh, 1612)
    assert len(got) == len(set(got)), "duplicate logs"
    assert set(got) == truth and per_block(got) == per_block(truth)
    con = connect(wh, read_only=True)
    try:
        blocks = con.execute("select block_number, block_hash, parent_hash from raw.blocks")
        stored = blocks.fetchall()
        removed, dead = con.execute(
            "select (select count(*) from raw.logs where removed), "
            "(select count(*) from raw.dead_letters)"
        ).fetchall()[0]
        decoded = sum(
            con.execute(f'select count(*) from decoded."{t}"').fetchall()[0][0]
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'decoded'"
            ).fetchall()
        )
    finally:
        con.close()
    assert removed == 0
    assert decoded + dead == len(got), "each log stored once is decoded once (or dead)"
    node = RpcClient(chain.url)
    try:
        canon = node.batch([("eth_getBlockByNumber", [hex(n), False]) for n, _, _ in stored])
    finally:
        node.close()
    for (n, h, parent), c in zip(stored, canon, strict=True):
        assert (h, parent) == (c["hash"], c["parentHash"]), f"block {n} stored wrong"


def test_lies_are_detected_and_refetched(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    ingest_chain.apply(monkeypatch, wh)
    lies = dict.fromkeys(LIES, 2)
    with FaultProxy(ingest_chain.url, rate=0.0, lies=lies, unindexed=12, max_span=8) as proxy:
        s = ingest_range(
            MAINNET, end=ingest_chain.head, rpc_url=proxy.url, policy=FAST, batch_logs=1000
        )
        lied = dict(proxy.lied)
    assert lied == lies, f"not every lie was told: {lied}"
    # a lie told to a re-fetch counts as a retry, one told to a header read only for its
    # logsBloom misleads nothing: the counts are lower bounds of a sort, the truth is below
    assert s.rpc.get("refetched", 0) >= 3 and s.rpc["retries"] >= 1, s.rpc
    assert s.reorgs == 0, "a lie was taken for a reorg"
    _assert_equals_truth(wh, ingest_chain)


def test_parent_link_that_never_fits_is_a_clear_error(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    ingest_chain.apply(monkeypatch, wh)
    held = ingest_chain.head - 20
    ingest_range(MAINNET, end=held, warehouse=wh)
    before = warehouse_keys(wh, 1612)
    with FaultProxy(ingest_chain.url, rate=0.0, never_fits=held + 1) as proxy:
        t0 = time.monotonic()
        with pytest.raises(InconsistentChain, match=f"block {held + 1}") as err:
            ingest_range(MAINNET, rpc_url=proxy.url, policy=FAST, warehouse=wh, max_refits=4)
        took = time.monotonic() - t0
        assert proxy.never_fits_served >= 4
    assert took < 20, f"gave up only after {took:.1f}s"
    assert "nothing was retracted" in str(err.value)
    assert sorted(warehouse_keys(wh, 1612)) == sorted(before)
    con = connect(wh, read_only=False, wait_s=0.5)  # the lock is free
    try:
        actions = [a for (a,) in con.execute("select action from raw.ingest_journal").fetchall()]
    finally:
        con.close()
    assert "retract" not in actions


def test_unindexed_blocks_are_waited_for_with_the_warehouse_released(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that keeps answering no logs for its newest blocks: ingestion waits (it
    asks again with backoff), another process can open the warehouse meanwhile, and once the
    provider has caught up everything is there."""
    wh = tmp_path / "w.duckdb"
    ingest_chain.apply(monkeypatch, wh)
    out: dict[str, Any] = {}
    with FaultProxy(ingest_chain.url, rate=0.0, lies={"empty": 10**6}, unindexed=12) as proxy:

        def run() -> None:
            try:
                out["summary"] = ingest_range(  # small commits: the lease is open at a wait
                    MAINNET,
                    end=ingest_chain.head,
                    rpc_url=proxy.url,
                    policy=FAST,
                    warehouse=wh,
                    batch_logs=1000,
                )
            except BaseException as exc:  # surfaced below
                out["error"] = exc

        t = threading.Thread(target=run, daemon=True)
        t.start()
        deadline = time.monotonic() + 60
        while proxy.lied["empty"] < 2 and time.monotonic() < deadline and t.is_alive():
            time.sleep(0.05)
        assert proxy.lied["empty"] >= 2 and t.is_alive(), out
        time.sleep(1.2)  # past pipelined's wait_s: the warehouse is released
        probe = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", wh],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.returncode == 0, f"warehouse held while waiting: {probe.stderr[-300:]}"
        with proxy.lock:
            proxy.lies_left["empty"] = 0  # the provider has caught up
        t.join(60)
    assert not t.is_alive() and "error" not in out, out
    _assert_equals_truth(wh, ingest_chain)


def test_too_many_results_bisects_and_adapts(ingest_chain: IngestChain) -> None:
    with FaultProxy(ingest_chain.url, rate=0.0, max_span=4) as proxy:
        rpc = RpcClient(proxy.url, FAST)
        reader = ChainReader(get_network_with(ingest_chain), rpc, ingest_chain.addresses)
        logs = reader.get_logs(0, ingest_chain.head)
        assert reader.adaptive.current() <= 4
        rpc.close()
    got = {
        (int(n), h, int(i))
        for n, h, i in zip(
            logs.column("block_number").to_pylist(),
            logs.column("block_hash").to_pylist(),
            logs.column("log_index").to_pylist(),
            strict=True,
        )
    }
    assert got == node_keys(
        node_logs(ingest_chain.url, ingest_chain.addresses, 0, ingest_chain.head)
    )


def test_persistent_failure_names_the_range(ingest_chain: IngestChain) -> None:
    with FaultProxy(ingest_chain.url, rate=1.0, faults=("http500",)) as proxy:
        rpc = RpcClient(proxy.url, RetryPolicy(timeout_s=0.5, deadline_s=1.0, base_backoff_s=0.01))
        reader = ChainReader(get_network_with(ingest_chain), rpc, ingest_chain.addresses)
        with pytest.raises(RpcUnavailable, match=r"eth_getLogs blocks 3\.\.9 .*HTTP 500"):
            reader.get_logs(3, 9)
        rpc.close()


def get_network_with(chain: IngestChain):  # type: ignore[no-untyped-def]
    mp = pytest.MonkeyPatch()
    chain.handle.apply(mp)
    try:
        return get_network(MAINNET)
    finally:
        mp.undo()
