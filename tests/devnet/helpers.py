"""Small log readers for devnet tests (independent of the warehouse's own decoder)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from eth_abi import decode

from pipelines.devnet.rpc import Rpc
from pipelines.devnet.simulate import TOPIC_NAMES


def all_logs(url: str) -> list[dict[str, Any]]:
    with Rpc(url, timeout=120) as rpc:
        logs: list[dict[str, Any]] = rpc.call(
            "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"}
        )
    return logs


def kind(log: dict[str, Any]) -> str:
    return TOPIC_NAMES.get(log["topics"][0], "other")


def counts_by_kind(logs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(kind(log) for log in logs)


def topic_int(log: dict[str, Any], i: int) -> int:
    return int(log["topics"][i], 16)


def topic_addr(log: dict[str, Any], i: int) -> str:
    return "0x" + log["topics"][i][-40:]


def data(log: dict[str, Any], types: list[str]) -> tuple[Any, ...]:
    return decode(types, bytes.fromhex(log["data"][2:]))
