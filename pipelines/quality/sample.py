"""A small, internally consistent warehouse written by hand: the store's real DDL and decoded
tables, a few blocks, transfers and attributed inferences on one chain.

Used by the dbt, quality and Dagster tests that must not wait for a devnet, and handy to try
`olw query` or the dbt models offline. Every number adds up (supply, fee splits), so a test can
corrupt one value and expect exactly one check to fail.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.config import ContractConfig
from pipelines.decode import Decoder
from pipelines.store import connect, migrate

CHAIN_ID = 1612
NETWORK = "devnet-mainnet"
SUPPLY_WEI = 10**27
FEE_WEI = 10**18
T0 = datetime(2025, 9, 8, tzinfo=UTC).replace(tzinfo=None)


def _h(*parts: object) -> str:
    return "0x" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _a(name: str) -> str:
    return "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]


ZERO = "0x" + "0" * 40
CONTRACTS = {
    "OpenToken": _a("token"),
    "VestingVault": _a("vault"),
    "DatanetRegistry": _a("datanets"),
    "ModelRegistry": _a("models"),
    "InferenceMarket": _a("market"),
    "AttributionEngine": _a("engine"),
}


def build_sample_warehouse(path: str | Path) -> Path:
    """Create (or replace) a warehouse at ``path`` holding blocks 1..10 of chain 1612."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = connect(path)
    try:
        migrate(con)
        decoder = Decoder(
            ContractConfig(name, addr, f"abis/{name}.json", 0) for name, addr in CONTRACTS.items()
        )
        decoder.ensure_tables(con)
        con.execute("insert into raw.networks values (?, ?, 2000, ?)", [NETWORK, CHAIN_ID, T0])

        blocks = [(n, _h("block", n), T0 + timedelta(minutes=n)) for n in range(1, 11)]
        bh = {n: h for n, h, _ in blocks}
        bt = {n: t for n, _, t in blocks}
        for n, h, t in blocks:
            parent = bh.get(n - 1, _h("block", 0))
            con.execute(
                "insert into raw.blocks values (?, ?, ?, ?, ?, ?, true, 1)",
                [CHAIN_ID, n, h, parent, t, int(t.replace(tzinfo=UTC).timestamp())],
            )
        con.execute(
            "insert into raw.ingest_journal values (1, ?, ?, 'append', 1, 10, 10, 0, 0, 0, 0, "
            "10, 10, null, ?)",
            [NETWORK, CHAIN_ID, T0 + timedelta(minutes=11)],
        )
        con.execute(
            "insert into raw.cursors values (?, 'logs', ?, 10, ?, ?)",
            [NETWORK, CHAIN_ID, bh[10], T0 + timedelta(minutes=11)],
        )

        log_index = {"n": 0}
        deployer, alice, bob, dev = _a("deployer"), _a("alice"), _a("bob"), _a("developer")
        contributor, staking, treasury = _a("contributor"), _a("staking"), _a("treasury")

        def emit(table: str, contract: str, block: int, **params: object) -> None:
            i = log_index["n"]
            log_index["n"] += 1
            tx = _h("tx", block, i)
            common = {
                "chain_id": CHAIN_ID,
                "block_number": block,
                "block_hash": bh[block],
                "block_timestamp": bt[block],
                "tx_hash": tx,
                "tx_index": 0,
                "log_index": i,
                "contract_address": CONTRACTS[contract],
                "tx_from": deployer,
            }
            row = {**common, **params}
            cols = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" for _ in row)
            con.execute(
                f"insert into decoded.{table} ({cols}) values ({marks})", list(row.values())
            )
            con.execute(
                "insert into raw.logs values (?, ?, ?, ?, ?, 0, ?, ?, null, null, null, 1, '0x', "
                "false, 1)",
                [CHAIN_ID, block, bh[block], i, tx, CONTRACTS[contract], _h("topic", table)],
            )
            con.execute(
                "insert into raw.receipts (chain_id, block_number, block_hash, tx_hash, tx_index, "
                "tx_from, gas_used, journal_id) values (?, ?, ?, ?, 0, ?, 21000, 1)",
                [CHAIN_ID, block, bh[block], tx, deployer],
            )

        def transfer(block: int, src: str, dst: str, value: int) -> None:
            emit(
                "open_token__transfer",
                "OpenToken",
                block,
                from_address=src,
                to_address=dst,
                value=value,
            )

        transfer(1, ZERO, deployer, SUPPLY_WEI)
        transfer(2, deployer, alice, 1_000 * FEE_WEI)
        transfer(2, deployer, CONTRACTS["VestingVault"], 100 * FEE_WEI)
        transfer(3, alice, ZERO, 10 * FEE_WEI)  # a burn
        bucket = "0x" + b"team".hex().ljust(64, "0")
        emit(
            "vesting_vault__vesting_schedule_created",
            "VestingVault",
            3,
            bucket=bucket,
            beneficiary=bob,
            total_allocation=100 * FEE_WEI,
            tge_amount=0,
            start=int(T0.replace(tzinfo=UTC).timestamp()),
            cliff_months=0,
            vesting_months=10,
        )
        emit(
            "vesting_vault__tokens_released",
            "VestingVault",
            4,
            bucket=bucket,
            beneficiary=bob,
            amount=10 * FEE_WEI,
            total_released=10 * FEE_WEI,
            month_index=1,
        )
        transfer(4, CONTRACTS["VestingVault"], bob, 10 * FEE_WEI)
        emit(
            "datanet_registry__datanet_created",
            "DatanetRegistry",
            4,
            datanet_id=1,
            owner=contributor,
            name="medical-notes",
            metadata_hash=_h("meta", 1),
        )
        emit(
            "datanet_registry__contribution_recorded",
            "DatanetRegistry",
            5,
            datanet_id=1,
            contributor=contributor,
            contribution_id=1,
            data_hash=_h("data", 1),
            weight=3,
        )
        emit(
            "model_registry__model_registered",
            "ModelRegistry",
            5,
            model_id=1,
            owner=dev,
            name="med-llm",
            datanet_ids=[1],
            metadata_hash=_h("meta", "m1"),
            fee_per_inference=FEE_WEI,
        )
        for k, block in enumerate((6, 7, 8)):
            request = _h("request", k)
            emit(
                "inference_market__inference_requested",
                "InferenceMarket",
                block,
                request_id=request,
                model_id=1,
                caller=alice,
                fee=FEE_WEI,
                tokens_in=100 + k,
                tokens_out=200 + k,
            )
            transfer(block, alice, CONTRACTS["AttributionEngine"], FEE_WEI)
            dev_amount, contrib_amount, stakers_amount = (
                FEE_WEI // 2,
                FEE_WEI * 3 // 10,
                FEE_WEI // 10,
            )
            emit(
                "attribution_engine__attribution_recorded",
                "AttributionEngine",
                block,
                request_id=request,
                model_id=1,
                developer=dev,
                fee=FEE_WEI,
                developer_amount=dev_amount,
                contributors_amount=contrib_amount,
                stakers_amount=stakers_amount,
                protocol_amount=FEE_WEI - dev_amount - contrib_amount - stakers_amount,
            )
            emit(
                "attribution_engine__contributors_rewarded",
                "AttributionEngine",
                block,
                request_id=request,
                model_id=1,
                datanet_ids=[1],
                contributors=[contributor],
                weights=[3],
                amounts=[contrib_amount],
            )
        emit(
            "attribution_engine__rewards_claimed",
            "AttributionEngine",
            9,
            account=dev,
            amount=3 * (FEE_WEI // 2),
        )
        transfer(9, CONTRACTS["AttributionEngine"], dev, 3 * (FEE_WEI // 2))
        _ = (staking, treasury)
        con.execute(
            "update raw.ingest_journal set log_count = (select count(*) from raw.logs), "
            "receipt_count = (select count(*) from raw.receipts), decoded_count = "
            "(select count(*) from raw.logs)"
        )
    finally:
        con.close()
    return path
