"""Sparse and empty chains (issue 9): long stretches without a log of ours, a range that starts
far above block 0 or ends on an empty block, a chain with no traffic at all. Both cursors must
reach the head and mean "every block up to here is done", by backfill and by --follow, and the
warehouse must equal an independent eth_getLogs dump."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.ingest import follow, ingest_range
from tests.ingest.sparse import (
    MAINNET,
    TESTNET,
    SparseChain,
    cursors,
    mine_empty,
    native_transfers,
    token_transfer,
    unmatched_receipts,
)
from tests.ingest.traffic import Node
from tests.ingest.truth import node_keys, node_logs, per_block, warehouse_keys

runner = CliRunner()
_register()


def _assert_equals_node(
    wh: Path, chain: SparseChain, start: int = 0, end: int | None = None
) -> None:
    truth = node_keys(node_logs(chain.url, chain.addresses, start, end))
    got = warehouse_keys(wh, 1612)
    assert len(got) == len(set(got)), "duplicate logs"
    assert set(got) == truth and per_block(got) == per_block(truth)
    assert unmatched_receipts(wh) == 0, "a transaction without its receipt"


def _both_at(wh: Path, node: Node, number: int) -> None:
    block = node.call("eth_getBlockByNumber", hex(number), False)
    want = (number, block["hash"])
    assert cursors(wh) == {"logs": want, "receipts": want}


def test_sparse_chain_is_mostly_empty(sparse_chain: SparseChain) -> None:
    logs = node_logs(sparse_chain.url, sparse_chain.addresses, 0, sparse_chain.head)
    with_logs = len({lg["blockNumber"] for lg in logs})
    assert with_logs / (sparse_chain.head + 1) <= 0.05, "the sparse chain is not sparse"


def test_backfill_across_empty_stretches(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    s = ingest_range(MAINNET, end=sparse_chain.head, warehouse=wh)
    assert s.cursor == sparse_chain.head
    _assert_equals_node(wh, sparse_chain, 0, sparse_chain.head)
    _both_at(wh, sparse_chain.node, sparse_chain.head)
    # a sparse backfill asks for long ranges, not one block at a time
    assert s.rpc["requests"] < sparse_chain.head / 4, s.rpc


def test_follow_across_empty_stretches(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    node, c = sparse_chain.node, sparse_chain.contracts
    stop = threading.Event()
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["summary"] = follow(MAINNET, warehouse=wh, stop=stop.is_set, poll_s=0.05)
        except BaseException as exc:  # surfaced by the assertions below
            out["error"] = exc

    def caught_up(timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        head = node.call("eth_getBlockByNumber", "latest", False)
        want = (int(head["number"], 16), head["hash"])
        while time.monotonic() < deadline and "error" not in out:
            if wh.exists() and set(cursors(wh).values()) == {want} and len(cursors(wh)) == 2:
                return
            time.sleep(0.1)
        raise AssertionError(f"follower did not catch up: {out.get('error')!r}")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        caught_up()
        # after the follower holds transactions: empty blocks only, then native transfers
        # only, then one of ours between two empty stretches, then empty again
        mine_empty(node, 5)
        caught_up()
        mine_empty(node, 150)
        caught_up()
        native_transfers(node)
        caught_up()
        mine_empty(node, 40)
        token_transfer(node, c, 100)
        mine_empty(node, 60)
        caught_up()
    finally:
        stop.set()
        t.join(30)
    assert "error" not in out, out.get("error")
    _assert_equals_node(wh, sparse_chain)
    _both_at(wh, node, node.head())


def _cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


def test_ingest_again_after_empty_blocks(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's four steps: ingest, mine 5 empty blocks, ingest (exit 1 on main), again."""
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    code, out = _cli("ingest", "--network", MAINNET, "-q")
    assert code == 0, out
    for _ in range(2):
        mine_empty(sparse_chain.node, 5)
        code, out = _cli("ingest", "--network", MAINNET, "-q")
        assert code == 0 and "Traceback" not in out, out
        _both_at(wh, sparse_chain.node, sparse_chain.node.head())
    code, out = _cli("ingest", "--network", MAINNET, "-q")  # nothing new: still fine
    assert code == 0, out
    _assert_equals_node(wh, sparse_chain)


def test_range_far_above_zero_ending_on_an_empty_block(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    start = sparse_chain.first_sparse + 10  # inside an empty stretch
    end = start + 400  # a token block lies in between; 400 + 10 is not one, nor its neighbours
    logs = node_logs(sparse_chain.url, sparse_chain.addresses, end - 1, end + 1)
    assert not logs, "the range must end on an empty block"
    s = ingest_range(MAINNET, start, end, wh)
    assert s.cursor == end and s.logs > 0
    _assert_equals_node(wh, sparse_chain, start, end)
    _both_at(wh, sparse_chain.node, end)
    s = ingest_range(MAINNET, None, sparse_chain.head, wh)  # resume to the head
    _assert_equals_node(wh, sparse_chain, start, sparse_chain.head)
    _both_at(wh, sparse_chain.node, sparse_chain.head)


def test_chain_without_traffic(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The testnet node has only its deployment: from the block after it, no log at all."""
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    node = Node(sparse_chain.handle.urls[TESTNET])
    start = node.head() + 1
    mine_empty(node, 300)
    for _ in range(2):
        s = ingest_range(TESTNET, start if _ == 0 else None, None, wh)
        assert s.logs == 0 and s.cursor == node.head()
        got = cursors(wh, TESTNET)
        head = node.call("eth_getBlockByNumber", hex(node.head()), False)["hash"]
        assert got == {"logs": (node.head(), head), "receipts": (node.head(), head)}
        mine_empty(node, 7)
