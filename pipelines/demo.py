"""``olw demo``: the main job end to end on the embedded default (a local devnet, a DuckDB file).

Brings the devnet up (reusing running nodes), simulates the default scenario once per chain,
runs the whole pipeline *through Dagster* (ingestion → decoded → dbt → checks → metrics →
exports → report) against the instance in dagster_home/, and says where to look next.
"""

from __future__ import annotations

import os
import time
from typing import Any

import typer

from pipelines.config import REPO_ROOT, load_networks, redact_url, state_dir, warehouse_path


def _print_answers() -> None:
    """The three answers in a few lines: the key numbers the report shows."""
    from pipelines.report.html import build
    from pipelines.store import connect

    conn = connect(warehouse_path(), read_only=True, wait_s=30)
    try:
        numbers = build(conn).numbers
    finally:
        conn.close()
    typer.secho("\nthe three answers (devnet, default scenario)", bold=True)
    width = max(len(k) for k, _ in numbers)
    for key, value in numbers:
        typer.echo(f"  {key:<{width}}  {value}")


def dev_port() -> int:
    """The port `make dev` / `olw dev` serve the UI on: $OLW_DEV_PORT, else 3000."""
    try:
        return int(os.environ.get("OLW_DEV_PORT", "3000"))
    except ValueError:
        return 3000


def _stage(n: int, name: str, line: str) -> None:
    typer.secho(f"{n}/3 {name}: ", bold=True, nl=False)
    typer.echo(line)


def _run_pipeline() -> Any:
    """The full pipeline through Dagster, a heartbeat line while it runs (materializations so
    far, read from the run's event log in the instance), and dbt's own log kept off the
    terminal (it is in the run's event log in the UI)."""
    import logging
    import threading

    from pipelines.progress import Progress

    logging.getLogger("dagster_dbt").setLevel(logging.WARNING)
    prog = Progress("pipeline through Dagster", unit="assets")
    stop = threading.Event()

    def poll() -> None:
        import dagster as dg

        try:
            instance = dg.DagsterInstance.get()
        except Exception:
            return
        run_id = None
        while not stop.wait(2.0):
            try:
                if run_id is None:
                    runs = instance.get_runs(dg.RunsFilter(job_name="full_pipeline"), limit=1)
                    if runs and runs[0].status == dg.DagsterRunStatus.STARTED:
                        run_id = runs[0].run_id
                    continue
                done = len(
                    instance.get_records_for_run(
                        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
                    ).records
                )
                step = instance.get_records_for_run(
                    run_id, of_type=dg.DagsterEventType.STEP_START, limit=10_000
                ).records
                last = step[-1].event_log_entry.step_key if step else ""
                prog.update(done=done, detail=f"step {last}" if last else "")
            except Exception:  # the count is a courtesy; the run is what matters
                continue

    import contextlib

    from pipelines.defs import run_full_pipeline

    thread = threading.Thread(target=poll, daemon=True)
    log = state_dir() / "demo-pipeline.log"
    # dagster-dbt echoes every dbt event to stdout (127 lines): keep them in a file instead.
    with prog, open(log, "w") as out, contextlib.redirect_stdout(out):
        thread.start()
        try:
            return run_full_pipeline(echo=False, log_level="ERROR")
        finally:
            stop.set()
            thread.join()


def run_demo(fresh: bool, scenario: str, seed: int) -> bool:
    from pipelines.devnet import nodes
    from pipelines.devnet.deploy import ensure_deployed
    from pipelines.devnet.rpc import Rpc
    from pipelines.devnet.simulate import has_traffic

    t0 = time.monotonic()
    if fresh:
        wh = warehouse_path()
        if wh.exists():
            # Never delete a user's warehouse: keep it next to the new one.
            backup = wh.with_name(f"{wh.stem}.{time.strftime('%Y%m%dT%H%M%S')}.duckdb")
            wh.rename(backup)
            typer.echo(f"previous warehouse kept as {backup}")
    t = time.monotonic()
    started = nodes.up(reset=fresh)
    need_sim = False
    parts = []
    for name, (rec, now) in started.items():
        with Rpc(rec.url) as rpc:
            dep, _ = ensure_deployed(rpc, name, rec.chain_id)
            need_sim = need_sim or not has_traffic(rpc, dep)
        verb = "started" if now else "running"
        parts.append(f"{name} {verb} at {redact_url(rec.url)} (chain {rec.chain_id})")
        os.environ[load_networks()[name].rpc_url_env] = rec.url
    _stage(1, "devnet", "; ".join(parts) + f" [{time.monotonic() - t:.0f}s]")

    t = time.monotonic()
    if need_sim:
        from pipelines.devnet.cli import _chain_progress
        from pipelines.devnet.simulate import run as simulate

        with _chain_progress(f"simulating scenario {scenario}"):
            summary = simulate(scenario=scenario, seed=seed)
        nets = summary.per_network.values()
        _stage(
            2,
            "traffic",
            f"scenario {scenario!r} seed {seed}: {sum(i['blocks'] for i in nets):,} blocks, "
            f"{sum(i['transactions'] for i in nets):,} transactions, "
            f"{sum(i['inference_related_events'] for i in nets):,} inference-related events; "
            f"ground truth {summary.truth_path} [{time.monotonic() - t:.0f}s]",
        )
    else:
        _stage(
            2,
            "traffic",
            "the devnet already holds simulated traffic; reusing it (olw demo --fresh starts over)",
        )

    t = time.monotonic()
    result = _run_pipeline()
    n_pass = sum(c.passed for c in result.checks)
    _stage(
        3,
        "pipeline",
        f"Dagster run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'}: "
        f"{len(result.materialized)} assets materialized, {n_pass}/{len(result.checks)} checks "
        f"passed; dbt's log in {state_dir() / 'demo-pipeline.log'} "
        f"[{time.monotonic() - t:.0f}s]",
    )
    for c in result.failed_checks:
        typer.echo(f"  check {c.name} on {c.asset} failed ({c.severity}): {c.description}")
    for step in result.failed_steps:
        typer.echo(f"  step failed: {step}")
    if result.success:
        _print_answers()
    typer.echo(f"\ndemo finished in {time.monotonic() - t0:.0f}s; warehouse: {warehouse_path()}")
    report = REPO_ROOT / "reports" / "report.html"
    port = dev_port()
    typer.secho("Look next:", bold=True)
    typer.echo(
        f"  make dev PORT={port}              Dagster UI: http://127.0.0.1:{port}/runs/"
        f"{result.run_id} (DAGSTER_HOME={result.dagster_home})"
    )
    if report.exists():
        typer.echo(f"  {report}  the report (open in a browser)")
    typer.echo("  uv run olw status                cursors, heads, lag, rows per table")
    typer.echo(
        '  uv run olw query "select * from marts.fct_model_payouts order by fee_wei desc limit 10"'
    )
    typer.echo(f"  {state_dir()}  devnet state, ground truth, logs")
    typer.echo("  uv run olw devnet down           stop the devnet")
    return bool(result.success)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        fresh: bool = typer.Option(
            False,
            "--fresh",
            help="Start from empty chains and a new warehouse (the old warehouse file is kept "
            "under a timestamped name).",
        ),
        scenario: str = typer.Option("default", help="Simulator scenario for fresh chains."),
        seed: int = typer.Option(7, help="Simulator seed for fresh chains."),
    ) -> None:
        """Run the main job end to end on the local devnet: devnet, traffic, and the whole
        pipeline through Dagster (ingestion, decoding, dbt, quality checks, metrics, exports,
        report). Safe to run again: nodes, traffic and ingested data are reused."""
        from pipelines.devnet.errors import DevnetError

        try:
            ok = run_demo(fresh, scenario, seed)
        except DevnetError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        if not ok:
            typer.secho("the pipeline run failed; see the summary above", fg="red", err=True)
            raise typer.Exit(1)
