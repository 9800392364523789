"""Clear errors with the right exit codes (issue 9): reversed or negative ranges, malformed RPC
URLs (named without their secrets), an unreachable node (which URL, how long it waited)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.chain import RpcUnavailable
from pipelines.cli import _register, app
from pipelines.config import get_network
from pipelines.ingest import BadRange, ingest_range, open_reader

runner = CliRunner()
_register()
NET = "devnet-mainnet"


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "500", "--to", "100"), "reversed"),
        (("--from", "-5"), "not a block number"),
        (("--to", "-1"), "not a block number"),
    ],
)
def test_bad_ranges_exit_2(
    args: tuple[str, ...], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLW_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", "http://127.0.0.1:9")  # never asked
    code, out = _run("ingest", "--network", NET, "-q", *args)
    assert code == 2 and says in out and "Traceback" not in out, out
    assert not (tmp_path / "w.duckdb").exists()
    with pytest.raises(BadRange):
        ingest_range(NET, 500, 100, tmp_path / "w.duckdb")


def test_backfill_with_reversed_dates_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", "http://127.0.0.1:9")  # never asked
    code, out = _run("backfill", "--network", NET, "--from", "2026-03-01", "--to", "2026-01-01")
    assert code == 2 and "reversed" in out and "Traceback" not in out, out


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("://?/s3cr3t-key", "does not start with http:// or https://"),
        ("s3cr3t-key", "does not start with http:// or https://"),
        ("ftp://host/s3cr3t-key", "'ftp'"),
        ("http://user:s3cr3t-key@host:port/x", "port is not a number"),
        ("https:///s3cr3t-key", "no host"),
    ],
)
def test_malformed_rpc_url_exits_2_without_secrets(
    url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLW_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", url)
    code, out = _run("ingest", "--network", NET, "-q")
    assert code == 2, out
    assert "OLW_RPC_DEVNET_MAINNET" in out and says in out, out
    assert "s3cr3t" not in out and "Traceback" not in out, out


def test_unreachable_node_names_the_url_and_the_wait() -> None:
    net = get_network(NET)
    with pytest.raises(RpcUnavailable) as err:
        open_reader(net, "http://127.0.0.1:9/s3cr3t-key", connect_deadline_s=1)
    msg = str(err.value)
    assert "http://127.0.0.1:9/…" in msg and "waited 1 s" in msg, msg
    assert "s3cr3t" not in msg
