"""Fixed block-range partitions of finalized history and the sealed watermark.

A partition is blocks ``k·size .. (k+1)·size − 1``; it is sealed when all its tables are
written and its marker row is. The gap-free run of markers from the partition holding the
network's first contract block is the sealed history; its last block is the watermark, and
the local store's tail starts right after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.lake.settings import LakeError


def partition_key(start: int, size: int) -> str:
    """The key of the partition starting at ``start`` (the Dagster block-range key format)."""
    return f"{start:012d}-{start + size - 1:012d}"


def parse_key(key: str) -> tuple[int, int]:
    """(first, last) block of a key such as ``000000010000-000000019999``."""
    try:
        lo, hi = (int(x) for x in key.split("-"))
    except ValueError:
        raise LakeError(f"{key!r} is not a block-range partition key (NNN-NNN)") from None
    if hi < lo:
        raise LakeError(f"partition {key!r} ends before it starts")
    return lo, hi


def keys_between(first: int, last: int, size: int) -> list[str]:
    """The aligned keys of the partitions that lie wholly inside ``first..last`` once the
    first is widened down to its partition start (history begins at a partition edge)."""
    if last < first:
        return []
    lo = first // size
    hi = (last + 1) // size  # partitions whose last block is <= last
    return [partition_key(i * size, size) for i in range(lo, hi)]


@dataclass(frozen=True)
class Watermark:
    """The sealed history of one chain: blocks ``start..block`` in ``partitions`` markers."""

    chain_id: int
    start: int
    block: int  # the last sealed block (start - 1 when nothing is sealed)
    block_hash: str | None
    partitions: int
    size: int


def watermark(chain_id: int, markers: Iterable[Mapping[str, Any]]) -> Watermark | None:
    """The gap-free prefix of one chain's markers; LakeError if they disagree on the
    partition size or do not chain (a partition's parent hash is not the previous end)."""
    rows = [m for m in markers if int(m["chain_id"]) == chain_id]
    if not rows:
        return None
    sizes = {int(m["blocks_per_partition"]) for m in rows}
    if len(sizes) > 1:
        raise LakeError(
            f"chain {chain_id}: partitions of different sizes {sorted(sizes)} in one lake; "
            "keep OLW_LAKE_PARTITION_BLOCKS fixed for a lake"
        )
    size = sizes.pop()
    first = min(int(m["first_block"]) for m in rows)
    by_start = {int(m["partition_start"]): m for m in rows}
    start = nxt = (first // size) * size
    last_hash: str | None = None
    n = 0
    while nxt in by_start:
        m = by_start[nxt]
        if last_hash is not None and m["first_parent_hash"] != last_hash:
            raise LakeError(
                f"chain {chain_id}: sealed partition {partition_key(nxt, size)} does not "
                f"extend the one before it (parent {m['first_parent_hash']}, expected "
                f"{last_hash}); seal it again"
            )
        last_hash = str(m["last_block_hash"])
        n += 1
        nxt += size
    return Watermark(chain_id, start, nxt - 1, last_hash, n, size)
