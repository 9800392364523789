"""The node's truth, fetched independently of pipelines.chain (one plain eth_getLogs call)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson


def node_logs(url: str, addresses: list[str], start: int = 0, end: int | None = None) -> list[Any]:
    to = "latest" if end is None else hex(end)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getLogs",
        "params": [{"fromBlock": hex(start), "toBlock": to, "address": addresses}],
    }
    r = httpx.post(
        url, content=orjson.dumps(body), headers={"content-type": "application/json"}, timeout=120
    )
    out: list[Any] = orjson.loads(r.content)["result"]
    return out


def node_keys(logs: list[Any]) -> set[tuple[int, str, int]]:
    return {(int(lg["blockNumber"], 16), lg["blockHash"], int(lg["logIndex"], 16)) for lg in logs}


def warehouse_keys(path: Path | str, chain_id: int) -> list[tuple[int, str, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            (int(n), h, int(i))
            for n, h, i in con.execute(
                "select block_number, block_hash, log_index from raw.logs where chain_id = ?",
                [chain_id],
            ).fetchall()
        ]
    finally:
        con.close()


def per_block(keys: Any) -> Counter[int]:
    return Counter(k[0] for k in keys)
