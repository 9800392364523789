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
    assert migrate(con) == [1]
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
        "raw.ingest_journal",
        "raw.cursors",
        "raw.dead_letters",
        "main.schema_migrations",
    } <= tables
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
