"""The native rows (every transaction, internal transfers) follow the logs' exactly-once and
reorg rules: a reorg retracts them with the logs, and a kill -9 at random moments never
leaves a duplicate or a gap."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from pipelines.config import NativeConfig, NetworkConfig, get_network
from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.ingest.traffic import DEPLOYER, Node, calldata
from tests.real.conftest import E18, OTHER, REAL_AT, USER, deploy, start_anvil, stop_anvil


def _traffic(node: Node, blocks: int, salt: int) -> None:
    """Blocks of WOPEN deposits and withdrawals (logs + internal transfers) and plain value
    transfers (no logs at all)."""
    w = REAL_AT["WOPEN"]
    for b in range(blocks):
        node.call("evm_setAutomine", False)
        node.batch(
            [
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": USER,
                            "to": w,
                            "data": calldata("deposit()"),
                            "value": hex(E18 + b),
                            "gas": hex(200_000),
                        }
                    ],
                ),
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": USER,
                            "to": w,
                            "gas": hex(200_000),
                            "data": calldata("withdraw(uint256)", E18 // 2 + b),
                        }
                    ],
                ),
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": DEPLOYER,
                            "to": OTHER,
                            "gas": hex(21_000),
                            "value": hex(salt * 1000 + b + 1),
                        }
                    ],
                ),
            ]
        )
        node.call("evm_mine")
        node.call("evm_setAutomine", True)


def _net() -> NetworkConfig:
    return replace(
        get_network("openledger-mainnet"), native=NativeConfig(transactions=True, traces="debug")
    )


def _dump(node: Node, upto: int) -> tuple[set[tuple], set[tuple]]:
    txs, internal = set(), set()
    for n in range(upto + 1):
        b = node.call("eth_getBlockByNumber", hex(n), True)
        for t in b["transactions"]:
            txs.add((n, b["hash"], t["hash"], t["from"].lower(), int(t["value"], 16)))
        for tr in node.call("trace_block", hex(n)):
            v = int(tr["action"].get("value") or "0x0", 16)
            if tr["traceAddress"] and v:
                h = b["transactions"][tr["transactionPosition"]]["hash"]
                internal.add((n, b["hash"], h, tr["action"]["to"].lower(), v))
    return txs, internal


def _stored(wh: Path) -> tuple[int, list[tuple], list[tuple]]:
    con = connect(wh, read_only=True, wait_s=10)
    try:
        cur = con.execute("select block_number from raw.cursors where stream = 'logs'").fetchall()
        txs = con.execute(
            "select block_number, block_hash, tx_hash, tx_from, value_wei from raw.transactions"
        ).fetchall()
        traces = con.execute(
            "select block_number, block_hash, tx_hash, to_address, value_wei from raw.traces"
        ).fetchall()
    finally:
        con.close()
    return (
        (int(cur[0][0]) if cur else -1),
        [(*t[:4], int(t[4])) for t in txs],
        [(*t[:4], int(t[4])) for t in traces],
    )


@pytest.fixture
def native_node() -> Iterator[Node]:
    proc, url = start_anvil(1612)
    try:
        node = Node(url)
        node.call("anvil_setBalance", USER, hex(10**6 * E18))
        deploy(node, ["WOPEN"])
        _traffic(node, 20, 1)
        yield node
    finally:
        stop_anvil(proc)


def test_reorg_moves_native_rows(native_node: Node, tmp_path: Path) -> None:
    node, wh = native_node, tmp_path / "w.duckdb"
    ingest_range(_net(), 0, None, wh, rpc_url=node.url)
    before = _stored(wh)
    replaced = replaced_traces = 0  # transactions and transfers in the replaced blocks
    for depth in (1, 6):
        head = node.head()
        replaced += sum(
            len(node.call("eth_getBlockByNumber", hex(n), False)["transactions"])
            for n in range(head - depth + 1, head + 1)
        )
        replaced_traces += sum(
            1
            for n in range(head - depth + 1, head + 1)
            for tr in node.call("trace_block", hex(n))
            if tr["traceAddress"] and int(tr["action"].get("value") or "0x0", 16)
        )
        replacement = [
            [
                {"from": DEPLOYER, "to": USER, "value": hex(7 * depth + k), "gas": hex(21_000)},
                k % depth,
            ]
            for k in range(2)
        ]
        node.call("anvil_reorg", depth, replacement)
        assert node.head() == head
        _traffic(node, 2, 10 + depth)
        s = ingest_range(_net(), None, None, wh, rpc_url=node.url)
        assert s.reorgs == 1
        cur, txs, traces = _stored(wh)
        want_txs, want_traces = _dump(node, node.head())
        assert cur == node.head()
        assert sorted(txs) == sorted(want_txs) and len(txs) == len(set(txs))
        assert sorted(traces) == sorted(want_traces) and len(traces) == len(set(traces))
    con = connect(wh, read_only=True)
    try:
        orphaned = con.execute(
            "select count(*) from raw.orphaned_transactions where retracted_by > 0"
        ).fetchall()[0][0]
        orphaned_traces = con.execute("select count(*) from raw.orphaned_traces").fetchall()[0][0]
        retracts = con.execute(
            "select count(*) from raw.ingest_journal where action = 'retract'"
        ).fetchall()[0][0]
    finally:
        con.close()
    # depth 1 then 6: the replaced blocks' transactions and internal transfers were retracted
    assert retracts == 2 and orphaned == replaced and orphaned_traces == replaced_traces > 0
    assert before[0] < node.head()


def _child(url: str, end: int, wh: str, conn: Connection) -> None:
    conn.send("go")
    ingest_range(
        _net(),
        0,
        end,
        wh,
        rpc_url=url,
        batch_logs=1,
        batch_s=0.0,
        max_blocks=1,
        progress=lambda p: conn.send(p.cursor),
    )
    conn.send("done")


@pytest.mark.slow
def test_kill_9_never_duplicates_native_rows(native_node: Node, tmp_path: Path) -> None:
    node, wh = native_node, tmp_path / "w.duckdb"
    head = node.head()
    want_txs, want_traces = _dump(node, head)
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(11)
    kills = partial = 0
    started = time.monotonic()
    while kills < 6:
        assert time.monotonic() - started < 90, "kill test too slow"
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(node.url, head, str(wh), child))
        proc.start()
        child.close()
        done = False
        for _ in range(1 + rng.randrange(4)):
            try:
                if parent.recv() == "done":
                    done = True
                    break
            except EOFError:
                done = True
                break
        if not done:
            time.sleep(rng.uniform(0.0, 0.05))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.join()
        parent.close()
        if wh.exists():
            cur, txs, traces = _stored(wh) if _migrated(wh) else (-1, [], [])
            assert len(txs) == len(set(txs)) and len(traces) == len(set(traces))
            assert set(txs) == {t for t in want_txs if t[0] <= cur}
            assert set(traces) == {t for t in want_traces if t[0] <= cur}
            partial += 0 <= cur < head
            if cur == head:
                wh.unlink()
    assert partial >= 3, f"only {partial} of {kills} kills landed mid-backfill"
    s = ingest_range(_net(), None, head, wh, rpc_url=node.url)
    cur, txs, traces = _stored(wh)
    assert s.cursor == head == cur
    assert sorted(txs) == sorted(want_txs) and sorted(traces) == sorted(want_traces)


def _migrated(wh: Path) -> bool:
    con = connect(wh, read_only=True, wait_s=10)
    try:
        return bool(
            con.execute(
                "select 1 from information_schema.tables where table_schema = 'raw' "
                "and table_name = 'traces'"
            ).fetchall()
        )
    finally:
        con.close()
