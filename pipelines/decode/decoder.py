"""Columnar, ABI-driven decoding of staged logs into decoded.<abi>__<event> tables.

Every event whose fields are static words (ints, address, bool, bytesN), arrays of them
(``T[]``, ``T[k]``), ``bytes`` or ``string`` is decoded in DuckDB SQL over the whole batch, with
no per-row Python (``_plan`` builds the statement):

- events of static words only: by slicing hex; the data must be exactly the head long;
- events with dynamic fields: by following the head. A dynamic field's head word is a byte
  offset into the data; at the offset a length word, then ``length`` words (``T[]``: unnested
  into one row per element, each decoded by one expression, gathered back with list();
  ``_explode``) or ``length`` bytes zero-padded to 32 (``bytes`` as 0x-hex; ``string`` via
  ``decode()``, which refuses invalid UTF-8 as Python's strict codec does).

What it costs, per 16,000-log fetch chunk of mainnet-like traffic (bench/decode.py), lies in
four things: each value is computed once (levels of subqueries, and ``offset 0`` in front of the
checks: DuckDB would otherwise push the filter below the projection and compute every value
twice); substr must know that data is ASCII, which DuckDB learns only from a table's column
statistics (a registered Arrow stage is copied into a temp table first; without that each
substr scans the string from its start); casting hex costs ~3 ns a digit, so a uint256 is 32
zero digits compared and 32 cast; and planning a statement costs about as much as decoding
a few thousand words, so the SQL has one expression per field, not per array element.

A log decodes exactly when ``eth_abi.decode(types, data)`` (strict, as web3.py calls it)
accepts it and every value fits its column (uint256 -> UHUGEINT, ...; a uint136..uint256 field
>= 2^128 goes to its BIGNUM companion ``<column>_u256`` instead, and an array of them with such
an element goes whole to its BIGNUM[] companion, docs/CONTRACTS.md: computed in SQL from four
64-bit limbs, only for those rows); tests/decode checks this
against eth_abi on random and on mutated encodings. So, like eth_abi, a dynamic event may carry
bytes after its last tail and point its offsets anywhere after the head (non-canonical but valid
encodings), but no read may run past the end of the data, no offset may point into the head,
padding must be zero and strings UTF-8. The data is taken to be hex as the node serves it
(JSON-RPC DATA): a non-hex digit fails where a number, offset, length or string is parsed, but
address and bytes digits are copied (lowercased) and unread bytes are not looked at; checking
every digit would cost more than decoding.

Whatever does not decode goes to raw.dead_letters; the reason is the first failing check in
this order: ``wrong_topic_count``; ``decode_error`` (odd number of hex digits);
``wrong_data_length`` (data shorter than the head, a field's offset or length running past the
end; for static events any other length); ``decode_error`` (offset into the head, non-zero
padding after bytes/string, invalid UTF-8); ``value_out_of_range`` (a value or array element
that is not a valid value of its type or does not fit its column: an int256 outside int128,
an address with non-zero high bytes, a bool not 0/1, bytesN with non-zero padding). The
detail names the event, the field and, for offsets and lengths, the numbers. Nothing is
dropped: decoded + dead = staged for every event.

Fallback: events with ABI types SQL cannot express (tuples, nested arrays such as
``uint256[][]``, arrays of dynamic types such as ``string[]``) are decoded with eth_abi row by
row (``_decode_rows``). None of our ABIs (schemas/abis) use such types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from eth_abi import decode as abi_decode

from pipelines.config import ConfigError, ContractConfig
from pipelines.decode.abi import (
    COMMON_COLUMNS,
    EventSpec,
    Layout,
    Param,
    duck_type,
    is_value_type,
    is_wide_uint,
    load_abi_events,
    sql_layout,
    wide_columns,
    wide_params,
)

UINT128_MAX = (1 << 128) - 1
INT128_MIN, INT128_MAX = -(1 << 127), (1 << 127) - 1

# Columns of the stage relation the decoder reads from (one row per log, joined with its block
# timestamp and transaction sender).
STAGE_COLUMNS = (
    "chain_id, block_number, block_hash, block_timestamp, tx_hash, tx_index, log_index, "
    "contract_address, tx_from, topic0, topic1, topic2, topic3, topic_count, data, event_id"
)
_COMMON = ", ".join(c for c, _ in COMMON_COLUMNS)
_HEX = "[0-9a-fA-F]"


def _bits(t: str) -> int:
    return int(t.removeprefix("u").removeprefix("int") or 256)


def _zeros(src: str, pos: str, n: int) -> str:
    return f"substr({src}, {pos}, {n}) = '{'0' * n}'"


def _word(t: str, src: str, pos: str) -> str:
    """SQL value of the 64-hex-char word of static type ``t`` at 1-based position ``pos`` of
    ``src``; NULL when the word is not a valid ``t`` or does not fit its column (UHUGEINT and
    HUGEINT hold 128 bits, UBIGINT and BIGINT 64). Hex digits are checked where a number is
    parsed; address and bytesN digits are copied (lowercased) as served."""

    def at(off: int, n: int) -> str:
        return f"substr({src}, {pos}{f' + {off}' if off else ''}, {n})"

    if t == "address":
        return f"case when {_zeros(src, pos, 24)} then '0x' || lower({at(24, 40)}) end"
    if t == "bool":
        return f"case {at(0, 64)} when '{'0' * 64}' then false when '{'0' * 63}1' then true end"
    if t.startswith("bytes"):
        n = 2 * int(t[5:])
        v = f"'0x' || lower({at(0, n)})"
        return v if n == 64 else f"case when {_zeros(src, f'{pos} + {n}', 64 - n)} then {v} end"
    bits = min(_bits(t), 128)
    f = bits // 4  # hex digits the column holds
    if t.startswith("uint"):
        # zero high digits, then a cast of only the digits the column holds: casting hex costs
        # ~3 ns a digit, checking 32 zeros ~20 ns (so uint256 = 32 zeros + a 32-digit cast)
        typ = "ubigint" if bits <= 64 else "uhugeint"
        return (
            f"case when {_zeros(src, pos, 64 - f)} "
            f"then try_cast('0x' || {at(64 - f, f)} as {typ}) end"
        )
    # signed: sign-extended two's complement; the low 64/128 bits give the value
    pattern = f"(?:0{{{64 - f}}}[0-7]{_HEX}{{{f - 1}}}|[fF]{{{64 - f}}}[89a-fA-F]{_HEX}{{{f - 1}}})"
    if bits <= 64:
        u = f"try_cast('0x' || {at(48, 16)} as ubigint)"
        v = (
            f"cast(case when {at(48, 1)} < '8' then {u} "
            f"else {u} - 18446744073709551616 end as bigint)"
        )
    else:
        u = f"try_cast('0x' || {at(32, 32)} as uhugeint)"
        v = (
            f"case when {at(32, 1)} < '8' then cast({u} as hugeint) "
            f"else cast({u} - '170141183460469231731687303715884105728'::uhugeint as hugeint) "
            "- 170141183460469231731687303715884105727 - 1 end"
        )
    return f"case when regexp_full_match({at(0, 64)}, '{pattern}') then {v} end"


_LIMB = 10**18  # the decimal limb of _wide: a 64-bit word times a limb constant fits HUGEINT


def _limb_constants() -> list[list[int]]:
    """2^(64 i) for i = 0..3 as base-10^18 digits, least significant first."""
    out = []
    for i in range(4):
        v, digits = 1 << (64 * i), []
        while v:
            v, d = divmod(v, _LIMB)
            digits.append(d)
        out.append(digits)
    return out


_LIMBS = _limb_constants()


def _wide(src: str, pos: str, text: bool = False) -> str:
    """SQL BIGNUM (``text``: its decimal VARCHAR) of the 64-hex-digit word at 1-based ``pos``
    of ``src`` read as an unsigned 256-bit integer (NULL if a digit is not hex), for the words
    whose UHUGEINT is NULL.

    DuckDB has no 256-bit integer and no hex cast or product for BIGNUM, so the word is cut into
    four 64-bit limbs, recombined as base-10^18 digits in HUGEINT arithmetic (each product of a
    limb and a constant < 1.9e37, four of them < 7.4e37 < 2^127), and the decimal text cast."""
    limbs = [
        f"cast(try_cast('0x' || substr({src}, {pos} + {16 * (3 - i)}, 16) as ubigint) as hugeint)"
        for i in range(4)
    ]  # limbs[i] weighs 2^(64 i)
    sums = []
    for k in range(5):
        terms = [f"{limbs[i]} * {c[k]}" for i, c in enumerate(_LIMBS) if k < len(c) and c[k]]
        sums.append(" + ".join(terms) if terms else "0")
    carried = [f"({sums[0]})"]  # carried[k]: digit k plus everything carried into it
    for k in range(1, 5):
        carried.append(f"({sums[k]} + {carried[k - 1]} // {_LIMB})")
    digits = [f"lpad(cast({carried[k]} % {_LIMB} as varchar), 18, '0')" for k in range(4)]
    decimal = " || ".join([f"cast({carried[4]} as varchar)", *reversed(digits)])
    return f"ltrim({decimal}, '0')" if text else f"cast({decimal} as bignum)"


def _wide_hex(t: str, src: str, pos: str, value: str = "") -> str:
    """SQL: the 64-hex-digit word of wide uint type ``t`` at ``pos`` of ``src`` when its value
    is 2^128 or more (its UHUGEINT NULL) and a valid ``t``, else NULL (:func:`_wide` makes the
    BIGNUM of it); ``value``: SQL to give instead of the word."""
    bits = _bits(t)
    # below 256 bits the digits above the type must still be zero
    fits = "" if bits == 256 else f" and {_zeros(src, pos, 64 - bits // 4)}"
    # hex digits checked by casting both halves (a regex costs ~1 ms to plan per statement)
    halves = " and ".join(
        f"try_cast('0x' || substr({src}, {pos}{off}, 32) as uhugeint) is not null"
        for off in ("", " + 32")
    )
    return (
        f"case when not {_zeros(src, pos, 32)}{fits} "
        f"then case when {halves} then {value or f'substr({src}, {pos}, 64)'} end end"
    )


def _wide_list(small: str, big: str, wide_hex: bool) -> str:
    """SQL: the companion of a wide uint array, from ``small`` (its UHUGEINT list: NULL at a
    wide element) and ``big`` (its hex words at the wide elements, NULL elsewhere): NULL when
    no element is wide, else every element as BIGNUM (or with ``wide_hex`` its hex word)."""
    words = f"list_transform({big}, lambda _h, _i: coalesce(_h, lpad(hex({small}[_i]), 64, '0')))"
    if not wide_hex:
        words = f"list_transform({words}, lambda _h: {_wide('_h', '1')})"
    return f"case when list_count({big}) > 0 then {words} end"


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Check:
    """One condition a log must meet to decode; the first failing one names the dead letter."""

    cond: str
    reason: str
    detail: str  # SQL expression


class Decoder:
    """Decodes the logs of one network's configured contracts."""

    def __init__(self, contracts: Iterable[ContractConfig]):
        self.events: list[EventSpec] = []
        ids: dict[tuple[str, str], int] = {}
        self.event_map: list[tuple[str, str, int]] = []  # (address, topic0, event_id)
        tables: dict[str, EventSpec] = {}
        for c in contracts:
            for ev in load_abi_events(c.abi_file):
                key = (ev.abi_name, ev.signature)
                if key not in ids:
                    other = tables.get(ev.table)
                    if other is not None and other.columns() != ev.columns():
                        raise ConfigError(
                            f"ABIs {other.abi_name} and {ev.abi_name} both define table "
                            f"decoded.{ev.table} with different fields"
                        )
                    ids[key] = len(self.events)
                    self.events.append(ev)
                    tables[ev.table] = ev
                self.event_map.append((c.address.lower(), ev.topic0, ids[key]))
        # the same map as an Arrow table, for joins in DuckDB (here and in the fetch threads)
        self.event_map_arrow = pa.table(
            {
                "a": pa.array([a for a, _, _ in self.event_map], pa.string()),
                "t0": pa.array([t.lower() for _, t, _ in self.event_map], pa.string()),
                "id": pa.array([i for _, _, i in self.event_map], pa.int32()),
            }
        )

    # -- DDL -----------------------------------------------------------------------------
    def ensure_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        existing: dict[str, list[tuple[str, str]]] = {}
        for table, col, typ in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'decoded' order by table_name, ordinal_position"
        ).fetchall():
            existing.setdefault(table, []).append((col, typ.lower()))
        for ev in self.events:
            if ev.table in existing:
                want = [(c, t.lower()) for c, t in ev.columns()]
                have = existing[ev.table]
                wide = {(c, t.lower()) for c, t in wide_columns(ev)}
                if have == want[: len(have)] and set(want[len(have) :]) <= wide:
                    # made before (some of) the uint256 companions existed: add them (NULL:
                    # every row then fitted; the logs that did not are dead letters until
                    # olw ingest --rebuild-decoded)
                    for c, t in want[len(have) :]:
                        con.execute(f'alter table decoded.{ev.table} add column "{c}" {t}')
                    existing[ev.table] = want
                if existing[ev.table] != want:
                    raise ConfigError(
                        f"decoded.{ev.table} in the warehouse does not match the ABI "
                        f"{ev.abi_name} ({ev.signature}); rebuild it from the raw tables: "
                        "olw ingest --rebuild-decoded"
                    )
            else:
                con.execute(ev.ddl())

    def tables(self) -> list[str]:
        return sorted({ev.table for ev in self.events})

    # -- decode --------------------------------------------------------------------------
    def stage(self, con: duckdb.DuckDBPyConnection, source_sql: str) -> None:
        """Materialize temp table _stage from a query yielding STAGE_COLUMNS minus event_id."""
        con.register("_event_map", self.event_map_arrow)
        try:
            con.execute(
                "create or replace temp table _stage as select s.*, m.id as event_id "
                f"from ({source_sql}) s left join _event_map m "
                "on m.a = s.contract_address and m.t0 = lower(s.topic0)"
            )
        finally:
            con.unregister("_event_map")

    def decode_stage(
        self, con: duckdb.DuckDBPyConnection, collect: dict[str, pa.Table] | None = None
    ) -> tuple[int, int]:
        """Decode _stage into decoded.* and raw.dead_letters; returns (decoded, dead).

        With ``collect``, the decoded rows are not inserted but put there as one Arrow table
        per decoded.* table (of that table's columns and types), so ingestion's fetch threads
        hand finished rows to the commit without a round trip through a scratch table."""
        src = "_stage"
        if not _is_table(con, "_stage"):
            # A registered Arrow table has no column statistics, so
            # DuckDB cannot know that data is ASCII and every substr scans the string from its
            # start (O(position): ~2.5 µs per element deep in a 4 KB log). A temp table keeps
            # the statistics; the copy (~11 ms per 16k-log chunk) also spares each statement
            # an Arrow scan with filter pushdown (~1.7 ms).
            src = "_stage_copy"
            con.execute(f"create or replace temp table {src} as select * from _stage")
        try:
            return self._decode(con, src, collect)
        finally:
            if src != "_stage":
                con.execute(f"drop table if exists {src}")

    def _decode(
        self, con: duckdb.DuckDBPyConnection, src: str, collect: dict[str, pa.Table] | None
    ) -> tuple[int, int]:
        decoded = 0
        dead = 0
        # a few ms per statement: only touch the event types present in this batch
        present = dict(con.execute(f"select event_id, count(*) from {src} group by 1").fetchall())
        for eid, ev in enumerate(self.events):
            if eid not in present:
                continue
            if ev.columnar:
                d, x = self._decode_sql(con, eid, ev, int(present[eid]), src, collect)
            else:
                d, x = self._decode_rows(con, eid, ev, src, collect)
            decoded += d
            dead += x
        if None in present:
            dead += self._dead(
                con,
                src,
                "event_id is null",
                "case when topic0 is null then 'no_topic0' else 'unknown_topic0' end",
                "'no event in the contract ABI has this topic0'",
            )
        return decoded, dead

    def _dead(
        self, con: duckdb.DuckDBPyConnection, src: str, where: str, reason: str, detail: str
    ) -> int:
        n = con.execute(
            "insert into raw.dead_letters select chain_id, block_number, block_hash, log_index, "
            f"tx_hash, contract_address, topic0, data, {reason}, {detail} "
            f"from {src} where {where}"
        ).fetchall()
        return int(n[0][0]) if n else 0

    def _decode_sql(
        self,
        con: duckdb.DuckDBPyConnection,
        eid: int,
        ev: EventSpec,
        n_rows: int,
        src: str = "_stage",
        collect: dict[str, pa.Table] | None = None,
    ) -> tuple[int, int]:
        # collecting (ingestion's hot path, one statement per event type and chunk), a wide
        # uint's companion leaves as its hex word, made a BIGNUM afterwards only in a chunk
        # that has one: the conversion's SQL costs ~25 ms to plan per statement
        source, values, checks = _plan(ev, eid, src, wide_hex=collect is not None)
        ok = " and ".join(f"({c.cond})" for c in checks)
        # "offset 0": else DuckDB pushes the filter below the projection and computes every
        # value twice, once to check it and once to insert it
        rows = f"from ({source} offset 0) where coalesce({ok}, false)"
        if collect is not None:
            got = con.sql(f"select {_typed(ev, values, wide_text=True)} {rows}").to_arrow_table()
            _collect(collect, ev.table, _hex_to_bignum(con, ev, got))
            decoded = got.num_rows
        else:
            names = [*(p.column for p in ev.params), *(c for c, _ in wide_columns(ev))]
            cols = ", ".join([_COMMON, *(f'"{c}"' for c in names)])
            vals = ", ".join([_COMMON, *values])
            n = con.execute(f"insert into {ev.qualified} ({cols}) select {vals} {rows}").fetchall()
            decoded = int(n[0][0]) if n else 0
        if decoded == n_rows:
            return decoded, 0
        whens = " ".join(
            f"when not coalesce({c.cond}, false) then {_sql_str(c.reason)}" for c in checks
        )
        details = " ".join(f"when not coalesce({c.cond}, false) then {c.detail}" for c in checks)
        dead = con.execute(
            "insert into raw.dead_letters select chain_id, block_number, block_hash, log_index, "
            f"tx_hash, contract_address, topic0, data, case {whens} else 'decode_error' end, "
            f"case {details} else {_sql_str(ev.signature)} end "
            f"from ({source} offset 0) where not coalesce({ok}, false)"
        ).fetchall()
        return decoded, int(dead[0][0]) if dead else 0

    def _decode_rows(
        self,
        con: duckdb.DuckDBPyConnection,
        eid: int,
        ev: EventSpec,
        src: str = "_stage",
        collect: dict[str, pa.Table] | None = None,
    ) -> tuple[int, int]:
        rows = con.sql(f"select * from {src} where event_id = {eid}").to_arrow_table()
        if rows.num_rows == 0:
            return 0, 0
        common = {c: rows.column(c).to_pylist() for c, _ in COMMON_COLUMNS}
        topics = [rows.column(f"topic{i}").to_pylist() for i in range(1, 4)]
        counts = rows.column("topic_count").to_pylist()
        datas = rows.column("data").to_pylist()
        body_types = [p.abi_type for p in ev.body]
        out: dict[str, list[Any]] = {p.column: [] for p in ev.params}
        wide = wide_params(ev)
        big: dict[str, list[Any]] = {p.column: [] for p in wide}  # the companions
        keep: list[int] = []
        dead: list[tuple[int, str, str]] = []
        for i, data in enumerate(datas):
            if counts[i] != 1 + len(ev.indexed):
                dead.append((i, "wrong_topic_count", ev.signature))
                continue
            try:
                body = abi_decode(body_types, bytes.fromhex(data[2:]))
                vals: list[Any] = []
                bi = 0
                ti = 0
                for p in ev.params:
                    if p.indexed:
                        word = topics[ti][i]
                        ti += 1
                        if not is_value_type(p.abi_type):
                            vals.append(word.lower())
                        else:
                            vals.append(abi_decode([p.abi_type], bytes.fromhex(word[2:]))[0])
                    else:
                        vals.append(body[bi])
                        bi += 1
                over = {p.column: v for p, v in zip(ev.params, vals, strict=True)
                        if p in wide and _max_uint(v) > UINT128_MAX}  # fmt: skip
                row = [
                    None if p.column in over else _to_column(p, v)
                    for p, v in zip(ev.params, vals, strict=True)
                ]
            except _OutOfRange as exc:
                dead.append((i, "value_out_of_range", f"{ev.signature}: {exc}"))
                continue
            except Exception as exc:
                reason = "wrong_data_length" if "length" in str(exc).lower() else "decode_error"
                dead.append((i, reason, f"{ev.signature}: {type(exc).__name__}: {exc}"[:500]))
                continue
            keep.append(i)
            for p, v in zip(ev.params, row, strict=True):
                out[p.column].append(v)
            for p in wide:
                big[p.column].append(_decimal(over[p.column]) if p.column in over else None)
        decoded = 0
        if keep:
            cols: dict[str, pa.Array] = {}
            for c, _ in COMMON_COLUMNS:
                cols[c] = pa.array([common[c][i] for i in keep], rows.schema.field(c).type)
            casts = []
            for p in ev.params:
                cols[p.column] = pa.array(out[p.column], _arrow_type(p))
                casts.append(f'cast("{p.column}" as {p.sql_type})')
            for (c, t), p in zip(wide_columns(ev), wide, strict=True):
                text: pa.DataType = pa.string()
                for _ in range(t.count("[]")):
                    text = pa.list_(text)
                cols[c] = pa.array(big[p.column], text)
                casts.append(f'cast("{c}" as {t})')
            con.register("_rows", pa.table(cols))
            names = [*(p.column for p in ev.params), *(c for c, _ in wide_columns(ev))]
            col_list = ", ".join(f'"{c}"' for c in names)
            if collect is not None:
                typed = _typed(ev, [f'"{c}"' for c in names])
                _collect(collect, ev.table, con.sql(f"select {typed} from _rows").to_arrow_table())
            else:
                con.execute(
                    f"insert into {ev.qualified} ({_COMMON}, {col_list}) "
                    f"select {_COMMON}, {', '.join(casts)} from _rows"
                )
            con.unregister("_rows")
            decoded = len(keep)
        if dead:
            con.register(
                "_dead",
                pa.table(
                    {
                        "log_index": pa.array([common["log_index"][i] for i, _, _ in dead]),
                        "block_hash": pa.array([common["block_hash"][i] for i, _, _ in dead]),
                        "reason": pa.array([r for _, r, _ in dead]),
                        "detail": pa.array([d for _, _, d in dead]),
                    }
                ),
            )
            con.execute(
                "insert into raw.dead_letters select s.chain_id, s.block_number, s.block_hash, "
                "s.log_index, s.tx_hash, s.contract_address, s.topic0, s.data, d.reason, d.detail "
                f"from {src} s join _dead d using (block_hash, log_index) where s.event_id = {eid}"
            )
            con.unregister("_dead")
        return decoded, len(dead)


def _plan(
    ev: EventSpec, eid: int, src: str = "_stage", wide_hex: bool = False
) -> tuple[str, list[str], list[_Check]]:
    """(source query over table ``src``, one value SQL per param then one per wide uint
    companion, checks) for a columnar event. A companion is the BIGNUM of a value >= 2^128, or
    with ``wide_hex`` its 64-digit hex word (for :func:`_hex_to_bignum`).

    The source computes every value once, as ``_vj`` (NULL, or a list holding a NULL, when
    not valid), and per dynamic body field j: ``_oj`` its offset in bytes (NULL unless below
    2^32), ``_rj`` the length word at the offset (NULL unless the offset is valid and the word
    below 2^32), ``_nj`` the length when the whole tail lies within the data, else NULL, and
    ``_pj`` the 1-based position in ``data`` of the tail's first element. Each level of
    columns is a subquery over the previous one, so a column is computed once however many
    later expressions read it; the caller filters on the checks behind ``offset 0``.
    """
    sig = ev.signature
    lay: dict[Param, Layout] = {}
    for p in ev.body:
        lo = sql_layout(p.abi_type)
        if lo is None:
            raise ValueError(f"{sig}: {p.abi_type} is not columnar")
        lay[p] = lo
    head = sum(lo.words for lo in lay.values())
    static = all(lo.kind in ("word", "fixed") for lo in lay.values())
    checks = [_Check(f"topic_count = {1 + len(ev.indexed)}", "wrong_topic_count", _sql_str(sig))]
    if static:  # no offsets: the data is exactly the head
        checks.append(_Check(f"strlen(data) = {2 + 64 * head}", "wrong_data_length", _sql_str(sig)))
    else:
        checks += [
            _Check(
                "strlen(data) % 2 = 0",
                "decode_error",
                _sql_str(f"{sig}: data is not whole bytes of hex"),
            ),
            _Check(
                f"_len >= {32 * head}",
                "wrong_data_length",
                _sql_str(f"{sig}: data shorter than the head ({32 * head} bytes): ")
                + " || _len || ' bytes'",
            ),
        ]
    l1 = [] if static else ["(strlen(data) - 2) // 2 as _len"]
    l2: list[str] = []
    l3: list[str] = []
    l4: list[str] = []
    arrays: list[tuple[int, str, str, str]] = []  # (j, element type, position, length)
    value_checks: list[_Check] = []

    def out_of_range(p: Param, cond: str, what: str) -> None:
        value_checks.append(
            _Check(cond, "value_out_of_range", _sql_str(f"{sig}: {p.name}: {what}"))
        )

    wide: dict[Param, str] = {}  # the BIGNUM companion of each wide uint field
    column: dict[int, str] = {}  # the column value of a wide array field j, if not _vj

    def value_word(j: int, p: Param, src: str, pos: str) -> None:
        v = f"_v{j}"
        l1.append(f"{_word(p.abi_type, src, pos)} as {v}")
        if not is_wide_uint(p.abi_type):
            out_of_range(p, f"{v} is not null", f"value out of range for {p.abi_type}")
            return
        # a value >= 2^128 (NULL in its UHUGEINT column) lands in the companion, computed for
        # those rows only (in the same level: one more would cost every statement a projection)
        x = _wide_hex(p.abi_type, src, pos, "" if wide_hex else _wide(src, pos))
        l1.append(f"{x} as _x{j}")
        wide[p] = f"_x{j}"
        out_of_range(
            p, f"({v} is not null or _x{j} is not null)", f"value out of range for {p.abi_type}"
        )

    def wide_array(j: int, p: Param, n: str) -> None:
        """An array of wide uints ``_vj`` with ``_yj`` (hex words of its wide elements): every
        element valid, the list column NULL and the companion the array if one is wide."""
        v, y = f"_v{j}", f"_y{j}"
        out_of_range(
            p,
            f"list_count({v}) + list_count({y}) = {n}",
            f"an element is out of range for {p.abi_type}",
        )
        column[j] = f"case when list_count({y}) = 0 then {v} end"
        wide[p] = _wide_list(v, y, wide_hex)

    ti = 1
    wi = 0
    for j, p in enumerate(ev.params):
        v = f"_v{j}"
        if p.indexed:
            if is_value_type(p.abi_type):
                value_word(j, p, f"topic{ti}", "3")
            else:  # an indexed string/bytes/array is only its keccak hash
                l1.append(f"'0x' || lower(substr(topic{ti}, 3, 64)) as {v}")
            ti += 1
            continue
        lo = lay[p]
        pos = 3 + 64 * wi  # position of the field's first head word in data
        wi += lo.words
        if lo.kind == "word":
            value_word(j, p, "data", str(pos))
            continue
        if lo.kind == "fixed":
            elems = ", ".join(_word(lo.elem, "data", str(pos + 64 * k)) for k in range(lo.words))
            l1.append(f"list_value({elems}) as {v}")
            if is_wide_uint(lo.elem):
                bigs = ", ".join(
                    _wide_hex(lo.elem, "data", str(pos + 64 * k)) for k in range(lo.words)
                )
                l1.append(f"list_value({bigs}) as _y{j}")
                wide_array(j, p, str(lo.words))
                continue
            out_of_range(
                p, f"list_count({v}) = {lo.words}", f"an element is out of range for {lo.elem}"
            )
            continue
        o, r, n, at = f"_o{j}", f"_r{j}", f"_n{j}", f"_p{j}"
        l1.append(f"{_u32(str(pos))} as {o}")
        l2.append(
            f"case when {o} >= {32 * head} and {o} + 32 <= _len "
            f"then {_u32(f'2 * {o} + 3')} end as {r}"
        )
        tail = f"32 * {r}" if lo.kind == "array" else f"({r} + 31) // 32 * 32"
        l3 += [f"case when {o} + 32 + {tail} <= _len then {r} end as {n}", f"2 * {o} + 67 as {at}"]
        checks += [
            _Check(
                f"{o} + 32 <= _len",
                "wrong_data_length",
                _sql_str(f"{sig}: {p.name}: offset ")
                + f" || coalesce({o}::varchar, '>= 2^32') || "
                + _sql_str(" runs past the end of the data (")
                + " || _len || ' bytes)'",
            ),
            _Check(
                f"{o} >= {32 * head}",
                "decode_error",
                _sql_str(f"{sig}: {p.name}: offset ")
                + f" || {o} || "
                + _sql_str(f" points into the head ({32 * head} bytes)"),
            ),
            _Check(
                f"{n} is not null",
                "wrong_data_length",
                _sql_str(f"{sig}: {p.name}: length ")
                + f" || coalesce({r}::varchar, '>= 2^32') || "
                + _sql_str(" runs past the end of the data (")
                + " || _len || ' bytes)'",
            ),
        ]
        if lo.kind == "array":
            arrays.append((j, lo.elem, at, n))
            if is_wide_uint(lo.elem):
                wide_array(j, p, n)
                continue
            out_of_range(p, f"list_count({v}) = {n}", f"an element is out of range for {lo.elem}")
            continue
        checks.append(
            _Check(
                f"ltrim(substr(data, {at} + 2 * {n}, 2 * (({n} + 31) // 32 * 32 - {n})), '0') = ''",
                "decode_error",
                _sql_str(f"{sig}: {p.name}: non-zero padding after the {p.abi_type}"),
            )
        )
        if lo.kind == "bytes":
            l4.append(f"'0x' || lower(substr(data, {at}, 2 * {n})) as {v}")
        else:
            l4.append(f"try(decode(from_hex(substr(data, {at}, 2 * {n})))) as {v}")
            checks.append(
                _Check(
                    f"{v} is not null",
                    "decode_error",
                    _sql_str(f"{sig}: {p.name}: not UTF-8 (or not hex)"),
                )
            )
    checks += value_checks
    rid = "rowid as _rid, " if arrays else ""
    source = f"select {rid}*{''.join(f', {c}' for c in l1)} from {src} where event_id = {eid}"
    for level in (l2, l3, l4):
        if level:
            source = f"select *, {', '.join(level)} from ({source})"
    if arrays:
        source = _explode(source, arrays)
    values = [column.get(j, f"_v{j}") for j in range(len(ev.params))]
    return source, [*values, *(wide[p] for p in wide_params(ev))], checks


def _explode(rows: str, arrays: list[tuple[int, str, str, str]]) -> str:
    """``rows`` (which carry ``_rid``) with a list column ``_vj`` per array field j, given as
    (j, element type, position of the first element in data, length).

    The elements are unnested into rows (``_k``: position in the array), each decoded by one
    expression, and gathered back per log with list(). One expression per element written
    out (16 per array) cost ~25 ms to plan per batch and more to run than the unnest and
    the aggregate; inside list_transform's lambda DuckDB no longer knows that data is ASCII
    and substr becomes O(position). Arrays of one log shorter than its longest read past
    their end, harmlessly (substr, try_cast), and the aggregate's filter drops those reads.

    list() keeps the order of its input, the unnest's, when one thread aggregates all of a
    log's elements (in practice, always); ``_ord`` checks it and a log whose elements came
    out of order is sorted by their positions, cheaper than list(... order by _k).
    """
    ns = [n for _, _, _, n in arrays]
    count = ns[0] if len(ns) == 1 else f"greatest({', '.join(ns)})"
    cols = ", ".join(f"{at}, {n}" for _, _, at, n in arrays)
    elems = ", ".join(
        f"{_word(elem, 'data', f'{at} + 64 * _k')} as _e{j}" for j, elem, at, _ in arrays
    )
    aggs = ", ".join(
        f"list(_e{j})" + (f" filter (where _k < {n})" if len(ns) > 1 else "") + f" as _a{j}"
        for j, _, _, n in arrays
    )
    lists = ", ".join(
        f"coalesce(case when _ord then _a{j} else list_select(_a{j}, list_grade_up("
        f"list_filter(_ks, lambda _x: _x < {n}))) end, cast([] as {duck_type(elem)}[])) as _v{j}"
        for j, elem, _, n in arrays
    )
    # an array of wide uints also gets _yj, the hex words of its elements >= 2^128 (NULL at the
    # others): only for the (rare) logs with an element NULL in _vj, read from data again
    # (in a lambda, substr is O(position): cheaper than gathering a second list for every log)
    for j, elem, at, n in arrays:
        if is_wide_uint(elem):
            word = _wide_hex(elem, "data", f"{at} + 64 * _i")
            lists += (
                f", case when coalesce(list_count(_a{j}), 0) < {n} then "
                f"list_transform(range({n}), lambda _i: {word}) "
                f"else cast([] as varchar[]) end as _y{j}"
            )
    return (
        f"with _r as materialized ({rows}) select *, {lists} from _r left join ("
        f"select _rid, list(_k) as _ks, list(_k) = range(count(*)) as _ord, {aggs} "
        f"from (select _rid, _k, {', '.join(ns)}, {elems} "
        f"from (select _rid, data, {cols}, unnest(range({count})) as _k from _r)) "
        "group by _rid) using (_rid)"
    )


def _typed(ev: EventSpec, values: list[str], wide_text: bool = False) -> str:
    """SQL select list: the common columns, then one value per param and wide companion, each
    cast to its decoded.* column's type and named as that column (what an insert would store);
    ``wide_text`` keeps the companions VARCHAR (their hex words, for :func:`_hex_to_bignum`)."""
    exprs = [c for c, _ in COMMON_COLUMNS] + values
    cols = ev.columns()
    if wide_text:
        wide = {c for c, _ in wide_columns(ev)}
        cols = [(c, t.replace("bignum", "varchar") if c in wide else t) for c, t in cols]
    return ", ".join(f'cast({e} as {t}) as "{c}"' for e, (c, t) in zip(exprs, cols, strict=True))


# How DuckDB hands a BIGNUM to Arrow (with or without arrow_lossless_conversion)
BIGNUM_ARROW = pa.opaque(pa.binary(), "bignum", "DuckDB")


def _hex_to_bignum(con: duckdb.DuckDBPyConnection, ev: EventSpec, got: pa.Table) -> pa.Table:
    """Collected rows with each wide companion's hex word (:func:`_plan` ``wide_hex``) turned
    into its BIGNUM: by one statement over these rows if one is not NULL, else (nearly always)
    by swapping in a column of NULLs."""
    wide = wide_columns(ev)
    if not wide:
        return got
    if all(got.column(c).null_count == got.num_rows for c, _ in wide):
        nulls = pa.ExtensionArray.from_storage(BIGNUM_ARROW, pa.nulls(got.num_rows, pa.binary()))
        for c, t in wide:
            col = nulls if t == "bignum" else pa.nulls(got.num_rows, pa.list_(BIGNUM_ARROW))
            got = got.set_column(got.schema.get_field_index(c), c, col)
        return got
    repl = ", ".join(
        f"{_wide(f'{q}', '1')} as {q}"
        if t == "bignum"
        else f"list_transform({q}, lambda _h: {_wide('_h', '1')}) as {q}"
        for q, t in ((f'"{c}"', t) for c, t in wide)
    )
    con.register("_wide_rows", got)
    try:
        return con.sql(f"select * replace ({repl}) from _wide_rows").to_arrow_table()
    finally:
        con.unregister("_wide_rows")


def _collect(collect: dict[str, pa.Table], table: str, rows: pa.Table) -> None:
    if rows.num_rows:
        collect[table] = pa.concat_tables([collect[table], rows]) if table in collect else rows


def _is_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``name`` is a temp table rather than a view or a registered Python object."""
    return bool(
        con.execute(
            "select 1 from duckdb_tables() where table_name = ? and temporary", [name]
        ).fetchall()
    )


def _u32(pos: str) -> str:
    """SQL: the word at hex position ``pos`` of ``data`` as a BIGINT, null unless < 2^32."""
    return (
        f"case when {_zeros('data', pos, 56)} "
        f"then try_cast('0x' || substr(data, {pos} + 56, 8) as bigint) end"
    )


class _OutOfRange(ValueError):
    pass


def _max_uint(v: Any) -> int:
    """The largest integer in a decoded uint or (nested) array of them (-1 if none)."""
    if isinstance(v, (list, tuple)):
        return max((_max_uint(x) for x in v), default=-1)
    return int(v)


def _decimal(v: Any) -> Any:
    """A decoded uint or (nested) array of them as decimal text, for a BIGNUM companion."""
    return [_decimal(x) for x in v] if isinstance(v, (list, tuple)) else str(v)


def _to_column(p: Param, v: Any) -> Any:
    """A decoded Python value in the form its Arrow staging column takes."""
    t = p.abi_type
    if p.indexed and not is_value_type(t):
        return v
    return _scalar(t, v)


def _scalar(t: str, v: Any) -> Any:
    if t.endswith("]"):
        inner = t[: t.rindex("[")]
        return [_scalar(inner, x) for x in v]
    if t.startswith("uint"):
        if v > UINT128_MAX:
            raise _OutOfRange(f"{v} does not fit in 128 bits")
        return str(v)
    if t.startswith("int"):
        if not INT128_MIN <= v <= INT128_MAX:
            raise _OutOfRange(f"{v} does not fit in 128 bits")
        return str(v)
    if t == "address":
        return v.lower()
    if t == "bytes" or t.startswith("bytes"):
        return "0x" + bytes(v).hex()
    if t == "bool":
        return bool(v)
    if t == "string":
        return v
    if t.startswith("("):  # a tuple: JSON text of its components (uints as strings)
        return json.dumps([_scalar(c, x) for c, x in zip(_components(t), v, strict=True)])
    return str(v)


def _components(t: str) -> list[str]:
    """The component types of a tuple type ``(a,b,(c,d))``, split at depth 0."""
    out, depth, cur = [], 0, ""
    for ch in t[1:-1]:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [*out, cur] if cur else out


def _arrow_type(p: Param) -> pa.DataType:
    def base(t: str) -> pa.DataType:
        if t.endswith("]"):
            return pa.list_(base(t[: t.rindex("[")]))
        return pa.bool_() if t == "bool" else pa.string()

    if p.indexed and not is_value_type(p.abi_type):
        return pa.string()
    return base(p.abi_type)
