"""One column of the event store ↔ its Iceberg form, exact both ways.

Iceberg has no unsigned or 128-bit integers, and its decimals stop at 38 digits, so:
- UHUGEINT / HUGEINT (uint256/int256 amounts that fit 128 bits) become ``decimal(38, 0)``, plus
  a ``<name>__text`` string holding the decimal text of a value of 10^38 or more (null
  otherwise): a wei amount fits the decimal, 2^128 − 1 keeps its exact text. A lossless
  column the store adds later (say a VARCHAR for values above 2^128) travels as what it is.
- UBIGINT becomes ``decimal(20, 0)`` (a uint64 event parameter may pass 2^63); the smaller
  integers ``long``.
- Lists become lists of strings (their elements' decimal text; exact for uint256[]); a
  BIGNUM (the ``<column>_u256`` companion of a uint256 >= 2^128) its decimal text, a BIGNUM[]
  a list of them.
Casts happen in DuckDB before Arrow, never through DuckDB 2.0's default Arrow export of a
UHUGEINT (decimal128(38, 0), which wraps from 2^127 up). Reading back casts every column to
the store's type, so history and the local tail are one set of columns with one type each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

TEXT_SUFFIX = "__text"
PARTITION_COLUMN = "partition_start"  # first block of the partition a row was sealed in
MAX_DECIMAL38 = "99999999999999999999999999999999999999"
# raw.* bookkeeping of the local store that has no meaning in the lake
LOCAL_ONLY = {"journal_id"}

_SMALL_INTS = {"UINTEGER", "USMALLINT", "UTINYINT", "INTEGER", "SMALLINT", "TINYINT", "BIGINT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB's data_type, upper case


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def store_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[Column]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [Column(str(n), str(t).upper()) for n, t in rows]


def to_lake_select(columns: Sequence[Column], partition_start: int) -> str:
    """Select-list turning store rows into lake rows (plus the partition column)."""
    out: list[str] = []
    for c in columns:
        if c.name in LOCAL_ONLY:
            continue
        n, t = q(c.name), c.type
        if t == "UHUGEINT":
            out.append(f"case when {n} <= {MAX_DECIMAL38} then {n}::decimal(38, 0) end as {n}")
            text = q(c.name + TEXT_SUFFIX)
            out.append(f"case when {n} > {MAX_DECIMAL38} then {n}::varchar end as {text}")
        elif t == "HUGEINT":
            fits = f"{n} between -{MAX_DECIMAL38} and {MAX_DECIMAL38}"
            out.append(f"case when {fits} then {n}::decimal(38, 0) end as {n}")
            out.append(f"case when not ({fits}) then {n}::varchar end as {q(c.name + TEXT_SUFFIX)}")
        elif t == "UBIGINT":
            out.append(f"{n}::decimal(20, 0) as {n}")
        elif t in _SMALL_INTS:
            out.append(f"{n}::bigint as {n}")
        elif t == "BIGNUM":  # a uint256 companion (Iceberg has no such type): exact as text
            out.append(f"{n}::varchar as {n}")
        elif t.endswith("[]"):
            out.append(f"{n}::varchar[] as {n}")
        else:
            out.append(n)
    out.append(f"{int(partition_start)}::bigint as {PARTITION_COLUMN}")
    return ", ".join(out)


def from_lake_select(columns: Sequence[Column], lake_names: set[str]) -> str:
    """Select-list turning lake rows back into store rows of ``columns`` (the store's
    names and types); a column the lake does not have (journal_id) is null."""
    out: list[str] = []
    for c in columns:
        n, t = q(c.name), c.type
        if c.name not in lake_names:
            out.append(f"null::{t} as {n}")
        elif c.name + TEXT_SUFFIX in lake_names:
            out.append(f"coalesce({n}::{t}, {q(c.name + TEXT_SUFFIX)}::{t}) as {n}")
        else:
            out.append(f"{n}::{t} as {n}")
    return ", ".join(out)
