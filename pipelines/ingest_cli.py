"""``olw ingest`` and ``olw status``: fill the event store from a network's node, and look at it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.chain import RpcError, RpcUnavailable
from pipelines.config import ConfigError, load_networks, warehouse_path
from pipelines.store import WarehouseError

console = Console(stderr=True)


def _fail(exc: BaseException, code: int = 1) -> NoReturn:
    # escaped: a message may hold brackets (a path, a URL pattern) that rich reads as markup
    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def ingest(
    network: str = typer.Option(
        ..., "--network", "-n", help="Network name (schemas/networks.yaml)."
    ),
    from_block: int = typer.Option(
        None,
        "--from",
        help="First block (default: resume after the cursor, else the first contract block).",
    ),
    to_block: int = typer.Option(None, "--to", help="Last block (default: the current head)."),
    follow: bool = typer.Option(False, "--follow", help="Keep following the head (Ctrl-C stops)."),
    warehouse: Path = typer.Option(None, help="Warehouse file (default: $OLW_WAREHOUSE)."),
    rebuild_decoded: bool = typer.Option(
        False, "--rebuild-decoded", help="Drop decoded.* and rebuild them from the raw tables."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    allow_deep_reorg: bool = typer.Option(
        False,
        "--allow-deep-reorg",
        help="Retract blocks that were final when ingested, if the node's chain left ours "
        "below them (refused by default: a deep reorg or a node of another chain).",
    ),
) -> None:
    """Ingest a network's contract logs (+ blocks, receipts) into the event store, decoded."""
    from pipelines.ingest import BadRange, check_range, ingest_range
    from pipelines.ingest import Progress as P
    from pipelines.ingest import rebuild_decoded as rebuild

    if follow and to_block is not None:
        _fail(ValueError("--to and --follow exclude each other"), 2)
    try:
        check_range(from_block, to_block)
    except BadRange as exc:
        _fail(exc, 2)
    path = warehouse or warehouse_path()
    if rebuild_decoded:
        try:
            res = rebuild(path)
        except (ConfigError, WarehouseError) as exc:
            _fail(exc, 2)
        console.print(
            f"rebuilt decoded tables: {res['decoded']:,} rows, {res['dead_letters']:,} dead letters"
        )
        return
    stopping = {"flag": False}

    def on_sigint(signum: int, frame: Any) -> None:
        if stopping["flag"]:
            raise KeyboardInterrupt
        stopping["flag"] = True
        console.print("stopping after the current batch (Ctrl-C again to abort)")

    old = signal.signal(signal.SIGINT, on_sigint)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    task = bar.add_task(
        network, total=None, stats=f"connecting: node, then the warehouse {path.name}…"
    )
    last: dict[str, float] = {"t": time.monotonic(), "blocks": 0, "logs": 0}

    def on_progress(p: P) -> None:
        now = time.monotonic()
        dt = max(1e-6, now - last["t"]) if p.event == "commit" else 0
        bps = (p.blocks_done - last["blocks"]) / dt if dt else 0.0
        lps = (p.logs_done - last["logs"]) / dt if dt else 0.0
        if p.event == "commit":
            last.update(t=now, blocks=p.blocks_done, logs=p.logs_done)
        cur = -1 if p.cursor is None else p.cursor
        if p.event == "receipts":  # the receipts stream catching up with the logs cursor
            bar.update(
                task,
                total=max(1, p.target + 1),
                completed=max(0, cur + 1),
                stats=f"receipts up to block {cur:,} of {p.target:,}  logs {p.logs_done:,}",
            )
            return
        lag = max(0, p.head - cur)
        state = {"commit": "", "idle": " following", "reorg": " [yellow]reorg handled[/yellow]"}
        bar.update(
            task,
            total=max(1, p.target + 1),
            completed=max(0, cur + 1),
            stats=(
                f"block {cur:,}  {bps:,.0f} blocks/s  {lps:,.0f} logs/s  lag {lag:,}  "
                f"finalized {p.finalized:,}  logs {p.logs_done:,}{state[p.event]}"
            ),
        )

    try:
        with bar:
            summary = ingest_range(
                network,
                from_block,
                to_block,
                path,
                on_progress,
                follow=follow,
                stop=lambda: stopping["flag"],
                allow_deep_reorg=allow_deep_reorg,
                # a follower never dies because someone reads: it waits (reported every 10 s)
                lock_wait_s=float("inf") if follow else 30.0,
            )
    except (ConfigError, BadRange) as exc:
        _fail(exc, 2)
    except (RpcUnavailable, RpcError, WarehouseError) as exc:
        _fail(exc, 1)
    except KeyboardInterrupt:
        _fail(RuntimeError("aborted; the last committed batch is kept, rerun to resume"), 130)
    finally:
        signal.signal(signal.SIGINT, old)
    if summary.cursor is None and summary.commits == 0 and summary.start > summary.head >= 0:
        from pipelines.config import contracts_dir

        _fail(  # nothing ingested because there is nothing yet: say so, do not exit 0 silently
            ValueError(
                f"{network}: first_block {summary.start:,} (the lowest in "
                f"{contracts_dir() / (network + '.json')}) is above the node's head "
                f"{summary.head:,}: nothing to ingest. Check first_block, or that the RPC URL "
                "points at the right chain."
            ),
            1,
        )
    t = Table(title=f"ingest {network}", show_header=False)
    for k, v in (
        ("chain id", summary.chain_id),
        ("cursor (last block)", summary.cursor),
        ("head / finalized", f"{summary.head:,} / {summary.finalized:,}"),
        ("blocks", f"{summary.blocks:,}"),
        ("logs", f"{summary.logs:,}"),
        ("receipts", f"{summary.receipts:,}"),
        ("decoded rows", f"{summary.decoded:,}"),
        ("dead letters", f"{summary.dead_letters:,}"),
        ("reorgs handled", f"{summary.reorgs} ({summary.retracted_blocks} blocks retracted)"),
        ("commits", summary.commits),
        ("elapsed", f"{summary.elapsed_s:.1f} s ({summary.logs_per_s:,.0f} logs/s)"),
        (
            "rpc",
            f"{summary.rpc.get('requests', 0):,} requests, "
            f"{summary.rpc.get('retries', 0)} retries, {summary.rpc.get('too_much', 0)} "
            "range splits",
        ),
    ):
        t.add_row(k, str(v))
    Console().print(t)


def status(
    warehouse: Path = typer.Option(None, help="Warehouse file (default: $OLW_WAREHOUSE)."),
    network: str = typer.Option(None, "--network", "-n", help="Only this network."),
    offline: bool = typer.Option(False, "--offline", help="Do not ask the nodes for their head."),
) -> None:
    """Per network: cursor, head, finalized head, lag, rows per table, dead letters, last reorg."""
    from pipelines.store import connect

    path = warehouse or warehouse_path()
    try:
        con = connect(path, read_only=True, wait_s=10)
    except WarehouseError as exc:
        _fail(exc, 1)
    try:
        nets = con.execute(
            "select n.network, n.chain_id, c.block_number, c.updated_at, r.block_number "
            "from raw.networks n left join raw.cursors c on c.network = n.network "
            "and c.stream = 'logs' left join raw.cursors r on r.network = n.network "
            "and r.stream = 'receipts' order by n.network"
        ).fetchall()
        counts: dict[tuple[str, int], int] = {}
        tables = [
            ("raw", x) for x in ("blocks", "logs", "transactions", "receipts", "dead_letters")
        ]
        tables += [
            ("decoded", x)
            for (x,) in con.execute(
                "select table_name from information_schema.tables where table_schema = "
                "'decoded' order by 1"
            ).fetchall()
        ]
        for schema, x in tables:
            for cid, n in con.execute(
                f"select chain_id, count(*) from {schema}.{x} group by 1"
            ).fetchall():
                counts[(f"{schema}.{x}", int(cid))] = int(n)
        health: dict[tuple[str, str], tuple[Any, ...]] = {}
        if con.execute(
            "select 1 from information_schema.tables where table_schema = 'raw' "
            "and table_name = 'ingest_health'"
        ).fetchall():
            for n, stream, *rest in con.execute(
                "select network, stream, ok_at, error_at, error_kind, error, fix "
                "from raw.ingest_health"
            ).fetchall():
                health[(n, stream)] = tuple(rest)
        reorgs = {
            (r[0]): r[1:]
            for r in con.execute(
                "select network, max(recorded_at), count(*), arg_max(from_block, recorded_at), "
                "arg_max(to_block, recorded_at) from raw.ingest_journal "
                "where action = 'retract' group by 1"
            ).fetchall()
        }
        deep = {  # deep reorgs: refused (nothing retracted) or allowed by --allow-deep-reorg
            r[0]: r[1:]
            for r in con.execute(
                "select network, count(*), arg_max(action, journal_id), "
                "max(recorded_at), arg_max(detail, journal_id) from raw.ingest_journal "
                "where action = 'reorg_refused' or (action = 'retract' "
                "and starts_with(detail, 'deep reorg')) group by 1"
            ).fetchall()
        }
    finally:
        con.close()
    if not nets:
        console.print(f"warehouse {path} holds no network yet; run `olw ingest --network NAME`")
        return
    configured = load_networks()
    out = Console()
    for name, cid, cur, updated, rcur in nets:
        if network and name != network:
            continue
        head = fin = None
        node = "not asked (--offline)"
        if not offline and name in configured:
            head, fin, node = _heads(configured[name])
        t = Table(title=f"{name} (chain id {cid})", show_header=False)
        t.add_row(
            "cursor", "none" if cur is None else f"{cur:,} (updated {updated:%Y-%m-%d %H:%M:%S})"
        )
        if rcur != cur:
            behind = (cur if cur is not None else -1) - (rcur if rcur is not None else -1)
            t.add_row(
                "receipts cursor",
                f"{'none' if rcur is None else f'{rcur:,}'} ({behind:,} blocks behind the logs)",
            )
        t.add_row("node", node)
        lag = None
        if head is not None:
            lag = head - (cur if cur is not None else -1)
            t.add_row("head / finalized", f"{head:,} / {fin:,}")
            t.add_row("lag", f"{lag:,} blocks")
        for stream, state in _stream_states(name, cur, rcur, lag, health):
            t.add_row(f"{stream} stream", state)
        if name in reorgs:
            at, n, fb, tb = reorgs[name]
            t.add_row(
                "last reorg", f"{at:%Y-%m-%d %H:%M:%S}: retracted {fb:,}..{tb:,} ({n} in all)"
            )
        else:
            t.add_row("last reorg", "none")
        if name in deep:
            n, action, at, detail = deep[name]
            verb = "REFUSED" if action == "reorg_refused" else "allowed"
            t.add_row(
                "[bold red]deep reorg[/bold red]",
                f"[bold red]{verb}[/bold red] {at:%Y-%m-%d %H:%M:%S} ({n} in all): {detail}",
            )
        for schema, tn in tables:
            key = f"{schema}.{tn}"
            t.add_row(key, f"{counts.get((key, int(cid)), 0):,}")
        out.print(t)


def _stream_states(
    network: str,
    cur: int | None,
    rcur: int | None,
    lag: int | None,
    health: dict[tuple[str, str], tuple[Any, ...]],
) -> list[tuple[str, str]]:
    """Per stream: failing (since when, the last error, the fix), behind, or up to date."""
    again = f"olw ingest --network {network}"
    out = []
    for stream in ("logs", "receipts"):
        ok_at, error_at, kind, error, fix = health.get((network, stream), (None,) * 5)
        if error_at is not None and (ok_at is None or error_at > ok_at):
            out.append(
                (
                    stream,
                    f"[red]FAILING[/red] since {error_at:%Y-%m-%d %H:%M:%S}: "
                    f"{escape(f'{kind}: {error}')}\n  fix: {escape(fix or again)}",
                )
            )
        elif stream == "logs" and lag:
            out.append((stream, f"behind the head by {lag:,} blocks; run `{again}` (or --follow)"))
        elif stream == "receipts" and rcur != cur:
            out.append((stream, f"behind the logs; run `{again}` to catch it up"))
        elif lag is not None or stream == "receipts":
            out.append((stream, "up to date" if lag is not None else "caught up with the logs"))
    return out


def _heads(net: Any) -> tuple[int | None, int | None, str]:
    from pipelines.chain import ChainReader, RetryPolicy, RpcClient
    from pipelines.config import redact_url

    try:
        url = net.rpc_url()
    except ConfigError as exc:
        return None, None, str(exc)
    if net.is_devnet and not os.environ.get(net.rpc_url_env):
        # The ports `olw devnet up` chose (its nodes.json), as `olw devnet status` reports them.
        from pipelines.devnet.nodes import running_url

        url = running_url(net.name) or url
    rpc = RpcClient(url, RetryPolicy(timeout_s=3, deadline_s=3))
    try:
        reader = ChainReader(net, rpc, [])
        head = reader.head()
        return head, reader.finalized(head), f"{redact_url(url)} answers"
    except Exception as exc:
        return None, None, f"{redact_url(url)} unreachable after 3 s ({type(exc).__name__})"
    finally:
        rpc.close()


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("status")(status)
