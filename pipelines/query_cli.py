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
# EXPLAIN passes only when what it explains does: EXPLAIN ANALYZE runs its statement.
READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}

# A query that runs longer than this on the live file is moved to a private snapshot, so the
# writer (olw ingest --follow) waits for this long at most (bench/reader.py measures it).
LIVE_S = 2.0


class QueryRefused(Exception):
    """The SQL is not a read-only query; the message says which statement and why."""


class QueryStopped(Exception):
    """The query was stopped (timeout or Ctrl-C); the message says which and what to do."""


def _refuse(query: str, kind: str) -> QueryRefused:
    text = " ".join(query.split())[:80]
    return QueryRefused(
        f"refused: `{text}` is not read-only ({kind}). `olw query` runs only SELECT, "
        "WITH … SELECT, FROM, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN of those; the warehouse is "
        "changed only by the ingestion and the Dagster pipeline."
    )


def _explained(query: str) -> str:
    """The statement an EXPLAIN [ANALYZE] [(options)] statement explains (comments skipped)."""
    tokens = duckdb.tokenize(query)
    words = [
        (pos, query[pos : tokens[i + 1][0] if i + 1 < len(tokens) else len(query)].strip())
        for i, (pos, kind) in enumerate(tokens)
        if kind.name != "comment"
    ]
    i = 1  # words[0] is EXPLAIN
    if i < len(words) and words[i][1] == "(":
        while i < len(words) and words[i][1] != ")":
            i += 1
        i += 1
    if i < len(words) and words[i][1].lower() in ("analyze", "analyse"):
        i += 1
    return query[words[i][0] :] if i < len(words) else ""


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
            raise _refuse(st.query, kind)
        if kind == "EXPLAIN":
            inner = _explained(st.query)
            try:
                inner_st = duckdb.extract_statements(inner)
            except duckdb.Error:
                inner_st = []
            if len(inner_st) != 1:
                raise _refuse(st.query, "EXPLAIN of an unrecognised statement")
            if inner_st[0].type.name != "SELECT":
                raise _refuse(st.query, f"EXPLAIN of {inner_st[0].type.name}")
        out.append(st.query)
    return out


def lock_down(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """No file outside config.query_allowed_dirs, no extension installed or loaded, and no
    setting changed afterwards: the guard holds even for SQL the statement check let through."""
    from pipelines.config import query_allowed_dirs

    dirs = [str(d).rstrip("/") + "/" for d in query_allowed_dirs(warehouse)]
    con.execute("set allowed_directories = ?", [dirs])
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


def _execute(
    con: duckdb.DuckDBPyConnection, statements: list[str], out: dict[str, Any]
) -> None:  # in the query thread
    try:
        cols: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for st in statements:
            cur = con.execute(st)
            cols = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        out["result"] = (cols, rows)
    except BaseException as exc:
        out["error"] = exc


def run_query(
    sql: str,
    warehouse: str | Path | None = None,
    wait_s: float = 30.0,
    timeout_s: float = 0.0,
    snapshot: str = "auto",
    live_s: float = LIVE_S,
    on_note: Any = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run read-only ``sql`` on the warehouse, opened read-only and locked down; the reader sees
    only committed batches (it waits up to ``wait_s`` while a writer commits).

    A read-only handle shares the file lock, so a writer cannot commit while it is open. With
    ``snapshot="auto"`` a query still running after ``live_s`` is moved to a private copy of the
    file taken under that same lock (the same committed state), and the lock is released: the
    writer goes on, the query sees one snapshot however long it runs. ``"always"`` copies first,
    ``"never"`` keeps the writer waiting. ``timeout_s`` > 0 stops the query (QueryStopped), as
    does Ctrl-C."""
    import shutil
    import threading

    from pipelines.store import connect
    from pipelines.store.db import copy_under_lock, disk_full

    note = on_note or (lambda _m: None)
    statements = check_read_only(sql)
    path = Path(warehouse) if warehouse else warehouse_path()
    from pipelines.lake import open_with_history  # sealed history + the local tail

    lake = open_with_history(path, wait_s)
    con = lake or connect(path, read_only=True, wait_s=wait_s)
    snap: Path | None = None
    started = time.monotonic()
    try:
        if lake is not None:
            # open_with_history already allows only the lake's data files and switched
            # external access off; a snapshot would lose the history views, so the query
            # stays on the live file (the follower waits for it: it never dies for a reader).
            con.execute("set autoinstall_known_extensions = false")
            con.execute("set autoload_known_extensions = false")
            con.execute("set lock_configuration = true")
            snapshot = "never"
        else:
            lock_down(con, path)
        out: dict[str, Any] = {}
        running: list[tuple[threading.Thread, duckdb.DuckDBPyConnection]] = []

        def start(c: duckdb.DuckDBPyConnection) -> None:
            t = threading.Thread(target=_execute, args=(c, statements, out), daemon=True)
            running.append((t, c))
            t.start()

        def stop_all() -> None:  # interrupt until the query thread has let go of its connection
            for t, c in running:
                while t.is_alive():
                    c.interrupt()
                    t.join(0.1)

        def move_to_snapshot() -> duckdb.DuckDBPyConnection | None:
            nonlocal snap
            try:
                snap = copy_under_lock(path)
            except Exception as exc:
                note(f"no snapshot ({exc}); the query keeps the live file, writers wait")
                return None
            c = connect(snap, read_only=True, wait_s=0)  # named as the warehouse is
            lock_down(c, path)
            return c

        moved = snapshot == "never"
        # Ctrl-C sets a flag the wait loop acts on: a KeyboardInterrupt raised in the middle of
        # a DuckDB call leaves that connection unusable (it cannot even be closed).
        ctrl_c = threading.Event()
        old_handler = None
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGINT, lambda _s, _f: ctrl_c.set())
        try:
            if snapshot == "always":
                c = move_to_snapshot()
                if c is not None:
                    con.close()
                    con = c
                moved = True
            start(con)
            while running[-1][0].is_alive():
                running[-1][0].join(0.05)
                if ctrl_c.is_set():
                    raise KeyboardInterrupt
                elapsed = time.monotonic() - started
                if timeout_s > 0 and elapsed >= timeout_s:
                    stop_all()
                    raise QueryStopped(
                        f"query stopped after {timeout_s:g} s (--timeout); narrow it (a "
                        "smaller range, a limit) or allow more with --timeout SECONDS (0: none)"
                    )
                if not moved and elapsed >= live_s:
                    moved = True
                    c = move_to_snapshot()
                    if c is not None:
                        stop_all()
                        if "result" in out:  # it finished meanwhile: the live answer stands
                            c.close()
                            break
                        con.close()  # the writer may commit from here on
                        con = c
                        out.clear()
                        note(f"long query: moved to a snapshot of {path.name} (writers go on)")
                        start(con)
        except KeyboardInterrupt:
            stop_all()
            raise QueryStopped("query stopped (Ctrl-C); the warehouse is unchanged") from None
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        if "error" in out:
            exc = out["error"]
            if isinstance(exc, duckdb.InterruptException):
                raise QueryStopped("query interrupted; the warehouse is unchanged") from None
            raise disk_full(exc, path) or exc
        result: tuple[list[str], list[tuple[Any, ...]]] = out["result"]
        return result
    finally:
        con.close()
        if snap is not None:
            shutil.rmtree(snap.parent, ignore_errors=True)


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
    timeout_s: float = typer.Option(
        600.0, "--timeout", help="Stop the query after this many seconds (0: never)."
    ),
    snapshot: str = typer.Option(
        "auto",
        "--snapshot",
        help=(
            f"auto: a query still running after {LIVE_S:g} s moves to a private copy of the "
            "warehouse so ingestion goes on; always: copy first; never: ingestion waits."
        ),
    ),
) -> None:
    """Run a read-only SQL query on the warehouse and print the result (safe while ingesting:
    a long query reads one snapshot and never stops `olw ingest --follow`). Files outside the
    warehouse, exports and lake folders are out of reach; Ctrl-C stops the query."""
    from pipelines.store import WarehouseError

    if snapshot not in ("auto", "always", "never"):
        typer.secho("error: --snapshot is auto, always or never", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)

    def note(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        cols, rows = run_query(sql, warehouse, wait_s, timeout_s, snapshot, on_note=note)
    except QueryRefused as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except QueryStopped as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(130 if "Ctrl-C" in str(exc) else 1) from None
    except WarehouseError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except duckdb.PermissionException as exc:
        typer.secho(
            f"error: {str(exc).strip().splitlines()[0]}. `olw query` reads only the warehouse, "
            "the exports and the lake folders, and installs or loads no extension.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None
    except duckdb.Error as exc:
        typer.secho(f"error: {str(exc).strip()}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # Ctrl-C before the query started (while waiting for the lock)
        typer.secho("error: stopped (Ctrl-C)", fg=typer.colors.RED, err=True)
        raise typer.Exit(130) from None
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


def verify(
    warehouse: Path | None = typer.Option(None, "--warehouse", help="Default: $OLW_WAREHOUSE."),
) -> None:
    """Check the warehouse without the node: every table reads back (block checksums), the
    journal's row counts, each log once, the parent-hash chain, cursors at a stored block, and
    decoded rows = logs − dead letters. Exits 1 when a check fails."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.store import WarehouseError
    from pipelines.store.verify import verify as run_verify

    path = warehouse or warehouse_path()
    try:
        checks = run_verify(path)
    except WarehouseError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    table = Table(title=f"verify {path}")
    for col in ("check", "result", "detail"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.name, "ok" if c.ok else "[red]FAILED[/red]", c.detail)
    Console(width=140).print(table)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        typer.secho(
            f"error: {len(failed)} check(s) failed: {', '.join(failed)}. Restore the warehouse "
            "from a backup, or move it aside and re-ingest (the node is the source of truth).",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


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
    # One rule for every command (dev, backfill, demo): --dagster-home, else $DAGSTER_HOME,
    # else the repo's dagster_home/.
    home = Path(
        dagster_home or os.environ.get("DAGSTER_HOME") or REPO_ROOT / "dagster_home"
    ).resolve()
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
    port: int = typer.Option(
        3000,
        "--port",
        "-p",
        envvar="OLW_DEV_PORT",
        help="Port of the UI on 127.0.0.1 (also $OLW_DEV_PORT; `make dev PORT=N`).",
    ),
    dagster_home: Path | None = typer.Option(
        None,
        "--dagster-home",
        help="Dagster instance folder (runs, schedules, event log). Default: $DAGSTER_HOME, "
        "else dagster_home/ in the repo; the same rule as olw demo and olw backfill.",
    ),
    automation: bool = typer.Option(
        False,
        "--automation",
        help="Start the devnet schedules and sensors running (OLW_AUTOMATION=on). Default: "
        "every schedule and sensor starts stopped, so opening the UI runs nothing.",
    ),
) -> None:
    """Start the Dagster UI and daemon (`dagster dev`) on http://127.0.0.1:PORT."""
    env = {"OLW_AUTOMATION": "on"} if automation else None
    proc = start_dagster_dev(port, dagster_home, env=env)
    typer.echo(f"Dagster UI: http://127.0.0.1:{port}  (Ctrl-C stops it)", err=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        typer.echo("stopping dagster dev …", err=True)
    finally:
        stop_process_group(proc)
    raise typer.Exit(proc.returncode or 0)


def backfill(
    network: str = typer.Option(
        "devnet-mainnet", "--network", help="Network name from schemas/networks.yaml."
    ),
    start: str = typer.Option(..., "--from", help="First UTC day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last UTC day, YYYY-MM-DD."),
    dagster_home: Path | None = typer.Option(
        None,
        "--dagster-home",
        help="Dagster instance to record the runs in. Default: $DAGSTER_HOME, else "
        "dagster_home/ in the repo (what `olw dev` shows).",
    ),
    parallel: int = typer.Option(
        0, "--parallel", help="Seal the final partitions into the lake instead, N at a time."
    ),
    rpc_wait_s: float = typer.Option(
        120.0, "--rpc-wait", help="Seconds to keep retrying an unreachable node before failing."
    ),
) -> None:
    """Ingest the block ranges covering these days, one Dagster run per block-range partition
    of the backfill job (recorded in dagster_home, visible in `olw dev`). With --parallel N,
    seal their finalized partitions into the Iceberg lake instead, N at a time (README,
    "Scaling out")."""
    from pipelines.chain import RetryPolicy, RpcClient, RpcError, RpcUnavailable
    from pipelines.config import get_network, redact_url
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
    url = net.rpc_url()
    rpc = RpcClient(url, RetryPolicy(deadline_s=rpc_wait_s))
    try:
        first = min((c.first_block for c in net.contracts), default=0)
        rng = block_range_for_dates(d0, d1, block_timestamp_reader(rpc), first, head_block(rpc))
    except (RpcUnavailable, RpcError) as exc:
        typer.secho(
            f"error: the {network} node at {redact_url(url)} is unreachable or failing, so the "
            f"days cannot be mapped to blocks: {exc}. Start the node (or fix "
            f"{net.rpc_url_env}), then rerun.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        rpc.close()
    if rng is None:
        typer.echo(f"{network} has no blocks on {start}..{end}", err=True)
        raise typer.Exit(0)
    if parallel > 0:
        from pipelines.defs.lake.run import backfill_parallel

        raise typer.Exit(backfill_parallel(net, rng[0], rng[1], parallel, dagster_home))
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
    app.command("verify")(verify)
    app.command("dev")(dev)
    app.command("backfill")(backfill)
