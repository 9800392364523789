"""The ingest loop: fetch (pipelines.chain) → store + decode (pipelines.store/decode).

Knows nothing of Dagster or the CLI: ``ingest_range`` backfills a block range, ``follow`` keeps
up with the head; both return an :class:`IngestSummary` and report :class:`Progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipelines.chain import AdaptiveRange, ChainMoved, ChainReader, RetryPolicy, RpcClient
from pipelines.chain.fetch import Chunk
from pipelines.chain.rpc import RpcUnavailable
from pipelines.config import ConfigError, NetworkConfig, get_network, redact_url, warehouse_path
from pipelines.decode import Decoder
from pipelines.store import (
    Batch,
    ChainMismatch,
    Cursor,
    Lease,
    WarehouseError,
    append_batch,
    bind_network,
    get_cursor,
    retract_above,
)
from pipelines.store.events import stored_tail


@dataclass
class Progress:
    """A snapshot of an ingest run, passed to the progress callback after every commit."""

    network: str
    cursor: int | None
    target: int
    head: int
    finalized: int
    blocks_done: int
    logs_done: int
    elapsed_s: float
    event: str = "commit"  # commit | idle | reorg


@dataclass
class IngestSummary:
    network: str
    chain_id: int
    start: int
    cursor: int | None
    head: int = -1
    finalized: int = -1
    blocks: int = 0
    logs: int = 0
    receipts: int = 0
    decoded: int = 0
    dead_letters: int = 0
    commits: int = 0
    reorgs: int = 0
    retracted_blocks: int = 0
    elapsed_s: float = 0.0
    rpc: dict[str, int] = field(default_factory=dict)

    @property
    def logs_per_s(self) -> float:
        return self.logs / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _resolve(network: str | NetworkConfig) -> NetworkConfig:
    net = get_network(network) if isinstance(network, str) else network
    if not net.contracts:
        raise ConfigError(
            f"network {net.name!r} has no contracts configured (schemas/contracts/{net.name}"
            ".json or $OLW_CONTRACTS_DIR); deploy them (olw devnet up) or add them"
        )
    return net


def open_reader(
    net: NetworkConfig,
    rpc_url: str | None = None,
    policy: RetryPolicy | None = None,
    workers: int = 3,
    connect_deadline_s: float = 10.0,
) -> tuple[ChainReader, int]:
    """A reader for the network's node, after checking it answers with the configured chain id."""
    url = rpc_url or net.rpc_url()
    rpc = RpcClient(url, policy, max_connections=workers + 1)
    reader = ChainReader(net, rpc, [c.address for c in net.contracts], workers=workers)
    try:
        chain_id = reader.chain_id(deadline_s=connect_deadline_s)
    except RpcUnavailable as exc:
        rpc.close()
        raise RpcUnavailable(
            f"cannot reach the node of network {net.name!r} at {redact_url(url)}: {exc}. "
            f"Start it (olw devnet up) or point {net.rpc_url_env} at a live JSON-RPC endpoint."
        ) from None
    except Exception:
        rpc.close()
        raise
    if chain_id != net.chain_id:
        rpc.close()
        raise ChainMismatch(
            f"the node at {redact_url(url)} answers chain id {chain_id}, but network "
            f"{net.name!r} is configured with chain id {net.chain_id}: wrong RPC URL "
            f"({net.rpc_url_env})?"
        )
    return reader, chain_id


def _concat(chunks: list[Chunk]) -> Batch:
    return Batch(
        start=chunks[0].start,
        end=chunks[-1].end,
        end_hash=chunks[-1].end_hash,
        logs=pa.concat_tables([c.logs for c in chunks]),
        headers=pa.concat_tables([c.headers for c in chunks]),
        receipts=pa.concat_tables([c.receipts for c in chunks]),
    )


def _find_ancestor(
    lease: Lease, reader: ChainReader, chain_id: int, cursor: Cursor
) -> Cursor | None:
    """Walk the stored blocks down from the cursor to the highest one still canonical."""
    below = cursor.block_number
    while True:
        tail = stored_tail(lease.con(), chain_id, below, 64)
        if not tail:
            return None
        canon = reader.headers([n for n, _ in tail])
        for (n, h), c in zip(tail, canon, strict=True):
            if c is not None and c["hash"] == h:
                return Cursor(n, h)
        below = tail[-1][0] - 1


def ingest_range(
    network: str | NetworkConfig,
    start: int | None = None,
    end: int | None = None,
    warehouse: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    follow: bool = False,
    stop: Callable[[], bool] | None = None,
    rpc_url: str | None = None,
    policy: RetryPolicy | None = None,
    workers: int = 3,
    poll_s: float = 0.5,
    batch_logs: int = 100_000,
    batch_s: float = 2.0,
    lock_wait_s: float = 30.0,
    max_blocks: int | None = None,
) -> IngestSummary:
    """Ingest the network's logs from ``start`` (default: after the cursor, else the first
    contract block) up to ``end`` (default: the head); with ``follow`` keep going at the head.

    Idempotent: what is committed is never fetched again, and a run killed at any moment
    resumes from its cursor.
    """
    net = _resolve(network)
    decoder = Decoder(net.contracts)
    reader, chain_id = open_reader(net, rpc_url, policy, workers)
    lease = Lease(warehouse or warehouse_path(), wait_s=lock_wait_s)
    t0 = time.monotonic()
    try:
        con = lease.con()
        span = bind_network(con, net.name, chain_id)
        decoder.ensure_tables(con)
        cursor = get_cursor(con, net.name)
        lease.release()
        cap = min(net.max_blocks, max_blocks or net.max_blocks)
        # start small: a dense devnet has 2,000 logs per block; sparse chains grow 2x a step
        reader.adaptive = AdaptiveRange(span or min(cap, 4), cap)
        first = start if start is not None else min(c.first_block for c in net.contracts)
        if cursor is not None and start is not None and start > cursor.block_number + 1:
            raise WarehouseError(
                f"{net.name} is ingested up to block {cursor.block_number}; starting at {start} "
                "would leave a gap. Omit --from to resume from the cursor."
            )
        summary = IngestSummary(
            net.name, chain_id, first, None if cursor is None else cursor.block_number
        )

        def on_reorg(cur: Cursor, why: str) -> Cursor | None:
            ancestor = _find_ancestor(lease, reader, chain_id, cur)
            if ancestor == cur:
                return cur
            res = retract_above(lease.con(), net.name, chain_id, ancestor, why)
            summary.reorgs += 1
            summary.retracted_blocks += res["to_block"] - res["from_block"] + 1
            return ancestor

        while True:
            if stop is not None and stop():
                break
            head = reader.head()
            fin = reader.finalized(head)
            summary.head, summary.finalized = head, fin
            if cursor is not None:
                hdr = reader.header(cursor.block_number) if cursor.block_number <= head else None
                if hdr is None or hdr["hash"] != cursor.block_hash:
                    cursor = on_reorg(cursor, f"block {cursor.block_number} is no longer canonical")
                    if progress:
                        progress(
                            Progress(
                                net.name,
                                _num(cursor),
                                head,
                                head,
                                fin,
                                summary.blocks,
                                summary.logs,
                                time.monotonic() - t0,
                                "reorg",
                            )
                        )
            nxt = cursor.block_number + 1 if cursor is not None else first
            target = head if end is None else min(end, head)
            if nxt > target:
                if not follow or (end is not None and nxt > end):
                    break
                lease.release()
                if progress:
                    progress(
                        Progress(
                            net.name,
                            _num(cursor),
                            target,
                            head,
                            fin,
                            summary.blocks,
                            summary.logs,
                            time.monotonic() - t0,
                            "idle",
                        )
                    )
                time.sleep(poll_s)
                continue
            group: list[Chunk] = []
            group_logs = 0
            t_group = time.monotonic()
            try:
                for chunk in reader.iter_chunks(nxt, target, fin, stop):
                    prev = (
                        group[-1].end_hash
                        if group
                        else (cursor.block_hash if cursor is not None else None)
                    )
                    if prev is not None and chunk.start_parent_hash != prev:
                        raise ChainMoved(
                            f"block {chunk.start} does not extend block {chunk.start - 1} we hold"
                        )
                    group.append(chunk)
                    group_logs += chunk.n_logs
                    if (
                        group_logs >= batch_logs
                        or chunk.end == target
                        or time.monotonic() - t_group >= batch_s
                    ):
                        batch = _concat(group)
                        res = append_batch(
                            lease.con(),
                            net.name,
                            chain_id,
                            batch,
                            decoder,
                            cursor,
                            head,
                            fin,
                            reader.adaptive.current(),
                        )
                        lease.maybe_release()
                        cursor = Cursor(batch.end, batch.end_hash)
                        summary.cursor = cursor.block_number
                        summary.commits += 1
                        summary.blocks += batch.end - batch.start + 1
                        for k in ("logs", "receipts", "decoded", "dead_letters"):
                            setattr(summary, k, getattr(summary, k) + res[k])
                        group, group_logs, t_group = [], 0, time.monotonic()
                        if progress:
                            progress(
                                Progress(
                                    net.name,
                                    cursor.block_number,
                                    target,
                                    head,
                                    fin,
                                    summary.blocks,
                                    summary.logs,
                                    time.monotonic() - t0,
                                )
                            )
            except ChainMoved as exc:
                if cursor is not None:
                    cursor = on_reorg(cursor, str(exc))
                continue
    finally:
        lease.release()
        summary_rpc = dict(reader.rpc.stats)
        reader.rpc.close()
    summary.elapsed_s = time.monotonic() - t0
    summary.rpc = summary_rpc
    return summary


def _num(c: Cursor | None) -> int | None:
    return None if c is None else c.block_number


def follow(
    network: str | NetworkConfig,
    warehouse: str | Path | None = None,
    start: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    stop: Callable[[], bool] | None = None,
    **kw: object,
) -> IngestSummary:
    """Ingest up to the head, then keep following it (reorg-safe) until ``stop()`` is true."""
    return ingest_range(network, start, None, warehouse, progress, follow=True, stop=stop, **kw)  # type: ignore[arg-type]


def rebuild_decoded(warehouse: str | Path | None = None) -> dict[str, int]:
    """Replay: drop decoded.* and rebuild them (and the dead letters) from the raw tables."""
    from pipelines.config import load_networks
    from pipelines.store import connect
    from pipelines.store import rebuild_decoded as _rebuild

    con = connect(warehouse or warehouse_path())
    try:
        bound = con.execute("select network, chain_id from raw.networks").fetchall()
        nets = load_networks()
        decoders = {}
        for name, cid in bound:
            if name not in nets:
                raise ConfigError(f"warehouse holds network {name!r}, unknown to networks.yaml")
            decoders[int(cid)] = Decoder(nets[name].contracts)
        return _rebuild(con, decoders)
    finally:
        con.close()
