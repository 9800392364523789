"""Native value (OPEN on the L2) is ingested: every transaction with its value, sender, gas and
deposit fields, and the internal transfers, equal to an independent dump of the node
(eth_getBlockByNumber + trace_block), by both trace methods; and the real ethereum-mainnet
config ingests from a node named by its environment variable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.config import NativeConfig, get_network
from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.real.conftest import REAL_AT, RealChain


def _dump(rc: RealChain) -> tuple[set[tuple], set[tuple]]:
    txs, internal = set(), set()
    for n in range(rc.head + 1):
        b = rc.node.call("eth_getBlockByNumber", hex(n), True)
        for t in b["transactions"]:
            txs.add(
                (
                    n,
                    t["hash"].lower(),
                    t["from"].lower(),
                    (t.get("to") or "").lower() or None,
                    int(t["value"], 16),
                    int(t["gas"], 16),
                    int(t["type"], 16),
                    int(t["mint"], 16) if t.get("mint") else None,
                    t.get("sourceHash"),
                )
            )
        for tr in rc.node.call("trace_block", hex(n)):
            a = tr["action"]
            v = int(a.get("value") or "0x0", 16)
            if tr["traceAddress"] and v:
                txs_in = b["transactions"]
                internal.add(
                    (
                        n,
                        txs_in[tr["transactionPosition"]]["hash"].lower(),
                        ".".join(map(str, tr["traceAddress"])),
                        a["from"].lower(),
                        a["to"].lower(),
                        v,
                    )
                )
    return txs, internal


@pytest.mark.parametrize("traces", ["trace_block", "debug"])
def test_native_values_match_an_independent_dump(
    traces: str, real_chain: RealChain, tmp_path: Path
) -> None:
    net = replace(
        get_network("openledger-mainnet"),
        chain_id=1,  # the stand-in node answers chain id 1
        native=NativeConfig(transactions=True, traces=traces),
    )
    wh = tmp_path / "w.duckdb"
    s = ingest_range(net, 0, real_chain.head, wh, rpc_url=real_chain.url)
    assert s.cursor == real_chain.head
    want_txs, want_internal = _dump(real_chain)
    con = connect(wh, read_only=True)
    try:
        got_txs = set(
            con.execute(
                "select block_number, tx_hash, tx_from, tx_to, value_wei, gas_limit, tx_type, "
                "mint_wei, source_hash from raw.transactions"
            ).fetchall()
        )
        got_internal = set(
            con.execute(
                "select block_number, tx_hash, trace_address, from_address, to_address, value_wei "
                "from raw.traces"
            ).fetchall()
        )
        reverted = con.execute(
            "select tx_hash, reverted, error is not null from raw.traces where reverted"
        ).fetchall()
        receipts = con.execute(
            "select count(*), count(*) filter (where tx_type = 126) from raw.receipts"
        ).fetchall()[0]
        dup = con.execute(
            "select count(*) - count(distinct (block_hash, tx_hash, trace_address)) from raw.traces"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert {
        (*t[:4], int(t[4]), *t[5:7], None if t[7] is None else int(t[7]), t[8]) for t in got_txs
    } == want_txs
    assert {(*t[:5], int(t[5])) for t in got_internal} == want_internal
    assert dup == 0
    # every transaction, not only those that emitted logs (the plain transfers emit none)
    assert len(want_txs) > len({t[1] for t in got_txs if t[4] and t[3] and t[3].startswith("0x7")})
    assert receipts == (len(want_txs), 0)
    # the internal transfer inside the failed transaction is there, marked reverted
    assert [(h, r) for h, r, _ in reverted] == [(real_chain.facts["reverted_tx"], True)]
    # WOPEN.withdraw paid the user as an internal transfer
    assert any(t[3] == REAL_AT["WOPEN"] for t in want_internal)


def test_ethereum_mainnet_config_ingests_from_its_env_var(
    real_chain: RealChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped ethereum-mainnet config (real OPEN and adapter addresses, chain id 1, the
    finalized tag) against a local anvil named by OLW_RPC_ETHEREUM_MAINNET, through the CLI."""
    from pipelines.cli import _register, app

    net = get_network("ethereum-mainnet")
    assert {c.address for c in net.contracts} == {REAL_AT["Open"], REAL_AT["OPENOFTAdapter"]}
    assert net.finality.mode == "tag" and net.finality.tag == "finalized"
    monkeypatch.setenv("OLW_RPC_ETHEREUM_MAINNET", real_chain.url)
    monkeypatch.delenv("OLW_CONTRACTS_DIR", raising=False)
    monkeypatch.delenv("OLW_SCHEMAS_DIR", raising=False)
    wh = tmp_path / "eth.duckdb"
    _register()
    res = CliRunner().invoke(
        app,
        [
            "ingest",
            "--network",
            "ethereum-mainnet",
            "--from",
            "0",
            "--to",
            str(real_chain.head),
            "--warehouse",
            str(wh),
        ],
    )
    assert res.exit_code == 0, res.output
    con = connect(wh, read_only=True)
    try:
        minted = con.execute(
            "select sum(value::decimal(38, 0)) from decoded.open__transfer "
            "where from_address = '0x0000000000000000000000000000000000000000'"
        ).fetchall()[0][0]
        locked = con.execute(
            "select sum(amount_sent_ld::decimal(38, 0)) from decoded.openoft_adapter__oft_sent"
        ).fetchall()[0][0]
        chain = con.execute("select network, chain_id from raw.networks").fetchall()
    finally:
        con.close()
    assert int(minted) == 10**27 and int(locked) == real_chain.facts["oft_sent"]
    assert chain == [("ethereum-mainnet", 1)]
