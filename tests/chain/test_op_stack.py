"""OP Stack specifics parse into nullable columns: every receipt field of REAL_CHAIN.md §6 and
the operator fee computed as the spec says (Isthmus and Jovian), and the deposit transaction
fields (type 0x7e: mint, sourceHash, isSystemTx), from op-geth-shaped JSON fixtures through
the real parser and store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.chain.fetch import RECEIPTS_SQL, parse_json_array, txs_to_arrow
from pipelines.store import Cursor, connect, migrate
from pipelines.store.events import _TX_COLUMNS, _TX_TARGET, append_receipts

FIXTURES = Path(__file__).parent / "fixtures"
CHAIN = 1612


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = connect(tmp_path / "w.duckdb")
    migrate(c)
    return c


def _store_txs(con: duckdb.DuckDBPyConnection, txs: list[dict[str, Any]]) -> None:
    con.register("_b_txs", txs_to_arrow(txs))
    con.execute(
        f"insert into raw.transactions ({_TX_TARGET}) select ?, {_TX_COLUMNS}, 1 from _b_txs",
        [CHAIN],
    )
    con.unregister("_b_txs")


def test_deposit_transactions_keep_mint_source_hash_and_system_flag(
    con: duckdb.DuckDBPyConnection,
) -> None:
    block = _load("op_geth_block.json")
    _store_txs(con, block["transactions"])
    rows = con.execute(
        "select tx_index, tx_type, tx_from, value_wei, mint_wei, source_hash, is_system_tx, "
        "nonce, input_selector from raw.transactions order by tx_index"
    ).fetchall()
    assert rows == [
        (
            0,
            0x7E,
            "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001",
            0,
            0,
            "0x8e4b1a3a0f0c2b2d6d5c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706",
            False,
            0x1C9F0B,
            "0x098999be",
        ),
        (
            1,
            0x7E,
            "0x8a1c2f0de3b3f8a0f1c2e3d4b5a6978877665544",
            10**18,
            1000 * 10**18,
            "0x1d2c3b4a59687f8e9dacbbcadfe0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c",
            False,
            0x2A,
            "0x",
        ),
        (
            2,
            2,
            "0x3e5b1a9f0c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
            10**16,
            None,
            None,
            None,
            0x11,
            "0xd0e30db0",
        ),
    ]
    # new native supply is the mint, not the value
    (minted,) = con.execute(
        "select sum(mint_wei::decimal(38, 0)) from raw.transactions where tx_type = 126"
    ).fetchall()[0]
    assert int(minted) == 1000 * 10**18


def _receipts(con: duckdb.DuckDBPyConnection, receipts: list[dict[str, Any]]) -> list[Any]:
    txs = [
        {
            "blockNumber": r["blockNumber"],
            "blockHash": r["blockHash"],
            "hash": r["transactionHash"],
            "transactionIndex": r["transactionIndex"],
            "from": r["from"],
            "to": r["to"],
            "type": r["type"],
        }
        for r in receipts
    ]
    _store_txs(con, txs)
    n = int(receipts[0]["blockNumber"], 16)
    table = parse_json_array(RECEIPTS_SQL, orjson.dumps(receipts))
    got = append_receipts(con, "op", CHAIN, table, n, Cursor(n, receipts[0]["blockHash"]), None)
    assert got == len(receipts)
    return con.execute(
        "select tx_index, tx_type, gas_used, effective_gas_price, l1_gas_price, l1_gas_used, "
        "l1_fee, l1_fee_scalar, l1_base_fee_scalar, l1_blob_base_fee, l1_blob_base_fee_scalar, "
        "operator_fee_scalar, operator_fee_constant, da_footprint_gas_scalar, deposit_nonce, "
        "deposit_receipt_version, operator_fee_wei from raw.receipts order by tx_index"
    ).fetchall()


def test_isthmus_block_receipts_parse_every_field(con: duckdb.DuckDBPyConnection) -> None:
    rows = _receipts(con, _load("op_geth_receipts.json")["receipts"])
    none9 = (None,) * 9
    assert rows[0] == (0, 126, 0xB4BD, 0, *none9, None, 0x1C9F0B, 1, None)
    assert rows[1] == (1, 126, 0x5208, 0, *none9, None, 0x2A, 1, None)
    # Isthmus: gasUsed * operatorFeeScalar / 1e6 + operatorFeeConstant
    assert rows[2] == (
        2,
        2,
        0x2B0F3,
        0xF4243,
        0x2D9B5C4F1,
        0x6A4,
        0x1B4A3C9D2E,
        None,
        0x8DD,
        1,
        0x101C12,
        0x1E8480,
        0x3B9ACA00,
        None,
        None,
        None,
        0x2B0F3 * 0x1E8480 // 10**6 + 0x3B9ACA00,
    )


def test_jovian_operator_fee_and_pre_ecotone_scalar(con: duckdb.DuckDBPyConnection) -> None:
    fx = _load("op_geth_receipts.json")
    (jovian,) = _receipts(con, [fx["jovian"]])
    # Jovian: gasUsed * operatorFeeScalar * 100 + operatorFeeConstant
    assert jovian[13] == 0x190 and jovian[16] == 0x5208 * 5 * 100
    con.execute("delete from raw.transactions")
    con.execute("delete from raw.receipts")
    con.execute("delete from raw.cursors")
    (bedrock,) = _receipts(con, [fx["bedrock"]])
    # pre-Ecotone: l1FeeScalar is a decimal string; no operator fee
    assert bedrock[6:9] == (0x2386F26FC10000, "0.684", None) and bedrock[16] is None
