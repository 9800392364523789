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

from pipelines.decode.decoder import Decoder
from pipelines.store.db import WarehouseError, connect, migrate

LOGS_STREAM = "logs"


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
        "l.tx_index, l.log_index, l.contract_address, r.tx_from, l.topic0, l.topic1, "
        "l.topic2, l.topic3, l.topic_count, l.data "
        "from raw.logs l "
        "left join raw.blocks b on b.chain_id = l.chain_id and b.block_hash = l.block_hash "
        f"and {where_join.replace('@', 'b')} "
        "left join raw.receipts r on r.chain_id = l.chain_id and r.block_hash = l.block_hash "
        f"and r.tx_hash = l.tx_hash and {where_join.replace('@', 'r')} "
        f"where {where_logs}"
    )


def arrow_stage_sql(chain_id: int) -> str:
    """Like :func:`stage_sql`, over a batch's registered Arrow tables _b_logs/_b_headers/
    _b_receipts (hex as served), with the casts raw.logs applies, plus ``removed``."""
    return (
        f"select {int(chain_id)}::uinteger as chain_id, "
        "cast(l.blockNumber as ubigint) as block_number, lower(l.blockHash) as block_hash, "
        "b.block_timestamp, lower(l.transactionHash) as tx_hash, "
        "cast(l.transactionIndex as uinteger) as tx_index, "
        "cast(l.logIndex as uinteger) as log_index, lower(l.address) as contract_address, "
        "r.tx_from, lower(l.topics[1]) as topic0, lower(l.topics[2]) as topic1, "
        "lower(l.topics[3]) as topic2, lower(l.topics[4]) as topic3, "
        "cast(coalesce(len(l.topics), 0) as utinyint) as topic_count, l.data, "
        "coalesce(l.removed, false) as removed "
        "from _b_logs l "
        "left join (select lower(hash) as h, epoch_ms(cast(timestamp as bigint) * 1000) "
        "as block_timestamp from _b_headers) b on b.h = lower(l.blockHash) "
        "left join (select lower(blockHash) as bh, lower(transactionHash) as th, "
        'lower("from") as tx_from from _b_receipts) r '
        "on r.bh = lower(l.blockHash) and r.th = lower(l.transactionHash)"
    )


@dataclass
class Batch:
    """One commit's worth of fetched data (Arrow, hex as served) for blocks start..end."""

    start: int
    end: int
    end_hash: str
    logs: pa.Table
    headers: pa.Table
    receipts: pa.Table


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
    """Append one batch, decode it, journal it and move the cursor, in one transaction."""
    con.execute("begin")
    try:
        cur = get_cursor(con, network)
        if (cur is None) != (expect_cursor is None) or (
            cur is not None and expect_cursor is not None and cur != expect_cursor
        ):
            raise WarehouseError(
                f"cursor of {network} moved under us (expected {expect_cursor}, found {cur}); "
                "is another writer running?"
            )
        jid = _next_journal_id(con)
        con.register("_b_logs", batch.logs)
        con.register("_b_headers", batch.headers)
        con.register("_b_receipts", batch.receipts)
        n_blocks = _count(
            con.execute(
                "insert into raw.blocks select ?, cast(number as ubigint), lower(hash), "
                "lower(parentHash), epoch_ms(cast(timestamp as bigint) * 1000), "
                "cast(timestamp as ubigint), has_logs, ? from _b_headers",
                [chain_id, jid],
            )
        )
        n_receipts = _count(
            con.execute(
                "insert into raw.receipts select ?, cast(blockNumber as ubigint), "
                "lower(blockHash), lower(transactionHash), cast(transactionIndex as uinteger), "
                'lower("from"), lower("to"), lower(contractAddress), '
                "try_cast(type as utinyint), try_cast(status as utinyint), "
                "cast(gasUsed as ubigint), try_cast(cumulativeGasUsed as ubigint), "
                "try_cast(effectiveGasPrice as uhugeint), try_cast(l1Fee as uhugeint), "
                "try_cast(l1GasUsed as uhugeint), try_cast(l1GasPrice as uhugeint), "
                "l1FeeScalar, try_cast(l1BaseFeeScalar as ubigint), "
                "try_cast(l1BlobBaseFee as uhugeint), try_cast(l1BlobBaseFeeScalar as ubigint), "
                "? from _b_receipts",
                [chain_id, jid],
            )
        )
        # Decode the Arrow batch in hand (not raw.logs read back): _stage holds the logs cast
        # exactly as raw.logs stores them, joined with their block and sender; raw.logs is
        # then filled from it.
        decoder.stage(con, arrow_stage_sql(chain_id))
        for name in ("_b_logs", "_b_headers", "_b_receipts"):
            con.unregister(name)
        n_logs = _count(
            con.execute(
                "insert into raw.logs select chain_id, block_number, block_hash, log_index, "
                "tx_hash, tx_index, contract_address, topic0, topic1, topic2, topic3, "
                "topic_count, data, removed, ? from _stage",
                [jid],
            )
        )
        n_decoded, n_dead = decoder.decode_stage(con)
        con.execute(
            "insert into raw.ingest_journal values (?, ?, ?, 'append', ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "null, now()::timestamp)",
            [
                jid,
                network,
                chain_id,
                batch.start,
                batch.end,
                n_blocks,
                n_logs,
                n_receipts,
                n_decoded,
                n_dead,
                head,
                finalized,
            ],
        )
        _set_cursor(con, network, chain_id, Cursor(batch.end, batch.end_hash))
        if range_size is not None:
            set_range_size(con, network, range_size)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {
        "journal_id": jid,
        "blocks": n_blocks,
        "logs": n_logs,
        "receipts": n_receipts,
        "decoded": n_decoded,
        "dead_letters": n_dead,
    }


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


def retract_above(
    con: duckdb.DuckDBPyConnection,
    network: str,
    chain_id: int,
    ancestor: Cursor | None,
    detail: str,
) -> dict[str, int]:
    """Move every block above the common ancestor to raw.orphaned_*, in one transaction."""
    above = -1 if ancestor is None else ancestor.block_number
    con.execute("begin")
    try:
        cur = get_cursor(con, network)
        jid = _next_journal_id(con)
        counts = {}
        for t in ("blocks", "logs", "receipts"):
            con.execute(
                f"insert into raw.orphaned_{t} select *, ? from raw.{t} "
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
                    f"delete from decoded.{table} where chain_id = ? and block_number > ?",
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
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
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
    con.execute("begin")
    try:
        if drop:
            for (table,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'decoded' "
                "and table_type = 'BASE TABLE'"
            ).fetchall():
                con.execute(f"drop table decoded.{table}")
        con.execute("delete from raw.dead_letters")
        total_decoded = total_dead = 0
        for chain_id, decoder in decoders.items():
            decoder.ensure_tables(con)
            decoder.stage(con, stage_sql(f"l.chain_id = {int(chain_id)}"))
            d, x = decoder.decode_stage(con)
            total_decoded += d
            total_dead += x
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {"decoded": total_decoded, "dead_letters": total_dead}


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
