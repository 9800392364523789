"""``olw demo``: the main job end to end on the embedded default (a local devnet, a DuckDB file).

Brings the devnet up (reusing running nodes), simulates the default scenario once per chain,
runs the whole pipeline *through Dagster* (ingestion → decoded → dbt → checks → metrics →
exports → report) against the instance in dagster_home/, and says where to look next.
"""

from __future__ import annotations

import os
import time

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
    typer.secho("1/3 devnet", bold=True)
    started = nodes.up(reset=fresh)
    need_sim = False
    for name, (rec, now) in started.items():
        with Rpc(rec.url) as rpc:
            dep, _ = ensure_deployed(rpc, name, rec.chain_id)
            need_sim = need_sim or not has_traffic(rpc, dep)
        verb = "started" if now else "already running"
        typer.echo(f"  {name}: {verb} at {redact_url(rec.url)} (chain id {rec.chain_id})")
        os.environ[load_networks()[name].rpc_url_env] = rec.url

    typer.secho("2/3 traffic", bold=True)
    if need_sim:
        from pipelines.devnet.simulate import run as simulate

        summary = simulate(scenario=scenario, seed=seed)
        typer.echo("  " + summary.render().replace("\n", "\n  "))
    else:
        typer.echo(
            "  the devnet already holds simulated traffic; reusing it "
            "(olw demo --fresh starts over)"
        )

    typer.secho("3/3 pipeline through Dagster", bold=True)
    from pipelines.defs import run_full_pipeline

    result = run_full_pipeline(echo=False, log_level="WARNING")
    typer.echo("  " + result.describe().replace("\n", "\n  "))
    if result.success:
        _print_answers()
    typer.echo(f"\ndemo finished in {time.monotonic() - t0:.0f}s; warehouse: {warehouse_path()}")
    reports = (
        sorted((REPO_ROOT / "reports").glob("*.html")) if (REPO_ROOT / "reports").exists() else []
    )
    typer.echo("where to look next:")
    typer.echo(
        "  make dev                      Dagster UI on http://127.0.0.1:3000 (assets, runs, checks)"
    )
    typer.echo("  uv run olw status             cursors, heads, lag, rows per table")
    typer.echo('  uv run olw query "select …"   read-only SQL (examples in README.md)')
    if reports:
        typer.echo(f"  {reports[-1]}  the report")
    typer.echo(f"  {state_dir()}                 devnet state, ground truth, logs")
    typer.echo("  uv run olw devnet down        stop the devnet")
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
