"""Arrays of uint256 with an element >= 2^128 decode losslessly (issue 9): the whole array in
its BIGNUM[] companion ``<column>_u256``, the list column NULL (docs/CONTRACTS.md); and a
warehouse made when only scalar fields had companions gains the array ones."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.config import ContractConfig
from pipelines.decode import Decoder, load_abi_events
from pipelines.decode.abi import wide_columns
from pipelines.store import migrate
from tests.decode.logs import make_log, stage, write_abi

ANY = "0x" + "a4" * 20
MAX = 2**256 - 1


@pytest.mark.parametrize("arrow", [False, True])
def test_fixed_and_dynamic_wide_arrays(tmp_path: Path, arrow: bool) -> None:
    path = write_abi(
        tmp_path / "Wide.json",
        "Wide",
        [
            ("fixed", "uint256[2]", False),
            ("amounts", "uint256[]", False),
            ("u", "uint200[]", False),
        ],
    )
    ev = load_abi_events(str(path))[0]
    assert ev.columnar
    assert wide_columns(ev) == [
        ("fixed_u256", "bignum[]"),
        ("amounts_u256", "bignum[]"),
        ("u_u256", "bignum[]"),
    ]
    dec = Decoder([ContractConfig("Wide", ANY, str(path), 0)])
    con = duckdb.connect()
    migrate(con)
    dec.ensure_tables(con)
    logs = [
        make_log(ev, ANY, [[1, 2], [3], []]),  # everything fits
        make_log(ev, ANY, [[MAX, 0], [5, MAX, 2**128], [2**199]]),
        make_log(ev, ANY, [[0, 2**128], [], [2**200 - 1, 1]]),
    ]
    bad = make_log(ev, ANY, [[0, 0], [], [1]])
    # a uint200 element with a bit above 200 set: not a valid uint200, truly out of range
    bad["data"] = bad["data"][:-64] + format(2**200, "064x")
    stage(con, dec, [*logs, bad], arrow=arrow)
    assert dec.decode_stage(con) == (3, 1)
    rows = con.execute(
        "select fixed, amounts, u, fixed_u256::varchar[], amounts_u256::varchar[], "
        f"u_u256::varchar[] from {ev.qualified} order by log_index"
    ).fetchall()
    s = lambda xs: [str(x) for x in xs]  # noqa: E731
    assert rows == [
        ([1, 2], [3], [], None, None, None),
        (None, None, None, s([MAX, 0]), s([5, MAX, 2**128]), s([2**199])),
        (None, [], None, s([0, 2**128]), None, s([2**200 - 1, 1])),
    ]
    assert con.execute("select log_index, reason from raw.dead_letters").fetchall() == [
        (3, "value_out_of_range")
    ]
    # the exact values and sums, as docs/CONTRACTS.md says to write them
    sums = con.execute(
        "select list_reduce(coalesce(amounts::bignum[], amounts_u256), lambda a, b: a + b, 0)"
        f"::varchar from {ev.qualified} order by log_index"
    ).fetchall()
    assert sums == [("3",), (str(5 + MAX + 2**128),), ("0",)]


def test_tables_with_only_scalar_companions_gain_the_array_ones() -> None:
    ev = next(
        e
        for e in load_abi_events("abis/AttributionEngine.json")
        if e.name == "ContributorsRewarded"
    )
    arrays = [c for c, t in wide_columns(ev) if t.endswith("[]")]
    assert arrays and "model_id_u256" not in arrays
    old = [(c, t) for c, t in ev.columns() if c not in arrays]
    con = duckdb.connect()
    con.execute("create schema decoded")
    con.execute(f"create table {ev.qualified} ({', '.join(f'{c} {t}' for c, t in old)})")
    con.execute(f"insert into {ev.qualified} (model_id, amounts) values (5, [7])")
    Decoder(
        [ContractConfig("AttributionEngine", ANY, "abis/AttributionEngine.json", 0)]
    ).ensure_tables(con)
    got = con.execute(
        f"select model_id, amounts, {', '.join(arrays)} from {ev.qualified}"
    ).fetchall()
    assert got == [(5, [7], *([None] * len(arrays)))]
    cols = [r[0] for r in con.execute(f"describe {ev.qualified}").fetchall()]
    assert cols == [c for c, _ in ev.columns()]
