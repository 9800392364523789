"""The lake's column mapping is exact both ways, and the watermark is the gap-free prefix."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.lake import LakeError, keys_between, watermark
from pipelines.lake.schema import Column, from_lake_select, store_columns, to_lake_select

VALUES = [
    (0, 0, 0, [0]),
    (2**127 + 5, -(2**127), 2**63, [2**127 + 5, 1]),  # DuckDB's default Arrow export wraps these
    (10**38 - 1, -(10**38) + 1, 2**64 - 1, []),  # the largest decimal(38, 0)
    (10**38, -(10**38), 1, [10**38]),  # the smallest that needs the text column
    (2**128 - 1, 2**127 - 1, 7, [2**128 - 1, None]),
    (None, None, None, None),
]


def test_amounts_round_trip_exactly_through_arrow() -> None:
    con = duckdb.connect()  # default Arrow export: nothing 128-bit may leave uncast
    con.execute(
        "create table t (chain_id uinteger, block_number ubigint, amount uhugeint, "
        "delta hugeint, nonce ubigint, amounts uhugeint[], journal_id ubigint)"
    )
    for i, (a, d, n, arr) in enumerate(VALUES):
        text = (
            None
            if arr is None
            else "[" + ", ".join("null" if v is None else str(v) for v in arr) + "]"
        )
        con.execute(
            "insert into t values (1612, ?, ?::varchar::uhugeint, ?::varchar::hugeint, ?, "
            "?::varchar::uhugeint[], 1)",
            [i, None if a is None else str(a), None if d is None else str(d), n, text],
        )
    cols = store_columns(con, "main", "t")
    lake = con.sql(f"select {to_lake_select(cols, 0)} from t").to_arrow_table()
    assert "journal_id" not in lake.column_names
    assert str(lake.schema.field("amount").type) == "decimal128(38, 0)"
    assert lake.column("amount__text").to_pylist()[3:5] == [str(10**38), str(2**128 - 1)]
    con.register("lake", lake)
    back = con.execute(
        f"select {from_lake_select(cols, set(lake.column_names))} from lake order by block_number"
    ).fetchall()
    want = con.execute("select * exclude (journal_id), null from t order by block_number")
    assert [r[:-1] for r in back] == [r[:-1] for r in want.fetchall()]
    assert [r[2] for r in back] == [v[0] for v in VALUES]
    types = con.execute(
        f"select typeof(columns(*)) from (select {from_lake_select(cols, set(lake.column_names))} "
        "from lake) limit 1"
    ).fetchall()[0]
    assert {"UHUGEINT", "HUGEINT", "UHUGEINT[]"} <= set(types)


def marker(start: int, parent: str, last: str, size: int = 10, first: int = 3) -> dict:
    return {
        "chain_id": 1612, "partition_start": start, "blocks_per_partition": size,
        "first_block": first, "first_parent_hash": parent, "last_block_hash": last,
    }  # fmt: skip


def test_watermark_is_the_gap_free_prefix_from_the_first_contract_block() -> None:
    ms = [marker(0, "g", "a"), marker(10, "a", "b"), marker(30, "c", "d")]
    w = watermark(1612, ms)
    assert w is not None and (w.start, w.block, w.partitions, w.block_hash) == (0, 19, 2, "b")
    assert watermark(1612, [marker(10, "a", "b")]).partitions == 0  # type: ignore[union-attr]
    assert watermark(1, ms) is None
    with pytest.raises(LakeError, match="does not extend"):
        watermark(1612, [marker(0, "g", "a"), marker(10, "x", "b")])
    with pytest.raises(LakeError, match="different sizes"):
        watermark(1612, [marker(0, "g", "a"), marker(10, "a", "b", size=20)])


@pytest.mark.parametrize(
    ("first", "last", "size", "keys"),
    [
        (3, 19, 10, ["000000000000-000000000009", "000000000010-000000000019"]),
        (3, 18, 10, ["000000000000-000000000009"]),  # 10..19 is not final through 19 yet
        (25, 9, 10, []),
    ],
)
def test_keys_between(first: int, last: int, size: int, keys: list[str]) -> None:
    assert keys_between(first, last, size) == keys


def test_columns_keep_store_names() -> None:
    sql = from_lake_select([Column("value", "UHUGEINT")], {"value", "value__text"})
    assert sql == 'coalesce("value"::UHUGEINT, "value__text"::UHUGEINT) as "value"'
