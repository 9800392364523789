"""``olw metrics``, ``olw export`` and ``olw report``: build the three answers, ship them as
parquet, and show them as an HTML report."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

import duckdb
import typer
from rich.console import Console

from pipelines.config import REPO_ROOT, ConfigError, warehouse_path

console = Console(stderr=True)


def _fail(exc: BaseException, code: int = 1) -> NoReturn:
    console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _cannot_write(path: Path, exc: BaseException, what: str) -> Exception:
    """The clear error for an output that cannot be written (full, read-only, in the way)."""
    import errno

    from pipelines.store.db import disk_full

    full = disk_full(exc, path)
    if full is not None:
        return full
    reasons = {
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a file is in the way",
        errno.EISDIR: "it is a folder",
    }
    code = getattr(exc, "errno", None)
    reason = reasons.get(code, "") if code is not None else ""
    if not reason:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = "the file system is read-only" if "Read-only file system" in msg else msg
    return ValueError(
        f"cannot write {what} to {path}: {reason}. Choose another --out, or fix that folder; "
        "the warehouse is unchanged."
    )


def _writable(folder: Path, what: str) -> None:
    """Fail before any work when ``folder`` cannot take files."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".olw-write-probe-"):
            pass
    except OSError as exc:
        _fail(_cannot_write(folder, exc, what), 2)


def metrics(
    full: bool = typer.Option(False, "--full", help="Recompute every day from scratch."),
    warehouse: Path = typer.Option(None, help="Warehouse file (default: $OLW_WAREHOUSE)."),
) -> None:
    """Bring the metrics marts (schema `metrics`) up to date; only days with new or retracted
    data are recomputed unless --full."""
    from pipelines.metrics.incremental import update
    from pipelines.store import WarehouseError, connect

    try:
        conn = connect(warehouse or warehouse_path(), read_only=False, wait_s=60)
    except WarehouseError as exc:
        _fail(exc, 2)
    from pipelines.progress import Progress

    try:
        # One long transaction without a count to report: the heartbeat shows it is alive.
        with Progress(f"metrics ({'full' if full else 'incremental'}): updating the marts"):
            res = update(conn, full=full)
    except ConfigError as exc:
        _fail(exc, 2)
    finally:
        conn.close()
    console.print(
        f"metrics {res.mode}: {res.dirty_days} day(s) recomputed, {res.class_days} in the "
        f"class marts, {res.changed_callers} caller(s) changed class"
        + (f", retractions on {res.retracted}" if res.retracted else "")
        + f" in {res.seconds:.2f}s"
    )


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(ValueError(f"--since {value!r} is not a date; use YYYY-MM-DD"), 2)


def export(
    dataset: list[str] = typer.Option(
        None, "--dataset", "-d", help="Dataset to export (repeatable; default: all)."
    ),
    since: str = typer.Option(None, "--since", help="First day to export (YYYY-MM-DD)."),
    out: Path = typer.Option(REPO_ROOT / "exports", "--out", help="Export root folder."),
    warehouse: Path = typer.Option(None, help="Warehouse file (default: $OLW_WAREHOUSE)."),
) -> None:
    """Write finalized data as parquet, one file per chain and month
    (exports/<dataset>/chain-<id>/<YYYY-MM>/part-0.parquet), and the answers (callers, model
    economics, Datanet payouts, unlock calendar) as snapshots; each dataset has a
    _manifest.json."""
    from pipelines.export import DATASETS, ExportError
    from pipelines.export import export as run_export
    from pipelines.store import WarehouseError, connect

    unknown = [d for d in dataset or [] if d not in DATASETS]
    if unknown:
        _fail(
            ValueError(
                f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(DATASETS))}"
            ),
            2,
        )
    _writable(out, "the exports")
    try:
        conn = connect(warehouse or warehouse_path(), read_only=True, wait_s=60)
    except WarehouseError as exc:
        _fail(exc, 2)
    from pipelines.progress import Progress

    prog = Progress("export", unit="partitions")

    def on_dataset(name: str, i: int, n: int) -> None:
        prog.update(stage=f"export {i + 1}/{n} {name}", done=0, detail="querying")

    def on_partition(name: str, done: int, total: int) -> None:
        prog.update(done=done, total=total, detail="writing")

    try:
        with prog:
            results = run_export(
                conn,
                out,
                list(dataset) if dataset else None,
                _parse_day(since),
                on_progress=on_partition,
                on_dataset=on_dataset,
            )
    except ExportError as exc:
        _fail(exc, 2)
    except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
        _fail(_cannot_write(out, exc, "the exports"), 2)
    finally:
        conn.close()
    if not any(r.partitions for r in results):
        console.print(
            "nothing finalized to export yet (no day lies entirely below the "
            "finalized block); ingest more, or wait for finality"
        )
    for r in results:
        console.print(
            f"{r.dataset}: {len(r.partitions)} partition(s), {r.rows:,} rows "
            f"({r.written} written, {r.unchanged} unchanged) → {out / r.dataset}"
        )
    if results:
        console.print(
            f"wrote {sum(r.written for r in results)} file(s) under {out} "
            f"({sum(r.rows for r in results):,} rows; each dataset has a _manifest.json)"
        )


def report(
    out: Path = typer.Option(REPO_ROOT / "reports" / "report.html", "--out", help="HTML file."),
    warehouse: Path = typer.Option(None, help="Warehouse file (default: $OLW_WAREHOUSE)."),
) -> None:
    """Write the self-contained HTML report (charts + key numbers; opens offline)."""
    from pipelines.progress import Progress

    _writable(out.parent, "the report")
    # The progress line starts before the imports (plotly, DuckDB) and the connect wait.
    prog = Progress("report", unit="steps", rate=False, detail="loading")
    with prog:
        from pipelines.report import ReportError, write_report
        from pipelines.store import WarehouseError, connect

        prog.update(detail="opening the warehouse")
        try:
            conn = connect(warehouse or warehouse_path(), read_only=True, wait_s=60)
        except WarehouseError as exc:
            prog.close()
            _fail(exc, 2)
        try:
            path = write_report(
                conn, out, on_step=lambda step, i, n: prog.update(done=i, total=n, detail=step)
            )
        except ReportError as exc:
            prog.close()
            _fail(exc, 2)
        except (OSError, duckdb.IOException) as exc:
            prog.close()
            _fail(_cannot_write(out, exc, "the report"), 2)
        finally:
            conn.close()
    size = path.stat().st_size / 1e6
    console.print(f"report written: {path} ({size:.1f} MB; open it in a browser, works offline)")


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
    app.command("export")(export)
    app.command("report")(report)
