"""The checks on what a node serves, on recorded answers: header hashes (keccak of the RLP,
across header formats) and eth_getLogs answers (span, removed, duplicates, missing fields).
The logsBloom cross-check runs against real blooms in tests/ingest/test_faults.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipelines.chain.fetch import (
    _log_blocks,
    _parts_ok,
    check_headers,
    check_logs,
    header_hash,
    parse_logs,
)
from pipelines.chain.rpc import MalformedResult

HEADERS: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "headers.json").read_text())


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_recorded_headers_hash_to_their_hash(name: str) -> None:
    # anvil (Prague: every optional field) and Ethereum's genesis (none of them)
    h = HEADERS[name]
    assert header_hash(h) == h["hash"]
    check_headers([int(h["number"], 16)], [h])


@pytest.mark.parametrize("field", ["parentHash", "timestamp", "logsBloom", "requestsHash"])
def test_a_changed_field_fails_the_hash(field: str) -> None:
    h = dict(HEADERS["anvil_block_with_tx"])
    h[field] = "0x1" if field == "timestamp" else "0x" + "ab" * ((len(h[field]) - 2) // 2)
    with pytest.raises(MalformedResult, match="do not hash to its hash"):
        check_headers([int(h["number"], 16)], [h])


def test_wrong_block_and_unknown_formats() -> None:
    h = HEADERS["anvil_block_with_tx"]
    n = int(h["number"], 16)
    with pytest.raises(MalformedResult, match=f"asked for block {n + 1}"):
        check_headers([n + 1], [h])
    # a key we do not know: the format is not ours to judge, the header is taken as served
    odd = {**h, "parentHash": "0x" + "11" * 32, "someChainField": "0x1"}
    assert header_hash(odd) is None
    check_headers([n], [odd])
    # a malformed field never matches
    assert header_hash({**h, "timestamp": "zz"}) == "0x"
    check_headers([n, n + 1], [h, None])  # a missing block is the caller's to handle


def _log(block: int, index: int, **extra: Any) -> dict[str, Any]:
    return {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": ["0x" + "dd" * 32],
        "data": "0x",
        "blockNumber": hex(block),
        "blockHash": "0x" + f"{block:064x}",
        "transactionHash": "0x" + f"{block + 7:064x}",
        "transactionIndex": "0x0",
        "logIndex": hex(index),
        "removed": False,
        **extra,
    }


def _answer(*logs: dict[str, Any]) -> bytes:
    return orjson.dumps(list(logs))


def test_check_logs() -> None:
    good = parse_logs(_answer(_log(10, 0), _log(10, 1), _log(12, 0)))
    assert check_logs(good, 10, 12) is None
    assert "outside the asked blocks 10..11" in str(check_logs(good, 10, 11))
    assert "outside" in str(check_logs(good, 11, 12))
    dup = parse_logs(_answer(_log(10, 0), _log(10, 1), _log(10, 0)))
    assert "served twice" in str(check_logs(dup, 10, 12))
    removed = parse_logs(_answer(_log(10, 0, removed=True)))
    assert "removed" in str(check_logs(removed, 10, 12))
    pending = parse_logs(_answer(_log(10, 0, blockNumber=None)))
    assert "without block_number" in str(check_logs(pending, 0, 12))


def test_parts_are_checked_against_their_own_span() -> None:
    a, b = _answer(_log(10, 0), _log(11, 0)), _answer(_log(12, 0))
    parts = [(10, 11, a, 2), (12, 13, b, 1)]
    assert _parts_ok(parse_logs([a, b]), parts, 10, 13)
    # block 12's log served in the answer for 10..11 (and none for 12..13): inside the chunk,
    # outside its answer's span
    a2, b2 = _answer(_log(10, 0), _log(12, 0)), _answer()
    parts2 = [(10, 11, a2, 2), (12, 13, b2, 0)]
    assert not _parts_ok(parse_logs([a2, b2]), parts2, 10, 13)
    assert _log_blocks(a2) == {10, 12}
