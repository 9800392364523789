"""Completeness: the warehouse holds exactly the node's logs, decoded as web3.py decodes them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from web3 import Web3

from pipelines.config import get_network, schemas_dir
from pipelines.decode.abi import load_abi_events
from pipelines.ingest import ingest_range, rebuild_decoded
from tests.ingest.conftest import MAINNET, TESTNET, IngestChain
from tests.ingest.truth import node_keys, node_logs, per_block, warehouse_keys


@pytest.fixture(scope="module")
def ingested(ingest_chain: IngestChain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    mp = pytest.MonkeyPatch()
    ingest_chain.apply(mp, wh)
    try:
        s = ingest_range(MAINNET, end=ingest_chain.head)
        assert s.logs > ingest_chain.logs
        ingest_range(TESTNET)
    finally:
        mp.undo()
    return wh


def test_warehouse_holds_exactly_the_nodes_logs(ingest_chain: IngestChain, ingested: Path) -> None:
    truth = node_logs(ingest_chain.url, ingest_chain.addresses, 0, ingest_chain.head)
    got = warehouse_keys(ingested, 1612)
    assert len(got) == len(set(got)), "duplicate logs in raw.logs"
    assert set(got) == node_keys(truth)
    assert per_block(got) == per_block(node_keys(truth))


def test_every_log_is_decoded_or_dead_lettered(ingested: Path) -> None:
    con = duckdb.connect(str(ingested), read_only=True)
    tables = [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'decoded'"
        ).fetchall()
    ]
    for cid in (1612, 161201):
        decoded = sum(
            con.execute(f"select count(*) from decoded.{t} where chain_id = ?", [cid]).fetchall()[
                0
            ][0]
            for t in tables
        )
        dead = con.execute(
            "select count(*) from raw.dead_letters where chain_id = ?", [cid]
        ).fetchall()[0][0]
        raw = con.execute("select count(*) from raw.logs where chain_id = ?", [cid]).fetchall()[0][
            0
        ]
        assert raw > 0 and decoded + dead == raw
    con.close()


def _web3_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
        return v.lower()
    if isinstance(v, (list, tuple)):
        return [_web3_value(x) for x in v]
    return v


def test_decoded_fields_equal_web3(ingest_chain: IngestChain, ingested: Path) -> None:
    w3 = Web3(Web3.HTTPProvider(ingest_chain.url))
    net_contracts = json.loads((ingest_chain.handle.contracts_dir / f"{MAINNET}.json").read_text())
    abi_of = {v["address"]: v["abi"] for v in net_contracts["contracts"].values()}
    con = duckdb.connect(str(ingested), read_only=True)
    checked: set[str] = set()
    for abi_file in sorted(set(abi_of.values())):
        abi = json.loads((schemas_dir() / abi_file).read_text())
        contract = w3.eth.contract(abi=abi)
        for ev in load_abi_events(abi_file):
            rows = con.sql(
                f"select * from decoded.{ev.table} where chain_id = 1612 "
                "order by block_number, log_index limit 5"
            )
            names = rows.columns
            for row in rows.fetchall():
                rec = dict(zip(names, row, strict=True))
                logs = w3.eth.get_logs(
                    {
                        "blockHash": rec["block_hash"],
                        "address": Web3.to_checksum_address(rec["contract_address"]),
                    }
                )
                (log,) = [lg for lg in logs if lg["logIndex"] == rec["log_index"]]
                got = contract.events[ev.name]().process_log(log)
                for p in ev.params:
                    value = rec[p.column]
                    if value is None and f"{p.column}_u256" in rec:  # >= 2^128: the companion
                        big = rec[f"{p.column}_u256"]  # (a list for a uint256[])
                        value = [int(x) for x in big] if isinstance(big, list) else int(big)
                    assert value == _web3_value(got["args"][p.name]), (ev.table, p.name)
                assert rec["tx_hash"] == "0x" + log["transactionHash"].hex().removeprefix("0x")
                tx = w3.eth.get_transaction(log["transactionHash"])
                assert rec["tx_from"] == tx["from"].lower()
                block = w3.eth.get_block(rec["block_number"])
                assert rec["block_timestamp"] == dt.datetime.fromtimestamp(
                    block["timestamp"], dt.UTC
                ).replace(tzinfo=None)
                checked.add(ev.table)
    con.close()
    # every event type our traffic emits (TokensReleased needs vested tokens: none at TGE+0)
    expected = {ev.table for f in set(abi_of.values()) for ev in load_abi_events(f)}
    assert expected - checked <= {"vesting_vault__tokens_released"}, expected - checked


def test_transactions_and_receipts_equal_the_nodes(
    ingest_chain: IngestChain, ingested: Path
) -> None:
    """raw.transactions holds each transaction that emitted a log, once, with its fields as the
    node serves them; the receipts stream caught up and holds each one's receipt."""
    con = duckdb.connect(str(ingested), read_only=True)
    try:
        emitting = con.execute(
            "select count(distinct (block_hash, tx_hash)) from raw.logs where chain_id = 1612"
        ).fetchall()[0][0]
        txs = con.sql(
            "select t.*, r.gas_used, r.effective_gas_price, r.status, r.tx_from as r_from "
            "from raw.transactions t left join raw.receipts r using (chain_id, block_hash, "
            "tx_hash) where t.chain_id = 1612 order by t.block_number, t.tx_index"
        )
        names = txs.columns
        rows = [dict(zip(names, r, strict=True)) for r in txs.fetchall()]
        cursors = dict(
            con.execute(
                "select stream, block_number from raw.cursors where network = ?", [MAINNET]
            ).fetchall()
        )
    finally:
        con.close()
    assert len(rows) == emitting == len({(r["block_hash"], r["tx_hash"]) for r in rows})
    assert cursors == {"logs": ingest_chain.head, "receipts": ingest_chain.head}
    assert all(r["gas_used"] is not None for r in rows), "a transaction without its receipt"
    w3 = Web3(Web3.HTTPProvider(ingest_chain.url))
    for r in rows[:: max(1, len(rows) // 25)]:
        tx = w3.eth.get_transaction(r["tx_hash"])
        rc = w3.eth.get_transaction_receipt(r["tx_hash"])
        assert (r["tx_from"], r["r_from"]) == (tx["from"].lower(), tx["from"].lower())
        assert r["tx_to"] == (tx["to"].lower() if tx["to"] else None)
        assert (r["nonce"], r["value_wei"], r["gas_limit"]) == (
            tx["nonce"],
            tx["value"],
            tx["gas"],
        )
        assert r["input_selector"] == "0x" + bytes(tx["input"][:4]).hex()
        assert (r["gas_used"], r["effective_gas_price"], r["status"]) == (
            rc["gasUsed"],
            rc["effectiveGasPrice"],
            rc["status"],
        )


def test_undecodable_logs_are_dead_lettered_with_reason(ingested: Path) -> None:
    con = duckdb.connect(str(ingested), read_only=True)
    rows = con.execute(
        "select reason, detail, data from raw.dead_letters where chain_id = 1612"
    ).fetchall()
    infinite = con.execute(
        "select count(*) from decoded.open_token__approval where chain_id = 1612 "
        "and value is null and value_u256 = ?::bignum",
        [str(2**256 - 1)],
    ).fetchall()[0][0]
    con.close()
    # max-uint256 approvals decode into value_u256 now (issue 9): this traffic has no log
    # that cannot be decoded
    assert infinite > 0, "max-uint256 approvals must land in decoded.open_token__approval"
    assert rows == []


def test_rerun_adds_nothing(
    ingest_chain: IngestChain, ingested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_chain.apply(monkeypatch, ingested)
    before = warehouse_keys(ingested, 1612)
    s = ingest_range(MAINNET, end=ingest_chain.head)
    assert s.logs == 0 and s.commits == 0
    assert sorted(warehouse_keys(ingested, 1612)) == sorted(before)


def test_receipts_stream_left_behind_catches_up(
    ingest_chain: IngestChain, ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logs stream alone (receipts=False) leaves the receipts cursor behind; the next run
    fetches no log again and brings the receipts up to the logs cursor."""
    wh = tmp_path / "w.duckdb"
    ingest_chain.apply(monkeypatch, wh)
    s = ingest_range(MAINNET, end=ingest_chain.head, receipts=False)
    assert s.logs > 0 and s.receipts == 0
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("select count(*) from raw.receipts").fetchall() == [(0,)]
    assert con.execute("select stream from raw.cursors").fetchall() == [("logs",)]
    con.close()
    s2 = ingest_range(MAINNET, end=ingest_chain.head)
    assert s2.logs == 0 and s2.receipts > 0
    con = duckdb.connect(str(wh), read_only=True)
    ref = duckdb.connect(str(ingested), read_only=True)
    try:
        q = "select * exclude (journal_id) from raw.receipts where chain_id = 1612 order by all"
        assert con.execute(q).fetchall() == ref.execute(q).fetchall()
    finally:
        con.close()
        ref.close()


def _dump(path: Path) -> dict[str, list[Any]]:
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'decoded'"
    ).fetchall():
        out[t] = con.execute(f"select * from decoded.{t} order by all").fetchall()
    out["dead_letters"] = con.execute("select * from raw.dead_letters order by all").fetchall()
    con.close()
    return out


def test_replay_rebuilds_identical_decoded_rows(
    ingest_chain: IngestChain, ingested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_chain.apply(monkeypatch, ingested)
    before = _dump(ingested)
    assert sum(len(v) for v in before.values()) > ingest_chain.logs
    res = rebuild_decoded(ingested)
    assert res["decoded"] + res["dead_letters"] == sum(len(v) for v in before.values())
    assert _dump(ingested) == before


def test_chain_id_mismatch_is_refused(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.store import ChainMismatch

    ingest_chain.apply(monkeypatch, tmp_path / "w.duckdb")
    monkeypatch.setenv(get_network(MAINNET).rpc_url_env, ingest_chain.handle.urls[TESTNET])
    with pytest.raises(ChainMismatch, match="answers chain id 161201"):
        ingest_range(MAINNET)
