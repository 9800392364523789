"""Hand-made logs for decoder tests: stage them as the store does, encode events with eth_abi,
and say what eth_abi (strict, as web3.py uses it) makes of them."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from eth_abi import decode, encode
from eth_utils import keccak

from pipelines.decode import Decoder, EventSpec
from pipelines.decode.abi import is_value_type, is_wide, wide_params

UINT128_MAX = (1 << 128) - 1
INT128_MIN, INT128_MAX = -(1 << 127), (1 << 127) - 1


def stage(
    con: duckdb.DuckDBPyConnection, dec: Decoder, logs: list[dict[str, Any]], arrow: bool = False
) -> None:
    """_stage from logs given as {address, topics, data}; log_index is the list position.
    A temp table as the store's replay makes it, or with ``arrow`` a registered Arrow table
    as ingestion's fetch threads hand it over (no column statistics)."""
    n = len(logs)
    cols = {
        "chain_id": pa.array([1612] * n, pa.uint32()),
        "block_number": pa.array([7] * n, pa.uint64()),
        "block_hash": pa.array(["0x" + "ab" * 32] * n),
        "block_timestamp": pa.array([dt.datetime(2025, 9, 8)] * n, pa.timestamp("us")),
        "tx_hash": pa.array(["0x" + "cd" * 32] * n),
        "tx_index": pa.array([0] * n, pa.uint32()),
        "log_index": pa.array(list(range(n)), pa.uint32()),
        "contract_address": pa.array([lg["address"] for lg in logs]),
        "tx_from": pa.array(["0x" + "ee" * 20] * n),
    }
    for i in range(4):
        cols[f"topic{i}"] = pa.array(
            [lg["topics"][i] if len(lg["topics"]) > i else None for lg in logs], pa.string()
        )
    cols["topic_count"] = pa.array([len(lg["topics"]) for lg in logs], pa.uint8())
    cols["data"] = pa.array([lg["data"] for lg in logs])
    con.register("_t", pa.table(cols))
    dec.stage(con, "select * from _t")
    con.unregister("_t")
    if arrow:
        table = con.sql("select * from _stage").to_arrow_table()
        con.execute("drop table _stage")
        con.register("_stage", table)


def write_abi(path: Path, name: str, inputs: list[tuple[str, str, bool]]) -> Path:
    """An ABI file with one event of (name, type, indexed) inputs."""
    path.write_text(
        json.dumps(
            [
                {
                    "type": "event",
                    "name": name,
                    "anonymous": False,
                    "inputs": [
                        {"name": n, "type": t, "indexed": ix, "internalType": t}
                        for n, t, ix in inputs
                    ],
                }
            ]
        )
    )
    return path


# -- random values -------------------------------------------------------------------------
STRINGS = [
    "",
    "a",
    "gpt-ö",
    "模型-7b",
    "🤖" * 9,
    "e\u0301",  # combining accent
    "a\x00b",
    "x" * 31,
    "x" * 32,
    "x" * 33,
    "Datanet «finance» — 2025",
]


def _bits(t: str) -> int:
    return int(t.removeprefix("u").removeprefix("int") or 256)


def random_value(rng: random.Random, t: str) -> Any:
    """A value of ABI type t that fits its column (128-bit ints), edges likely."""
    if t.endswith("]"):
        inner, size = t[: t.rindex("[")], t[t.rindex("[") + 1 : -1]
        n = int(size) if size else rng.choice([0, 1, 2, 4, 15, 16, 16, 17, rng.randrange(40)])
        return [random_value(rng, inner) for _ in range(n)]
    if t == "address":
        return "0x" + rng.randbytes(20).hex()
    if t == "bool":
        return rng.random() < 0.5
    if t == "string":
        mixed = "".join(rng.choice("aé中🤖 ") for _ in range(rng.randrange(70)))
        return rng.choice([*STRINGS, mixed])
    if t == "bytes":
        return rng.randbytes(rng.choice([0, 1, 31, 32, 33, 64, rng.randrange(100)]))
    if t.startswith("bytes"):
        return rng.randbytes(int(t[5:]))
    bits = min(_bits(t), 128)
    if t.startswith("uint"):
        hi = (1 << bits) - 1
        return rng.choice([0, 1, hi, hi - 1, rng.randrange(hi), rng.randrange(min(hi, 1 << 20))])
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return rng.choice([0, -1, 1, lo, hi, rng.randrange(lo, hi), -rng.randrange(min(hi, 1 << 20))])


def topic(t: str, v: Any) -> str:
    """The topic of an indexed value (value types encoded, others hashed)."""
    if is_value_type(t):
        return "0x" + encode([t], [v]).hex()
    if t == "string":
        return "0x" + keccak(text=v).hex()
    return "0x" + keccak(encode([t], [v])).hex()


def make_log(ev: EventSpec, address: str, values: list[Any]) -> dict[str, Any]:
    topics = [ev.topic0]
    body_t, body_v = [], []
    for p, v in zip(ev.params, values, strict=True):
        if p.indexed:
            topics.append(topic(p.abi_type, v))
        else:
            body_t.append(p.abi_type)
            body_v.append(v)
    return {"address": address, "topics": topics, "data": "0x" + encode(body_t, body_v).hex()}


# -- what eth_abi makes of a log -----------------------------------------------------------
def _fits(t: str, v: Any) -> bool:
    if t.endswith("]"):
        return all(_fits(t[: t.rindex("[")], x) for x in v)
    if t.startswith("uint"):
        return bool(v <= UINT128_MAX)
    if t.startswith("int"):
        return bool(INT128_MIN <= v <= INT128_MAX)
    return True


def _max(v: Any) -> int:
    return max(map(_max, v), default=-1) if isinstance(v, (list, tuple)) else int(v)


def _text(v: Any) -> Any:
    return [_text(x) for x in v] if isinstance(v, (list, tuple)) else str(v)


def _column(t: str, v: Any) -> Any:
    if t.endswith("]"):
        return [_column(t[: t.rindex("[")], x) for x in v]
    if t == "address":
        return v.lower()
    if t.startswith("bytes"):
        return "0x" + bytes(v).hex()
    return v


def expected(ev: EventSpec, log: dict[str, Any]) -> list[Any] | None:
    """The row's event columns if eth_abi decodes the log and every value fits its column,
    else None (the log must be dead-lettered)."""
    if len(log["topics"]) != 1 + len(ev.indexed):
        return None
    try:
        body = list(decode([p.abi_type for p in ev.body], bytes.fromhex(log["data"][2:])))
        out: list[Any] = []
        wide: dict[str, Any] = {}  # the companions (decimal text) of wide uint fields
        ti = 1
        for p in ev.params:
            if p.indexed:
                word = log["topics"][ti]
                ti += 1
                if not is_value_type(p.abi_type):
                    out.append(word.lower())
                    continue
                v = decode([p.abi_type], bytes.fromhex(word[2:]))[0]
            else:
                v = body.pop(0)
            if is_wide(p.abi_type) and _max(v) > UINT128_MAX:  # in its BIGNUM companion
                out.append(None)
                wide[p.column] = _text(v)
                continue
            if not _fits(p.abi_type, v):
                return None
            out.append(_column(p.abi_type, v))
        # a wide uint array's companion holds the whole array, when an element is >= 2^128
        return out + [wide.get(p.column) for p in wide_params(ev)]
    except Exception:
        return None
