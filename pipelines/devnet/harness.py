"""Run a throwaway devnet (both nodes on free ports, under a given home) for tests and benchmarks.

``running_devnet(home)`` starts both anvil nodes, deploys, optionally simulates a scenario, yields
a :class:`DevnetHandle`, and stops every process it started on exit, even on error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pipelines.config import load_networks

NETWORKS = ("devnet-mainnet", "devnet-testnet")


@dataclass
class DevnetHandle:
    home: Path
    contracts_dir: Path
    labels_dir: Path
    urls: dict[str, str]  # network name → http://127.0.0.1:port
    chain_ids: dict[str, int]
    pids: dict[str, int]
    truth_path: Path | None = None
    summary: Any = None
    networks: tuple[str, ...] = NETWORKS
    env: dict[str, str] = field(default_factory=dict)

    def truth(self) -> dict[str, Any]:
        if self.truth_path is None:
            raise RuntimeError("this devnet was not simulated")
        data: dict[str, Any] = orjson.loads(self.truth_path.read_bytes())
        return data

    def apply(self, monkeypatch: Any) -> None:
        """Point the warehouse at this devnet for one test (pytest's monkeypatch)."""
        for k, v in self.env.items():
            monkeypatch.setenv(k, v)


@contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for a block of code, restoring the previous values after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def running_devnet(
    home: Path,
    scenario: str | None = None,
    seed: int = 7,
    events: int | None = None,
    persist: bool = True,
) -> Iterator[DevnetHandle]:
    """Both nodes under ``home``, deployed (and simulated when ``scenario`` is given);
    ``persist=False`` keeps the chains in memory only, for benchmarks (no state-file dumps)."""
    from pipelines.devnet import nodes
    from pipelines.devnet.deploy import ensure_deployed
    from pipelines.devnet.rpc import Rpc

    home.mkdir(parents=True, exist_ok=True)
    env = {
        "OLW_HOME": str(home),
        "OLW_CONTRACTS_DIR": str(home / "contracts"),
        "OLW_LABELS_DIR": str(home / "labels"),
        "OLW_WAREHOUSE": str(home / "warehouse.duckdb"),
    }
    nets = load_networks()
    ports = {name: nodes.free_port() for name in NETWORKS}
    for name in NETWORKS:
        env[nets[name].rpc_url_env] = f"http://127.0.0.1:{ports[name]}"
    try:
        with patched_env(env):
            started = nodes.up(ports=ports, persist=persist)
            for name, (rec, _) in started.items():
                with Rpc(rec.url) as rpc:
                    ensure_deployed(rpc, name, rec.chain_id)
            handle = DevnetHandle(
                home=home,
                contracts_dir=home / "contracts",
                labels_dir=home / "labels",
                urls={n: r.url for n, (r, _) in started.items()},
                chain_ids={n: r.chain_id for n, (r, _) in started.items()},
                pids={n: r.pid for n, (r, _) in started.items()},
                env=dict(env),
            )
            if scenario is not None:
                from pipelines.devnet.simulate import run

                truth = home / "truth.json"
                handle.summary = run(scenario=scenario, seed=seed, events=events, truth_path=truth)
                handle.truth_path = truth
        yield handle
    finally:
        with patched_env(env):
            nodes.down()
