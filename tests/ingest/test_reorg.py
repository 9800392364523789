"""Reorgs while following the head: anvil_reorg at depths 1, 5 and 40; after catch-up the
warehouse equals the canonical chain and the journal records each retraction. A reorg deeper
than the finality depth is refused (nothing retracted, journalled) unless allowed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.devnet.harness import running_devnet
from pipelines.ingest import IngestSummary, follow, ingest_range
from pipelines.store import DeepReorg, connect
from tests.ingest.conftest import MAINNET
from tests.ingest.traffic import (
    DEPLOYER,
    Node,
    addr,
    bulk_transfers,
    calldata,
    contracts,
    every_event,
)
from tests.ingest.truth import node_keys, node_logs, per_block, warehouse_keys


@pytest.fixture(scope="module")
def reorg_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_devnet(tmp_path_factory.mktemp("reorg")) as h:
        node = Node(h.urls[MAINNET])
        c = contracts(h.contracts_dir, MAINNET)
        every_event(node, c)
        bulk_transfers(node, c, blocks=50, per_tx=10, txs=2)
        yield h, node, c


def _cursor(wh: Path) -> tuple[int, str] | None:
    """The block both streams (logs, receipts) have reached, if they agree."""
    con = connect(wh, read_only=True, wait_s=10)
    try:
        rows = con.execute(
            "select distinct block_number, block_hash from raw.cursors where network = ?",
            [MAINNET],
        ).fetchall()
        return (int(rows[0][0]), rows[0][1]) if len(rows) == 1 else None
    finally:
        con.close()


def _wait_caught_up(wh: Path, node: Node, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = node.call("eth_getBlockByNumber", "latest", False)
        if wh.exists() and _cursor(wh) == (int(head["number"], 16), head["hash"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"follower did not catch up: cursor {_cursor(wh)}")


def _assert_canonical(wh: Path, node: Node, addresses: list[str]) -> None:
    truth = node_keys(node_logs(node.url, addresses))
    got = warehouse_keys(wh, 1612)
    assert len(got) == len(set(got)), "duplicate logs"
    assert set(got) == truth and per_block(got) == per_block(truth)
    con = connect(wh, read_only=True, wait_s=10)
    try:
        blocks = con.execute("select block_number, block_hash from raw.blocks").fetchall()
        decoded_keys = set(
            con.execute(
                "select block_hash, log_index from decoded.open_token__transfer "
                "union all select block_hash, log_index from raw.dead_letters"
            ).fetchall()
        )
        unmatched = con.execute(
            "select count(*) from raw.transactions t full join raw.receipts r "
            "using (chain_id, block_hash, tx_hash) where t.tx_hash is null or r.tx_hash is null"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert unmatched == 0, "a transaction without its receipt, or a receipt of a retracted one"
    canon = node.batch([("eth_getBlockByNumber", [hex(n), False]) for n, _ in blocks])
    for (n, h), c in zip(blocks, canon, strict=True):
        assert c is not None and c["hash"] == h, f"non-canonical block {n} in raw.blocks"
    live = {(h, i) for _, h, i in got}
    assert decoded_keys <= live, "decoded rows of retracted blocks remain"


def test_reorgs_while_following(
    reorg_chain: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, node, c = reorg_chain
    h.apply(monkeypatch)
    wh = tmp_path / "w.duckdb"
    stop = threading.Event()
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            # the 40-deep reorg goes below the finalized head (depth 12): allowed here
            out["summary"] = follow(
                MAINNET, warehouse=wh, stop=stop.is_set, poll_s=0.05, allow_deep_reorg=True
            )
        except BaseException as exc:  # surfaced by the assertion below
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        _wait_caught_up(wh, node)
        for i, depth in enumerate((1, 5, 40)):
            head = node.head()
            txs = [
                [
                    {
                        "from": DEPLOYER,
                        "to": c["OpenToken"],
                        "data": calldata(
                            "transferMany(address[],uint256[])",
                            [addr(9000 + depth * 10 + k + j) for j in range(4)],
                            [depth + k + 1] * 4,
                        ),
                        "gas": hex(3_000_000),
                    },
                    k % depth,
                ]
                for k in range(3)
            ]
            node.call("anvil_reorg", depth, txs)
            assert node.head() == head
            bulk_transfers(node, c, blocks=2, per_tx=5, txs=1)
            _wait_caught_up(wh, node)
            _assert_canonical(wh, node, sorted(c.values()))
            con = connect(wh, read_only=True, wait_s=10)
            retracts = con.execute(
                "select from_block, to_block, log_count, detail from raw.ingest_journal "
                "where action = 'retract' order by journal_id"
            ).fetchall()
            con.close()
            assert len(retracts) == i + 1, retracts
            from_block, to_block, n_logs, detail = retracts[-1]
            assert from_block <= head - depth + 1 and to_block == head
            assert n_logs > 0
            assert detail.startswith("deep reorg") is (depth > 12), detail
    finally:
        stop.set()
        t.join(30)
    assert "error" not in out, out.get("error")
    s: IngestSummary = out["summary"]
    assert s.reorgs == 3


def _reorg_txs(c: dict[str, str], depth: int) -> list[Any]:
    return [
        [
            {
                "from": DEPLOYER,
                "to": c["OpenToken"],
                "data": calldata(
                    "transferMany(address[],uint256[])",
                    [addr(7000 + depth * 10 + k + j) for j in range(3)],
                    [depth + k + 1] * 3,
                ),
                "gas": hex(3_000_000),
            },
            k,
        ]
        for k in range(2)
    ]


def test_deep_reorg_is_refused_unless_allowed(
    reorg_chain: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, node, c = reorg_chain
    h.apply(monkeypatch)
    wh = tmp_path / "w.duckdb"
    ingest_range(MAINNET, warehouse=wh)
    before = sorted(warehouse_keys(wh, 1612))
    head = node.head()
    node.call("anvil_reorg", 20, _reorg_txs(c, 20))  # finality depth is 12
    t0 = time.monotonic()
    with pytest.raises(DeepReorg, match=r"no longer on the node's chain.*nothing retracted"):
        ingest_range(MAINNET, warehouse=wh)
    assert time.monotonic() - t0 < 30
    assert sorted(warehouse_keys(wh, 1612)) == before, "a refused reorg retracted something"
    con = connect(wh, read_only=True)
    journal = con.execute(
        "select action, detail from raw.ingest_journal where action <> 'append' "
        "and action <> 'append_receipts' order by journal_id"
    ).fetchall()
    con.close()
    assert [a for a, _ in journal] == ["reorg_refused"], journal
    assert "--allow-deep-reorg" not in journal[0][1] and "nothing retracted" in journal[0][1]
    # explicitly allowed: retracted, journalled as deep, and the warehouse is canonical again
    s = ingest_range(MAINNET, warehouse=wh, allow_deep_reorg=True)
    assert s.reorgs == 1 and s.retracted_blocks >= 20
    _assert_canonical(wh, node, sorted(c.values()))
    con = connect(wh, read_only=True)
    (detail, from_block), *_ = con.execute(
        "select detail, from_block from raw.ingest_journal where action = 'retract'"
    ).fetchall()
    con.close()
    assert detail.startswith("deep reorg below finalized block") and from_block <= head - 19


def test_shallow_reorg_over_a_sparse_tail_is_not_deep(
    reorg_chain: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks without our logs are not stored (only range ends are), so a one-block reorg
    after 30 empty blocks finds its ancestor far below the finalized floor: nothing final is
    retracted, and it is a normal reorg."""
    h, node, c = reorg_chain
    h.apply(monkeypatch)
    wh = tmp_path / "w.duckdb"
    ingest_range(MAINNET, warehouse=wh)
    node.call("anvil_mine", hex(30))
    ingest_range(MAINNET, warehouse=wh, max_blocks=1000)
    # with a transaction of ours, so the new block cannot be the old one again (an empty
    # block re-mined in the same second hashes the same)
    node.call("anvil_reorg", 1, _reorg_txs(c, 1)[:1])
    s = ingest_range(MAINNET, warehouse=wh)
    assert s.reorgs == 1
    con = connect(wh, read_only=True)
    rows = con.execute(
        "select action, detail from raw.ingest_journal where action in ('retract', 'reorg_refused')"
    ).fetchall()
    con.close()
    assert len(rows) == 1 and rows[0][0] == "retract", rows
    assert not rows[0][1].startswith("deep reorg"), rows
    _assert_canonical(wh, node, sorted(c.values()))
