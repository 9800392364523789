"""Start, find and stop the two local anvil nodes that stand in for OpenLedger mainnet/testnet.

State lives under ``$OLW_HOME/devnet/``: ``nodes.json`` (pid, port, chain id per network), one
chain state file per network (anvil ``--state``, so a chain survives a restart, even a SIGKILL)
and one log file per node. A node counts as running only when its recorded pid is alive, is an
anvil process, and its port answers ``eth_chainId`` with the expected chain id.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from pipelines.config import REPO_ROOT, load_networks, state_dir
from pipelines.devnet.errors import DevnetError
from pipelines.devnet.rpc import chain_id

DEVNET_NETWORKS = ("devnet-mainnet", "devnet-testnet")
ANVIL_BIN = REPO_ROOT / "devnet/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
# Genesis a week before TGE (2025-09-08), so the deployment lands before the simulated economy.
GENESIS_TIMESTAMP = 1756684800  # 2025-09-01T00:00:00Z
STATE_INTERVAL_S = 30


def anvil_path() -> Path:
    return Path(os.environ.get("OLW_ANVIL", ANVIL_BIN))


def devnet_home() -> Path:
    path = state_dir() / "devnet"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class NodeRecord:
    network: str
    chain_id: int
    port: int
    pid: int
    log: str
    state: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _nodes_file() -> Path:
    return devnet_home() / "nodes.json"


def load_records() -> dict[str, NodeRecord]:
    path = _nodes_file()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {k: NodeRecord(**v) for k, v in raw.items()}
    except (json.JSONDecodeError, TypeError):
        raise DevnetError(
            f"{path} is corrupt; stop stray anvil processes yourself, then delete it"
        ) from None


def save_records(records: dict[str, NodeRecord]) -> None:
    path = _nodes_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(records.items())}, indent=1))
    tmp.replace(path)


def default_ports() -> dict[str, int]:
    """Ports from ``default_rpc_url`` in networks.yaml (8545 / 8546)."""
    nets = load_networks()
    out = {}
    for name in DEVNET_NETWORKS:
        url = nets[name].default_rpc_url or ""
        out[name] = int(url.rsplit(":", 1)[-1].split("/")[0])
    return out


def chain_ids() -> dict[str, int]:
    nets = load_networks()
    return {name: nets[name].chain_id for name in DEVNET_NETWORKS}


def _is_our_anvil(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return bool(cmd) and Path(cmd[0]).name == "anvil"


def is_running(rec: NodeRecord) -> bool:
    return _is_our_anvil(rec.pid) and chain_id(rec.url, timeout=2.0) == rec.chain_id


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As anvil (tokio) does: connections left in TIME_WAIT by a stopped node don't count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], rec: NodeRecord, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = _log_tail(Path(rec.log))
            raise DevnetError(
                f"anvil for {rec.network} exited at start (code {proc.returncode}); "
                f"log {rec.log}:\n{tail}"
            )
        if chain_id(rec.url, timeout=1.0) == rec.chain_id:
            return
        time.sleep(0.1)
    # We own this process (and its session): stop it without trusting its name.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    raise DevnetError(
        f"{rec.network}: node on port {rec.port} did not answer eth_chainId within {timeout:.0f}s "
        f"(stopped it); see {rec.log}"
    )


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_node(
    network: str, cid: int, port: int, reset: bool, timeout: float, persist: bool = True
) -> NodeRecord:
    """Start one anvil node. ``persist=False`` keeps the chain in memory only: anvil rewrites
    its whole state file every STATE_INTERVAL_S, which for a 1M-log chain is a 1 GB JSON dump
    that stalls RPC serving for seconds (a throwaway benchmark devnet has no use for it)."""
    binary = anvil_path()
    if not binary.exists():
        raise DevnetError(f"anvil not found at {binary}; run `make install` (npm ci in devnet/)")
    if not port_free(port):
        raise DevnetError(
            f"port {port} on 127.0.0.1 is in use by another process; stop it or pick another "
            f"port (olw devnet up --{network.removeprefix('devnet-')}-port N)"
        )
    home = devnet_home()
    state = home / f"{network}.state.json"
    log = home / f"{network}.log"
    if reset:
        for p in (state, home / f"{network}.deployment.json"):
            p.unlink(missing_ok=True)
    cmd = [
        str(binary),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(cid),
        *(["--state", str(state), "--state-interval", str(STATE_INTERVAL_S)] if persist else []),
        "--timestamp", str(GENESIS_TIMESTAMP),
        # Throughput: no per-block gas cap (the simulator packs thousands of inferences per
        # block), senders impersonated (no signing in Python), FIFO pool, no per-call logging.
        "--disable-block-gas-limit",
        "--disable-code-size-limit",
        "--auto-impersonate",
        "--order", "fifo",
        "--quiet",
    ]  # fmt: skip
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    rec = NodeRecord(network, cid, port, proc.pid, str(log), str(state))
    _wait_ready(proc, rec, timeout)
    return rec


def up(
    ports: dict[str, int] | None = None,
    reset: bool = False,
    timeout: float = 30.0,
    persist: bool = True,
) -> dict[str, tuple[NodeRecord, bool]]:
    """Start the nodes that are not running; return ``{network: (record, started_now)}``.
    ``persist=False``: chains in memory only (see :func:`start_node`)."""
    ports = {**default_ports(), **(ports or {})}
    cids = chain_ids()
    records = load_records()
    out: dict[str, tuple[NodeRecord, bool]] = {}
    if reset:
        for name in DEVNET_NETWORKS:
            if name in records:
                _terminate(records.pop(name).pid)
        save_records(records)
    for name in DEVNET_NETWORKS:
        rec = records.get(name)
        if rec is not None and is_running(rec):
            out[name] = (rec, False)
            continue
        if rec is not None and _is_our_anvil(rec.pid):
            # Alive but not answering as expected: stop it rather than leave it behind.
            _terminate(rec.pid)
        new = start_node(name, cids[name], ports[name], reset, timeout, persist)
        records[name] = new
        save_records(records)
        out[name] = (new, True)
    return out


def _terminate(pid: int, grace: float = 20.0) -> bool:
    """SIGTERM (anvil then writes its state file), SIGKILL after ``grace`` seconds."""
    if not _is_our_anvil(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    try:
        psutil.Process(pid).wait(timeout=grace)
    except psutil.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=5)
    except psutil.NoSuchProcess:
        pass
    return True


def down() -> list[NodeRecord]:
    """Stop exactly the recorded nodes; return the ones that were running."""
    records = load_records()
    stopped = [rec for rec in records.values() if _terminate(rec.pid)]
    save_records({})
    return stopped


def running_url(network: str) -> str | None:
    rec = load_records().get(network)
    if rec is not None and is_running(rec):
        return rec.url
    return None
