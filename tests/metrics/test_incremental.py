from __future__ import annotations

import duckdb

from pipelines.metrics import incremental, synthetic
from tests.metrics.conftest import run


def _snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    out = {}
    for t in incremental.MART_TABLES:
        cols = [r[0] for r in conn.execute(f"describe metrics.{t}").fetchall()]
        order = ", ".join(f'"{c}"' for c in cols)
        out[t] = conn.execute(f"select * from metrics.{t} order by {order}").fetchall()
    return out


def test_incremental_equals_full_recompute(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    spec = synthetic.SyntheticSpec(n_inferences=8_000, days=20, n_organic=200)
    world = synthetic.generate(conn, spec)
    first = run(conn, world)
    assert first.mode == "full"  # nothing built yet: the config fingerprint forces a full run
    added = synthetic.append(conn, world, days=2, share=0.1)
    assert added > 0
    inc = run(conn, world)
    assert inc.mode == "incremental"
    # Only the two new days (plus days of callers whose class changed) were recomputed.
    assert inc.dirty_days <= 4, inc  # 2 new days, plus a sell-off 2 days after a release
    incremental_state = _snapshot(conn)
    full = run(conn, world, full=True)
    assert full.dirty_days > 20
    full_state = _snapshot(conn)
    for table in incremental.MART_TABLES:
        assert incremental_state[table] == full_state[table], f"metrics.{table} differs"
    # A no-op run touches nothing.
    assert run(conn, world).dirty_days == 0


def _journal_ddl() -> str:
    from pipelines.config import REPO_ROOT

    ddl = (REPO_ROOT / "schemas" / "ddl" / "001_event_store.sql").read_text()
    start = ddl.index("create table raw.ingest_journal")
    return ddl[start : ddl.index(";", start)]


def test_reorg_retraction_flows_through(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=6_000, days=12))
    conn.execute(_journal_ddl())
    run(conn, world)
    before = conn.execute("select count(*) from metrics.inference_caller_daily").fetchall()[0][0]
    # Retract the last ~6 hours of mainnet blocks, as the ingest loop does on a reorg: decoded
    # and raw rows of those blocks go, and the journal records the retraction.
    top = conn.execute(
        "select max(block_number) from decoded.inference_market__inference_requested "
        "where chain_id = 1612"
    ).fetchall()[0][0]
    cut = top - 6 * 3600 // synthetic.BLOCK_TIME
    for (t,) in conn.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('decoded', 'raw') and table_name <> 'ingest_journal'"
    ).fetchall():
        conn.execute(f"delete from {t} where chain_id = 1612 and block_number >= ?", [cut])
    conn.execute(
        "insert into raw.ingest_journal values (1, 'devnet-mainnet', 1612, 'retract', ?, ?, "
        "0, 0, 0, 0, 0, null, null, 'reorg', now()::TIMESTAMP)",
        [cut, top],
    )
    res = run(conn, world)
    assert res.retracted == {1612: cut}
    assert 1 <= res.dirty_days <= 2
    events = conn.execute(
        "select count(*) from decoded.inference_market__inference_requested"
    ).fetchall()[0][0]
    assert (
        conn.execute("select sum(inference_count) from metrics.inference_daily").fetchall()[0][0]
        == events
    )
    after_retraction = _snapshot(conn)
    assert len(after_retraction["inference_caller_daily"]) < before
    run(conn, world, full=True)
    full = _snapshot(conn)
    for table in incremental.MART_TABLES:
        assert after_retraction[table] == full[table], f"metrics.{table} differs"


def test_late_receipts_dirty_their_days(tmp_path):
    """Receipts are a stream of their own that follows the logs: receipts that land after an
    incremental run recompute their days (owner gas), as a full recompute would have them."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=6_000, days=12))
    sources = " union ".join(
        f"select chain_id, block_number, block_hash, block_timestamp from {t}"
        for t in incremental.WATCHED_TABLES
    )
    conn.execute(f"create table raw.blocks as select distinct * from ({sources})")
    top = conn.execute("select max(block_number) from raw.receipts").fetchall()[0][0]
    cut = top - 2 * 86400 // synthetic.BLOCK_TIME
    conn.execute("create table late as select * from raw.receipts where block_number >= ?", [cut])
    conn.execute("delete from raw.receipts where block_number >= ?", [cut])
    assert conn.execute("select count(*) from late").fetchall()[0][0] > 0
    run(conn, world)
    gas_before = conn.execute(
        "select sum(owner_gas_wei) from metrics.model_payouts_daily"
    ).fetchall()[0][0]
    conn.execute("insert into raw.receipts select * from late")
    inc = run(conn, world)
    assert inc.mode == "incremental" and 1 <= inc.dirty_days <= 6, inc  # 2-3 days x 2 chains
    incremental_state = _snapshot(conn)
    assert (
        conn.execute("select sum(owner_gas_wei) from metrics.model_payouts_daily").fetchall()[0][0]
        > gas_before
    )
    run(conn, world, full=True)
    full_state = _snapshot(conn)
    for table in incremental.MART_TABLES:
        assert incremental_state[table] == full_state[table], f"metrics.{table} differs"
