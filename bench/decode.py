"""Decode benchmarks.

1. Synthetic AttributionEngine.ContributorsRewarded logs (four dynamic arrays) decoded by the
   eth_abi row path (now only the fallback for types SQL cannot express) and by the columnar SQL
   path. Prints both rates (wall and CPU), the ratio, and checks that both paths wrote the same
   rows. Run twice by default: 4 elements per array on a temp-table _stage, and 16 elements per
   array on a registered Arrow _stage (decode_stage copies it into a temp table first).
2. A fetch chunk shaped like the simulator's mainnet traffic: 16,000 logs, a quarter of them
   ContributorsRewarded with 1-16 contributors, the rest static events, decoded as ingestion
   does (``prepare_scratch`` + ``decode_chunk`` on a fetch thread's in-memory connection). Prints
   the thread CPU time per event type (median of the repeats) and for the whole chunk.

    uv run python -m bench decode
    uv run python -m bench.decode [--logs 200000] [--width 4] [--arrow] [--chunk-only]

The synthetic logs are generated in DuckDB (canonical ABI encoding; a sample is checked against
eth_abi.encode) and staged once; each path then decodes the same _stage into an empty decoded
table. The chunk's logs are encoded with eth_abi. Generation and staging are not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from typing import Any

import duckdb
import pyarrow as pa
from eth_abi import decode, encode

from pipelines.chain.fetch import scratch_duckdb
from pipelines.config import ContractConfig
from pipelines.decode import Decoder, EventSpec, load_abi_events
from pipelines.decode.decoder import STAGE_COLUMNS
from pipelines.store import migrate
from pipelines.store.events import decode_chunk, prepare_scratch

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


def paths(n_logs: int, width: int, arrow: bool) -> None:
    """Row path vs columnar path on n_logs ContributorsRewarded logs of width elements each."""
    con = duckdb.connect()
    migrate(con)
    dec = Decoder([ContractConfig("AttributionEngine", ENGINE, "abis/AttributionEngine.json", 0)])
    dec.ensure_tables(con)
    generate(con, n_logs, width)
    dec.stage(con, "select * from _logs")
    con.execute("drop table _logs")
    if arrow:  # a registered Arrow _stage (decode_stage copies it into a temp table)
        stage = con.sql("select * from _stage").to_arrow_table()
        con.execute("drop table _stage")
        con.register("_stage", stage)
    size = con.execute("select avg(strlen(data) - 2) // 2 from _stage").fetchall()[0][0]
    print(
        f"{n_logs:,} ContributorsRewarded logs, {width} elements per array, "
        f"{size:.0f} bytes of data each, _stage a {'registered Arrow' if arrow else 'temp'} "
        f"table; DuckDB {duckdb.__version__}, "
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
        assert (decoded, dead) == (n_logs, 0), (name, decoded, dead)
        rates[name] = n_logs / wall
        print(
            f"{name:>15}: {wall:6.2f} s wall, {cpu:6.2f} s CPU  "
            f"{rates[name]:>10,.0f} logs/s  ({n_logs / cpu:,.0f} logs per CPU-second, "
            f"{1e6 * cpu / n_logs:.1f} µs CPU per log)",
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
        f"(both paths wrote the same {n_logs:,} rows); load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )


# -- a fetch chunk of mixed traffic --------------------------------------------------------
ADDRESSES = {
    "OpenToken": ("0x" + "a1" * 20, "abis/OpenToken.json"),
    "DatanetRegistry": ("0x" + "a2" * 20, "abis/DatanetRegistry.json"),
    "ModelRegistry": ("0x" + "a3" * 20, "abis/ModelRegistry.json"),
    "InferenceMarket": ("0x" + "a4" * 20, "abis/InferenceMarket.json"),
    "AttributionEngine": (ENGINE, "abis/AttributionEngine.json"),
    "VestingVault.team": ("0x" + "a6" * 20, "abis/VestingVault.json"),
}


def chunk_stage(n_logs: int, seed: int = 7) -> tuple[Decoder, pa.Table]:
    """(decoder, stage) of a chunk like the simulator's mainnet traffic (.olw warehouse of the
    default scenario: 42k inferences, 26k Transfers, 785 other logs): per inference an
    InferenceRequested, an AttributionRecorded and a ContributorsRewarded with 1-16
    contributors (random), a fee Transfer for 62% of them; one log in 200 another event."""
    rng = random.Random(seed)
    contracts = [ContractConfig(k, a, f, 0) for k, (a, f) in ADDRESSES.items()]
    dec = Decoder(contracts)
    by_name: dict[str, tuple[str, EventSpec]] = {}
    for cc in contracts:
        for ev in load_abi_events(cc.abi_file):
            by_name[ev.name] = (cc.address, ev)

    def addr() -> str:
        return "0x" + rng.randbytes(20).hex()

    def value(t: str) -> Any:
        if t == "address":
            return addr()
        if t == "bytes32":
            return rng.randbytes(32)
        if t == "string":
            return f"model-{rng.randrange(10**6)}"
        if t == "uint256[]":
            return [rng.randrange(10**21) for _ in range(rng.randint(1, 16))]
        return rng.randrange(10**6)

    def log(name: str, values: dict[str, Any] | None = None) -> tuple[str, EventSpec, list[Any]]:
        address, ev = by_name[name]
        vals = [(values or {}).get(p.name) for p in ev.params]
        vals = [value(p.abi_type) if v is None else v for p, v in zip(ev.params, vals, strict=True)]
        return address, ev, vals

    # the other events, weighted by their counts in the simulator's mainnet run
    rare = {
        "RewardsClaimed": 504, "ContributionRecorded": 152, "TokensReleased": 72,
        "ModelRegistered": 33, "DatanetCreated": 10, "VestingScheduleCreated": 8,
        "ModelUpdated": 6, "Approval": 1,
    }  # fmt: skip
    made: list[tuple[str, EventSpec, list[Any]]] = []
    while len(made) < n_logs:
        if rng.random() < 0.015:
            made.append(log(rng.choices(list(rare), list(rare.values()))[0]))
            continue
        k = rng.randint(1, 16)
        made += [
            log("InferenceRequested"),
            log("AttributionRecorded"),
            log(
                "ContributorsRewarded",
                {
                    "datanetIds": [rng.randrange(1, 200) for _ in range(k)],
                    "contributors": [addr() for _ in range(k)],
                    "weights": [rng.randrange(1, 10_000) for _ in range(k)],
                    "amounts": [rng.randrange(10**21) for _ in range(k)],
                },
            ),
        ]
        if rng.random() < 0.62:
            made.append(log("Transfer"))
    made = made[:n_logs]
    ids = {(a, t0): i for a, t0, i in dec.event_map}
    cols: dict[str, list[Any]] = {c: [] for c in STAGE_COLUMNS.replace(" ", "").split(",")}
    for i, (address, ev, vals) in enumerate(made):
        topics = [ev.topic0]
        body_t, body_v = [], []
        for p, v in zip(ev.params, vals, strict=True):
            if p.indexed:
                topics.append("0x" + encode([p.abi_type], [v]).hex())
            else:
                body_t.append(p.abi_type)
                body_v.append(v)
        row = {
            "chain_id": 1612, "block_number": i // 40, "block_hash": f"0x{i // 40:064x}",
            "block_timestamp": dt.datetime(2025, 9, 8) + dt.timedelta(seconds=i // 40),
            "tx_hash": f"0x{i // 4:064x}", "tx_index": i % 40 // 4, "log_index": i % 40,
            "contract_address": address, "tx_from": "0x" + "ee" * 20,
            "topic_count": len(topics), "data": "0x" + encode(body_t, body_v).hex(),
            "event_id": ids[(address, ev.topic0)],
        }  # fmt: skip
        for j in range(4):
            row[f"topic{j}"] = topics[j] if j < len(topics) else None
        for c in cols:
            cols[c].append(row[c])
    types = {
        "chain_id": pa.uint32(), "block_number": pa.uint64(), "tx_index": pa.uint32(),
        "log_index": pa.uint32(), "topic_count": pa.uint8(), "event_id": pa.int32(),
        "block_timestamp": pa.timestamp("us"),
    }  # fmt: skip
    table = pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in cols.items()})
    return dec, table.append_column("removed", pa.array([False] * n_logs))


def chunk(n_logs: int, repeats: int) -> None:
    """Decode one mixed chunk as the fetch threads do; thread CPU time per event type."""
    dec, stage = chunk_stage(n_logs)
    con = scratch_duckdb()
    prepare_scratch(con, dec)
    # as stage_chunk leaves a fetched chunk for decode_chunk: temp table _stage
    con.register("_chunk", stage)
    con.execute("create or replace temp table _stage as select * from _chunk")
    per_type: dict[str, list[float]] = {}
    whole: list[float] = []
    inner = dec._decode_sql

    def timed(
        con: duckdb.DuckDBPyConnection, eid: int, ev: EventSpec, *args: Any
    ) -> tuple[int, int]:
        c = time.thread_time()
        out = inner(con, eid, ev, *args)
        per_type.setdefault(ev.name, []).append(time.thread_time() - c)
        return out

    setattr(dec, "_decode_sql", timed)  # noqa: B010 (wrap the bound method for this bench)
    counts = Counter(dec.events[i].name for i in stage["event_id"].to_pylist())
    result = None
    for _ in range(repeats):
        c = time.thread_time()
        result = decode_chunk(con, dec)
        whole.append(time.thread_time() - c)
    assert result is not None and (result.n_decoded, result.n_dead) == (n_logs, 0), result
    print(
        f"chunk of {n_logs:,} logs, {counts['ContributorsRewarded']:,} ContributorsRewarded "
        f"with 1-16 contributors; decode_chunk on a fetch thread's connection, temp-table "
        f"_stage, median thread CPU of {repeats} runs; load average {os.getloadavg()[0]:.2f}"
    )
    for name, times in sorted(per_type.items(), key=lambda kv: -statistics.median(kv[1])):
        med = statistics.median(times)
        print(
            f"{name:>24}: {counts[name]:6,} rows {1e3 * med:7.1f} ms CPU "
            f"{1e6 * med / counts[name]:7.1f} µs per row"
        )
    print(
        f"{'whole chunk':>24}: {n_logs:6,} rows {1e3 * statistics.median(whole):7.1f} ms CPU "
        f"{1e6 * statistics.median(whole) / n_logs:7.1f} µs per row, "
        f"{n_logs / statistics.median(whole):,.0f} logs per CPU-second",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=int, help="synthetic logs (default: 200,000 at width 4)")
    ap.add_argument("--width", type=int, help="elements per array (default: 4, then 16)")
    ap.add_argument("--arrow", action="store_true", help="_stage as a registered Arrow table")
    ap.add_argument("--chunk-only", action="store_true", help="only the mixed chunk")
    ap.add_argument("--chunk-logs", type=int, default=16_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv if argv is not None else [])
    if not args.chunk_only:
        if args.width is None and args.logs is None and not args.arrow:
            paths(200_000, 4, False)
            paths(50_000, 16, True)
        else:
            paths(args.logs or 200_000, args.width or 4, args.arrow)
    chunk(args.chunk_logs, args.repeats)


if __name__ == "__main__":
    main(sys.argv[1:])
