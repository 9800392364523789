"""Columnar decoding of events with dynamic fields (strings, bytes, arrays) equals eth_abi: on
random valid encodings, on mutated (mostly malformed) ones, and each malformed shape lands in the
dead letters with its reason."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from eth_abi import encode

from pipelines.chain.fetch import scratch_duckdb
from pipelines.config import ContractConfig
from pipelines.decode import Decoder, EventSpec, load_abi_events
from pipelines.decode import decoder as decoder_mod
from pipelines.decode.abi import sql_layout, wide_columns
from pipelines.store import migrate
from tests.decode.logs import expected, make_log, random_value, stage, write_abi

ENGINE, DATANETS, MODELS, ANY = ("0x" + c * 20 for c in ("a1", "a2", "a3", "a4"))
CONTRACTS = [
    ContractConfig("AttributionEngine", ENGINE, "abis/AttributionEngine.json", 0),
    ContractConfig("DatanetRegistry", DATANETS, "abis/DatanetRegistry.json", 0),
    ContractConfig("ModelRegistry", MODELS, "abis/ModelRegistry.json", 0),
]


def _event(abi: str, name: str) -> EventSpec:
    return next(e for e in load_abi_events(abi) if e.name == name)


REWARDED = _event("abis/AttributionEngine.json", "ContributorsRewarded")
REGISTERED = _event("abis/ModelRegistry.json", "ModelRegistered")
CREATED = _event("abis/DatanetRegistry.json", "DatanetCreated")
DYNAMIC = [(REWARDED, ENGINE), (REGISTERED, MODELS), (CREATED, DATANETS)]

# Every supported element type, static and dynamic, head and tail, topics and hashes.
ALL_TYPES = [
    ("a", "uint8", True),
    ("b", "int256", True),
    ("tag", "string", True),
    ("i8", "int8", False),
    ("i64", "int64", False),
    ("i128", "int128", False),
    ("i256", "int256", False),
    ("u32", "uint32", False),
    ("u64", "uint64", False),
    ("u128", "uint128", False),
    ("flag", "bool", False),
    ("b1", "bytes1", False),
    ("b4", "bytes4", False),
    ("who", "address", False),
    ("fixed", "uint256[3]", False),
    ("ints", "int16[]", False),
    ("flags", "bool[]", False),
    ("b4s", "bytes4[]", False),
    ("u64s", "uint64[]", False),
    ("i256s", "int256[]", False),
    ("pair", "address[2]", False),
    ("blob", "bytes", False),
    ("text", "string", False),
    ("amount", "uint256", False),
]


MODE: dict[duckdb.DuckDBPyConnection, str] = {}  # connection -> how it stages and decodes


@pytest.fixture(params=["temp table", "arrow", "collect"])
def con(request: pytest.FixtureRequest) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose _stage (see _run) is a temp table, as the store's replay stages; a
    registered Arrow table on one thread; or a temp table on one thread whose decoded rows
    come out as Arrow (``decode_stage(con, collect)``), as ingestion's fetch threads decode."""
    if request.param == "collect":
        c = scratch_duckdb()
    else:
        c = duckdb.connect(config={"threads": 1} if request.param == "arrow" else {})
    migrate(c)
    MODE[c] = request.param
    yield c
    del MODE[c]
    c.close()


def _decode(con: duckdb.DuckDBPyConnection, dec: Decoder) -> tuple[int, int]:
    """dec.decode_stage(con); on a collecting connection the Arrow tables it hands out are
    checked against their decoded.* table's columns and types, then inserted there."""
    if MODE[con] != "collect":
        return dec.decode_stage(con)
    out: dict[str, pa.Table] = {}
    counts = dec.decode_stage(con, out)
    for table, rows in out.items():
        want = con.sql(f"select * from decoded.{table} limit 0").to_arrow_table().schema
        assert [(f.name, f.type) for f in rows.schema] == [(f.name, f.type) for f in want]
        con.register("_out", rows)
        con.execute(f"insert into decoded.{table} select * from _out")
        con.unregister("_out")
    assert sum(t.num_rows for t in out.values()) == counts[0]
    return counts


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> tuple[ContractConfig, EventSpec]:
    path = write_abi(tmp_path_factory.mktemp("abi") / "Everything.json", "Everything", ALL_TYPES)
    ev = load_abi_events(str(path))[0]
    return ContractConfig("Everything", ANY, str(path), 0), ev


def _run(
    con: duckdb.DuckDBPyConnection,
    dec: Decoder,
    cases: list[tuple[EventSpec, dict[str, Any]]],
) -> tuple[dict[int, list[Any]], dict[int, tuple[str, str]]]:
    """Stage and decode; (decoded event columns by log_index, (reason, detail) by log_index)."""
    dec.ensure_tables(con)
    stage(con, dec, [lg for _, lg in cases], arrow=MODE[con] == "arrow")
    n_decoded, n_dead = _decode(con, dec)
    assert n_decoded + n_dead == len(cases), "a log was dropped"
    rows: dict[int, list[Any]] = {}
    for ev in {ev for ev, _ in cases}:
        cols = ", ".join(
            [
                *(f'"{p.column}"' for p in ev.params),
                *(f'"{c}"::{t.replace("bignum", "varchar")}' for c, t in wide_columns(ev)),
            ]
        )
        got = con.execute(f"select log_index, {cols} from decoded.{ev.table}").fetchall()
        for li, *vals in got:
            assert li not in rows
            rows[li] = vals
    dead = {
        li: (r, d)
        for li, r, d in con.execute(
            "select log_index, reason, detail from raw.dead_letters"
        ).fetchall()
    }
    assert len(rows) == n_decoded and len(dead) == n_dead
    return rows, dead


def _assert_matches_eth_abi(
    cases: list[tuple[EventSpec, dict[str, Any]]],
    rows: dict[int, list[Any]],
    dead: dict[int, tuple[str, str]],
) -> None:
    for i, (ev, lg) in enumerate(cases):
        want = expected(ev, lg)
        if want is None:
            assert i in dead, f"log {i} decoded but eth_abi refuses it: {lg}"
        else:
            assert i in rows, f"log {i} dead-lettered {dead.get(i)} but eth_abi decodes it: {lg}"
            assert rows[i] == want, f"log {i}: {lg}"


def test_our_abis_decode_columnar_only() -> None:
    dec = Decoder(CONTRACTS)
    row_by_row = set()
    for path in sorted(Path("schemas/abis").glob("*.json")):
        for ev in load_abi_events(f"abis/{path.name}"):
            if not ev.columnar:
                row_by_row.add((path.stem, ev.name))
    # Only two rare admin events of the real contracts (a tuple array, arrays of strings and
    # bytes) take the eth_abi fallback; everything else decodes in SQL.
    assert row_by_row == {
        ("OPENOFTAdapter", "EnforcedOptionSet"),
        ("OmnichainOpen", "EnforcedOptionSet"),
        ("OpenLedgerGovernor", "ProposalCreated"),
    }
    assert {ev.signature for ev in dec.events} >= {
        REWARDED.signature,
        REGISTERED.signature,
        CREATED.signature,
    }


@pytest.mark.parametrize("seed", range(3))
def test_random_valid_encodings_equal_eth_abi(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    rng = random.Random(seed)
    cases = []
    for ev, address in DYNAMIC:
        for _ in range(150):
            values = [random_value(rng, p.abi_type) for p in ev.params]
            cases.append((ev, make_log(ev, address, values)))
    # the edges by name: empty arrays and strings, 16 elements (the most a reward has on
    # mainnet), 17, 33, 2^128-1 everywhere, unicode
    top = (1 << 128) - 1
    for n in (0, 1, 16, 17, 33):
        cases.append(
            (
                REWARDED,
                make_log(
                    REWARDED,
                    ENGINE,
                    [b"\x01" * 32, top, [top] * n, ["0x" + "ff" * 20] * n, [0] * n, [top] * n],
                ),
            )
        )
        cases.append(
            (
                REGISTERED,
                make_log(
                    REGISTERED,
                    MODELS,
                    [top, ANY, "" if n == 0 else "🤖" * n, [top] * n, b"\xff" * 32, top],
                ),
            )
        )
    cases.append((CREATED, make_log(CREATED, DATANETS, [0, ANY, "", b"\x00" * 32])))
    rows, dead = _run(con, Decoder(CONTRACTS), cases)
    assert not dead
    _assert_matches_eth_abi(cases, rows, dead)


def test_every_supported_type_equals_eth_abi(
    con: duckdb.DuckDBPyConnection, everything: tuple[ContractConfig, EventSpec]
) -> None:
    cfg, ev = everything
    assert ev.columnar and all(sql_layout(p.abi_type) for p in ev.body)
    rng = random.Random(11)
    cases = [
        (ev, make_log(ev, ANY, [random_value(rng, p.abi_type) for p in ev.params]))
        for _ in range(300)
    ]
    rows, dead = _run(con, Decoder([cfg]), cases)
    assert not dead
    _assert_matches_eth_abi(cases, rows, dead)


def _words(data: str) -> int:
    return (len(data) - 2) // 64


def _set_word(data: str, byte_pos: int, value: int) -> str:
    h = 2 + 2 * byte_pos
    return data[:h] + format(value % (1 << 256), "064x") + data[h + 64 :]


def _value_words(ev: EventSpec, data: str) -> list[tuple[int, str]]:
    """(byte position, type) of every static value word of a canonical encoding."""
    out, w = [], 0
    for p in ev.body:
        lay = sql_layout(p.abi_type)
        assert lay is not None
        if lay.kind in ("word", "fixed"):
            out += [(32 * (w + k), lay.elem) for k in range(lay.words)]
        elif lay.kind == "array":
            at = int(data[2 + 64 * w :][:64], 16)
            n = int(data[2 + 2 * at :][:64], 16)
            out += [(at + 32 * (1 + k), lay.elem) for k in range(n)]
        w += lay.words
    return out


def _edges(t: str) -> list[int]:
    if t == "address":
        return [1 << 160, (1 << 160) - 1, 1 << 255]
    if t == "bool":
        return [0, 1, 2, 1 << 8]
    if t.startswith("bytes"):
        pad = 256 - 8 * int(t[5:])
        return [1 << pad, 1 << max(pad - 1, 0), 1, (1 << 256) - 1]
    bits = int(t.removeprefix("u").removeprefix("int") or 256)
    f = min(bits, 128)
    if t.startswith("uint"):
        return [1 << f, (1 << f) - 1, 1 << bits, (1 << bits) - 1]
    return [1 << (f - 1), (1 << (f - 1)) - 1, -(1 << (f - 1)), -(1 << (f - 1)) - 1, 1 << bits]


def _mutate(rng: random.Random, ev: EventSpec, lg: dict[str, Any]) -> dict[str, Any]:
    """A log with one random corruption; eth_abi decides what it should become."""
    lg = {**lg, "topics": list(lg["topics"])}
    data: str = lg["data"]
    size = (len(data) - 2) // 2
    head = sum(getattr(sql_layout(p.abi_type), "words", 0) for p in ev.body)
    kind = rng.randrange(10)
    if kind == 0:  # truncate anywhere
        data = data[: 2 + 2 * rng.randrange(size + 1)]
    elif kind == 1:  # trailing bytes (eth_abi accepts them)
        data += rng.randbytes(rng.choice([1, 31, 32, 64])).hex()
    elif kind == 2:  # a head word (offset or static value) set to something odd
        w = rng.randrange(head)
        data = _set_word(
            data,
            32 * w,
            rng.choice(
                [
                    0,
                    32 * head - 32,
                    32 * head - 1,
                    32 * head,
                    size - 32,
                    size - 31,
                    size,
                    size + 32,
                    1 << 32,
                    (1 << 64) + 32 * head,
                    (1 << 255),
                    rng.randrange(size + 64),
                    32 * rng.randrange(size // 32 + 2),
                ]
            ),
        )
    elif kind == 3:  # a length word (at a dynamic field's offset) changed
        dyn, w = [], 0  # head word of each dynamic field
        for p in ev.body:
            lay = sql_layout(p.abi_type)
            assert lay is not None
            if lay.kind in ("array", "bytes", "string"):
                dyn.append(w)
            w += lay.words
        if dyn:
            at = int(data[2 + 64 * rng.choice(dyn) :][:64], 16)
            n = int(data[2 + 2 * at :][:64], 16)
            data = _set_word(
                data, at, rng.choice([0, n - 1, n + 1, n + 32, (1 << 32) - 1, (1 << 256) - 1])
            )
    elif kind == 4:  # any word: just past a type's range, dirty high bytes, -1, 2
        w = rng.randrange(_words(data))
        old = int(data[2 + 64 * w :][:64], 16)
        edge = 1 << rng.choice([8, 16, 32, 63, 64, 127, 128, 160, 200, 255])
        data = _set_word(
            data,
            32 * w,
            rng.choice([old | edge, edge, edge - 1, -edge, (1 << 256) - 1, 0xFF << 200, 2]),
        )
    elif kind == 5:  # one byte anywhere
        b = rng.randrange(size)
        data = data[: 2 + 2 * b] + format(rng.randrange(256), "02x") + data[4 + 2 * b :]
    elif kind == 6:  # invalid UTF-8 / non-zero padding near the end
        b = size - 1 - rng.randrange(min(size, 40))
        data = data[: 2 + 2 * b] + rng.choice(["ff", "80", "c0", "ed", "01"]) + data[4 + 2 * b :]
    elif kind == 7:  # topics: count, dirty words
        if rng.random() < 0.3:
            lg["topics"] = lg["topics"][: rng.randrange(len(lg["topics"]))] or [ev.topic0]
        elif len(lg["topics"]) > 1:
            i = rng.randrange(1, len(lg["topics"]))
            lg["topics"][i] = "0x" + format(rng.choice([1 << 128, (1 << 256) - 1, 2]), "064x")
    elif kind == 8:  # odd number of hex digits
        data = data[:-1]
    else:  # a value word just inside or just outside its type's (or column's) range
        pos, t = rng.choice(_value_words(ev, data))
        data = _set_word(data, pos, rng.choice(_edges(t)))
    lg["data"] = data
    return lg


@pytest.mark.parametrize("seed", range(3))
def test_mutated_encodings_decode_exactly_when_eth_abi_does(
    con: duckdb.DuckDBPyConnection, everything: tuple[ContractConfig, EventSpec], seed: int
) -> None:
    cfg, ev_all = everything
    rng = random.Random(100 + seed)
    cases = []
    for ev, address in [*DYNAMIC, (ev_all, ANY)]:
        for _ in range(250):
            values = [random_value(rng, p.abi_type) for p in ev.params]
            cases.append((ev, _mutate(rng, ev, make_log(ev, address, values))))
    rows, dead = _run(con, Decoder([*CONTRACTS, cfg]), cases)
    assert rows and dead
    _assert_matches_eth_abi(cases, rows, dead)


def _rewarded(data: str, topics: list[str] | None = None) -> dict[str, Any]:
    return {
        "address": ENGINE,
        "topics": topics or [REWARDED.topic0, "0x" + "11" * 32, "0x" + format(5, "064x")],
        "data": data,
    }


def _rewarded_data(
    n: int = 2, amounts: list[int] | None = None, who: list[str] | None = None
) -> str:
    return (
        "0x"
        + encode(
            ["uint256[]", "address[]", "uint256[]", "uint256[]"],
            [list(range(n)), who or ["0x" + "0b" * 20] * n, [1] * n, amounts or [7] * n],
        ).hex()
    )


def test_malformed_dynamic_logs_are_dead_lettered_with_their_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ok = _rewarded_data()
    good_name = "0x" + encode(["string", "bytes32"], ["name", b"\x00" * 32]).hex()
    created_topics = [CREATED.topic0, "0x" + format(1, "064x"), "0x" + "00" * 12 + "0b" * 20]
    cases = {
        "ok": (_rewarded(ok), None),
        "truncated head": (_rewarded(ok[: 2 + 64 * 3]), "wrong_data_length"),
        "truncated tail": (_rewarded(ok[:-64]), "wrong_data_length"),
        "offset past end": (_rewarded(_set_word(ok, 32, 10_000)), "wrong_data_length"),
        "offset 2^255": (_rewarded(_set_word(ok, 0, 1 << 255)), "wrong_data_length"),
        "offset into head": (_rewarded(_set_word(ok, 32, 64)), "decode_error"),
        # the last array one element longer than the data holds
        "length too long": (
            _rewarded(_set_word(ok, int(ok[2 + 192 : 2 + 256], 16), 3)),
            "wrong_data_length",
        ),
        "length 2^256-1": (_rewarded(_set_word(ok, 128, (1 << 256) - 1)), "wrong_data_length"),
        # an element >= 2^128 puts the whole array in its BIGNUM[] companion (issue 9)
        "element 2^128": (_rewarded(_rewarded_data(amounts=[7, 1 << 128])), None),
        "element 2^256-1": (_rewarded(_rewarded_data(amounts=[(1 << 256) - 1, 7])), None),
        "dirty address": (
            # the first contributor's word with non-zero high bytes
            _rewarded(_set_word(ok, int(ok[2 + 64 : 2 + 128], 16) + 32, (0xFF << 200) | 11)),
            "value_out_of_range",
        ),
        # an indexed uint256 >= 2^128 decodes into its BIGNUM companion (issue 9)
        "topic 2^128": (
            _rewarded(ok, [REWARDED.topic0, "0x" + "11" * 32, "0x" + format(1 << 128, "064x")]),
            None,
        ),
        "wrong topic count": (
            _rewarded(ok, [REWARDED.topic0, "0x" + "11" * 32]),
            "wrong_topic_count",
        ),
        "odd hex": (_rewarded(ok + "0"), "decode_error"),
        "invalid utf-8": (
            {
                "address": DATANETS,
                "topics": created_topics,
                "data": good_name.replace("6e616d65", "6eff6d65"),
            },  # "name" -> "n\xffme"
            "decode_error",
        ),
        "dirty string padding": (
            {"address": DATANETS, "topics": created_topics, "data": good_name[:-1] + "1"},
            "decode_error",
        ),
        "ok string": ({"address": DATANETS, "topics": created_topics, "data": good_name}, None),
    }
    logs = [lg for lg, _ in cases.values()]
    dec = Decoder(CONTRACTS)
    dec.ensure_tables(con)
    stage(con, dec, logs, arrow=MODE[con] == "arrow")
    assert _decode(con, dec) == (5, len(cases) - 5)
    dead = {
        li: (r, d)
        for li, r, d in con.execute(
            "select log_index, reason, detail from raw.dead_letters"
        ).fetchall()
    }
    for i, (name, (_, reason)) in enumerate(cases.items()):
        assert dead.get(i, (None,))[0] == reason, (name, dead.get(i))
    for _, d in dead.values():
        assert d.startswith(("ContributorsRewarded(", "DatanetCreated(")), d
    assert con.execute(
        "select amounts, amounts_u256::varchar[] "
        "from decoded.attribution_engine__contributors_rewarded "
        "where amounts is null order by log_index"
    ).fetchall() == [(None, ["7", str(1 << 128)]), (None, [str((1 << 256) - 1), "7"])]
    assert "points into the head" in dead[list(cases).index("offset into head")][1]
    assert "UTF-8" in dead[list(cases).index("invalid utf-8")][1]
    # dead letters keep the log as served
    assert con.execute("select data from raw.dead_letters where log_index = 1").fetchall() == [
        (ok[: 2 + 64 * 3],)
    ]


def test_types_sql_cannot_express_fall_back_to_eth_abi(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_abi(
        tmp_path / "Nested.json",
        "Nested",
        [("id", "uint256", True), ("names", "string[]", False), ("grid", "uint256[][]", False)],
    )
    ev = load_abi_events(str(path))[0]
    assert not ev.columnar
    assert sql_layout("string[]") is None and sql_layout("uint256[][]") is None
    dec = Decoder([ContractConfig("Nested", ANY, str(path), 0)])
    cases = [
        (ev, make_log(ev, ANY, [3, ["a", "ö", ""], [[1, 2], [], [(1 << 128) - 1]]])),
        (ev, make_log(ev, ANY, [3, [], [[1 << 128]]])),
        (ev, make_log(ev, ANY, [(1 << 256) - 1, [], []])),  # id in its BIGNUM companion
    ]
    cut = make_log(ev, ANY, [3, [], [[1]]])
    cases.append((ev, {**cut, "data": cut["data"][:-64]}))  # truly undecodable
    rows, dead = _run(con, dec, cases)
    # (then the companions: id_u256, then grid_u256, BIGNUM[][] holding the whole grid when an
    # element is 2^128 or more, issue 9)
    assert rows == {
        0: [3, ["a", "ö", ""], [[1, 2], [], [(1 << 128) - 1]], None, None],
        1: [3, [], None, None, [[str(1 << 128)]]],
        2: [None, [], [], str((1 << 256) - 1), None],
    }
    assert list(dead) == [3]


def test_long_arrays(con: duckdb.DuckDBPyConnection) -> None:
    n = 49
    amounts = [(1 << 128) - 1 - i for i in range(n)]
    who = [f"0x{i:040x}" for i in range(n)]
    lg = _rewarded(_rewarded_data(n, amounts=amounts, who=who))
    wide = [*amounts[:-1], (1 << 256) - 1]  # the last element in the BIGNUM[] companion
    lg_wide = _rewarded(_rewarded_data(n, amounts=wide, who=who))
    rows, dead = _run(con, Decoder(CONTRACTS), [(REWARDED, lg), (REWARDED, lg_wide)])
    assert not dead
    # (the last columns: the BIGNUM companions of model_id, datanet_ids, weights, amounts)
    assert rows[0][2:] == [list(range(n)), who, [1] * n, amounts, None, None, None, None]
    assert rows[1][2:] == [
        list(range(n)), who, [1] * n, None, None, None, None, [str(v) for v in wide]
    ]  # fmt: skip


def test_elements_gathered_out_of_order_are_put_back_in_order(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """list() gathers a log's array elements in the order the unnest made them (one thread
    per log); should they come out of order the decoder sorts them by position. Unnesting in
    reverse order makes every log take that path."""
    explode = decoder_mod._explode

    def reversed_unnest(rows: str, arrays: list[tuple[int, str, str, str]]) -> str:
        sql = explode(rows, arrays)
        assert sql.count("unnest(range(") == 1
        return sql.replace("unnest(range(", "unnest(list_reverse(range(").replace(
            " as _k from _r)", ") as _k from _r)"
        )

    monkeypatch.setattr(decoder_mod, "_explode", reversed_unnest)
    rng = random.Random(5)
    cases = []
    for ev, address in DYNAMIC:
        for _ in range(60):
            values = [random_value(rng, p.abi_type) for p in ev.params]
            cases.append((ev, make_log(ev, address, values)))
    # arrays of one log of different lengths: the shorter ones filtered, then sorted
    top = (1 << 128) - 1
    cases.append(
        (
            REWARDED,
            make_log(
                REWARDED,
                ENGINE,
                [b"\x01" * 32, 1, [top - i for i in range(5)], ["0x" + "0b" * 20], [], [7, 8]],
            ),
        )
    )
    rows, dead = _run(con, Decoder(CONTRACTS), cases)
    assert not dead
    _assert_matches_eth_abi(cases, rows, dead)


def test_events_without_body_or_params(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    paused = write_abi(tmp_path / "Pausable.json", "Paused", [])
    moved = write_abi(
        tmp_path / "Mover.json", "Moved", [("a", "address", True), ("tag", "bytes", True)]
    )
    ev_p, ev_m = load_abi_events(str(paused))[0], load_abi_events(str(moved))[0]
    dec = Decoder(
        [
            ContractConfig("Pausable", ANY, str(paused), 0),
            ContractConfig("Mover", ENGINE, str(moved), 0),
        ]
    )
    ok_m = make_log(ev_m, ENGINE, ["0x" + "0b" * 20, b"\x01\x02"])
    cases = [
        (ev_p, {"address": ANY, "topics": [ev_p.topic0], "data": "0x"}),
        (ev_p, {"address": ANY, "topics": [ev_p.topic0], "data": "0x00"}),
        (ev_m, ok_m),
        (ev_m, {**ok_m, "data": "0x" + "00" * 32}),
    ]
    rows, dead = _run(con, dec, cases)
    assert rows == {0: [], 2: ["0x" + "0b" * 20, ok_m["topics"][2]]}
    assert {i: r for i, (r, _) in dead.items()} == {1: "wrong_data_length", 3: "wrong_data_length"}
