"""The uint256 companions of decoded tables (BIGNUM, BIGNUM[]; docs/CONTRACTS.md) reach the
lake as types Iceberg has and come back exact (issue 9)."""

from __future__ import annotations

import duckdb
from pyiceberg.catalog import Catalog

from pipelines.lake.schema import from_lake_select, store_columns, to_lake_select

MAX = 2**256 - 1


def test_bignum_companions_round_trip_through_an_iceberg_schema() -> None:
    con = duckdb.connect()
    con.execute("create table t (v uhugeint, v_u256 bignum, a uhugeint[], a_u256 bignum[])")
    con.execute(
        "insert into t values (null, ?::bignum, null, ?::varchar[]::bignum[]), "
        "(5, null, [5], null)",
        [str(MAX), ["1", str(MAX)]],
    )
    cols = store_columns(con, "main", "t")
    lake = con.sql(f"select {to_lake_select(cols, 0)} from t").to_arrow_table()
    # pyiceberg refuses DuckDB's opaque Arrow BIGNUM; the lake's schema must convert
    ice = Catalog._convert_schema_if_needed(lake.schema)
    assert {f.name for f in ice.fields} >= {"v_u256", "a_u256"}
    con.register("lake", lake)
    back = con.execute(
        f"select {from_lake_select(cols, set(lake.column_names))} from lake"
    ).fetchall()
    assert back == con.execute("select * from t").fetchall()
    assert back[0][1] == str(MAX) or int(back[0][1]) == MAX
    types = con.execute(
        f"select typeof(v_u256), typeof(a_u256) from "
        f"(select {from_lake_select(cols, set(lake.column_names))} from lake) limit 1"
    ).fetchall()
    assert types == [("BIGNUM", "BIGNUM[]")]
