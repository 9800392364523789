"""Minimal call encoding for the devnet contracts (selectors + eth_abi), and actor addresses."""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import encode
from eth_utils import keccak


@cache
def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def topic(signature: str) -> str:
    """topic0 of an event, lowercase 0x-hex."""
    return "0x" + keccak(text=signature).hex()


def _types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : -1]
    return [t for t in inner.split(",") if t]


def call_data(signature: str, *args: Any) -> str:
    """``transfer(address,uint256)`` + args → 0x-hex calldata."""
    return "0x" + (selector(signature) + encode(_types(signature), list(args))).hex()


def word(value: int) -> str:
    """One 32-byte ABI word as 64 hex chars (fast path for static arguments)."""
    return format(value, "064x")


def addr_word(address: str) -> str:
    return address[2:].lower().rjust(64, "0")


def actor(name: str) -> str:
    """A deterministic address for a named simulated actor (no key: anvil impersonates it)."""
    return "0x" + keccak(text=f"olw-devnet:{name}")[-20:].hex()


def bucket_id(name: str) -> bytes:
    """A vesting bucket's bytes32 id: the name, right-padded with zeros."""
    raw = name.encode()
    if len(raw) > 32:
        raise ValueError(f"bucket name {name!r} longer than 32 bytes")
    return raw.ljust(32, b"\0")
