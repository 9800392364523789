"""Decode benchmark: synthetic AttributionEngine.ContributorsRewarded logs (four dynamic arrays)
decoded by the eth_abi row path (now only the fallback for types SQL cannot express) and by the
columnar SQL path. Prints both rates (wall and CPU), the ratio, and checks that both paths wrote
the same rows.

    uv run python -m bench decode
    uv run python -m bench.decode [--logs 200000] [--width 4]

The logs are generated in DuckDB (canonical ABI encoding; a sample is checked against
eth_abi.encode) and staged once; each path then decodes the same _stage into an empty decoded
table. Generation and staging are not timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import duckdb
from eth_abi import decode, encode

from pipelines.config import ContractConfig
from pipelines.decode import Decoder, load_abi_events
from pipelines.store import migrate

ENGINE = "0x" + "a7" * 20
EVENT = next(
    e for e in load_abi_events("abis/AttributionEngine.json") if e.name == "ContributorsRewarded"
)
TYPES = [p.abi_type for p in EVENT.body]
TABLE = f"decoded.{EVENT.table}"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def generate(con: duckdb.DuckDBPyConnection, n: int, width: int) -> None:
    """Temp table _logs (the stage's columns) of n ContributorsRewarded logs, width elements per
    array: datanet ids < 200, random addresses, weights < 10^4, amounts < 10^21 wei."""

    def word(x: str) -> str:
        return f"lpad(lower(hex({x})), 64, '0')"

    def arr(elem: str) -> str:
        return (
            f"{word(str(width))} || array_to_string(list_transform(range({width}), "
            f"lambda k: {elem}), '')"
        )

    tail = 32 * (1 + width)
    con.execute(
        f"""
        create or replace temp table _logs as
        select 1612::uinteger as chain_id, (i // 100)::ubigint as block_number,
            '0x' || lpad(lower(hex(i // 100)), 64, '0') as block_hash,
            timestamp '2025-09-08' + to_seconds(i // 100) as block_timestamp,
            '0x' || lpad(lower(hex(i)), 64, '0') as tx_hash, 0::uinteger as tx_index,
            (i % 100)::uinteger as log_index, '{ENGINE}' as contract_address,
            '0x{"ee" * 20}' as tx_from, '{EVENT.topic0}' as topic0,
            '0x' || sha256(i::varchar) as topic1,
            '0x' || {word("(1 + i % 500)::uhugeint")} as topic2,
            null::varchar as topic3, 3::utinyint as topic_count,
            '0x' || {word("128")} || {word(str(128 + tail))} || {word(str(128 + 2 * tail))}
                || {word(str(128 + 3 * tail))}
                || {arr(word("(1 + floor(random() * 199))::uhugeint"))}
                || {arr("lpad(substr(sha256(i || '/' || k), 1, 40), 64, '0')")}
                || {arr(word("(1 + floor(random() * 9999))::uhugeint"))}
                || {arr(word("(random() * 1e21)::uhugeint"))} as data
        from range({n}) t(i)
        """
    )
    for (data,) in con.execute("select data from _logs using sample 20 rows").fetchall():
        raw = bytes.fromhex(data[2:])
        assert encode(TYPES, decode(TYPES, raw)) == raw, "not a canonical encoding"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=int, default=200_000)
    ap.add_argument("--width", type=int, default=4, help="elements per array")
    args = ap.parse_args(argv if argv is not None else [])
    con = duckdb.connect()
    migrate(con)
    dec = Decoder([ContractConfig("AttributionEngine", ENGINE, "abis/AttributionEngine.json", 0)])
    dec.ensure_tables(con)
    generate(con, args.logs, args.width)
    dec.stage(con, "select * from _logs")
    con.execute("drop table _logs")
    size = con.execute("select avg(strlen(data) - 2) // 2 from _stage").fetchall()[0][0]
    print(
        f"{args.logs:,} ContributorsRewarded logs, {args.width} elements per array, "
        f"{size:.0f} bytes of data each; DuckDB {duckdb.__version__}, "
        f"{con.execute('select current_setting(?)', ['threads']).fetchall()[0][0]} threads, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    eid = dec.events.index(EVENT)
    rates: dict[str, float] = {}
    for name in ("row (eth_abi)", "columnar (SQL)"):
        con.execute(f"delete from {TABLE}")
        t, c = time.perf_counter(), _cpu()
        if name.startswith("row"):
            decoded, dead = dec._decode_rows(con, eid, EVENT)
        else:
            decoded, dead = dec.decode_stage(con)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        assert (decoded, dead) == (args.logs, 0), (name, decoded, dead)
        rates[name] = args.logs / wall
        print(
            f"{name:>15}: {wall:6.2f} s wall, {cpu:6.2f} s CPU  "
            f"{rates[name]:>10,.0f} logs/s  ({args.logs / cpu:,.0f} logs per CPU-second)",
            flush=True,
        )
        if name.startswith("row"):
            con.execute(f"create temp table _row_result as select * from {TABLE}")
    differ = con.execute(
        f"select count(*) from ((from _row_result except all from {TABLE}) "
        f"union all (from {TABLE} except all from _row_result))"
    ).fetchall()[0][0]
    assert differ == 0, f"{differ} rows differ between the two paths"
    print(
        f"columnar / row = {rates['columnar (SQL)'] / rates['row (eth_abi)']:.1f}x "
        f"(both paths wrote the same {args.logs:,} rows); load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
