"""The ingest loop: fetch (pipelines.chain) → store + decode (pipelines.store/decode).

Knows nothing of Dagster or the CLI: ``ingest_range`` backfills a block range, ``follow`` keeps
up with the head; both return an :class:`IngestSummary` and report :class:`Progress`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipelines.chain import AdaptiveRange, ChainMoved, ChainReader, RetryPolicy, RpcClient
from pipelines.chain.fetch import (
    RECEIPT_FIELDS,
    REQUESTS_PER_CHUNK,
    TARGET_LOGS_PER_REQUEST,
    BlockVanished,
    Chunk,
    thread_duckdb,
)
from pipelines.chain.rpc import RpcUnavailable
from pipelines.config import (
    ConfigError,
    NetworkConfig,
    check_rpc_url,
    get_network,
    redact_url,
    warehouse_path,
)
from pipelines.decode import Decoder
from pipelines.store import (
    Batch,
    ChainMismatch,
    Cursor,
    Lease,
    WarehouseError,
    WarehouseLocked,
    append_batch,
    bind_network,
    connect,
    get_cursor,
    retract_above,
)
from pipelines.store.events import (
    DEEP_REORG_DETAIL,
    LOGS_STREAM,
    RECEIPTS_STREAM,
    DeepReorg,
    append_receipts,
    checkpoint_appended,
    decode_chunk,
    finalized_floor,
    prepare_scratch,
    receipts_todo,
    record_health,
    record_refused_reorg,
    stage_chunk,
    stored_tail,
)


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
    event: str = "commit"  # commit | idle | reorg | receipts


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


class BadRange(ValueError):
    """A block range that cannot be ingested as asked (reversed, negative); says why."""


def check_range(start: int | None, end: int | None) -> None:
    for flag, n in (("--from", start), ("--to", end)):
        if n is not None and n < 0:
            raise BadRange(f"{flag} {n} is not a block number (blocks count from 0)")
    if start is not None and end is not None and start > end:
        raise BadRange(
            f"--from {start} is above --to {end}: the range is reversed; "
            f"did you mean --from {end} --to {start}?"
        )


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
    if rpc_url is not None:
        check_rpc_url(rpc_url, f"the RPC URL of network {net.name!r} ({net.rpc_url_env})")
    rpc = RpcClient(url, policy, max_connections=workers + 1)
    reader = ChainReader(net, rpc, [c.address for c in net.contracts], workers=workers)
    try:
        chain_id = reader.chain_id(deadline_s=connect_deadline_s)
    except RpcUnavailable as exc:
        rpc.close()
        raise RpcUnavailable(
            f"cannot reach the node of network {net.name!r} at {redact_url(url)} (waited "
            f"{connect_deadline_s:.0f} s): {exc}. Start it (olw devnet up) or point "
            f"{net.rpc_url_env} at a live JSON-RPC endpoint."
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
        stage=pa.concat_tables([c.logs for c in chunks]),
        headers=pa.concat_tables([c.headers for c in chunks]),
        txs=pa.concat_tables([c.txs for c in chunks]),
        decoded=[c.decoded for c in chunks if c.decoded is not None],
        traces=pa.concat_tables([c.traces for c in chunks if c.traces is not None])
        if any(c.traces is not None for c in chunks)
        else None,
    )


def _find_ancestor(
    lease: Lease, reader: ChainReader, chain_id: int, cursor: Cursor, floor: int | None = None
) -> tuple[Cursor | None, int | None]:
    """Walk the stored blocks down from the cursor to the highest one still canonical:
    (that block or None, None); with ``floor``, the walk stops at the first stored block at
    or below it that is not canonical: (None, that block's number). Only such a block makes
    a reorg deep: stored blocks are sparse (those with logs, and range ends), so an ancestor
    found below the floor with nothing held in between retracts nothing that was final."""
    below = cursor.block_number
    while True:
        tail = stored_tail(lease.con(), chain_id, below, 64)
        if not tail:
            return None, None
        canon = reader.headers([n for n, _ in tail])
        for (n, h), c in zip(tail, canon, strict=True):
            if c is not None and str(c["hash"]).lower() == h:
                return Cursor(n, h), None
            if floor is not None and n <= floor:
                return None, n
        below = tail[-1][0] - 1


class InconsistentChain(RpcUnavailable):
    """The node keeps serving data that does not fit the blocks we hold, though they are
    still canonical by its own account (retried with backoff, then given up)."""


# A fetch that does not fit the stored tail, while that tail is still canonical: asked again
# this many times (backoff 0.1 s doubling up to 2 s, the warehouse released meanwhile).
MAX_REFITS = 8


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
    batch_logs: int = 250_000,
    batch_s: float = 5.0,
    lock_wait_s: float = 30.0,
    max_blocks: int | None = None,
    receipts: bool = True,
    allow_deep_reorg: bool = False,
    max_refits: int = MAX_REFITS,
) -> IngestSummary:
    """Ingest the network's logs from ``start`` (default: after the cursor, else the first
    contract block) up to ``end`` (default: the head); with ``follow`` keep going at the head.

    Two streams, each with its own cursor: ``logs`` (blocks, transactions, logs, decoded rows)
    and then ``receipts`` (gas used, L1 fees of the transactions that emitted our logs), which
    catches up with the logs cursor whenever the logs stream has reached its target; so when
    this returns, both are complete. ``receipts=False`` leaves the receipts stream behind (for
    measuring the logs stream alone; the next run catches it up).

    Idempotent: what is committed is never fetched again, and a run killed at any moment
    resumes from its cursors.

    A reorg that would retract blocks recorded as finalized when they were ingested (or a
    node on another chain with the same chain id) raises :class:`DeepReorg` and retracts
    nothing, unless ``allow_deep_reorg``; both are journalled. Data that never fits the
    stored tail raises :class:`InconsistentChain` after ``max_refits`` attempts.
    """
    check_range(start, end)
    net = _resolve(network)
    decoder = Decoder(net.contracts)
    path = Path(warehouse or warehouse_path())
    try:
        reader, chain_id = open_reader(net, rpc_url, policy, workers)
    except (RpcUnavailable, ChainMismatch) as exc:
        _record_failure(path, net, LOGS_STREAM, exc)
        raise
    lease = Lease(path, wait_s=lock_wait_s)
    stream = LOGS_STREAM  # the stream at work, for the health record of a failure
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

        def report(event: str, target: int, at: int | None) -> None:
            if progress:
                progress(
                    Progress(
                        net.name, at, target, summary.head, summary.finalized, summary.blocks,
                        summary.logs, time.monotonic() - t0, event,
                    )
                )  # fmt: skip

        def on_reorg(cur: Cursor, why: str) -> Cursor | None:
            floor = finalized_floor(lease.con(), net.name)
            ancestor, gone = _find_ancestor(
                lease, reader, chain_id, cur, None if allow_deep_reorg else floor
            )
            if ancestor == cur:
                return cur
            if gone is not None:  # a block held, final when ingested, is not canonical now
                msg = (
                    f"{net.name}: block {gone}, final when ingested (finalized up to {floor}), "
                    "is no longer on the node's chain: a reorg deeper than finality, or a node "
                    f"of another chain with chain id {chain_id}. Refused; nothing retracted "
                    f"({why})."
                )
                record_refused_reorg(
                    lease.con(), net.name, chain_id, gone, cur.block_number, summary.head,
                    summary.finalized, msg,
                )  # fmt: skip
                raise DeepReorg(
                    f"{msg} Check the RPC URL ({net.rpc_url_env}); if the node is right, rerun "
                    "with --allow-deep-reorg (exports of the retracted days are stale until "
                    "re-exported)."
                )
            lowest = -1 if ancestor is None else ancestor.block_number
            if floor is not None and lowest < floor:  # allowed: is a final block retracted?
                held = stored_tail(lease.con(), chain_id, floor, 1)
                if held and held[0][0] > lowest:
                    why = f"{DEEP_REORG_DETAIL} below finalized block {floor}, allowed: {why}"
            res = retract_above(lease.con(), net.name, chain_id, ancestor, why)
            summary.reorgs += 1
            summary.retracted_blocks += res["to_block"] - res["from_block"] + 1
            return ancestor

        refits = 0  # fetches in a row that did not fit a stored tail still canonical

        def refit(why: str) -> None:
            """Wait before asking again, or give up naming the block."""
            nonlocal refits
            refits += 1
            if refits >= max_refits:
                raise InconsistentChain(
                    f"{net.name}: after {refits} attempts the node still serves data that "
                    f"does not fit the blocks held, which it reports as canonical (last: "
                    f"{why}). The node is inconsistent (anvil after a reorg across a "
                    "snapshot?): restart or resync it, or use another RPC URL; nothing "
                    "was retracted."
                )
            lease.release()  # never hold the warehouse while waiting
            report("reorg", summary.head, _num(cursor))
            time.sleep(min(2.0, 0.1 * 2 ** (refits - 1)))

        ready = threading.local()  # the scratch connection each fetch thread has prepared

        def prepare(chunk: Chunk) -> Chunk:  # in the fetch thread: stage and decode the chunk
            scratch = thread_duckdb()
            if getattr(ready, "con", None) is not scratch:  # once per thread, not per chunk
                prepare_scratch(scratch, decoder)
                ready.con = scratch
            chunk.logs = stage_chunk(
                scratch, chain_id, chunk.logs, chunk.headers, chunk.txs, decoder.event_map_arrow
            )
            chunk.decoded = decode_chunk(scratch, decoder)
            return chunk

        receipts_done: Cursor | bool | None = False  # the logs cursor receipts caught up with
        healthy: Cursor | bool | None = False  # the cursor both streams were last noted done at
        while True:
            if stop is not None and stop():
                break
            head = reader.head()
            fin = reader.finalized(head)
            summary.head, summary.finalized = head, fin
            if cursor is not None:
                hdr = reader.header(cursor.block_number) if cursor.block_number <= head else None
                if hdr is None or hdr["hash"] != cursor.block_hash:
                    why = f"block {cursor.block_number} is no longer canonical"
                    moved = on_reorg(cursor, why)
                    if moved == cursor:
                        refit(why)
                        continue
                    cursor = moved
                    report("reorg", head, _num(cursor))
            nxt = cursor.block_number + 1 if cursor is not None else first
            target = head if end is None else min(end, head)
            if nxt > target:
                if receipts and cursor != receipts_done:
                    stream = RECEIPTS_STREAM
                    if not _catch_up_receipts(
                        lease, reader, net.name, chain_id, summary, stop, report
                    ):
                        refit("receipts of a block held are unknown to the node")
                        continue  # a block we hold vanished: the check above finds the reorg
                    stream = LOGS_STREAM
                    receipts_done = cursor
                if cursor != healthy:  # both streams at their target: note it for olw status
                    for done in (LOGS_STREAM, RECEIPTS_STREAM)[: 1 + receipts]:
                        record_health(lease.con(), net.name, done)
                    healthy = cursor
                if not follow or (end is not None and nxt > end):
                    break
                lease.release()
                report("idle", target, _num(cursor))
                time.sleep(poll_s)
                continue
            group: list[Chunk] = []
            group_logs = 0
            t_group = time.monotonic()
            try:
                for chunk in reader.iter_chunks(
                    nxt,
                    target,
                    fin,
                    stop,
                    prepare,
                    ahead=_ahead(batch_logs),
                    # a chunk is never much more than a commit's worth
                    requests_per_chunk=max(
                        1, min(REQUESTS_PER_CHUNK, batch_logs // TARGET_LOGS_PER_REQUEST)
                    ),
                    on_wait=lease.release,  # never hold the warehouse waiting for the node
                ):
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
                        group, group_logs = [], 0
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
                        cursor = Cursor(batch.end, batch.end_hash)
                        summary.blocks += batch.end - batch.start + 1
                        # its rows are in the store: free them before the checkpoint needs memory
                        del batch, chunk
                        if res["logs"] >= CHECKPOINT_LOGS:
                            checkpoint_appended(lease.con())
                        lease.maybe_release()
                        summary.cursor = cursor.block_number
                        summary.commits += 1
                        for k in ("logs", "decoded", "dead_letters"):
                            setattr(summary, k, getattr(summary, k) + res[k])
                        t_group = time.monotonic()
                        refits = 0
                        report("commit", target, cursor.block_number)
            except ChainMoved as exc:
                moved = on_reorg(cursor, str(exc)) if cursor is not None else None
                if moved == cursor:  # nothing to retract: the fetch itself does not fit
                    refit(str(exc))
                cursor = moved
                continue
    except Exception as exc:
        lease.release()
        _record_failure(path, net, stream, exc)
        raise
    finally:
        lease.release()
        summary_rpc = dict(reader.rpc.stats)
        reader.close()
    summary.elapsed_s = time.monotonic() - t0
    summary.rpc = summary_rpc
    return summary


# A checkpoint after every commit of at least this many logs: the writer holds a commit's rows
# uncompressed in memory until one, and a lease closed only every other commit let two batches
# pile up (peak RSS 1.13-1.58 GiB over the 1M-log benchmark, against 1.15-1.29 GiB with it).
CHECKPOINT_LOGS = 50_000


def fix_for(net: NetworkConfig, exc: BaseException) -> str:
    """What an operator runs (or changes) to get past a failed ingest run."""
    again = f"olw ingest --network {net.name}"
    if isinstance(exc, RpcUnavailable):
        return f"check the node ({net.rpc_url_env}; olw devnet up for devnets), then {again}"
    if isinstance(exc, ChainMismatch):
        return f"point {net.rpc_url_env} at the node of chain {net.chain_id}, then {again}"
    if isinstance(exc, WarehouseLocked):
        return f"stop the other process holding the warehouse (or wait), then {again}"
    if isinstance(exc, ConfigError):
        return f"correct the configuration named above, then {again}"
    return f"{again} (it resumes from the cursors; if it fails the same way, report it)"


def _record_failure(path: Path, net: NetworkConfig, stream: str, exc: BaseException) -> None:
    """Best effort: note the failure in raw.ingest_health of an existing warehouse (a lock
    held by another writer, or any other trouble opening it, leaves it unrecorded)."""
    if not path.exists() or isinstance(exc, WarehouseLocked):
        return
    try:
        con = connect(path, read_only=False, wait_s=2.0)
    except Exception:
        return
    try:
        if con.execute(
            "select 1 from information_schema.tables where table_schema = 'raw' "
            "and table_name = 'ingest_health'"
        ).fetchall():
            record_health(con, net.name, stream, exc, fix_for(net, exc))
    except Exception:
        pass
    finally:
        con.close()


def _ahead(batch_logs: int) -> int:
    """Finished chunks allowed to wait for the committer: about one batch's worth."""
    return max(4, batch_logs // (TARGET_LOGS_PER_REQUEST * REQUESTS_PER_CHUNK))


def _catch_up_receipts(
    lease: Lease,
    reader: ChainReader,
    network: str,
    chain_id: int,
    summary: IngestSummary,
    stop: Callable[[], bool] | None,
    report: Callable[[str, int, int | None], None],
    batch_receipts: int = 20_000,
    batch_s: float = 5.0,
) -> bool:
    """Bring the receipts stream up to the logs cursor. False if a block we hold vanished
    from the node (a reorg the logs stream has yet to retract)."""
    rc, lc, blocks = receipts_todo(lease.con(), network, chain_id)
    if lc is None or (rc is not None and rc.block_number >= lc.block_number):
        return True
    after = 0 if rc is None else rc.block_number + 1  # the first block the stream lacks
    if not blocks:  # no transaction of ours in between: just move the cursor over them
        append_receipts(lease.con(), network, chain_id, _NO_RECEIPTS, after, lc, rc)
        return True
    cursor, lo = rc, after
    group: list[pa.Table] = []
    n_group, t_group = 0, time.monotonic()
    try:
        for i, (n, h, table) in enumerate(reader.iter_receipts(blocks, stop)):
            group.append(table)
            n_group += table.num_rows
            last = i == len(blocks) - 1
            if not (last or n_group >= batch_receipts or time.monotonic() - t_group >= batch_s):
                continue
            # the last commit carries the cursor to the logs cursor, past blocks without ours
            upto = lc if last else Cursor(n, h)
            summary.receipts += append_receipts(
                lease.con(), network, chain_id, pa.concat_tables(group), lo, upto, cursor
            )
            lease.maybe_release()
            cursor, lo = upto, upto.block_number + 1
            group, n_group, t_group = [], 0, time.monotonic()
            report("receipts", lc.block_number, cursor.block_number)
    except BlockVanished:
        return False
    return True


_NO_RECEIPTS = pa.schema([(k, pa.string()) for k in RECEIPT_FIELDS]).empty_table()


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
