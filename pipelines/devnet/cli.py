"""``olw devnet``: run the local OpenLedger devnet (two anvil nodes), deploy, simulate traffic."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer

from pipelines.config import contracts_dir, load_contracts, load_networks
from pipelines.devnet import nodes
from pipelines.devnet.errors import DevnetError

app = typer.Typer(
    help=(
        "The embedded devnet: two anvil nodes on 127.0.0.1 standing in for OpenLedger mainnet "
        "(chain id 1612) and testnet (161201), the OpenLedger contracts, and a traffic simulator."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(exc: Exception) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def build() -> None:
    """Compile devnet/contracts with solc-js (offline) and refresh schemas/abis/*.json."""
    from pipelines.devnet.build import build as do_build

    try:
        contracts = do_build(write=True)
    except DevnetError as exc:
        _fail(exc)
    typer.echo(f"{len(contracts)} ABIs up to date in schemas/abis/")


@app.command()
def up(
    mainnet_port: int = typer.Option(
        None, help="Port of devnet-mainnet (default: from schemas/networks.yaml, 8545)."
    ),
    testnet_port: int = typer.Option(
        None, help="Port of devnet-testnet (default: from schemas/networks.yaml, 8546)."
    ),
    reset: bool = typer.Option(
        False, "--reset", help="Stop the nodes and start fresh, empty chains (drops their state)."
    ),
    deploy: bool = typer.Option(
        True, "--deploy/--no-deploy", help="Deploy the contracts if this chain lacks them."
    ),
    timeout: float = typer.Option(30.0, help="Seconds to wait for each node to answer."),
) -> None:
    """Start both anvil nodes (idempotent: running nodes are reused) and deploy the contracts.

    Chains persist in $OLW_HOME/devnet/*.state.json across restarts unless --reset is given.
    """
    from pipelines.devnet.deploy import ensure_deployed
    from pipelines.devnet.rpc import Rpc

    ports = {}
    if mainnet_port is not None:
        ports["devnet-mainnet"] = mainnet_port
    if testnet_port is not None:
        ports["devnet-testnet"] = testnet_port
    try:
        started = nodes.up(ports=ports, reset=reset, timeout=timeout)
        for name, (rec, fresh) in started.items():
            verb = "started" if fresh else "already running"
            typer.echo(f"{name}: {verb} (pid {rec.pid}, {rec.url}, chain id {rec.chain_id})")
            if deploy:
                with Rpc(rec.url) as rpc:
                    dep, now = ensure_deployed(rpc, name, rec.chain_id)
                msg = "deployed" if now else "already deployed"
                typer.echo(
                    f"  contracts {msg}: {len(dep.contracts)} → {contracts_dir() / name}.json"
                )
        _print_env_hint(started)
    except DevnetError as exc:
        _fail(exc)


def _print_env_hint(started: dict[str, tuple[nodes.NodeRecord, bool]]) -> None:
    nets = load_networks()
    for name, (rec, _) in started.items():
        if nets[name].default_rpc_url != rec.url:
            typer.echo(f"  non-default port: export {nets[name].rpc_url_env}={rec.url}")


@app.command()
def down() -> None:
    """Stop exactly the nodes `olw devnet up` started (SIGTERM, then SIGKILL); state is kept."""
    try:
        stopped = nodes.down()
    except DevnetError as exc:
        _fail(exc)
    if not stopped:
        typer.echo("no devnet node was running")
    for rec in stopped:
        typer.echo(f"{rec.network}: stopped pid {rec.pid}")


@app.command()
def status() -> None:
    """Show per network: running?, pid, port, chain id, head block and time, contracts."""
    from pipelines.devnet.rpc import Rpc

    try:
        records = nodes.load_records()
        any_down = False
        for name in nodes.DEVNET_NETWORKS:
            rec = records.get(name)
            if rec is None or not nodes.is_running(rec):
                any_down = True
                typer.echo(f"{name}: not running" + (f" (last pid {rec.pid})" if rec else ""))
                continue
            with Rpc(rec.url, timeout=10) as rpc:
                head = rpc.call("eth_getBlockByNumber", "latest", False)
            ts = time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(head["timestamp"], 16)))
            typer.echo(
                f"{name}: running pid {rec.pid}, {rec.url}, chain id {rec.chain_id}, "
                f"head block {int(head['number'], 16)} ({ts} UTC)"
            )
            contracts = load_contracts(name)
            if not contracts:
                typer.echo("  no contracts deployed (olw devnet up)")
            for c in contracts:
                typer.echo(f"  {c.name:<28} {c.address}  first block {c.first_block}")
    except DevnetError as exc:
        _fail(exc)
    if any_down:
        raise typer.Exit(1)


@contextmanager
def _chain_progress(stage: str) -> Iterator[None]:
    """Progress for a simulation, read from the outside: blocks and transactions mined so far
    on each running node (the simulator plans first, then mines; its total is not known here)."""
    import threading

    from pipelines.devnet.rpc import Rpc
    from pipelines.progress import Progress

    records = {n: r for n, r in nodes.load_records().items() if nodes.is_running(r)}
    rpcs = {n: Rpc(r.url, timeout=5) for n, r in records.items()}
    start: dict[str, int] = {}
    for n, rpc in rpcs.items():
        try:
            start[n] = int(rpc.call("eth_blockNumber"), 16)
        except Exception:  # a node busy at start is read again on the next tick
            start[n] = 0
    prog = Progress(stage, unit="blocks", detail="planning")
    stop = threading.Event()

    def tick() -> None:
        mined, parts = 0, []
        for n, rpc in rpcs.items():
            try:
                head = int(rpc.call("eth_blockNumber"), 16)
            except Exception:
                continue
            mined += head - start[n]
            parts.append(f"{n.removeprefix('devnet-')} head {head:,}")
        prog.update(done=mined, detail=", ".join(parts) if mined else "planning the traffic")

    def poll() -> None:
        while not stop.wait(1.0):
            tick()

    thread = threading.Thread(target=poll, daemon=True)
    try:
        with prog:
            thread.start()
            yield
            stop.set()
            thread.join()
            tick()  # the final count, before the line is closed
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        for rpc in rpcs.values():
            rpc.close()


@app.command()
def simulate(
    scenario: str = typer.Option(
        "default", help="Population mix: default, heavy-sybil, bot-heavy."
    ),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same logical events."),
    events: int = typer.Option(
        None,
        help="Scale inference traffic to at least N inference-related events (InferenceRequested"
        " + AttributionRecorded + ContributorsRewarded + fee Transfers), e.g. 1000000.",
    ),
    truth: Path = typer.Option(
        None, help="Where to write the ground-truth JSON (default $OLW_HOME/devnet/truth.json)."
    ),
) -> None:
    """Drive both networks through simulated time, TGE 2025-09-08 → 2026-11, and write ground truth.

    Needs running nodes with the contracts and a chain not yet simulated (olw devnet up --reset).
    """
    from pipelines.devnet.simulate import SCENARIOS, run

    if scenario not in SCENARIOS:
        _fail(DevnetError(f"unknown scenario {scenario!r}; valid: {', '.join(sorted(SCENARIOS))}"))
    try:
        with _chain_progress(f"simulate {scenario}"):
            summary = run(scenario=scenario, seed=seed, events=events, truth_path=truth)
    except DevnetError as exc:
        _fail(exc)
    typer.echo(summary.render())
    sys.stdout.flush()
