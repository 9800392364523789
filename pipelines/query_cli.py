"""`olw query "SQL"` (read-only SQL on the warehouse), `olw dev` (the Dagster UI) and
`olw backfill` (ingest a date range through Dagster, one block-range partition per run)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import typer

from pipelines.config import REPO_ROOT, warehouse_path

# Statement kinds that cannot change the warehouse. Everything else (INSERT, UPDATE, CREATE,
# COPY ... TO, ATTACH, PRAGMA, CALL checkpoint, SET, LOAD, transactions) is refused up front.
READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}


class QueryRefused(Exception):
    """The SQL is not a read-only query; the message says which statement and why."""


def check_read_only(sql: str) -> list[str]:
    """The statements of ``sql`` if every one is a read-only query; else QueryRefused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None
    if not statements:
        raise QueryRefused("no SQL statement given")
    out = []
    for st in statements:
        kind = st.type.name
        if kind not in READ_ONLY_STATEMENTS:
            text = " ".join(st.query.split())[:80]
            raise QueryRefused(
                f"refused: `{text}` is a {kind} statement. `olw query` is read-only (SELECT, "
                "WITH … SELECT, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); the warehouse is "
                "changed only by the ingestion and the Dagster pipeline."
            )
        out.append(st.query)
    return out


def run_query(
    sql: str, warehouse: str | Path | None = None, wait_s: float = 30.0
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run read-only ``sql`` on the warehouse, opened read-only: the reader sees only committed
    batches, and while a writer holds the file for a commit it waits (up to ``wait_s``)."""
    from pipelines.store import connect

    statements = check_read_only(sql)
    path = Path(warehouse) if warehouse else warehouse_path()
    con = connect(path, read_only=True, wait_s=wait_s)
    try:
        cols: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for st in statements:
            cur = con.execute(st)
            cols = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        return cols, rows
    finally:
        con.close()


def _fmt(v: Any) -> str:
    if v is None:
        return "NULL"
    return str(v)


def query(
    sql: str = typer.Argument(
        ..., help='A read-only SQL query, e.g. "select * from marts.fct_model_payouts"'
    ),
    max_rows: int = typer.Option(100, "--max-rows", "-n", help="Rows to print (0: all)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or csv"),
    warehouse: Path | None = typer.Option(None, "--warehouse", help="Default: $OLW_WAREHOUSE."),
    wait_s: float = typer.Option(30.0, "--wait", help="Seconds to wait while a writer commits."),
) -> None:
    """Run a read-only SQL query on the warehouse and print the result (safe while ingesting)."""
    from pipelines.store import WarehouseError

    try:
        cols, rows = run_query(sql, warehouse, wait_s)
    except QueryRefused as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except WarehouseError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except duckdb.Error as exc:
        typer.secho(f"error: {str(exc).strip()}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    shown = rows if max_rows <= 0 else rows[:max_rows]
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows([[_fmt(v) for v in r] for r in shown])
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        for c in cols:
            table.add_column(c, overflow="fold")
        for r in shown:
            table.add_row(*(_fmt(v) for v in r))
        Console(width=max(120, len(cols) * 24)).print(table)
    if len(shown) < len(rows):
        typer.echo(f"({len(rows)} rows, {len(shown)} shown; --max-rows 0 prints all)", err=True)
    else:
        typer.echo(f"({len(rows)} rows)", err=True)


def dagster_dev_command(port: int, host: str = "127.0.0.1") -> list[str]:
    exe = Path(sys.executable).parent / "dagster"
    return [
        str(exe) if exe.exists() else "dagster",
        "dev",
        "-m",
        "pipelines.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]


def dagster_env(dagster_home: Path | None = None) -> dict[str, str]:
    home = (dagster_home or REPO_ROOT / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def start_dagster_dev(
    port: int, dagster_home: Path | None = None, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """`dagster dev` on loopback in its own process group (so the whole group can be stopped:
    started from a script it ignores SIGINT/SIGTERM otherwise)."""
    return subprocess.Popen(
        dagster_dev_command(port),
        cwd=REPO_ROOT,
        env={**dagster_env(dagster_home), **(env or {})},
        start_new_session=True,
        **popen,
    )


def stop_process_group(proc: subprocess.Popen[Any], timeout_s: float = 20.0) -> None:
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                # The webserver/daemon children may outlive the parent by a moment.
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.2)


def dev(
    port: int = typer.Option(3000, "--port", "-p"),
    dagster_home: Path | None = typer.Option(
        None, "--dagster-home", help="Default: dagster_home/."
    ),
) -> None:
    """Start the Dagster UI and daemon (`dagster dev`) on http://127.0.0.1:PORT."""
    proc = start_dagster_dev(port, dagster_home)
    typer.echo(f"Dagster UI: http://127.0.0.1:{port}  (Ctrl-C stops it)", err=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        typer.echo("stopping dagster dev …", err=True)
    finally:
        stop_process_group(proc)
    raise typer.Exit(proc.returncode or 0)


def backfill(
    network: str = typer.Option("devnet-mainnet", "--network"),
    start: str = typer.Option(..., "--from", help="First UTC day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last UTC day, YYYY-MM-DD."),
    dagster_home: Path | None = typer.Option(None, "--dagster-home"),
) -> None:
    """Ingest the block ranges covering these days, one Dagster run per block-range partition
    of the backfill job (recorded in dagster_home, visible in `olw dev`)."""
    from pipelines.chain import RpcClient
    from pipelines.config import get_network
    from pipelines.defs.chain.lib import block_timestamp_reader, head_block
    from pipelines.defs.chain.partitions import block_range_for_dates, keys_covering

    net = get_network(network)
    try:
        d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        typer.secho(f"error: {exc}; use YYYY-MM-DD", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if d0 > d1:
        typer.secho(f"error: --from {d0} is after --to {d1}: the dates are reversed", err=True)
        raise typer.Exit(2)
    rpc = RpcClient(net.rpc_url())
    try:
        first = min((c.first_block for c in net.contracts), default=0)
        rng = block_range_for_dates(d0, d1, block_timestamp_reader(rpc), first, head_block(rpc))
    finally:
        rpc.close()
    if rng is None:
        typer.echo(f"{network} has no blocks on {start}..{end}", err=True)
        raise typer.Exit(0)
    keys = keys_covering(*rng)
    typer.echo(f"{network}: {start}..{end} is blocks {rng[0]}..{rng[1]}: partitions {keys}")
    os.environ.update({k: v for k, v in dagster_env(dagster_home).items() if k == "DAGSTER_HOME"})
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.chain.jobs import backfill_job_name
    from pipelines.defs.chain.partitions import block_ranges

    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(block_ranges(network).name or "", keys)
    job = defs.resolve_job_def(backfill_job_name(network))
    for key in keys:
        res = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        typer.echo(f"  {key}: {'ok' if res.success else 'FAILED'} (run {res.run_id})")
        if not res.success:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("query")(query)
    app.command("dev")(dev)
    app.command("backfill")(backfill)
