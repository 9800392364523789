"""`olw devnet` against real anvil processes: idempotent up, clean down, clear errors."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from pipelines.devnet.cli import app
from pipelines.devnet.nodes import free_port

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {
        "OLW_HOME": str(tmp_path / "home"),
        "OLW_CONTRACTS_DIR": str(tmp_path / "contracts"),
        "OLW_LABELS_DIR": str(tmp_path / "labels"),
    }
    yield values
    runner.invoke(app, ["down"], env=values)  # never leave a node behind, even on failure


def _anvils_under(home: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and Path(cmd[0]).name == "anvil" and any(home in c for c in cmd):
            out.append(p)
    return out


def _ok(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return str(result.output)


def _clean_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    text = result.output
    assert result.exit_code != 0, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for n in needles:
        assert n in text, text


def test_up_twice_keeps_two_nodes_and_down_leaves_none(env: dict[str, str]) -> None:
    ports = ["--mainnet-port", str(free_port()), "--testnet-port", str(free_port())]
    out1 = _ok(runner.invoke(app, ["up", *ports], env=env))
    assert out1.count("started") == 2 and "deployed" in out1
    first = _anvils_under(env["OLW_HOME"])
    assert len(first) == 2
    out2 = _ok(runner.invoke(app, ["up", *ports], env=env))
    assert out2.count("already running") == 2 and "already deployed" in out2
    second = _anvils_under(env["OLW_HOME"])
    assert sorted(p.pid for p in second) == sorted(p.pid for p in first)
    status = _ok(runner.invoke(app, ["status"], env=env))
    assert "chain id 1612" in status and "chain id 161201" in status
    assert "InferenceMarket" in status
    _ok(runner.invoke(app, ["down"], env=env))
    _gone, alive = psutil.wait_procs(first, timeout=10)
    assert not alive and not _anvils_under(env["OLW_HOME"])
    down_status = runner.invoke(app, ["status"], env=env)
    assert down_status.exit_code == 1 and "not running" in down_status.output


def test_chain_survives_restart(env: dict[str, str]) -> None:
    ports = ["--mainnet-port", str(free_port()), "--testnet-port", str(free_port())]
    _ok(runner.invoke(app, ["up", *ports], env=env))
    _ok(runner.invoke(app, ["down"], env=env))
    out = _ok(runner.invoke(app, ["up", *ports], env=env))
    assert out.count("already deployed") == 2  # contracts came back from the state file
    out = _ok(runner.invoke(app, ["up", "--reset", *ports], env=env))
    assert out.count("contracts deployed") == 2  # a fresh chain gets a fresh deployment


def test_port_in_use_is_a_clear_error(env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        result = runner.invoke(
            app, ["up", "--mainnet-port", str(busy), "--testnet-port", str(free_port())], env=env
        )
    _clean_error(result, f"port {busy}", "in use")
    assert not _anvils_under(env["OLW_HOME"])


def test_missing_anvil_tells_to_install(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["up", "--mainnet-port", str(free_port())],
        env={**env, "OLW_ANVIL": str(tmp_path / "nope" / "anvil")},
    )
    _clean_error(result, "anvil not found", "make install")


def test_node_that_does_not_answer_times_out_and_is_stopped(
    env: dict[str, str], tmp_path: Path
) -> None:
    fake = tmp_path / "bin" / "anvil"
    fake.parent.mkdir()
    marker = tmp_path / "fake.pid"
    fake.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = runner.invoke(
        app,
        ["up", "--mainnet-port", str(free_port()), "--timeout", "1.5"],
        env={**env, "OLW_ANVIL": str(fake)},
    )
    _clean_error(result, "did not answer")
    pid = int(marker.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_unknown_scenario_lists_valid_ones(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["simulate", "--scenario", "nope"], env=env)
    _clean_error(result, "unknown scenario 'nope'", "default", "heavy-sybil", "bot-heavy")


def test_simulate_without_nodes_is_a_clear_error(env: dict[str, str]) -> None:
    port = free_port()
    result = runner.invoke(
        app,
        ["simulate"],
        env={
            **env,
            "OLW_RPC_DEVNET_MAINNET": f"http://127.0.0.1:{port}",
            "OLW_RPC_DEVNET_TESTNET": f"http://127.0.0.1:{port}",
        },
    )
    _clean_error(result, "did not answer")


def test_help_explains_each_command() -> None:
    for cmd in ("up", "down", "status", "simulate"):
        out = _ok(runner.invoke(app, [cmd, "--help"]))
        assert len(out) > 200
    assert "--events" in _ok(runner.invoke(app, ["simulate", "--help"]))
    assert os.environ.get("OLW_ANVIL") is None
