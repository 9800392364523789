"""`olw status` tells the truth (issue 9): a stream that is behind says by how much and what to
run; a failing one says since when, its last error and the command that fixes it; a run that
succeeds again clears it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from tests.ingest.sparse import MAINNET, TESTNET, SparseChain, mine_empty

runner = CliRunner()
_register()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


def test_status_reports_behind_and_failing_streams(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 0, out
    code, out = _run("status", "--network", MAINNET)
    assert code == 0 and "up to date" in out and "FAILING" not in out, out
    mine_empty(sparse_chain.node, 5)
    code, out = _run("status", "--network", MAINNET)
    assert "behind the head by 5 blocks" in out and f"olw ingest --network {MAINNET}" in out, out
    # a deterministic failure: the variable now points at the other chain's node
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", sparse_chain.handle.urls[TESTNET])
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 1 and "chain id 161201" in out, out
    code, out = _run("status", "--network", MAINNET, "--offline")
    assert code == 0 and "FAILING" in out and "ChainMismatch" in out, out
    assert "point OLW_RPC_DEVNET_MAINNET at the node of chain 1612" in out, out
    assert "catches it up" not in out  # the old promise
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", sparse_chain.url)
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 0, out
    code, out = _run("status", "--network", MAINNET)
    assert "FAILING" not in out and "up to date" in out, out
