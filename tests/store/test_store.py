"""Event store: migrations, chain binding, and the one-writer lock with a clear error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.store import ChainMismatch, WarehouseLocked, bind_network, connect, migrate


def test_migrations_apply_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert migrate(con) == [1, 2]
    assert migrate(con) == []
    tables = {
        t
        for (t,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    }
    assert {
        "raw.logs",
        "raw.blocks",
        "raw.receipts",
        "raw.transactions",
        "raw.ingest_journal",
        "raw.cursors",
        "raw.dead_letters",
        "main.schema_migrations",
    } <= tables
    con.close()


def test_migration_2_carries_senders_and_receipts_cursor_over(tmp_path: Path) -> None:
    """A warehouse written before raw.transactions (receipts committed with their logs) gets
    its senders from its receipts, and a receipts cursor equal to its logs cursor."""
    from pipelines.store.db import migrations

    con = connect(tmp_path / "w.duckdb")
    v1 = migrations()[0]
    con.execute(v1[2])
    con.execute(
        "create table schema_migrations (version integer not null, name varchar not null, "
        "checksum varchar not null, applied_at timestamp not null)"
    )
    con.execute("insert into schema_migrations values (1, ?, 'x', now()::timestamp)", [v1[1]])
    con.execute(
        "insert into raw.receipts (chain_id, block_number, block_hash, tx_hash, tx_index, "
        "tx_from, tx_to, tx_type, gas_used, effective_gas_price, journal_id) values "
        "(1612, 5, '0xb5', '0xt1', 0, '0xaa', '0xcc', 2, 21000, 1000000000, 1)"
    )
    con.execute("insert into raw.cursors values ('n', 'logs', 1612, 5, '0xb5', now()::timestamp)")
    assert migrate(con) == [2]
    assert con.execute(
        "select block_number, tx_hash, tx_from, tx_to, gas_price from raw.transactions"
    ).fetchall() == [(5, "0xt1", "0xaa", "0xcc", 1000000000)]
    assert sorted(con.execute("select stream, block_number from raw.cursors").fetchall()) == [
        ("logs", 5),
        ("receipts", 5),
    ]
    con.close()


def test_a_network_is_bound_to_one_chain(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    migrate(con)
    assert bind_network(con, "devnet-mainnet", 1612) is None
    bind_network(con, "devnet-testnet", 161201)  # another network coexists
    with pytest.raises(ChainMismatch, match="bound to chain id 1612"):
        bind_network(con, "devnet-mainnet", 161201)
    with pytest.raises(ChainMismatch, match=r"already indexed .* as network 'devnet-mainnet'"):
        bind_network(con, "openledger-mainnet", 1612)
    con.close()


def test_locked_warehouse_waits_then_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            "time.sleep(3)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        t0 = time.monotonic()
        with pytest.raises(
            WarehouseLocked, match=rf"locked by another process \(pid {holder.pid}\)"
        ):
            connect(path, wait_s=0.5)
        assert time.monotonic() - t0 >= 0.4
        # a writer that waits long enough gets in once the holder lets go
        connect(path, wait_s=20).close()
    finally:
        holder.kill()
        holder.wait()
