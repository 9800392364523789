"""Seal one finalized block-range partition into the lake.

The partition is fetched and decoded by the same code as the local store's ingest
(pipelines.chain's reader, pipelines.store's staging and decoding in the fetch threads), and
committed into an in-memory DuckDB store by ``append_batch`` / ``append_receipts``, so its
rows are exactly what a local ingest would hold. Each table is then written to the lake by
one overwrite of the partition (a re-run replaces it with the same rows), and the marker row
comes last: a writer killed at any moment leaves the partition unmarked, and the next run
writes it again. Nothing in the lake is ever deleted by a reorg: only final blocks are sealed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.config import NetworkConfig, get_network
from pipelines.lake.partitions import partition_key
from pipelines.lake.schema import store_columns, to_lake_select
from pipelines.lake.settings import LakeError, LakeSettings, open_catalog
from pipelines.lake.tables import MARKERS, ensure_table, overwrite_partition

# the store's tables that make up history; decoded.* are added per network
RAW_TABLES = ("blocks", "transactions", "logs", "receipts", "dead_letters")

MARKER_SCHEMA = pa.schema(
    [
        ("chain_id", pa.int64()),
        ("network", pa.string()),
        ("partition_start", pa.int64()),
        ("partition_end", pa.int64()),
        ("blocks_per_partition", pa.int64()),
        ("first_block", pa.int64()),  # the network's first contract block when sealed
        ("first_parent_hash", pa.string()),
        ("last_block_hash", pa.string()),
        ("block_count", pa.int64()),
        ("log_count", pa.int64()),
        ("transaction_count", pa.int64()),
        ("receipt_count", pa.int64()),
        ("decoded_count", pa.int64()),
        ("dead_letter_count", pa.int64()),
        ("sealed_at", pa.timestamp("us")),
        ("sealed_by", pa.string()),
    ]
)


@dataclass
class SealResult:
    network: str
    chain_id: int
    key: str
    first: int
    last: int
    blocks: int = 0
    logs: int = 0
    transactions: int = 0
    receipts: int = 0
    decoded: int = 0
    dead_letters: int = 0
    commits: int = 0
    fetch_s: float = 0.0
    write_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seal_partition(
    network: str | NetworkConfig,
    key: str,
    settings: LakeSettings | None = None,
    rpc_url: str | None = None,
    workers: int = 3,
    receipts: bool = True,
    catalog: Any = None,
    after_table: Callable[[str], None] | None = None,
) -> SealResult:
    """Fetch, decode and write partition ``key`` (``first-last`` blocks) of a network, then
    its marker. Refuses a partition that is not wholly final yet."""
    from pipelines.lake.partitions import parse_key

    net = get_network(network) if isinstance(network, str) else network
    if not net.contracts:
        raise LakeError(
            f"network {net.name!r} has no contracts configured; deploy them (olw devnet up) "
            "or add schemas/contracts/<network>.json"
        )
    s = settings or LakeSettings.from_env()
    first, last = parse_key(key)
    if last - first + 1 != s.blocks_per_partition or first % s.blocks_per_partition:
        raise LakeError(
            f"partition {key} is not one of this lake's {s.blocks_per_partition}-block "
            "partitions (OLW_LAKE_PARTITION_BLOCKS); partition keys come from "
            "pipelines.lake.keys_between"
        )
    con, res, hashes = fetch_partition(net, first, last, rpc_url, workers, receipts)
    try:
        t0 = time.monotonic()
        cat = catalog if catalog is not None else open_catalog(s)
        res.commits = write_partition(con, cat, res, net.name, after_table)
        first_block = min(c.first_block for c in net.contracts)
        marker = pa.table(
            {
                "chain_id": [res.chain_id],
                "network": [net.name],
                "partition_start": [first],
                "partition_end": [last],
                "blocks_per_partition": [s.blocks_per_partition],
                "first_block": [first_block],
                "first_parent_hash": [hashes[0]],
                "last_block_hash": [hashes[1]],
                "block_count": [res.blocks],
                "log_count": [res.logs],
                "transaction_count": [res.transactions],
                "receipt_count": [res.receipts],
                "decoded_count": [res.decoded],
                "dead_letter_count": [res.dead_letters],
                "sealed_at": [datetime.now(UTC).replace(tzinfo=None)],
                "sealed_by": [f"{socket.gethostname()}:{os.getpid()}"],
            },
            schema=MARKER_SCHEMA,
        )
        table = ensure_table(cat, MARKERS, MARKER_SCHEMA)
        res.commits += overwrite_partition(table, marker, res.chain_id, first)
        res.write_s = time.monotonic() - t0
    finally:
        con.close()
    return res


def fetch_partition(
    net: NetworkConfig,
    first: int,
    last: int,
    rpc_url: str | None = None,
    workers: int = 3,
    receipts: bool = True,
) -> tuple[duckdb.DuckDBPyConnection, SealResult, tuple[str, str]]:
    """Blocks first..last of a network in an in-memory store (the local store's tables,
    built by its migrations and the decoder), with (parent hash of first, hash of last)."""
    from pipelines.chain import AdaptiveRange
    from pipelines.chain.fetch import RECEIPT_FIELDS, thread_duckdb
    from pipelines.decode import Decoder
    from pipelines.ingest import open_reader
    from pipelines.store import Batch, Cursor, append_batch, bind_network, migrate
    from pipelines.store.events import (
        append_receipts,
        decode_chunk,
        prepare_scratch,
        receipts_todo,
        stage_chunk,
    )

    t0 = time.monotonic()
    decoder = Decoder(net.contracts)
    reader, chain_id = open_reader(net, rpc_url, workers=workers)
    con = duckdb.connect(config={"threads": 2})
    try:
        head = reader.head()
        fin = reader.finalized(head)
        if last > fin:
            raise LakeError(
                f"{net.name}: partition {partition_key(first, last - first + 1)} is not final "
                f"yet (finalized block {fin}, head {head}); only final blocks are sealed"
            )
        reader.adaptive = AdaptiveRange(min(net.max_blocks, 64), net.max_blocks)
        ready = threading.local()

        def prepare(chunk: Any) -> Any:  # in the fetch thread, as the local ingest does
            scratch = thread_duckdb()
            if getattr(ready, "con", None) is not scratch:
                prepare_scratch(scratch, decoder)
                ready.con = scratch
            chunk.logs = stage_chunk(
                scratch, chain_id, chunk.logs, chunk.headers, chunk.txs, decoder.event_map_arrow
            )
            chunk.decoded = decode_chunk(scratch, decoder)
            return chunk

        chunks: list[Any] = []
        for chunk in reader.iter_chunks(first, last, fin, None, prepare):
            if chunks and chunk.start_parent_hash != chunks[-1].end_hash:
                raise LakeError(
                    f"{net.name}: block {chunk.start} does not extend block {chunk.start - 1} "
                    "below finality; the node is inconsistent, try again"
                )
            chunks.append(chunk)
        migrate(con)
        bind_network(con, net.name, chain_id)
        decoder.ensure_tables(con)
        batch = Batch(
            start=first,
            end=last,
            end_hash=chunks[-1].end_hash,
            stage=pa.concat_tables([c.logs for c in chunks]),
            headers=pa.concat_tables([c.headers for c in chunks]),
            txs=pa.concat_tables([c.txs for c in chunks]),
            decoded=[c.decoded for c in chunks if c.decoded is not None],
        )
        hashes = (chunks[0].start_parent_hash, chunks[-1].end_hash)
        del chunks
        done = append_batch(con, net.name, chain_id, batch, decoder, None, head, fin)
        res = SealResult(
            net.name, chain_id, partition_key(first, last - first + 1), first, last,
            blocks=done["blocks"], logs=done["logs"], decoded=done["decoded"],
            dead_letters=done["dead_letters"],
        )  # fmt: skip
        del batch
        _, _, blocks = receipts_todo(con, net.name, chain_id)
        res.transactions = int(
            (con.execute("select count(*) from raw.transactions").fetchone() or [0])[0]
        )
        if receipts:
            tables = [t for _, _, t in reader.iter_receipts(blocks)]
            empty = pa.schema([(k, pa.string()) for k in RECEIPT_FIELDS]).empty_table()
            got = pa.concat_tables(tables, promote_options="permissive") if tables else empty
            res.receipts = append_receipts(
                con, net.name, chain_id, got, first, Cursor(last, hashes[1]), None
            )
        res.fetch_s = time.monotonic() - t0
        return con, res, hashes
    except BaseException:
        con.close()
        raise
    finally:
        reader.close()


def write_partition(
    con: duckdb.DuckDBPyConnection,
    catalog: Any,
    res: SealResult,
    network: str,
    after_table: Callable[[str], None] | None = None,
) -> int:
    """Overwrite the partition in every lake table from the in-memory store; the commits."""
    commits = 0
    decoded = [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'decoded' "
            "order by table_name"
        ).fetchall()
    ]
    for schema, table in [("raw", t) for t in RAW_TABLES] + [("decoded", t) for t in decoded]:
        cols = store_columns(con, schema, table)
        rows = con.sql(
            f"select {to_lake_select(cols, res.first)} from {schema}.{table} order by block_number"
        ).to_arrow_table()
        ice = ensure_table(catalog, (schema, table), rows.schema)
        commits += overwrite_partition(ice, rows, res.chain_id, res.first)
        if after_table is not None:
            after_table(f"{schema}.{table}")
    return commits
