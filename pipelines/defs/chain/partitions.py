"""Block-range partitions: a partition is a fixed, aligned range of block numbers, so a
backfill is a list of independent, idempotent units; dates map to ranges by binary search on
block timestamps (the ``id_range_for_time`` trick of Dagster's HN example)."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipelines.resources import snake

# 10,000 blocks: about 5.5 h of OP Stack blocks (2 s), 10 eth_getLogs calls at the public
# RPC's 1,000-block cap; a year of mainnet is ~1,600 partitions, which the UI lists comfortably.
BLOCKS_PER_PARTITION = 10_000


def block_ranges(network: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=f"block_ranges__{snake(network)}")


def partition_key(index: int, size: int = BLOCKS_PER_PARTITION) -> str:
    start = index * size
    return f"{start:012d}-{start + size - 1:012d}"


def partition_range(key: str) -> tuple[int, int]:
    """(first, last) block of a partition key such as ``000000010000-000000019999``."""
    try:
        lo, hi = (int(x) for x in key.split("-"))
    except ValueError:
        raise ValueError(f"{key!r} is not a block-range partition key (NNN-NNN)") from None
    if hi < lo:
        raise ValueError(f"partition {key!r} ends before it starts")
    return lo, hi


def keys_covering(first: int, last: int, size: int = BLOCKS_PER_PARTITION) -> list[str]:
    """The aligned partition keys that cover blocks ``first..last``."""
    if last < first:
        return []
    return [partition_key(i, size) for i in range(first // size, last // size + 1)]


def first_block_at_or_after(
    ts: int, block_ts: Callable[[int], int], lo: int, hi: int
) -> int | None:
    """The lowest block in ``lo..hi`` whose timestamp is >= ``ts`` (timestamps never decrease
    along a chain), or None when every block is older."""
    if block_ts(hi) < ts:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if block_ts(mid) < ts:
            lo = mid + 1
        else:
            hi = mid
    return lo


def block_range_for_dates(
    start: date, end: date, block_ts: Callable[[int], int], first: int, head: int
) -> tuple[int, int] | None:
    """Blocks whose UTC timestamp falls on days ``start``..``end`` (inclusive), or None."""
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    end_next = end + timedelta(days=1)
    t1 = int(datetime(end_next.year, end_next.month, end_next.day, tzinfo=UTC).timestamp())
    lo = first_block_at_or_after(t0, block_ts, first, head)
    if lo is None:
        return None
    nxt = first_block_at_or_after(t1, block_ts, lo, head)
    hi = head if nxt is None else nxt - 1
    return (lo, hi) if hi >= lo else None
