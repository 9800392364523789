"""Faults: with a proxy injecting errors, 429s, timeouts, truncation and "too many results" at
20 %, the warehouse still equals the node's truth; a dead node gives an error naming the range."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.chain import ChainReader, RetryPolicy, RpcClient, RpcUnavailable
from pipelines.chain.testing import FAULTS, FaultProxy
from pipelines.config import get_network
from pipelines.ingest import ingest_range
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
