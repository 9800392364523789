"""What checking the node's answers costs the fetch path (issue 16), as ratios in one run.

1. A chunk of eth_getLogs answers (16,000 logs in 8 answers, the shape ingestion fetches):
   DuckDB's parse of them (``parse_logs``, which ingestion does anyway) against the checks
   added after it (``_parts_ok``: each answer's logs within its span, none removed, none
   twice).
2. A block header with full transactions (what ``fetch_chunk`` asks for each block with logs):
   orjson's parse of its JSON (done anyway) against ``header_hash`` (keccak of its RLP).

    uv run python -m bench fetch_checks

Synthetic answers, built in memory; thread CPU time, the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from pipelines.chain.fetch import _parts_ok, header_hash, parse_logs

TOPIC0 = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def _log(block: int, index: int) -> dict[str, Any]:
    return {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": [TOPIC0, "0x" + f"{index:064x}", "0x" + f"{block:064x}"],
        "data": "0x" + f"{block * 1000 + index:064x}",
        "blockNumber": hex(block),
        "blockHash": "0x" + f"{block:064x}",
        "transactionHash": "0x" + f"{block * 100 + index // 100:064x}",
        "transactionIndex": hex(index // 100),
        "logIndex": hex(index),
        "removed": False,
    }


def answers(n_logs: int, parts: int, per_block: int) -> list[tuple[int, int, bytes, int]]:
    """``parts`` answers of ``n_logs`` logs in all, ``per_block`` logs a block."""
    out = []
    block = 1000
    per_part = n_logs // parts
    for _ in range(parts):
        blocks = max(1, per_part // per_block)
        logs = [_log(block + i // per_block, i % per_block) for i in range(per_part)]
        out.append((block, block + blocks - 1, orjson.dumps(logs), len(logs)))
        block += blocks
    return out


def header() -> dict[str, Any]:
    h32 = "0x" + "ab" * 32
    return {
        "number": "0x1234",
        "hash": h32,
        "parentHash": h32,
        "sha3Uncles": h32,
        "miner": "0x" + "cd" * 20,
        "stateRoot": h32,
        "transactionsRoot": h32,
        "receiptsRoot": h32,
        "logsBloom": "0x" + "ff" * 256,
        "difficulty": "0x0",
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x5208",
        "timestamp": "0x6553f100",
        "extraData": "0x",
        "mixHash": h32,
        "nonce": "0x0000000000000000",
        "baseFeePerGas": "0x7",
        "withdrawalsRoot": h32,
        "blobGasUsed": "0x0",
        "excessBlobGas": "0x0",
        "parentBeaconBlockRoot": h32,
        "requestsHash": h32,
        "size": "0x400",
        "uncles": [],
        "withdrawals": [],
        "transactions": [
            {
                "hash": "0x" + f"{i:064x}",
                "from": "0x" + "11" * 20,
                "to": "0x" + "22" * 20,
                "input": "0x" + "00" * 200,
                "nonce": hex(i),
                "value": "0x0",
                "gas": "0x5208",
                "gasPrice": "0x7",
                "type": "0x2",
                "blockHash": h32,
                "blockNumber": "0x1234",
                "transactionIndex": hex(i),
            }
            for i in range(20)
        ],
    }


def _cpu(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    times = []
    for _ in range(repeats):
        t = time.thread_time()
        for _ in range(inner):
            fn()
        times.append((time.thread_time() - t) / inner)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=int, default=16_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv if argv is not None else [])
    t = Table(title="fetch checks: cost against the work done anyway (thread CPU, median)")
    for col in ("what", "done anyway", "added check", "ratio"):
        t.add_column(col)
    for per_block, label in ((2000, "dense (2,000 logs a block)"), (1, "sparse (1 log a block)")):
        parts = answers(args.logs, 8, per_block)
        texts = [p[2] for p in parts]
        logs = parse_logs(texts)
        start, end = parts[0][0], parts[-1][1]
        assert _parts_ok(logs, parts, start, end)
        parse_s = _cpu(lambda texts=texts: parse_logs(texts), args.repeats)
        check_s = _cpu(
            lambda logs=logs, parts=parts, a=start, b=end: _parts_ok(logs, parts, a, b),
            args.repeats,
        )
        t.add_row(
            f"{args.logs:,} logs, {label}",
            f"parse {parse_s * 1e3:.2f} ms",
            f"checks {check_s * 1e3:.2f} ms",
            f"{check_s / parse_s:.3f}",
        )
    h = header()
    text = orjson.dumps(h)
    assert header_hash(h) is not None
    load_s = _cpu(lambda: orjson.loads(text), args.repeats, 2000)
    hash_s = _cpu(lambda: header_hash(h), args.repeats, 2000)
    t.add_row(
        "a header with 20 full transactions",
        f"orjson {load_s * 1e6:.1f} µs",
        f"header_hash {hash_s * 1e6:.1f} µs",
        f"{hash_s / load_s:.3f}",
    )
    Console().print(t)


if __name__ == "__main__":
    main(sys.argv[1:])
