"""Fetch what the warehouse stores for a block range: logs, headers, transactions, receipts.

A range is fetched as chunks, a few in flight; each chunk is checked for consistency (every
log's block hash equals the canonical header's, and above finality the range end did not move
while we fetched), so a reorg during a fetch surfaces as :class:`ChainMoved`, never as a gap.

Logs are the hot path: their JSON text goes straight to DuckDB's JSON reader in the fetch
thread, never through Python objects. Receipts (gas used, L1 fees) cost the node more than the
logs themselves (they repeat every log), so they are fetched per block afterwards, as a stream
of their own (:meth:`ChainReader.iter_receipts`).
"""

from __future__ import annotations

import functools
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute
from eth_utils import keccak

from pipelines.chain.rpc import (
    MalformedResult,
    RpcClient,
    RpcError,
    RpcUnavailable,
    TooMuchError,
)
from pipelines.config import NetworkConfig

R = TypeVar("R")


class ChainMoved(Exception):
    """The chain changed under a fetch (a reorg); re-check the stored tail and refetch."""


# DESIGN.md: anvil serves eth_getLogs fastest at about 1-2k logs per request (20 blocks of
# 100 logs: 188k/s; 500 blocks: 91k/s), so the adaptive range aims at that many results.
TARGET_LOGS_PER_REQUEST = 2000
# A chunk (one fetch job, parsed and staged by DuckDB in one query each) spans this many
# requests: DuckDB's cost per query (a few ms) is then spread over ~16k logs.
REQUESTS_PER_CHUNK = 8


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

# eth_getLogs results are parsed by DuckDB's JSON reader straight from the response text, in the
# fetch thread (no Python object per log; DuckDB releases the GIL), into the raw.logs shape.
_LOG_JSON_COLUMNS = (
    "{address: 'VARCHAR', topics: 'VARCHAR[]', data: 'VARCHAR', blockHash: 'VARCHAR', "
    "blockNumber: 'VARCHAR', transactionHash: 'VARCHAR', transactionIndex: 'VARCHAR', "
    "logIndex: 'VARCHAR', removed: 'BOOLEAN'}"
)
_LOGS_SELECT = (
    "select cast(blockNumber as ubigint) as block_number, lower(blockHash) as block_hash, "
    "cast(logIndex as uinteger) as log_index, lower(transactionHash) as tx_hash, "
    "cast(transactionIndex as uinteger) as tx_index, lower(address) as contract_address, "
    "lower(topics[1]) as topic0, lower(topics[2]) as topic1, lower(topics[3]) as topic2, "
    "lower(topics[4]) as topic3, cast(coalesce(len(topics), 0) as utinyint) as topic_count, "
    "data, coalesce(removed, false) as removed "
    f"from read_json('{{src}}', format = 'array', columns = {_LOG_JSON_COLUMNS})"
)
LOGS_SQL = _LOGS_SELECT
# lower() is a third of the parse's cost; it is skipped when the text holds no A-F at all
# (the keys' capitals are H, I, N and T), i.e. when every hex value is already lowercase.
LOGS_SQL_LOWERCASE_TEXT = _LOGS_SELECT.replace("lower(", "(")
_UPPER_HEX = tuple(bytes([c]) for c in b"ABCDEF")


def has_upper_hex(text: bytes) -> bool:
    return any(c in text for c in _UPPER_HEX)


# -- what a node serves is checked, never believed ---------------------------------------------
# A header's hash is keccak(rlp(its fields)): recomputing it proves every field we keep
# (parent hash, timestamp) is the block's own. Fields in RLP order; the optional ones follow
# in fork order (London, Shanghai, Cancun, Prague) and stop at the first one absent.
_HEADER_RLP = (
    "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot",
    "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData",
    "mixHash", "nonce",
)  # fmt: skip
_HEADER_RLP_FORKS = (
    "baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot",
    "requestsHash",
)  # fmt: skip
_HEADER_INTS = frozenset(
    {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas"}
    | {"blobGasUsed", "excessBlobGas"}
)
# keys a JSON-RPC header may carry besides the hashed fields; with any other key the header's
# format is one we do not know, and its hash is not checked (never refused for it)
_HEADER_OTHER = frozenset(
    {"hash", "size", "totalDifficulty", "transactions", "uncles", "withdrawals", "sealFields"}
    | {"author"}
)
_HEADER_ALL = _HEADER_RLP + _HEADER_RLP_FORKS
_HEADER_KNOWN = frozenset(_HEADER_ALL) | _HEADER_OTHER


# fixed-size fields: (length of the 0x-hex text, RLP prefix), so most fields cost one lookup
_HASH_FIELDS = (
    "parentHash", "sha3Uncles", "stateRoot", "transactionsRoot", "receiptsRoot", "mixHash",
    "withdrawalsRoot", "parentBeaconBlockRoot", "requestsHash",
)  # fmt: skip
_HEADER_FIXED = {
    **dict.fromkeys(_HASH_FIELDS, (66, "a0")),
    "miner": (42, "94"),
    "logsBloom": (514, "b90100"),
    "nonce": (18, "88"),
}


def _rlp_hex(key: str, value: str) -> str:
    """One header field's RLP encoding, as hex (built as text: one fromhex per header)."""
    if key in _HEADER_INTS:
        n = int(value, 16)
        if n < 0x80:
            return "80" if n == 0 else f"{n:02x}"
        x = f"{n:x}"
        x = "0" + x if len(x) % 2 else x
        return f"{0x80 + len(x) // 2:02x}{x}"  # a header's integers are below 2^256
    if not value.startswith("0x"):
        raise ValueError(f"{key} is not 0x-hex")
    x = value[2:]
    n = len(x) // 2
    if n == 1 and int(x, 16) < 0x80:
        return x
    if n < 56:
        return f"{0x80 + n:02x}{x}"
    size = f"{n:x}"
    size = "0" + size if len(size) % 2 else size
    return f"{0xB7 + len(size) // 2:02x}{size}{x}"


def header_hash(h: dict[str, Any]) -> str | None:
    """keccak(rlp(header)) of a JSON-RPC header; None when its format is unknown to us (a key
    we do not know, a field missing); "0x" (matching no hash) when a field is malformed."""
    if not _HEADER_KNOWN.issuperset(h):
        return None
    items: list[str] = []
    fixed = _HEADER_FIXED.get
    try:
        for k in _HEADER_ALL:
            v = h.get(k)
            if v is None:
                if k in _HEADER_RLP_FORKS:
                    break
                raise KeyError(k)
            f = fixed(k)
            if f is not None and len(v) == f[0] and v[:2] == "0x":
                items.append(f[1])
                items.append(v[2:])
            else:
                items.append(_rlp_hex(k, v))
        body = bytes.fromhex("".join(items))
    except KeyError:
        return None
    except (TypeError, ValueError, AttributeError):
        return "0x"
    n = len(body)
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    head = bytes((0xC0 + n,)) if n < 56 else bytes((0xF7 + len(size),)) + size
    return "0x" + keccak(head + body).hex()


def check_headers(numbers: list[int], headers: list[Any]) -> None:
    """Raise MalformedResult unless each header is the block asked for and hashes to its hash
    (a header of an unknown format is taken as served; a missing block is the caller's)."""
    for n, h in zip(numbers, headers, strict=True):
        if h is None:
            continue
        if not isinstance(h, dict) or not isinstance(h.get("number"), str):
            raise MalformedResult(f"block {n}: the header is not a block object")
        try:
            got = int(h["number"], 16)
        except ValueError:
            raise MalformedResult(f"block {n}: number {h['number']!r} is not hex") from None
        if got != n:
            raise MalformedResult(f"asked for block {n}, the node answered block {got}")
        want = header_hash(h)
        if want is not None and want != str(h.get("hash", "")).lower():
            raise MalformedResult(
                f"block {n}: the header's fields do not hash to its hash {h.get('hash')} "
                "(a wrong parentHash or timestamp?)"
            )


def check_logs(logs: pa.Table, start: int, end: int) -> str | None:
    """Why an eth_getLogs answer for blocks start..end cannot be right, or None: a log
    without its block or index, a log of a block outside the range, a log marked removed, a
    log served twice."""
    if logs.num_rows == 0:
        return None
    for col in ("block_number", "block_hash", "log_index", "tx_hash", "contract_address"):
        if logs.column(col).null_count:
            return f"a log without {col} (a pending log?)"
    lo, hi = pa.compute.min_max(logs.column("block_number")).values()
    if lo.as_py() < start or hi.as_py() > end:
        bad = lo.as_py() if lo.as_py() < start else hi.as_py()
        return f"a log of block {bad}, outside the asked blocks {start}..{end}"
    if pa.compute.any(logs.column("removed")).as_py():
        return "a log marked removed (reorged out), in an answer for the canonical chain"
    keys = logs.select(["block_number", "log_index"]).group_by(["block_number", "log_index"])
    if keys.aggregate([]).num_rows != logs.num_rows:
        return "the same log (block, log index) served twice"
    return None


def _address_bloom_masks(addresses: list[str]) -> list[int]:
    """Per address, the bits it sets in a block's logsBloom (three 11-bit indexes of its
    keccak), as one integer over the 2048-bit bloom."""
    masks = []
    for a in addresses:
        d = keccak(bytes.fromhex(a[2:]))
        m = 0
        for i in (0, 2, 4):
            m |= 1 << (((d[i] << 8) | d[i + 1]) & 2047)
        masks.append(m)
    return masks


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
    # Isthmus (operator fee), Jovian (DA footprint), deposits (Regolith, Canyon)
    "operatorFeeScalar",
    "operatorFeeConstant",
    "daFootprintGasScalar",
    "depositNonce",
    "depositReceiptVersion",
)
# Receipts repeat their logs; the reader skips them (only these fields become columns).
RECEIPTS_SQL = (
    "select "
    + ", ".join(f'"{k}"' for k in RECEIPT_FIELDS)
    + " from read_json('{src}', format = 'array', columns = {"
    + ", ".join(f"\"{k}\": 'VARCHAR'" for k in RECEIPT_FIELDS)
    + "})"
)
LOG_SCHEMA = pa.schema(
    [
        ("block_number", pa.uint64()),
        ("block_hash", pa.string()),
        ("log_index", pa.uint32()),
        ("tx_hash", pa.string()),
        ("tx_index", pa.uint32()),
        ("contract_address", pa.string()),
        ("topic0", pa.string()),
        ("topic1", pa.string()),
        ("topic2", pa.string()),
        ("topic3", pa.string()),
        ("topic_count", pa.uint8()),
        ("data", pa.string()),
        ("removed", pa.bool_()),
    ]
)
# raw.blocks minus chain_id/journal_id
HEADER_SCHEMA = pa.schema(
    [
        ("block_number", pa.uint64()),
        ("block_hash", pa.string()),
        ("parent_hash", pa.string()),
        ("timestamp_unix", pa.uint64()),
        ("has_logs", pa.bool_()),
    ]
)
# raw.transactions minus chain_id/journal_id, quantities as served (hex; cast in DuckDB)
TX_FIELDS = (
    ("blockNumber", "block_number"),
    ("blockHash", "block_hash"),
    ("hash", "tx_hash"),
    ("transactionIndex", "tx_index"),
    ("from", "tx_from"),
    ("to", "tx_to"),
    ("type", "tx_type"),
    ("nonce", "nonce"),
    ("value", "value_wei"),
    ("gas", "gas_limit"),
    ("gasPrice", "gas_price"),
    ("maxFeePerGas", "max_fee_per_gas"),
    ("maxPriorityFeePerGas", "max_priority_fee_per_gas"),
    # OP Stack deposit transactions (type 0x7e): mint is new native supply, sourceHash links
    # the deposit to its L1 TransactionDeposited log; absent on every other type
    ("sourceHash", "source_hash"),
    ("mint", "mint_wei"),
    ("isSystemTx", "is_system_tx"),
)
_LOWER = {"block_hash", "tx_hash", "tx_from", "tx_to", "source_hash"}
TX_SCHEMA = pa.schema([(c, pa.string()) for _, c in TX_FIELDS] + [("input_selector", pa.string())])
# Blocks per JSON-RPC batch when a network's native option fetches every block.
BLOCKS_PER_BATCH = 50
# Transactions traced per JSON-RPC batch (a node traces at about 1-4k transactions/s, and one
# HTTP attempt has RetryPolicy.timeout_s): blocks are grouped up to this many, at least one.
TRACE_TXS_PER_BATCH = 200
# A chunk of a native network never spans more blocks than this (each is fetched in full).
NATIVE_BLOCKS_PER_CHUNK = 400
# raw.traces minus chain_id/journal_id: one row per internal call frame that moves value
TRACE_SCHEMA = pa.schema(
    [
        ("block_number", pa.uint64()),
        ("block_hash", pa.string()),
        ("tx_hash", pa.string()),
        ("tx_index", pa.uint32()),
        ("trace_address", pa.string()),  # child indexes from the top frame, "0.2.1"
        ("depth", pa.uint16()),
        ("trace_type", pa.string()),  # call | create | selfdestruct
        ("call_type", pa.string()),  # call | callcode | delegatecall | staticcall | create…
        ("from_address", pa.string()),
        ("to_address", pa.string()),
        ("value_wei", pa.string()),  # hex as served; cast in DuckDB
        ("error", pa.string()),
        ("reverted", pa.bool_()),  # this frame or one above it failed: nothing moved
    ]
)


def _frames(method: str, block: dict[str, Any], traced: list[Any]) -> list[tuple[Any, ...]]:
    """TRACE_SCHEMA rows of one block's traces (trace_block or callTracer results)."""
    number, bhash = int(block["number"], 16), block["hash"].lower()
    txs = block["transactions"]
    out: list[tuple[Any, ...]] = []
    if method == "trace_block":
        failed: set[tuple[int, tuple[int, ...]]] = set()
        positions = set()
        for t in traced:
            if t.get("blockHash") and t["blockHash"].lower() != bhash:
                raise ChainMoved(f"traces of block {number} belong to another block")
            pos = t.get("transactionPosition")
            if pos is None:  # a block reward (pre-merge chains): not a transfer of a tx
                continue
            positions.add(pos)
            addr = tuple(t.get("traceAddress") or ())
            if t.get("error"):
                failed.add((pos, addr))
            if not addr:
                continue
            a, kind = t.get("action") or {}, t.get("type", "call")
            if kind == "suicide":
                frm, to, value, ctype = (
                    a.get("address"),
                    a.get("refundAddress"),
                    a.get("balance"),
                    "selfdestruct",
                )
                kind = "selfdestruct"
            elif kind == "create":
                frm, to, value, ctype = (
                    a.get("from"),
                    (t.get("result") or {}).get("address"),
                    a.get("value"),
                    "create",
                )
            else:
                frm, to, value, ctype = (
                    a.get("from"),
                    a.get("to"),
                    a.get("value"),
                    a.get("callType", "call"),
                )
            if not value or int(value, 16) == 0:
                continue
            reverted = any((pos, addr[:k]) in failed for k in range(len(addr) + 1))
            out.append(
                _row(
                    number,
                    bhash,
                    txs,
                    pos,
                    addr,
                    kind,
                    ctype,
                    frm,
                    to,
                    value,
                    t.get("error"),
                    reverted,
                )
            )
        if positions != set(range(len(txs))):
            raise ChainMoved(f"traces of block {number} do not cover its transactions")
        return out
    if len(traced) != len(txs):
        raise ChainMoved(f"traces of block {number} do not cover its transactions")
    for pos, t in enumerate(traced):
        top = t.get("result") or {}
        stack: list[tuple[Any, tuple[int, ...], bool]] = [
            (c, (i,), bool(top.get("error"))) for i, c in enumerate(top.get("calls") or [])
        ]
        while stack:
            f, addr, parent_failed = stack.pop()
            failed_here = parent_failed or bool(f.get("error"))
            value = f.get("value")
            ctype = (f.get("type") or "CALL").lower()
            kind = (
                "selfdestruct"
                if ctype == "selfdestruct"
                else ("create" if ctype.startswith("create") else "call")
            )
            if value and int(value, 16):
                out.append(
                    _row(
                        number,
                        bhash,
                        txs,
                        pos,
                        addr,
                        kind,
                        ctype,
                        f.get("from"),
                        f.get("to"),
                        value,
                        f.get("error"),
                        failed_here,
                    )
                )
            stack.extend((c, (*addr, i), failed_here) for i, c in enumerate(f.get("calls") or []))
    return out


def _row(
    number: int,
    bhash: str,
    txs: list[Any],
    pos: int,
    addr: tuple[int, ...],
    kind: str,
    ctype: str,
    frm: str | None,
    to: str | None,
    value: str,
    error: str | None,
    reverted: bool,
) -> tuple[Any, ...]:
    tx = txs[pos] if pos < len(txs) else None
    if not isinstance(tx, dict):
        raise ChainMoved(f"block {number} has no transaction {pos} its traces name")
    return (
        number,
        bhash,
        tx["hash"].lower(),
        pos,
        ".".join(map(str, addr)),
        len(addr),
        kind,
        ctype,
        None if frm is None else frm.lower(),
        None if to is None else to.lower(),
        value.lower(),
        error,
        reverted,
    )


def scratch_duckdb() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection as the fetch threads use for columnar work."""
    # lossless: a UHUGEINT/HUGEINT leaves as DuckDB's own Arrow extension type, not as
    # decimal128(38, 0), which wraps values from 2^127 up (a uint256 amount that fits its
    # column would reach the commit negative and fail it)
    return duckdb.connect(
        config={
            "threads": 1,
            "enable_external_file_cache": False,
            "arrow_lossless_conversion": True,
        }
    )


class _Parsers(threading.local):
    """One in-memory DuckDB connection per fetch thread, for parsing JSON-RPC results."""

    con: duckdb.DuckDBPyConnection | None = None

    def get(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            self.con = scratch_duckdb()
        return self.con


_PARSERS = _Parsers()


def thread_duckdb() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB connection (for columnar work in fetch threads)."""
    return _PARSERS.get()


def parse_json_array(sql: str, text: memoryview | bytes | list[bytes]) -> pa.Table:
    """Run ``sql`` (reading ``{src}``) over JSON array text held in memory, in this thread;
    a list of array texts is read as one array (one query for many responses).

    The text goes to an anonymous in-memory file (memfd: nothing on disk, nothing left behind
    if the process is killed) that DuckDB's JSON reader opens by its /proc path.
    """
    con = _PARSERS.get()
    parts = text if isinstance(text, list) else [text]
    if not hasattr(os, "memfd_create"):  # not Linux
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            _write_array(lambda b: f.write(b), parts)
            f.flush()
            return _run_parse(con, sql, f.name)
    fd = os.memfd_create("olw-json", os.MFD_CLOEXEC)
    try:

        def write(b: memoryview | bytes) -> None:
            view = memoryview(b)
            while view:
                view = view[os.write(fd, view) :]

        _write_array(write, parts)
        return _run_parse(con, sql, f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def _write_array(write: Callable[[Any], Any], parts: list[Any]) -> None:
    if len(parts) == 1:
        write(parts[0])
        return
    write(b"[")
    first = True
    for part in parts:
        body = memoryview(part)[1:-1]
        if len(body) < 64 and not bytes(body).strip():
            continue  # an empty result (a log is longer than 64 bytes)
        if not first:
            write(b",")
        write(body)
        first = False
    write(b"]")


def _run_parse(con: duckdb.DuckDBPyConnection, sql: str, path: str) -> pa.Table:
    try:
        return con.sql(sql.replace("{src}", path)).to_arrow_table()
    except duckdb.Error as exc:
        raise MalformedResult(str(exc).splitlines()[0][:200]) from None


def parse_logs(text: memoryview | bytes | list[bytes]) -> pa.Table:
    parts = text if isinstance(text, list) else [bytes(text)]
    sql = LOGS_SQL if any(has_upper_hex(t) for t in parts) else LOGS_SQL_LOWERCASE_TEXT
    return parse_json_array(sql, parts).cast(LOG_SCHEMA)


def _checked_logs(text: memoryview, start: int, end: int) -> pa.Table:
    """One eth_getLogs answer parsed and checked (MalformedResult if it cannot be right)."""
    logs = parse_logs(text)
    why = check_logs(logs, start, end)
    if why is not None:
        raise MalformedResult(f"eth_getLogs blocks {start}..{end}: {why}")
    return logs


def _parts_ok(
    logs: pa.Table, parts: list[tuple[int, int, bytes, int]], start: int, end: int
) -> bool:
    """Whether the logs parsed from several answers at once pass :func:`check_logs`, each
    answer's rows (in order, by its count) within the span it was asked for."""
    if sum(n for *_, n in parts) != logs.num_rows or check_logs(logs, start, end) is not None:
        return False
    numbers = logs.column("block_number")
    at = 0
    for a, b, _, n in parts:
        if n:
            lo, hi = pa.compute.min_max(numbers.slice(at, n)).values()
            if lo.as_py() < a or hi.as_py() > b:
                return False
            at += n
    return True


_BLOCK_NUMBER = re.compile(rb'"blockNumber"\s*:\s*"(0x[0-9a-fA-F]+)"')


def _log_blocks(text: bytes) -> set[int]:
    """The block numbers an eth_getLogs answer's text has logs of (without parsing it)."""
    return {int(m, 16) for m in set(_BLOCK_NUMBER.findall(text))}


def _keep_text(text: memoryview) -> tuple[bytes, int]:
    """A log array's text, kept for one parse of the whole chunk, and its number of logs."""
    raw = bytes(text)
    return raw, raw.count(b'"logIndex"')


def headers_to_arrow(headers: list[dict[str, Any]], with_logs: set[int]) -> pa.Table:
    numbers = [int(h["number"], 16) for h in headers]
    return pa.table(
        {
            "block_number": pa.array(numbers, pa.uint64()),
            "block_hash": pa.array([h["hash"].lower() for h in headers], pa.string()),
            "parent_hash": pa.array([h["parentHash"].lower() for h in headers], pa.string()),
            "timestamp_unix": pa.array([int(h["timestamp"], 16) for h in headers], pa.uint64()),
            "has_logs": pa.array([n in with_logs for n in numbers], pa.bool_()),
        },
        schema=HEADER_SCHEMA,
    )


def txs_to_arrow(txs: list[dict[str, Any]]) -> pa.Table:
    """Transactions as served (one column per field, hex kept; DuckDB casts them)."""
    cols = {
        c: pa.array(
            [None if (v := t.get(k)) is None else v.lower() for t in txs]
            if c in _LOWER
            else [None if (v := t.get(k)) is None else str(v).lower() for t in txs],
            pa.string(),
        )
        for k, c in TX_FIELDS
    }
    cols["input_selector"] = pa.array(
        [(t.get("input") or t.get("data") or "")[:10] or None for t in txs], pa.string()
    )
    return pa.table(cols, schema=TX_SCHEMA)


@dataclass
class Chunk:
    """Everything fetched for blocks start..end (inclusive) of one network."""

    start: int
    end: int
    n_logs: int
    logs: pa.Table  # LOG_SCHEMA, then whatever ``prepare`` makes of it (the decoder's stage)
    headers: pa.Table  # HEADER_SCHEMA: boundaries + blocks with logs, ascending, unique
    txs: pa.Table  # TX_SCHEMA: the transactions that emitted a fetched log
    start_parent_hash: str
    end_hash: str
    blocks_with_logs: int = 0
    fetch_s: float = 0.0
    decoded: Any = None  # what ``prepare`` decoded (pipelines.store.events.DecodedChunk)
    traces: pa.Table | None = None  # TRACE_SCHEMA, when the network's native.traces is set


class BlockVanished(ChainMoved):
    """A block we hold is unknown to the node now: the logs stream will find the reorg."""


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
        self._pool: ThreadPoolExecutor | None = None

    def _fetch_pool(self) -> ThreadPoolExecutor:
        """The fetch threads, kept for the reader's life (each holds a DuckDB scratch
        connection that is worth reusing)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="olw-fetch")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.rpc.close()

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
        return self.headers([number])[0]

    def headers(self, numbers: list[int]) -> list[dict[str, Any] | None]:
        """HEADER_FIELDS of each block (None if the node has no such block), each checked to
        be the block asked for and to hash to its hash."""
        out: list[dict[str, Any] | None] = []
        for i in range(0, len(numbers), 100):
            part = numbers[i : i + 100]
            res = self.rpc.batch(
                [("eth_getBlockByNumber", [hex(n), False]) for n in part],
                what=f"headers {part[0]}..{part[-1]}",
                check=lambda r, part=part: check_headers(part, r),  # type: ignore[misc]
            )
            out.extend(None if h is None else {k: h[k] for k in HEADER_FIELDS} for h in res)
        return out

    # -- logs ----------------------------------------------------------------------------
    def get_logs(
        self, start: int, end: int, deadline_s: float = 300.0, finalized: int | None = None
    ) -> pa.Table:
        """All logs of our addresses in start..end (LOG_SCHEMA, in block order).

        Asks in spans of the adaptive size, one after the other, bisecting whenever the node
        says too much; then parses all the answers in one go. Each answer is checked
        (:func:`check_logs`: within its span, none removed, none twice) and fetched again if
        it fails; blocks above ``finalized`` that an answer gives no log of are cross-checked
        against their logsBloom (:meth:`_unserved_logs`)."""
        parts: list[tuple[int, int, bytes, int]] = []
        a = start
        while a <= end:
            b = min(end, a + self.adaptive.current() - 1)
            parts.extend(self._get_logs_text(a, b, deadline_s, finalized))
            a = b + 1
        texts = [t for _, _, t, _ in parts]
        try:
            logs = parse_logs(texts)
        except MalformedResult:
            logs = None
        if logs is not None and _parts_ok(logs, parts, start, end):
            return logs
        # one answer is corrupt (its shape was fine) or lies: parse and check each, fetch the
        # bad ones again (retried like a truncated answer, until the deadline)
        tables = []
        for a, b, t, _ in parts:
            try:
                table = parse_logs(t)
                why = check_logs(table, a, b)
            except MalformedResult as exc:
                why = str(exc)
            if why is not None:
                self.rpc.stats["refetched"] = self.rpc.stats.get("refetched", 0) + 1
                table = self.rpc.call_raw(
                    "eth_getLogs",
                    [{"fromBlock": hex(a), "toBlock": hex(b), "address": self.addresses}],
                    lambda text, a=a, b=b: _checked_logs(text, a, b),  # type: ignore[misc]
                    what=f"eth_getLogs blocks {a}..{b}",
                )
            tables.append(table)
        return pa.concat_tables(tables)

    def _unserved_logs(self, numbers: list[int]) -> int | None:
        """For blocks an eth_getLogs answer gave no log of: one whose logsBloom admits one of
        our addresses and whose receipts do hold a log of ours (the node has not indexed the
        range yet, or a balancer asked a backend that lags), else None. Costs one header per
        block (the caller asks only above the finalized head) and the receipts of bloom hits
        (a bloom's false positives included)."""
        masks = _address_bloom_masks(self.addresses)
        hits: list[tuple[int, str]] = []
        for i in range(0, len(numbers), 100):
            part = numbers[i : i + 100]
            res = self.rpc.batch(
                [("eth_getBlockByNumber", [hex(n), False]) for n in part],
                what=f"logsBloom of blocks {part[0]}..{part[-1]}",
            )
            for n, h in zip(part, res, strict=True):
                if not isinstance(h, dict) or not isinstance(h.get("logsBloom"), str):
                    continue
                bloom = int(h["logsBloom"], 16)
                if any(bloom & m == m for m in masks):
                    hits.append((n, str(h.get("hash", "")).lower()))
        ours = set(self.addresses)
        for n, block_hash in hits:
            try:
                receipts = self.rpc.call(
                    "eth_getBlockReceipts", [block_hash], what=f"receipts of block {n}"
                )
            except RpcError:  # no eth_getBlockReceipts: ask the logs of this one block
                one = self.rpc.call_raw(
                    "eth_getLogs",
                    [{"fromBlock": hex(n), "toBlock": hex(n), "address": self.addresses}],
                    _keep_text,
                    what=f"eth_getLogs block {n}",
                )
                if one[1]:
                    return n
                continue
            for r in receipts or ():
                for lg in r.get("logs") or ():
                    if str(lg.get("address", "")).lower() in ours and not lg.get("removed"):
                        return n
        return None

    def _get_logs_text(
        self, start: int, end: int, deadline_s: float, finalized: int | None = None
    ) -> list[tuple[int, int, bytes, int]]:
        """The eth_getLogs answers covering start..end: (from, to, array text, number of
        logs), in order."""
        out: list[tuple[int, int, bytes, int]] = []
        stack = [(start, end)]
        deadline = time.monotonic() + deadline_s
        single_fail = 0
        lies = 0
        while stack:
            a, b = stack.pop()
            try:
                text, n_logs = self.rpc.call_raw(
                    "eth_getLogs",
                    [{"fromBlock": hex(a), "toBlock": hex(b), "address": self.addresses}],
                    _keep_text,
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
            if finalized is not None and b > finalized:
                served = _log_blocks(text) if n_logs else set()
                unserved = [n for n in range(max(a, finalized + 1), b + 1) if n not in served]
                at = self._unserved_logs(unserved) if unserved else None
                if at is not None:
                    lies += 1
                    self.rpc.stats["refetched"] = self.rpc.stats.get("refetched", 0) + 1
                    if time.monotonic() > deadline:
                        raise RpcUnavailable(
                            f"eth_getLogs for blocks {a}..{b} keeps answering no logs of block "
                            f"{at}, but its receipts hold logs of our contracts: the node has "
                            "not indexed these blocks yet (a lagging backend?); try later or "
                            "another RPC URL"
                        )
                    time.sleep(min(2.0, 0.05 * 2 ** min(lies, 6)))
                    stack.append((a, b))
                    continue
            self.adaptive.success(b - a + 1, n_logs)
            out.append((a, b, text, n_logs))
        return out

    def fetch_chunk(
        self, start: int, end: int, check_moves: bool, finalized: int | None = None
    ) -> Chunk:
        """Logs of start..end, the headers of the blocks that carry them and of both ends, and
        the transactions that emitted them (eth_getBlockByNumber with full transactions: the
        sender and gas price for a fraction of what receipts cost the node). Every header is
        checked to be the block asked for, hashing to its hash (:func:`check_headers`)."""
        t0 = time.monotonic()
        end_before = self.header(end) if check_moves else None
        if check_moves and end_before is None:
            raise ChainMoved(f"block {end} vanished (head went back)")
        logs = self.get_logs(start, end, finalized=finalized)
        by_block: dict[int, str] = {}
        if logs.num_rows:
            pairs = (
                pa.table({"n": logs.column("block_number"), "h": logs.column("block_hash")})
                .group_by(["n", "h"])
                .aggregate([])
            )
            for n, h in zip(
                pairs.column("n").to_pylist(), pairs.column("h").to_pylist(), strict=True
            ):
                if by_block.setdefault(n, h) != h:
                    raise ChainMoved(f"block {n} changed hash while fetching {start}..{end}")
        native = self.network.native.transactions
        numbers = list(range(start, end + 1)) if native else sorted(set(by_block) | {start, end})
        res = self._blocks(numbers, lambda n: native or n in by_block, start, end)
        headers: list[dict[str, Any]] = []
        txs: list[dict[str, Any]] = []
        for n, h in zip(numbers, res, strict=True):
            if h is None:
                raise ChainMoved(f"block {n} vanished while fetching {start}..{end}")
            if n in by_block and h["hash"].lower() != by_block[n]:
                raise ChainMoved(f"block {n} changed hash while fetching {start}..{end}")
            if native or n in by_block:
                txs.extend(h["transactions"])
            headers.append(h)
        if end_before is not None and headers[-1]["hash"] != end_before["hash"]:
            raise ChainMoved(f"block {end} changed hash while fetching {start}..{end}")
        tx_table = txs_to_arrow(txs)
        if logs.num_rows:
            emitting = pa.compute.unique(logs.column("tx_hash"))
            if native:
                if not pa.compute.all(pa.compute.is_in(emitting, tx_table.column("tx_hash"))):
                    raise ChainMoved(f"transactions do not match the logs in {start}..{end}")
            else:
                tx_table = tx_table.filter(pa.compute.is_in(tx_table.column("tx_hash"), emitting))
                if tx_table.num_rows != len(emitting):
                    raise ChainMoved(f"transactions do not match the logs in {start}..{end}")
        elif not native:
            tx_table = tx_table.slice(0, 0)
        traces = self.block_traces(headers) if self.network.native.traces != "none" else None
        return Chunk(
            start=start,
            end=end,
            n_logs=logs.num_rows,
            logs=logs,
            headers=headers_to_arrow(headers, set(by_block)),
            txs=tx_table,
            start_parent_hash=headers[0]["parentHash"].lower(),
            end_hash=headers[-1]["hash"].lower(),
            blocks_with_logs=len(by_block),
            fetch_s=time.monotonic() - t0,
            traces=traces,
        )

    def _blocks(
        self, numbers: list[int], full: Callable[[int], bool], start: int, end: int
    ) -> list[Any]:
        """eth_getBlockByNumber for each number (full transactions where ``full``), in
        batches of BLOCKS_PER_BATCH (a native range is every block of the chunk)."""
        out: list[Any] = []
        for i in range(0, len(numbers), BLOCKS_PER_BATCH):
            part = numbers[i : i + BLOCKS_PER_BATCH]
            out.extend(
                self.rpc.batch(
                    [("eth_getBlockByNumber", [hex(n), full(n)]) for n in part],
                    what=f"headers+transactions blocks {start}..{end}",
                    check=functools.partial(check_headers, part),
                )
            )
        return out

    def block_traces(self, blocks: list[dict[str, Any]]) -> pa.Table:
        """The internal native transfers (call frames below the top level that move value)
        of these blocks (full eth_getBlockByNumber results), by the network's trace method.

        A frame's transaction is taken by its position in the block, not by the hash the
        tracer reports (anvil's tracers report another hash for deposit transactions than
        its blocks do); a block whose traces do not cover its transactions, or whose trace
        names another block hash, raises ChainMoved."""
        method = self.network.native.traces
        calls: list[tuple[str, list[Any]]] = [
            ("trace_block", [hex(int(b["number"], 16))])
            if method == "trace_block"
            else ("debug_traceBlockByNumber", [hex(int(b["number"], 16)), {"tracer": "callTracer"}])
            for b in blocks
        ]
        rows: list[tuple[Any, ...]] = []
        i = 0
        while i < len(blocks):
            # tracing costs the node per transaction: a batch holds about TRACE_TXS_PER_BATCH
            j, n_txs = i, 0
            while j < len(blocks) and (
                j == i or n_txs + len(blocks[j]["transactions"]) <= TRACE_TXS_PER_BATCH
            ):
                n_txs += len(blocks[j]["transactions"])
                j += 1
            lo, hi = int(blocks[i]["number"], 16), int(blocks[j - 1]["number"], 16)
            res = self.rpc.batch(calls[i:j], what=f"{method} of blocks {lo}..{hi}")
            for b, traced in zip(blocks[i:j], res, strict=True):
                rows.extend(_frames(method, b, traced or []))
            i = j
        cols: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in TRACE_SCHEMA]
        return pa.table(
            {f.name: pa.array(list(c), f.type) for f, c in zip(TRACE_SCHEMA, cols, strict=True)},
            schema=TRACE_SCHEMA,
        )

    def iter_chunks(
        self,
        start: int,
        end: int,
        finalized: int,
        stop: Callable[[], bool] | None = None,
        prepare: Callable[[Chunk], Chunk] | None = None,
        ahead: int = 64,
        requests_per_chunk: int = REQUESTS_PER_CHUNK,
        on_wait: Callable[[], None] | None = None,
    ) -> Iterator[Chunk]:
        """Chunks of start..end in order. ``workers`` are fetched at once, and up to ``ahead``
        finished chunks wait for the consumer, so fetching goes on while it commits.
        ``prepare`` runs on each chunk in its fetch thread; ``on_wait`` in the consumer's
        when the next chunk keeps it waiting (see :func:`pipelined`)."""

        def jobs() -> Iterator[Callable[[], Chunk]]:
            nxt = start
            while nxt <= end:
                span = self.adaptive.current() * requests_per_chunk
                if self.network.native.transactions:  # every block is fetched in full
                    span = min(span, NATIVE_BLOCKS_PER_CHUNK)
                e = min(end, nxt + span - 1)
                a, fin = nxt, e > finalized

                def job(a: int = a, e: int = e, fin: bool = fin) -> Chunk:
                    chunk = self.fetch_chunk(a, e, fin, finalized)
                    return prepare(chunk) if prepare is not None else chunk

                yield job
                nxt = e + 1

        yield from pipelined(jobs(), self._fetch_pool(), self.workers, ahead, stop, on_wait)

    # -- receipts ------------------------------------------------------------------------
    def block_receipts(self, number: int, block_hash: str) -> pa.Table:
        """The receipts of one block, asked by hash (so a reorged block cannot answer with
        its replacement's); RECEIPT_FIELDS as served. Raises BlockVanished if the node no
        longer knows the block."""

        def parse(text: memoryview) -> pa.Table | None:
            if bytes(text[:4]) == b"null":
                return None
            return parse_json_array(RECEIPTS_SQL, text)

        out = self.rpc.call_raw(
            "eth_getBlockReceipts", [block_hash], parse, what=f"receipts of block {number}"
        )
        if out is None:
            raise BlockVanished(f"block {number} ({block_hash[:12]}…) is unknown to the node")
        hashes = pa.compute.unique(pa.compute.utf8_lower(out.column("blockHash")))
        if len(hashes) > 1 or (len(hashes) == 1 and hashes[0].as_py() != block_hash):
            raise BlockVanished(f"receipts of block {number} belong to another block")
        return out

    def iter_receipts(
        self,
        blocks: list[tuple[int, str]],
        stop: Callable[[], bool] | None = None,
        ahead: int = 256,
    ) -> Iterator[tuple[int, str, pa.Table]]:
        """(number, hash, receipts) of each block, in order, a few fetched at once."""

        def jobs() -> Iterator[Callable[[], tuple[int, str, pa.Table]]]:
            for n, h in blocks:
                yield lambda n=n, h=h: (n, h, self.block_receipts(n, h))  # type: ignore[misc]

        yield from pipelined(jobs(), self._fetch_pool(), self.workers, ahead, stop)


def pipelined(
    jobs: Iterator[Callable[[], R]],
    pool: ThreadPoolExecutor,
    workers: int,
    ahead: int,
    stop: Callable[[], bool] | None = None,
    on_wait: Callable[[], None] | None = None,
    wait_s: float = 1.0,
) -> Iterator[R]:
    """Run ``jobs`` on ``pool`` (``workers`` at a time) and yield their results in order.

    A feeder thread submits a job whenever a worker is free and fewer than ``ahead`` results
    wait, so the pool keeps fetching while the consumer is busy (a commit). The first error is
    raised in the consumer; closing the iterator stops the feeder, cancels what has not
    started and waits for what has. When the next result keeps the consumer waiting longer
    than ``wait_s`` (a node retrying, a lie fetched again), ``on_wait`` runs once in the
    consumer's thread (ingestion releases the warehouse there).
    """
    running = threading.Semaphore(workers)
    waiting = threading.Semaphore(max(ahead, workers + 1))
    futures: queue.Queue[Future[R] | None] = queue.Queue()
    closed = threading.Event()

    def acquire(sem: threading.Semaphore) -> bool:
        while not sem.acquire(timeout=0.05):
            if closed.is_set():
                return False
        return not closed.is_set()

    def feed() -> None:
        try:
            for job in jobs:
                if stop is not None and stop():
                    break
                if not acquire(waiting):
                    break
                if not acquire(running):
                    waiting.release()
                    break
                fut = pool.submit(job)
                fut.add_done_callback(lambda _f: running.release())
                futures.put(fut)
        except BaseException as exc:  # a job generator that fails: surface it in order
            failed: Future[R] = Future()
            failed.set_exception(exc)
            futures.put(failed)
        finally:
            futures.put(None)

    feeder = threading.Thread(target=feed, name="olw-fetch-feeder", daemon=True)
    feeder.start()
    try:
        while True:
            fut = futures.get()
            if fut is None:
                break
            if on_wait is not None and not fut.done():
                done, _ = wait([fut], timeout=wait_s)
                if not done:
                    on_wait()
            result = fut.result()
            waiting.release()
            yield result
    finally:
        closed.set()
        feeder.join()
        left = []
        while True:
            try:
                f = futures.get_nowait()
            except queue.Empty:
                break
            if f is not None and not f.cancel():
                left.append(f)
        wait(left)
