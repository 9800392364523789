"""Writes to the event store: network binding, appends, reorg retractions, cursors, journal.

Every public write runs in one transaction: the data, its journal event and the cursor commit
together or not at all, so a crash at any moment leaves no duplicate and no gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.decode.abi import quote_ident
from pipelines.decode.decoder import Decoder
from pipelines.store.db import WarehouseError, connect, migrate, transaction

LOGS_STREAM = "logs"
RECEIPTS_STREAM = "receipts"
RECEIPTS_ACTION = "append_receipts"  # raw.ingest_journal.action of a receipts commit


class ChainMismatch(WarehouseError):
    """The node's chain id differs from the one this warehouse bound the network to."""


@dataclass
class Cursor:
    block_number: int
    block_hash: str


def bind_network(con: duckdb.DuckDBPyConnection, network: str, chain_id: int) -> int | None:
    """Bind a network name to a chain id on first use; returns the remembered getLogs span."""
    rows = con.execute("select network, chain_id, get_logs_blocks from raw.networks").fetchall()
    for name, cid, span in rows:
        if name == network:
            if cid != chain_id:
                raise ChainMismatch(
                    f"network {network!r} is bound to chain id {cid} in this warehouse, but the "
                    f"node answers chain id {chain_id}: wrong RPC URL? Refusing to mix chains."
                )
            return int(span) if span is not None else None
    for name, cid, _ in rows:
        if cid == chain_id:
            raise ChainMismatch(
                f"chain id {chain_id} is already indexed in this warehouse as network {name!r}; "
                f"refusing to index it again as {network!r} (use another warehouse file)."
            )
    con.execute(
        "insert into raw.networks values (?, ?, null, now()::timestamp)", [network, chain_id]
    )
    return None


def set_range_size(con: duckdb.DuckDBPyConnection, network: str, span: int) -> None:
    con.execute("update raw.networks set get_logs_blocks = ? where network = ?", [span, network])


def get_cursor(
    con: duckdb.DuckDBPyConnection, network: str, stream: str = LOGS_STREAM
) -> Cursor | None:
    rows = con.execute(
        "select block_number, block_hash from raw.cursors where network = ? and stream = ?",
        [network, stream],
    ).fetchall()
    return Cursor(int(rows[0][0]), rows[0][1]) if rows else None


def _set_cursor(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    cur: Cursor | None,
    stream: str = LOGS_STREAM,
) -> None:
    con.execute("delete from raw.cursors where network = ? and stream = ?", [network, stream])
    if cur is not None:
        con.execute(
            "insert into raw.cursors values (?, ?, ?, ?, ?, now()::timestamp)",
            [network, stream, chain_id, cur.block_number, cur.block_hash],
        )


def _next_journal_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select coalesce(max(journal_id), 0) + 1 from raw.ingest_journal").fetchall()
    return int(row[0][0]) if row else 1


def _count(res: Any) -> int:
    rows = res.fetchall()
    return int(rows[0][0]) if rows else 0


def stage_sql(where_logs: str, where_join: str = "true") -> str:
    """Logs joined with their block timestamp and transaction sender, for the decoder."""
    return (
        "select l.chain_id, l.block_number, l.block_hash, b.block_timestamp, l.tx_hash, "
        "l.tx_index, l.log_index, l.contract_address, t.tx_from, l.topic0, l.topic1, "
        "l.topic2, l.topic3, l.topic_count, l.data "
        "from raw.logs l "
        "left join raw.blocks b on b.chain_id = l.chain_id and b.block_hash = l.block_hash "
        f"and {where_join.replace('@', 'b')} "
        "left join raw.transactions t on t.chain_id = l.chain_id "
        "and t.block_hash = l.block_hash "
        f"and t.tx_hash = l.tx_hash and {where_join.replace('@', 't')} "
        f"where {where_logs}"
    )


CHUNK_STAGE_SQL = (
    "select $chain_id::uinteger as chain_id, l.block_number, l.block_hash, "
    "epoch_ms(h.timestamp_unix::bigint * 1000) as block_timestamp, l.tx_hash, l.tx_index, "
    "l.log_index, l.contract_address, t.tx_from, l.topic0, l.topic1, l.topic2, l.topic3, "
    "l.topic_count, l.data, m.id as event_id, l.removed "
    "from _c_logs l "
    "left join _c_headers h on h.block_hash = l.block_hash "
    "left join _c_txs t on t.block_hash = l.block_hash and t.tx_hash = l.tx_hash "
    "left join _c_map m on m.a = l.contract_address and m.t0 = l.topic0"
)


def stage_chunk(
    con: duckdb.DuckDBPyConnection,
    chain_id: int,
    logs: pa.Table,
    headers: pa.Table,
    txs: pa.Table,
    event_map: pa.Table,
) -> pa.Table:
    """A fetched chunk's logs in the decoder's stage shape (STAGE_COLUMNS + ``removed``):
    joined with their block timestamp, sender and event id. Runs in the fetch thread, on its
    own connection, so the commit only copies finished rows.

    The stage stays in the connection as temp table ``_stage`` for :func:`decode_chunk`: a
    table, unlike a registered Arrow one, carries the column statistics that let DuckDB's
    substr index ASCII data directly, and made here it spares the decoder a copy."""
    rels = {"_c_logs": logs, "_c_headers": headers, "_c_txs": txs, "_c_map": event_map}
    for name, table in rels.items():
        con.register(name, table)
    try:
        con.execute(
            f"create or replace temp table _stage as {CHUNK_STAGE_SQL}", {"chain_id": chain_id}
        )
    finally:
        for name in rels:
            con.unregister(name)
    return con.sql("select * from _stage").to_arrow_table()


@dataclass
class DecodedChunk:
    """A chunk's decoded rows, made in its fetch thread: one Arrow table per decoded.* table
    that got rows, and its dead letters (raw.dead_letters shape)."""

    tables: dict[str, pa.Table]
    dead: pa.Table | None
    n_decoded: int
    n_dead: int


def prepare_scratch(con: duckdb.DuckDBPyConnection, decoder: Decoder) -> None:
    """Give an in-memory connection the event store's tables (empty) for :func:`decode_chunk`."""
    if not con.execute(
        "select 1 from information_schema.tables where table_schema = 'raw' "
        "and table_name = 'dead_letters'"
    ).fetchall():
        migrate(con)
    decoder.ensure_tables(con)


def decode_chunk(con: duckdb.DuckDBPyConnection, decoder: Decoder) -> DecodedChunk:
    """Decode the chunk :func:`stage_chunk` left in a scratch connection
    (:func:`prepare_scratch`), in its fetch thread: decoded rows come out as Arrow, dead
    letters through the scratch table (rolled back), so the commit only appends finished
    rows."""
    tables: dict[str, pa.Table] = {}
    con.execute("begin")
    try:
        n_decoded, n_dead = decoder.decode_stage(con, tables)
        dead = con.sql("select * from raw.dead_letters").to_arrow_table() if n_dead else None
    finally:
        con.execute("rollback")
    return DecodedChunk(tables, dead, n_decoded, n_dead)


@dataclass
class Batch:
    """One commit's worth of fetched data for blocks start..end: ``stage`` is the logs in the
    decoder's stage shape (:func:`stage_chunk`), ``headers`` fetch.HEADER_SCHEMA, ``txs``
    fetch.TX_SCHEMA, ``decoded`` what :func:`decode_chunk` made of the stage."""

    start: int
    end: int
    end_hash: str
    stage: pa.Table
    headers: pa.Table
    txs: pa.Table
    decoded: list[DecodedChunk]
    traces: pa.Table | None = None  # fetch.TRACE_SCHEMA, for networks with native.traces


_TX_COLUMNS = (
    "cast(block_number as ubigint), block_hash, tx_hash, cast(tx_index as uinteger), tx_from, "
    "tx_to, try_cast(tx_type as utinyint), try_cast(nonce as ubigint), "
    "try_cast(value_wei as uhugeint), try_cast(gas_limit as ubigint), "
    "try_cast(gas_price as uhugeint), try_cast(max_fee_per_gas as uhugeint), "
    "try_cast(max_priority_fee_per_gas as uhugeint), input_selector, source_hash, "
    "try_cast(mint_wei as uhugeint), try_cast(is_system_tx as boolean)"
)
_TX_TARGET = (
    "chain_id, block_number, block_hash, tx_hash, tx_index, tx_from, tx_to, tx_type, nonce, "
    "value_wei, gas_limit, gas_price, max_fee_per_gas, max_priority_fee_per_gas, "
    "input_selector, source_hash, mint_wei, is_system_tx, journal_id"
)
_TRACE_COLUMNS = (
    "block_number, block_hash, tx_hash, tx_index, trace_address, depth, trace_type, call_type, "
    "from_address, to_address, try_cast(value_wei as uhugeint), error, reverted"
)


def append_batch(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    batch: Batch,
    decoder: Decoder,
    expect_cursor: Cursor | None,
    head: int | None = None,
    finalized: int | None = None,
    range_size: int | None = None,
) -> dict[str, int]:
    """Append one batch (blocks, transactions, logs), decode it, journal it and move the logs
    cursor, in one transaction. Receipts follow in their own stream (:func:`append_receipts`).
    """
    with transaction(con):
        _expect(con, network, LOGS_STREAM, expect_cursor)
        jid = _next_journal_id(con)
        con.register("_b_headers", batch.headers)
        con.register("_b_txs", batch.txs)
        con.register("_b_stage", batch.stage)
        try:
            n_blocks = _count(
                con.execute(
                    "insert into raw.blocks select ?, block_number, block_hash, parent_hash, "
                    "epoch_ms(timestamp_unix::bigint * 1000), timestamp_unix, has_logs, ? "
                    "from _b_headers",
                    [chain_id, jid],
                )
            )
            _count(
                con.execute(
                    f"insert into raw.transactions ({_TX_TARGET}) "
                    f"select ?, {_TX_COLUMNS}, ? from _b_txs",
                    [chain_id, jid],
                )
            )
            if batch.traces is not None and batch.traces.num_rows:
                con.register("_b_traces", batch.traces)
                try:
                    con.execute(
                        f"insert into raw.traces select ?, {_TRACE_COLUMNS}, ? from _b_traces",
                        [chain_id, jid],
                    )
                finally:
                    con.unregister("_b_traces")
            n_logs = _count(
                con.execute(
                    "insert into raw.logs select chain_id, block_number, block_hash, log_index, "
                    "tx_hash, tx_index, contract_address, topic0, topic1, topic2, topic3, "
                    "topic_count, data, removed, ? from _b_stage",
                    [jid],
                )
            )
        finally:
            for name in ("_b_headers", "_b_txs", "_b_stage"):
                con.unregister(name)
        n_decoded = sum(d.n_decoded for d in batch.decoded)
        n_dead = sum(d.n_dead for d in batch.decoded)
        per_table: dict[str, list[pa.Table]] = {}
        for d in batch.decoded:
            for t, rows in d.tables.items():
                per_table.setdefault(t, []).append(rows)
        dead = [d.dead for d in batch.decoded if d.dead is not None]
        for target, parts in [*((f"decoded.{quote_ident(t)}", p) for t, p in per_table.items())] + (
            [("raw.dead_letters", dead)] if dead else []
        ):
            con.register("_b_rows", pa.concat_tables(parts))
            try:
                con.execute(f"insert into {target} select * from _b_rows")
            finally:
                con.unregister("_b_rows")
        _journal(
            con, jid, network, chain_id, "append", batch.start, batch.end,
            n_blocks, n_logs, 0, n_decoded, n_dead, head, finalized,
        )  # fmt: skip
        _set_cursor(con, network, chain_id, Cursor(batch.end, batch.end_hash))
        if range_size is not None:
            set_range_size(con, network, range_size)
    return {
        "journal_id": jid,
        "blocks": n_blocks,
        "logs": n_logs,
        "decoded": n_decoded,
        "dead_letters": n_dead,
    }


def _expect(
    con: duckdb.DuckDBPyConnection, network: str, stream: str, expect: Cursor | None
) -> None:
    cur = get_cursor(con, network, stream)
    if cur != expect:
        raise WarehouseError(
            f"{stream} cursor of {network} moved under us (expected {expect}, found {cur}); "
            "is another writer running?"
        )


def _journal(con: duckdb.DuckDBPyConnection, *values: Any, detail: str | None = None) -> None:
    con.execute(
        "insert into raw.ingest_journal values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "now()::timestamp)",
        [*values, detail],
    )


def receipts_todo(
    con: duckdb.DuckDBPyConnection, network: str, chain_id: int
) -> tuple[Cursor | None, Cursor | None, list[tuple[int, str]]]:
    """(receipts cursor, logs cursor, the blocks between them that carry our transactions)."""
    rc = get_cursor(con, network, RECEIPTS_STREAM)
    lc = get_cursor(con, network, LOGS_STREAM)
    if lc is None or (rc is not None and rc.block_number >= lc.block_number):
        return rc, lc, []
    rows = con.execute(
        "select distinct block_number, block_hash from raw.transactions where chain_id = ? "
        "and block_number > ? and block_number <= ? order by 1",
        [chain_id, -1 if rc is None else rc.block_number, lc.block_number],
    ).fetchall()
    return rc, lc, [(int(n), h) for n, h in rows]


# The operator fee a receipt implies (OP Stack specs, gas-price-oracle / Isthmus and Jovian
# exec-engine): Isthmus gasUsed * operatorFeeScalar / 1e6 + operatorFeeConstant; from Jovian
# (the receipts carry daFootprintGasScalar) gasUsed * operatorFeeScalar * 100 +
# operatorFeeConstant. Deposits (type 0x7e) pay none; receipts without the fields give null.
OPERATOR_FEE_SQL = (
    "case when try_cast(r.type as utinyint) = 126 then null "
    "when r.operatorFeeScalar is null and r.operatorFeeConstant is null then null "
    "when r.daFootprintGasScalar is not null then "
    "(cast(r.gasUsed as ubigint)::uhugeint * coalesce(try_cast(r.operatorFeeScalar as ubigint), 0)"
    " * 100 + coalesce(try_cast(r.operatorFeeConstant as ubigint), 0)) "
    "else (cast(r.gasUsed as ubigint)::uhugeint "
    "* coalesce(try_cast(r.operatorFeeScalar as ubigint), 0) // 1000000 "
    "+ coalesce(try_cast(r.operatorFeeConstant as ubigint), 0)) end"
)
_RECEIPT_COLUMNS = (
    "cast(r.blockNumber as ubigint), lower(r.blockHash), lower(r.transactionHash), "
    'cast(r.transactionIndex as uinteger), lower(r."from"), lower(r."to"), '
    "lower(r.contractAddress), try_cast(r.type as utinyint), try_cast(r.status as utinyint), "
    "cast(r.gasUsed as ubigint), try_cast(r.cumulativeGasUsed as ubigint), "
    "try_cast(r.effectiveGasPrice as uhugeint), try_cast(r.l1Fee as uhugeint), "
    "try_cast(r.l1GasUsed as uhugeint), try_cast(r.l1GasPrice as uhugeint), r.l1FeeScalar, "
    "try_cast(r.l1BaseFeeScalar as ubigint), try_cast(r.l1BlobBaseFee as uhugeint), "
    "try_cast(r.l1BlobBaseFeeScalar as ubigint), "
    "try_cast(r.operatorFeeScalar as ubigint), try_cast(r.operatorFeeConstant as ubigint), "
    "try_cast(r.daFootprintGasScalar as ubigint), try_cast(r.depositNonce as ubigint), "
    f"try_cast(r.depositReceiptVersion as ubigint), {OPERATOR_FEE_SQL}"
)
_RECEIPT_TARGET = (
    "chain_id, block_number, block_hash, tx_hash, tx_index, tx_from, tx_to, contract_created, "
    "tx_type, status, gas_used, cumulative_gas_used, effective_gas_price, l1_fee, l1_gas_used, "
    "l1_gas_price, l1_fee_scalar, l1_base_fee_scalar, l1_blob_base_fee, "
    "l1_blob_base_fee_scalar, operator_fee_scalar, operator_fee_constant, "
    "da_footprint_gas_scalar, deposit_nonce, deposit_receipt_version, operator_fee_wei, "
    "journal_id"
)


def append_receipts(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    receipts: pa.Table,
    start: int,
    upto: Cursor,
    expect_cursor: Cursor | None,
) -> int:
    """Store the receipts of our transactions in blocks start..upto (fetch.RECEIPT_FIELDS as
    served, any superset of ours), journal them and move the receipts cursor to ``upto``, in
    one transaction. Every transaction of ours in the range must get exactly one receipt."""
    with transaction(con):
        _expect(con, network, RECEIPTS_STREAM, expect_cursor)
        jid = _next_journal_id(con)
        con.register("_b_receipts", receipts)
        try:
            n = _count(
                con.execute(
                    f"insert into raw.receipts ({_RECEIPT_TARGET}) "
                    f"select ?, {_RECEIPT_COLUMNS}, ? "
                    "from _b_receipts r semi join (select block_hash, tx_hash "
                    "from raw.transactions where chain_id = ? and block_number between ? and ?"
                    ") t on t.block_hash = lower(r.blockHash) "
                    "and t.tx_hash = lower(r.transactionHash)",
                    [chain_id, jid, chain_id, start, upto.block_number],
                )
            )
        finally:
            con.unregister("_b_receipts")
        want = _count(
            con.execute(
                "select count(*) from raw.transactions where chain_id = ? "
                "and block_number between ? and ?",
                [chain_id, start, upto.block_number],
            )
        )
        if n != want:
            raise WarehouseError(
                f"{network}: {n} receipts for {want} transactions in blocks "
                f"{start}..{upto.block_number}; the node served incomplete receipts"
            )
        _journal(
            con, jid, network, chain_id, RECEIPTS_ACTION, start, upto.block_number,
            0, 0, n, 0, 0, None, None,
        )  # fmt: skip
        _set_cursor(con, network, chain_id, upto, RECEIPTS_STREAM)
    return n


def stored_tail(
    con: duckdb.DuckDBPyConnection, chain_id: int, below_or_at: int, limit: int
) -> list[tuple[int, str]]:
    """Stored (block_number, block_hash) at or below a height, highest first."""
    return [
        (int(n), h)
        for n, h in con.execute(
            "select block_number, block_hash from raw.blocks where chain_id = ? and "
            "block_number <= ? order by block_number desc limit ?",
            [chain_id, below_or_at, limit],
        ).fetchall()
    ]


class DeepReorg(WarehouseError):
    """A reorg would retract blocks that were final when ingested; refused unless allowed."""


DEEP_REORG_DETAIL = "deep reorg"  # how the journal's detail of an allowed deep retraction begins
REORG_REFUSED = "reorg_refused"  # raw.ingest_journal.action of a refused deep retraction


def finalized_floor(con: duckdb.DuckDBPyConnection, network: str) -> int | None:
    """The highest block the logs stream's appends recorded as finalized, since the last
    deep retraction that was allowed (which started the warehouse's finality afresh)."""
    row = con.execute(
        "select max(finalized_block) from raw.ingest_journal where network = $n "
        "and action = 'append' and journal_id > coalesce((select max(journal_id) "
        "from raw.ingest_journal where network = $n and action = 'retract' "
        "and starts_with(detail, $deep)), 0)",
        {"n": network, "deep": DEEP_REORG_DETAIL},
    ).fetchall()
    return None if not row or row[0][0] is None else int(row[0][0])


def record_refused_reorg(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    from_block: int,
    to_block: int,
    head: int | None,
    finalized: int | None,
    detail: str,
) -> int:
    """Journal a deep retraction that was refused (nothing moved); returns its journal id."""
    with transaction(con):
        jid = _next_journal_id(con)
        _journal(
            con, jid, network, chain_id, REORG_REFUSED, from_block, max(from_block, to_block),
            0, 0, 0, 0, 0, head, finalized, detail=detail[:2000],
        )  # fmt: skip
    return jid


def retract_above(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    ancestor: Cursor | None,
    detail: str,
) -> dict[str, int]:
    """Move every block above the common ancestor to raw.orphaned_*, in one transaction."""
    above = -1 if ancestor is None else ancestor.block_number
    with transaction(con):
        cur = get_cursor(con, network)
        jid = _next_journal_id(con)
        counts = {}
        for t in ("blocks", "logs", "transactions", "receipts", "traces"):
            con.execute(
                f"insert into raw.orphaned_{t} by name select *, ? as retracted_by from raw.{t} "
                "where chain_id = ? and block_number > ?",
                [jid, chain_id, above],
            )
            counts[t] = _count(
                con.execute(
                    f"delete from raw.{t} where chain_id = ? and block_number > ?",
                    [chain_id, above],
                )
            )
        n_decoded = 0
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'decoded' "
            "and table_type = 'BASE TABLE'"
        ).fetchall():
            n_decoded += _count(
                con.execute(
                    f"delete from decoded.{quote_ident(table)} where chain_id = ? "
                    "and block_number > ?",
                    [chain_id, above],
                )
            )
        n_dead = _count(
            con.execute(
                "delete from raw.dead_letters where chain_id = ? and block_number > ?",
                [chain_id, above],
            )
        )
        to_block = cur.block_number if cur else above
        con.execute(
            "insert into raw.ingest_journal values (?, ?, ?, 'retract', ?, ?, ?, ?, ?, ?, ?, "
            "null, null, ?, now()::timestamp)",
            [
                jid,
                network,
                chain_id,
                above + 1,
                max(to_block, above + 1),
                counts["blocks"],
                counts["logs"],
                counts["receipts"],
                n_decoded,
                n_dead,
                detail,
            ],
        )
        _set_cursor(con, network, chain_id, ancestor)
        rc = get_cursor(con, network, RECEIPTS_STREAM)
        if rc is not None and rc.block_number > above:
            _set_cursor(con, network, chain_id, ancestor, RECEIPTS_STREAM)
    return {
        "journal_id": jid,
        **counts,
        "decoded": n_decoded,
        "dead_letters": n_dead,
        "from_block": above + 1,
        "to_block": to_block,
    }


def rebuild_decoded(
    con: duckdb.DuckDBPyConnection, decoders: dict[int, Decoder], drop: bool = True
) -> dict[str, int]:
    """Replay: drop decoded.* and the dead letters, rebuild both from the raw tables."""
    with transaction(con):
        if drop:
            for (table,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'decoded' "
                "and table_type = 'BASE TABLE'"
            ).fetchall():
                con.execute(f"drop table decoded.{quote_ident(table)}")
        con.execute("delete from raw.dead_letters")
        total_decoded = total_dead = 0
        for chain_id, decoder in decoders.items():
            decoder.ensure_tables(con)
            decoder.stage(con, stage_sql(f"l.chain_id = {int(chain_id)}"))
            d, x = decoder.decode_stage(con)
            total_decoded += d
            total_dead += x
    return {"decoded": total_decoded, "dead_letters": total_dead}


def checkpoint_appended(con: duckdb.DuckDBPyConnection) -> None:
    """CHECKPOINT after a large append, without vacuuming: a vacuum re-packs the last row
    groups of every table appended to, which after a batch of 250k logs cost ~1.5 µs per
    log (a fifth of ingestion's CPU) to merge its partial tail row group into the next.
    Checkpoints after small commits (the lease's close) still vacuum, so following the head
    does not pile up tiny row groups."""
    (tasks,) = con.execute("select current_setting('max_vacuum_tasks')").fetchall()[0]
    con.execute("set max_vacuum_tasks = 0")
    try:
        con.execute("checkpoint")
    finally:
        con.execute(f"set max_vacuum_tasks = {int(tasks)}")


class Lease:
    """The writer's hold on the warehouse: open on demand, closed after ``hold_s`` or when idle.

    DuckDB allows one read-write process or many read-only ones per file, so the writer never
    keeps the file longer than a few commits; readers (olw query) get in between.
    """

    def __init__(self, path: str | Path, hold_s: float = 1.0, wait_s: float = 30.0):
        self.path = Path(path)
        self.hold_s = hold_s
        self.wait_s = wait_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._since = 0.0
        self._migrated = False

    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect(self.path, read_only=False, wait_s=self.wait_s)
            self._since = time.monotonic()
            if not self._migrated:
                migrate(self._con)
                self._migrated = True
        return self._con

    def maybe_release(self) -> None:
        if self._con is not None and time.monotonic() - self._since >= self.hold_s:
            self.release()

    def release(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def record_health(
    con: duckdb.DuckDBPyConnection,
    network: str,
    stream: str,
    error: BaseException | None = None,
    fix: str | None = None,
) -> None:
    """Note in raw.ingest_health that ``stream`` reached its target now, or failed now with
    ``error`` (and what fixes it); ``olw status`` shows a stream whose last failure is later
    than its last success as failing."""
    if error is None:
        con.execute(
            "insert into raw.ingest_health (network, stream, ok_at) values (?, ?, now()::timestamp)"
            " on conflict do update set ok_at = excluded.ok_at",
            [network, stream],
        )
        return
    con.execute(
        "insert into raw.ingest_health values (?, ?, null, now()::timestamp, ?, ?, ?) "
        "on conflict do update set error_at = excluded.error_at, "
        "error_kind = excluded.error_kind, error = excluded.error, fix = excluded.fix",
        [network, stream, type(error).__name__, str(error)[:2000], fix],
    )
