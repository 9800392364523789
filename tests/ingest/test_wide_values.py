"""uint256 values >= 2^128 decode losslessly (issue 9): an "infinite" ERC-20 Approval
(2^256 - 1) lands in decoded.open_token__approval, its exact value in the BIGNUM companion
``value_u256`` (docs/CONTRACTS.md), and exact sums over every approval stay possible in SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.ingest.sparse import MAINNET, SparseChain
from tests.ingest.truth import node_logs

MAX = 2**256 - 1
APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b25d87f0c4d3f7b6b4d3a8"


def test_infinite_approval_decodes_exactly(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    s = ingest_range(MAINNET, end=sparse_chain.head, warehouse=wh)
    assert s.dead_letters == 0, "a log that decodes went to the dead letters"
    truth = [
        int(lg["data"], 16)
        for lg in node_logs(sparse_chain.url, [sparse_chain.contracts["OpenToken"]])
        if lg["topics"][0].lower().startswith(APPROVAL[:10])
        and int(lg["blockNumber"], 16) <= sparse_chain.head
    ]
    assert MAX in truth and any(v < 2**128 for v in truth)
    con = connect(wh, read_only=True)
    try:
        assert con.execute("select count(*) from raw.dead_letters").fetchall() == [(0,)]
        rows = con.execute(
            "select value, value_u256::varchar from decoded.open_token__approval order by 1"
        ).fetchall()
        exact = con.execute(
            "select sum(coalesce(value::bignum, value_u256))::varchar, "
            "count(*) filter (where value is null), "
            "count(*) filter (where value_u256 = "
            "'115792089237316195423570985008687907853269984665640564039457584007913129639935'"
            "::bignum), sum(value)::varchar "
            "from decoded.open_token__approval"
        ).fetchall()[0]
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'open_token__approval'"
            ).fetchall()
        )
    finally:
        con.close()
    # exactly one of the two columns holds each value; values that fit keep UHUGEINT
    assert types["value"] == "UHUGEINT" and types["value_u256"] == "BIGNUM"
    got = sorted(v if v is not None else int(b) for v, b in rows)
    assert got == sorted(truth)
    assert all((v is None) != (b is None) for v, b in rows)
    assert exact[0] == str(sum(truth)) and exact[1] == exact[2] == truth.count(MAX)
    # the sum over the UHUGEINT column alone covers the values that fit, exactly as decimal
    assert exact[3] is not None


def test_old_decoded_tables_gain_the_companion(tmp_path: Path) -> None:
    """A warehouse made before the companions: ensure_tables adds them, keeps its rows."""
    from pipelines.config import ContractConfig
    from pipelines.decode import Decoder, load_abi_events

    ev = next(e for e in load_abi_events("abis/OpenToken.json") if e.name == "Approval")
    old_cols = ",\n".join(f'"{c}" {t}' for c, t in ev.columns() if not c.endswith("_u256"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema decoded")
    con.execute(f"create table decoded.{ev.table} ({old_cols})")
    con.execute(f"insert into decoded.{ev.table} (value) values (5)")
    Decoder(
        [ContractConfig("OpenToken", "0x" + "11" * 20, "abis/OpenToken.json", 0)]
    ).ensure_tables(con)
    assert con.execute(f"select value, value_u256 from decoded.{ev.table}").fetchall() == [
        (5, None)
    ]
