"""The olw ingest/status surface: clear, non-traceback errors with non-zero exits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.config import schemas_dir
from tests.ingest.conftest import MAINNET, IngestChain

runner = CliRunner()
_register()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


def test_ingest_and_status(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_chain.apply(monkeypatch, tmp_path / "w.duckdb")
    code, out = _run("ingest", "--network", MAINNET, "--to", str(ingest_chain.head), "-q")
    assert code == 0, out
    assert "logs" in out and f"{ingest_chain.head}" in out
    code, out = _run("status")
    assert code == 0, out
    assert MAINNET in out and "raw.logs" in out and "last reorg" in out


def test_malformed_abi_is_refused_at_start_up(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_chain.apply(monkeypatch, tmp_path / "w.duckdb")
    bad = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), bad)
    (bad / "abis" / "OpenToken.json").write_text('[{"type": "event", "name": "Transfer"}]')
    monkeypatch.setenv("OLW_SCHEMAS_DIR", str(bad))
    from pipelines.decode.abi import load_abi_events

    load_abi_events.cache_clear()
    code, out = _run("ingest", "--network", MAINNET, "-q")
    load_abi_events.cache_clear()
    assert code == 2 and "OpenToken.json" in out and "Traceback" not in out, out
    assert not (tmp_path / "w.duckdb").exists()


def test_malformed_network_config_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), bad)
    (bad / "networks.yaml").write_text("networks:\n  devnet-mainnet:\n    chain_id: x\n")
    monkeypatch.setenv("OLW_SCHEMAS_DIR", str(bad))
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 2 and "networks.yaml" in out and "Traceback" not in out, out


def test_unreachable_node_is_a_clear_error(
    ingest_chain: IngestChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_chain.apply(monkeypatch, tmp_path / "w.duckdb")
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", "http://127.0.0.1:9")
    code, out = _run("ingest", "--network", MAINNET, "-q")
    assert code == 1 and "cannot reach the node" in out and "Traceback" not in out, out
