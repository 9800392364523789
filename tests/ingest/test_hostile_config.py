"""Hostile or careless configuration: an ABI whose names are SQL, a contract listed twice, a
network pointed at another chain with the same chain id.

Each is refused at start-up with a config error (exit 2, the file named, no traceback) and the
warehouse is unchanged: same tables, same row counts.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.config import ConfigError, schemas_dir
from pipelines.decode.abi import load_abi_events, quote_ident
from pipelines.devnet.harness import DevnetHandle
from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.ingest.conftest import MAINNET, IngestChain

runner = CliRunner()
_register()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


def _snapshot(wh: Path) -> dict[str, int]:
    con = connect(wh, read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'decoded') order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": int(
                con.execute(f"select count(*) from {s}.{quote_ident(t)}").fetchall()[0][0]
            )
            for s, t in tables
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def ingested(
    ingest_chain: IngestChain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, dict[str, int]]]:
    mp = pytest.MonkeyPatch()
    wh = tmp_path_factory.mktemp("hostile") / "w.duckdb"
    ingest_chain.apply(mp, wh)  # type: ignore[arg-type]
    try:
        ingest_range(MAINNET, end=ingest_chain.head, warehouse=wh)
    finally:
        mp.undo()
    snap = _snapshot(wh)
    assert snap["raw.logs"] > 0 and snap["decoded.open_token__transfer"] > 0
    yield wh, snap


def _event(name: str, *params: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "event",
        "name": name,
        "anonymous": False,
        "inputs": [{"name": n, "type": t, "indexed": False} for n, t in params],
    }


HOSTILE = {
    "event name runs SQL": _event(
        "x (a integer); set schema = 'raw'; delete from logs; --", ("a", "uint256")
    ),
    "quote in a parameter": _event("Evil", ('a"b', "uint256")),
    "parameter runs SQL": _event("Evil", ('x" varchar); delete from raw.logs; --', "uint256")),
    "repeated parameter": _event("Evil", ("value", "uint256"), ("value", "uint256")),
    "parameters collide": _event("Evil", ("from", "address"), ("from_address", "address")),
    "column clash by case": _event("Evil", ("aB", "uint256"), ("a_b", "uint256")),
    "type runs SQL": _event("Evil", ("a", "uint256); delete from raw.logs; --")),
    "non-string name": {"type": "event", "name": "Evil", "inputs": [{"name": 7, "type": "bool"}]},
}


@pytest.mark.parametrize("entry", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_abi_is_refused_and_warehouse_unchanged(
    entry: dict[str, Any],
    ingested: tuple[Path, dict[str, int]],
    ingest_chain: IngestChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh, before = ingested
    ingest_chain.apply(monkeypatch, wh)
    bad = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), bad)
    abi_path = bad / "abis" / "OpenToken.json"
    abi = json.loads(abi_path.read_text())
    abi = abi["abi"] if isinstance(abi, dict) else abi
    abi_path.write_text(json.dumps([*abi, entry]))
    monkeypatch.setenv("OLW_SCHEMAS_DIR", str(bad))
    load_abi_events.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"OpenToken\.json"):
            load_abi_events("abis/OpenToken.json")
        code, out = _run("ingest", "--network", MAINNET, "-q")
        code2, out2 = _run("ingest", "--network", MAINNET, "--rebuild-decoded")
    finally:
        load_abi_events.cache_clear()
    assert code == 2 and "OpenToken.json" in out and "Traceback" not in out, out
    assert code2 == 2 and "OpenToken.json" in out2 and "Traceback" not in out2, out2
    assert _snapshot(wh) == before


def test_generated_identifiers_are_quoted() -> None:
    ev = next(e for e in load_abi_events("abis/OpenToken.json") if e.name == "Transfer")
    assert ev.qualified == 'decoded."open_token__transfer"'
    assert ev.ddl().startswith('create table if not exists decoded."open_token__transfer"')
    assert '"from_address" varchar' in ev.ddl()
    assert quote_ident('a"b') == '"a""b"'


def test_duplicate_contract_is_refused_and_warehouse_unchanged(
    ingested: tuple[Path, dict[str, int]],
    ingest_chain: IngestChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh, before = ingested
    ingest_chain.apply(monkeypatch, wh)
    cdir = tmp_path / "contracts"
    shutil.copytree(ingest_chain.handle.contracts_dir, cdir)
    path = cdir / f"{MAINNET}.json"
    data = json.loads(path.read_text())
    token = dict(data["contracts"]["OpenToken"])
    token["address"] = token["address"].upper().replace("0X", "0x")  # same address, other case
    data["contracts"]["OpenTokenAgain"] = token
    path.write_text(json.dumps(data))
    monkeypatch.setenv("OLW_CONTRACTS_DIR", str(cdir))
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 2, out
    assert "OpenTokenAgain" in out and "already listed as contracts.OpenToken" in out, out
    assert "Traceback" not in out
    assert _snapshot(wh) == before


def test_node_of_another_chain_with_the_same_chain_id_is_refused(
    ingested: tuple[Path, dict[str, int]],
    ingest_chain: IngestChain,
    devnet_nodes: DevnetHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The network's RPC URL now points at another anvil answering chain id 1612: every block
    held differs. Refused: nothing retracted, journalled, and loud in olw status."""
    src, before = ingested
    wh = tmp_path / "w.duckdb"
    shutil.copy(src, wh)
    ingest_chain.apply(monkeypatch, wh)
    other = devnet_nodes.urls[MAINNET]
    assert devnet_nodes.chain_ids[MAINNET] == 1612 and other != ingest_chain.url
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", other)
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 1, out
    assert "another chain with chain id 1612" in out and "nothing retracted" in out, out
    assert "--allow-deep-reorg" in out and "Traceback" not in out
    after = _snapshot(wh)
    journal = after.pop("raw.ingest_journal")
    assert journal == before["raw.ingest_journal"] + 1
    assert after == {k: v for k, v in before.items() if k != "raw.ingest_journal"}
    code, out = _run("status", "--offline")
    assert code == 0, out
    assert "deep reorg" in out and "REFUSED" in out, out
    # the operator says the node is right: everything held is retracted, journalled as deep
    code, out = _run("ingest", "--network", MAINNET, "-q", "--allow-deep-reorg")
    assert code == 0, out
    con = connect(wh, read_only=True)
    try:
        (detail,) = con.execute(
            "select detail from raw.ingest_journal where action = 'retract'"
        ).fetchall()[0]
        orphaned = con.execute("select count(*) from raw.orphaned_logs").fetchall()[0][0]
        # blocks both chains hold (the deployment, when both nodes mined it in the same second)
        # stay; every other log held before is retracted, none is lost
        con.execute(f"attach '{src}' as before_ingest (read_only)")
        kept = con.execute(
            "select count(*) from raw.logs l where exists (select 1 from "
            "before_ingest.raw.logs b where b.block_hash = l.block_hash "
            "and b.log_index = l.log_index)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert detail.startswith("deep reorg below finalized block"), detail
    assert orphaned > 0 and orphaned + kept == before["raw.logs"], (orphaned, kept)
    code, out = _run("status", "--offline")
    assert code == 0 and "allowed" in out, out
