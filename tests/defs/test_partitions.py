"""Block-range partitions and the date → block binary search."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipelines.defs.chain.partitions import (
    block_range_for_dates,
    first_block_at_or_after,
    keys_covering,
    partition_key,
    partition_range,
)

DAY0 = int(datetime(2025, 9, 8, tzinfo=UTC).timestamp())


def ts_of(n: int) -> int:
    # 100 blocks per day, block 0 at DAY0 - 50 blocks' worth (mid-day before).
    return DAY0 + (n - 50) * 864


@pytest.mark.parametrize(
    ("first", "last", "size", "keys"),
    [
        (0, 0, 10, ["000000000000-000000000009"]),
        (
            5,
            25,
            10,
            ["000000000000-000000000009", "000000000010-000000000019", "000000000020-000000000029"],
        ),
        (10, 19, 10, ["000000000010-000000000019"]),
        (20, 10, 10, []),
    ],
)
def test_keys_covering(first: int, last: int, size: int, keys: list[str]) -> None:
    assert keys_covering(first, last, size) == keys


def test_partition_key_round_trips() -> None:
    assert partition_range(partition_key(3, 1000)) == (3000, 3999)
    with pytest.raises(ValueError):
        partition_range("not-a-range")


@pytest.mark.parametrize(
    ("ts", "expected"), [(DAY0, 50), (DAY0 + 1, 51), (DAY0 - 10**9, 0), (ts_of(1000) + 1, None)]
)
def test_first_block_at_or_after(ts: int, expected: int | None) -> None:
    assert first_block_at_or_after(ts, ts_of, 0, 1000) == expected


def test_block_range_for_dates() -> None:
    assert block_range_for_dates(date(2025, 9, 8), date(2025, 9, 8), ts_of, 0, 1000) == (50, 149)
    assert block_range_for_dates(date(2025, 9, 8), date(2025, 9, 9), ts_of, 0, 1000) == (50, 249)
    # The chain's last day is cut at the head.
    assert block_range_for_dates(date(2025, 9, 17), date(2025, 9, 20), ts_of, 0, 1000) == (
        950,
        1000,
    )
    assert block_range_for_dates(date(2030, 1, 1), date(2030, 1, 2), ts_of, 0, 1000) is None
