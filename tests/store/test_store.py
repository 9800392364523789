"""Event store: migrations, chain binding, and the one-writer lock with a clear error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.store import ChainMismatch, WarehouseLocked, bind_network, connect, migrate
from pipelines.store.db import migrations


def test_migrations_apply_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    applied = migrate(con)
    # every schemas/ddl file, in order (several branches add migrations)
    assert applied == [v for v, _, _ in migrations()] and applied[:2] == [1, 2] and 6 in applied
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
        "raw.traces",
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
    assert migrate(con) == [v for v, _, _ in migrations()[1:]]  # 2 and every later one
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


def test_a_fetched_chunk_commits_every_amount_its_column_holds(tmp_path: Path) -> None:
    """The ingestion path (stage and decode in a fetch thread's scratch connection, Arrow to
    the commit) stores uint256 amounts up to 2^128 - 1 exactly: Arrow's decimal128(38, 0)
    would wrap everything from 2^127 up."""
    import datetime as dt

    import pyarrow as pa

    from pipelines.chain.fetch import HEADER_SCHEMA, LOG_SCHEMA, TX_SCHEMA, scratch_duckdb
    from pipelines.config import ContractConfig
    from pipelines.decode import Decoder
    from pipelines.store import Batch, append_batch
    from pipelines.store.events import decode_chunk, prepare_scratch, stage_chunk

    token = "0x" + "11" * 20
    transfer = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    amounts = [0, 1, 10**18, 2**127 - 1, 2**127, 2**127 + 1, 2**128 - 1, 2**128]
    n = len(amounts)
    block, tx = "0x" + "b1" * 32, "0x" + "7a" * 32
    logs = pa.table(
        {
            "block_number": [9] * n,
            "block_hash": [block] * n,
            "log_index": list(range(n)),
            "tx_hash": [tx] * n,
            "tx_index": [0] * n,
            "contract_address": [token] * n,
            "topic0": [transfer] * n,
            "topic1": ["0x" + "0" * 24 + "aa" * 20] * n,
            "topic2": ["0x" + "0" * 24 + "bb" * 20] * n,
            "topic3": [None] * n,
            "topic_count": [3] * n,
            "data": ["0x" + format(a, "064x") for a in amounts],
            "removed": [False] * n,
        },
        schema=LOG_SCHEMA,
    )
    ts = int(dt.datetime(2026, 1, 2, tzinfo=dt.UTC).timestamp())
    headers = pa.table(
        {
            "block_number": [9],
            "block_hash": [block],
            "parent_hash": ["0x" + "b0" * 32],
            "timestamp_unix": [ts],
            "has_logs": [True],
        },
        schema=HEADER_SCHEMA,
    )
    txs = pa.table(
        {f.name: [None] for f in TX_SCHEMA}
        | {"block_number": ["0x9"], "block_hash": [block], "tx_hash": [tx], "tx_index": ["0x0"]}
        | {"tx_from": ["0x" + "cc" * 20]},
        schema=TX_SCHEMA,
    )
    dec = Decoder([ContractConfig("OpenToken", token, "abis/OpenToken.json", 0)])
    scratch = scratch_duckdb()
    prepare_scratch(scratch, dec)
    stage = stage_chunk(scratch, 1612, logs, headers, txs, dec.event_map_arrow)
    decoded = decode_chunk(scratch, dec)
    # 2^128 does not fit UHUGEINT: it goes to the BIGNUM companion value_u256 (issue 9)
    assert (decoded.n_decoded, decoded.n_dead) == (n, 0)

    con = connect(tmp_path / "w.duckdb")
    migrate(con)
    bind_network(con, "devnet-mainnet", 1612)
    dec.ensure_tables(con)
    batch = Batch(9, 9, block, stage, headers, txs, [decoded])
    res = append_batch(con, "devnet-mainnet", 1612, batch, dec, None)
    assert (res["logs"], res["decoded"], res["dead_letters"]) == (n, n, 0)
    got = con.execute(
        "select log_index, coalesce(value::bignum, value_u256)::varchar, tx_from, "
        "block_timestamp from decoded.open_token__transfer order by log_index"
    ).fetchall()
    assert [(i, int(v)) for i, v, _, _ in got] == list(enumerate(amounts))
    assert {(f, t) for _, _, f, t in got} == {("0x" + "cc" * 20, dt.datetime(2026, 1, 2))}
    assert con.execute(
        "select count(*) from decoded.open_token__transfer where value is null"
    ).fetchall() == [(1,)]
    assert con.execute("select count(*) from raw.dead_letters").fetchall() == [(0,)]
    con.close()


def test_checkpoint_after_a_large_append_keeps_the_vacuum_setting(tmp_path: Path) -> None:
    from pipelines.store.events import checkpoint_appended

    con = connect(tmp_path / "w.duckdb")
    con.execute("set max_vacuum_tasks = 7")
    con.execute("create table t as select range as i from range(300000)")
    checkpoint_appended(con)
    assert con.execute("select current_setting('max_vacuum_tasks')").fetchall() == [(7,)]
    assert (
        not (tmp_path / "w.duckdb.wal").exists() or (tmp_path / "w.duckdb.wal").stat().st_size == 0
    )
    con.close()
    con = connect(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("select count(*), sum(i) from t").fetchall() == [(300000, 44999850000)]
    con.close()
