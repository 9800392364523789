"""Fetch what the warehouse stores for a block range: logs, headers, receipts.

A range is fetched as chunks, a few in flight; each chunk is checked for consistency (every
log's block hash equals the canonical header's, and above finality the range end did not move
while we fetched), so a reorg during a fetch surfaces as :class:`ChainMoved`, never as a gap.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipelines.chain.rpc import RpcClient, RpcUnavailable, TooMuchError
from pipelines.config import NetworkConfig


class ChainMoved(Exception):
    """The chain changed under a fetch (a reorg); re-check the stored tail and refetch."""


# DESIGN.md: anvil serves eth_getLogs fastest at about 1-2k logs per request (20 blocks of
# 100 logs: 188k/s; 500 blocks: 91k/s), so the adaptive range aims at that many results.
TARGET_LOGS_PER_REQUEST = 2000


class AdaptiveRange:
    """The eth_getLogs block span to ask for next: halves on "too much", grows after success."""

    def __init__(self, size: int, max_blocks: int, target: int = TARGET_LOGS_PER_REQUEST):
        self.max_blocks = max(1, max_blocks)
        self.size = max(1, min(size, self.max_blocks))
        self.target = target
        self._lock = threading.Lock()

    def current(self) -> int:
        with self._lock:
            return self.size

    def success(self, span: int, n_logs: int) -> None:
        with self._lock:
            # grow at most twofold per step; shrink straight to the target density
            ideal = span * 2 if n_logs == 0 else int(span * min(2.0, self.target / n_logs))
            if span >= self.size or ideal < self.size:
                self.size = max(1, min(self.max_blocks, ideal))

    def too_much(self, span: int) -> None:
        with self._lock:
            self.size = max(1, min(self.size, span // 2))


HEADER_FIELDS = ("number", "hash", "parentHash", "timestamp")
LOG_STR_FIELDS = (
    "address",
    "data",
    "blockHash",
    "blockNumber",
    "transactionHash",
    "transactionIndex",
    "logIndex",
)
RECEIPT_FIELDS = (
    "transactionHash",
    "transactionIndex",
    "blockHash",
    "blockNumber",
    "from",
    "to",
    "contractAddress",
    "status",
    "gasUsed",
    "cumulativeGasUsed",
    "effectiveGasPrice",
    "type",
    # OP Stack L1 data fee fields (absent on nodes that are not OP Stack)
    "l1Fee",
    "l1GasUsed",
    "l1GasPrice",
    "l1FeeScalar",
    "l1BaseFeeScalar",
    "l1BlobBaseFee",
    "l1BlobBaseFeeScalar",
)


# Arrow struct types the JSON objects convert to in one C++ pass (no per-field Python loop);
# fields a node leaves out become null, fields we do not keep are ignored.
LOG_STRUCT = pa.struct(
    [(k, pa.string()) for k in LOG_STR_FIELDS]
    + [("topics", pa.list_(pa.string())), ("removed", pa.bool_())]
)
RECEIPT_STRUCT = pa.struct([(k, pa.string()) for k in RECEIPT_FIELDS])


def logs_to_arrow(logs: list[dict[str, Any]]) -> pa.Table:
    """JSON logs → one Arrow column per field, hex kept as served (cast later in DuckDB).

    ``topics`` stays a list column; the store splits it into topic0..3 in SQL.
    """
    if not logs:
        return LOG_SCHEMA.empty_table()
    return pa.Table.from_struct_array(pa.array(logs, LOG_STRUCT))


LOG_SCHEMA = pa.schema(list(LOG_STRUCT))
RECEIPT_SCHEMA = pa.schema(list(RECEIPT_STRUCT))


def headers_to_arrow(headers: list[dict[str, Any]], with_logs: set[int]) -> pa.Table:
    cols = {k: pa.array([h[k] for h in headers], pa.string()) for k in HEADER_FIELDS}
    cols["has_logs"] = pa.array([int(h["number"], 16) in with_logs for h in headers], pa.bool_())
    return pa.table(cols)


def receipts_to_arrow(receipts: list[dict[str, Any]]) -> pa.Table:
    if not receipts:
        return RECEIPT_SCHEMA.empty_table()
    return pa.Table.from_struct_array(pa.array(receipts, RECEIPT_STRUCT))


@dataclass
class Chunk:
    """Everything fetched for blocks start..end (inclusive) of one network."""

    start: int
    end: int
    n_logs: int
    logs: pa.Table
    headers: pa.Table  # boundaries + blocks with logs, ascending, unique
    receipts: pa.Table  # receipts of transactions that emitted a fetched log
    start_parent_hash: str
    end_hash: str
    blocks_with_logs: int = 0
    fetch_s: float = 0.0
    log_block_hashes: dict[int, str] = field(default_factory=dict)


class ChainReader:
    """Read-only view of one network's node, limited to the configured contract addresses."""

    def __init__(
        self,
        network: NetworkConfig,
        rpc: RpcClient,
        addresses: list[str],
        adaptive: AdaptiveRange | None = None,
        workers: int = 3,
    ):
        self.network = network
        self.rpc = rpc
        self.addresses = sorted({a.lower() for a in addresses})
        self.adaptive = adaptive or AdaptiveRange(min(network.max_blocks, 100), network.max_blocks)
        self.workers = workers

    # -- heads ---------------------------------------------------------------------------
    def chain_id(self, deadline_s: float | None = None) -> int:
        return int(self.rpc.call("eth_chainId", [], deadline_s=deadline_s), 16)

    def head(self) -> int:
        return int(self.rpc.call("eth_blockNumber", []), 16)

    def finalized(self, head: int | None = None) -> int:
        fin = self.network.finality
        if fin.mode == "tag":
            try:
                hdr = self.rpc.call("eth_getBlockByNumber", [fin.tag, False])
            except Exception:  # a node without the tag: fall back to depth
                hdr = None
            if hdr:
                return int(hdr["number"], 16)
        if head is None:
            head = self.head()
        return max(-1, head - fin.depth)

    def header(self, number: int) -> dict[str, Any] | None:
        hdr = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        return None if hdr is None else {k: hdr[k] for k in HEADER_FIELDS}

    def headers(self, numbers: list[int]) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for i in range(0, len(numbers), 100):
            part = numbers[i : i + 100]
            res = self.rpc.batch(
                [("eth_getBlockByNumber", [hex(n), False]) for n in part],
                what=f"headers {part[0]}..{part[-1]}",
            )
            out.extend(None if h is None else {k: h[k] for k in HEADER_FIELDS} for h in res)
        return out

    # -- logs ----------------------------------------------------------------------------
    def get_logs(self, start: int, end: int, deadline_s: float = 300.0) -> list[dict[str, Any]]:
        """All logs of our addresses in start..end, bisecting whenever the node says too much."""
        out: list[dict[str, Any]] = []
        stack = [(start, end)]
        deadline = time.monotonic() + deadline_s
        single_fail = 0
        while stack:
            a, b = stack.pop()
            try:
                logs = self.rpc.call(
                    "eth_getLogs",
                    [{"fromBlock": hex(a), "toBlock": hex(b), "address": self.addresses}],
                    what=f"eth_getLogs blocks {a}..{b}",
                    timeout_is_too_much=True,
                )
            except TooMuchError as exc:
                self.adaptive.too_much(b - a + 1)
                if a == b:
                    single_fail += 1
                    if time.monotonic() > deadline:
                        raise RpcUnavailable(
                            f"eth_getLogs for block {a} keeps failing as too large "
                            f"({exc}); the node cannot serve this block's logs"
                        ) from None
                    time.sleep(min(2.0, 0.05 * 2**single_fail))
                    stack.append((a, b))
                    continue
                mid = (a + b) // 2
                stack.append((mid + 1, b))
                stack.append((a, mid))
                continue
            if not isinstance(logs, list):
                raise RpcUnavailable(f"eth_getLogs blocks {a}..{b}: result is not a list")
            self.adaptive.success(b - a + 1, len(logs))
            out.extend(logs)
        return out

    def fetch_chunk(self, start: int, end: int, check_moves: bool) -> Chunk:
        t0 = time.monotonic()
        end_before = self.header(end) if check_moves else None
        if check_moves and end_before is None:
            raise ChainMoved(f"block {end} vanished (head went back)")
        logs = self.get_logs(start, end)
        by_block: dict[int, str] = {}
        txs: set[str] = set()
        for lg in logs:
            by_block.setdefault(int(lg["blockNumber"], 16), lg["blockHash"])
            txs.add(lg["transactionHash"])
        numbers = sorted(set(by_block) | {start, end})
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getBlockByNumber", [hex(n), False]) for n in numbers
        ]
        calls += [("eth_getBlockReceipts", [by_block[n]]) for n in sorted(by_block)]
        res = self.rpc.batch(calls, what=f"headers+receipts blocks {start}..{end}")
        hdrs = res[: len(numbers)]
        headers: list[dict[str, Any]] = []
        for n, h in zip(numbers, hdrs, strict=True):
            if h is None:
                raise ChainMoved(f"block {n} vanished while fetching {start}..{end}")
            if n in by_block and h["hash"] != by_block[n]:
                raise ChainMoved(f"block {n} changed hash while fetching {start}..{end}")
            headers.append({k: h[k] for k in HEADER_FIELDS})
        if end_before is not None and headers[-1]["hash"] != end_before["hash"]:
            raise ChainMoved(f"block {end} changed hash while fetching {start}..{end}")
        receipts: list[dict[str, Any]] = []
        for rs in res[len(numbers) :]:
            if rs is None:
                raise ChainMoved(f"receipts of a block in {start}..{end} vanished")
            receipts.extend(r for r in rs if r["transactionHash"] in txs)
        if len(receipts) != len(txs):
            raise ChainMoved(f"receipts do not match the logs in {start}..{end}")
        return Chunk(
            start=start,
            end=end,
            n_logs=len(logs),
            logs=logs_to_arrow(logs),
            headers=headers_to_arrow(headers, set(by_block)),
            receipts=receipts_to_arrow(receipts),
            start_parent_hash=headers[0]["parentHash"],
            end_hash=headers[-1]["hash"],
            blocks_with_logs=len(by_block),
            fetch_s=time.monotonic() - t0,
            log_block_hashes=by_block,
        )

    def iter_chunks(
        self,
        start: int,
        end: int,
        finalized: int,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[Chunk]:
        """Chunks of start..end in order, a few fetched ahead in parallel threads."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="olw-fetch")
        pending: deque[Future[Chunk]] = deque()
        nxt = start
        try:
            while pending or nxt <= end:
                while nxt <= end and len(pending) < self.workers + 1:
                    if stop is not None and stop():
                        break
                    e = min(end, nxt + self.adaptive.current() - 1)
                    pending.append(pool.submit(self.fetch_chunk, nxt, e, e > finalized))
                    nxt = e + 1
                if not pending:
                    break
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
