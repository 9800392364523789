"""Finalized data as parquet partitioned by chain and month, with a manifest.

Layout: ``<out>/<dataset>/chain-<id>/<YYYY-MM>/part-0.parquet`` for the daily marts and the
event tables, ``<out>/<dataset>/chain-<id>/part-0.parquet`` for the answers (one row per caller,
model, Datanet contributor; a snapshot of the current answer), plus
``<out>/<dataset>/_manifest.json`` (schema, one entry per partition with its row count, bytes
and sha256). Only days whose every block is at or below the chain's finalized block (the ingest
journal's latest `finalized_block`) are written; a month still receiving final days is
rewritten as it fills. Files are written into a staging folder and renamed into place; a
partition whose content is unchanged is left alone, so re-exporting is idempotent.

The partition columns (``chain_id`` UINTEGER, ``month`` DATE) are stored *in the files* and the
folders are not named ``key=value``: DuckDB, polars and pyarrow then read the same column types
from the files (hive folder names are typed by each engine's own guess: pyarrow reads a date as
a string and a chain id as int32, DuckDB and polars as BIGINT/DATE).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.metrics.common import table_exists


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    day_expr: str | None  # SQL giving the day of a row; None: a snapshot (no time partition)
    order_by: str
    doc: str

    @property
    def snapshot(self) -> bool:
        return self.day_expr is None


# Called as (dataset, partitions done, partitions total) while partitions are written.
OnProgress = Callable[[str, int, int], None]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "inference_daily",
            "metrics.inference_daily",
            "day",
            "model_id, traffic_class",
            "inference volume per model and traffic class",
        ),
        Dataset(
            "dapp_daily",
            "metrics.dapp_daily",
            "day",
            "dapp_address, traffic_class",
            "inference volume per dApp and traffic class",
        ),
        Dataset(
            "model_payouts_daily",
            "metrics.model_payouts_daily",
            "day",
            "model_id",
            "fee income, its split and the owner's gas per model",
        ),
        Dataset(
            "contributor_payouts_daily",
            "metrics.contributor_payouts_daily",
            "day",
            "model_id, datanet_id, contributor_address",
            "rewards per data contributor",
        ),
        Dataset(
            "supply_daily",
            "metrics.supply_daily",
            "day",
            "day",
            "circulating supply, schedule and pressure",
        ),
        Dataset(
            "transfer_activity_daily",
            "metrics.transfer_activity_daily",
            "day",
            "day",
            "OPEN transfer volume and exchange flows",
        ),
        Dataset(
            "inference_requested",
            "decoded.inference_market__inference_requested",
            "block_timestamp::DATE",
            "block_number, log_index",
            "InferenceRequested events",
        ),
        Dataset(
            "attribution_recorded",
            "decoded.attribution_engine__attribution_recorded",
            "block_timestamp::DATE",
            "block_number, log_index",
            "AttributionRecorded events",
        ),
        Dataset(
            "transfers",
            "decoded.open_token__transfer",
            "block_timestamp::DATE",
            "block_number, log_index",
            "OPEN Transfer events",
        ),
        # The answers: one row per caller / model / contributor, a snapshot of the current
        # answer over every ingested block (the manifest records the finalized day).
        Dataset(
            "callers",
            "metrics.callers",
            None,
            "caller_address",
            "every caller with its label (real / noise) and the reasons (answer 1)",
        ),
        Dataset(
            "model_economics",
            "metrics.model_economics",
            None,
            "model_id",
            "per model: fee income and its split, the owner's gas, net, break-even (answer 2)",
        ),
        Dataset(
            "datanet_payouts",
            "metrics.datanet_payouts",
            None,
            "datanet_id, contributor_address",
            "rewards per Datanet and contributor, lifetime (answer 2)",
        ),
        Dataset(
            "unlock_calendar",
            "metrics.unlock_calendar",
            None,
            "bucket, unlock_date",
            "the configured unlock schedule per bucket and date (answer 3)",
        ),
    )
}


class ExportError(Exception):
    """An export cannot run; the message says what to do."""


@dataclass
class ExportResult:
    dataset: str
    written: int = 0
    unchanged: int = 0
    rows: int = 0
    partitions: list[str] = field(default_factory=list)


def finalized_before(conn: duckdb.DuckDBPyConnection) -> dict[int, date]:
    """Per chain, the first day that is not entirely finalized: days before it are final.

    The finalized block comes from the latest ingest-journal entry of each chain; the day it
    falls in may still get blocks, so it and later days are left out."""
    if not table_exists(conn, "raw.ingest_journal") or not table_exists(conn, "raw.blocks"):
        return {}
    rows = conn.execute(
        """
        with fin as (
            select chain_id, arg_max(finalized_block, journal_id) as finalized_block
            from raw.ingest_journal where finalized_block is not null group by chain_id
        )
        select f.chain_id, max(b.block_timestamp)::DATE
        from fin f join raw.blocks b
            on b.chain_id = f.chain_id and b.block_number <= f.finalized_block
        group by f.chain_id
        """
    ).fetchall()
    return {int(c): d for c, d in rows if d is not None}


def _export_columns(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """Select list for the files: 128-bit integers become DECIMAL(38,0), which every reader
    understands (DuckDB would otherwise write them as DOUBLE); chain_id stays UINTEGER."""
    schema, name = table.split(".", 1)
    out = []
    for col, typ in conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall():
        q = f'"{col}"'
        if typ in ("HUGEINT", "UHUGEINT"):
            out.append(f"{q}::DECIMAL(38,0) as {q}")
        elif typ in ("HUGEINT[]", "UHUGEINT[]"):
            out.append(f"{q}::DECIMAL(38,0)[] as {q}")
        else:
            out.append(q)
    return ", ".join(out)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _has_chain(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".", 1)
    return bool(
        conn.execute(
            "select count(*) from information_schema.columns where table_schema = ? "
            "and table_name = ? and column_name = 'chain_id'",
            [schema, name],
        ).fetchall()[0][0]
    )


def _drop_old_layout(target: Path) -> None:
    """Exports before the month layout wrote ``chain_id=<id>/date=<day>/`` folders: remove them,
    or a reader globbing ``**/*.parquet`` would count those rows twice."""
    for old in target.glob("chain_id=*"):
        if old.is_dir():
            shutil.rmtree(old)


def export_dataset(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    out_dir: Path,
    since: date | None = None,
    final_before: dict[int, date] | None = None,
    on_progress: OnProgress | None = None,
) -> ExportResult:
    if dataset not in DATASETS:
        raise ExportError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(DATASETS))}")
    ds = DATASETS[dataset]
    result = ExportResult(dataset)
    if not table_exists(conn, ds.table):
        raise ExportError(
            f"{ds.table} does not exist in this warehouse: ingest first (olw ingest) and build "
            "the metrics (olw metrics) before exporting"
        )
    fin = finalized_before(conn) if final_before is None else final_before
    if not fin:
        return result
    chained = _has_chain(conn, ds.table)
    if ds.day_expr is not None:
        cond = " or ".join(
            f"(chain_id = {c} and {ds.day_expr} < DATE '{d}')" for c, d in fin.items()
        )
        if since is not None:
            # Whole months only: a partition is always every final day of its month.
            cond = f"({cond}) and {ds.day_expr} >= date_trunc('month', DATE '{since}')"
    elif chained:
        cond = f"chain_id in ({', '.join(str(c) for c in fin)})"
    else:
        cond = "true"
    target = out_dir / dataset
    target.mkdir(parents=True, exist_ok=True)
    _drop_old_layout(target)
    staging = target / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        cols = _export_columns(conn, ds.table)
        n = conn.execute(f"select count(*) from {ds.table} where {cond}").fetchall()[0][0]
        if n == 0:
            return result
        keys = (["chain_id"] if chained else []) + (["month"] if ds.day_expr else [])
        month = f"date_trunc('month', {ds.day_expr})::DATE as \"month\", " if ds.day_expr else ""
        order = ", ".join([*keys, ds.order_by])
        select = f"select {month}{cols} from {ds.table} where {cond} order by {order}"
        if keys:
            conn.execute(
                f"""copy ({select}) to '{staging}' (format parquet,
                    partition_by ({", ".join(keys)}), write_partition_columns true,
                    filename_pattern 'part-{{i}}', compression zstd)"""
            )
        else:
            single = staging / "part-0.parquet"
            conn.execute(f"copy ({select}) to '{single}' (format parquet, compression zstd)")
        manifest_path = target / "_manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        old_parts = {p["path"]: p for p in manifest.get("partitions", [])}
        parts = {} if ds.snapshot else dict(old_parts)
        files = sorted(staging.rglob("*.parquet"))
        for i, f in enumerate(files):
            rel_staged = f.relative_to(staging).as_posix().split("/")
            entry: dict[str, object] = {}
            folders = []
            for seg in rel_staged[:-1]:
                key, _, value = seg.partition("=")
                if key == "chain_id":
                    entry["chain_id"] = int(value)
                    folders.append(f"chain-{value}")
                elif key == "month":
                    entry["month"] = value[:7]
                    folders.append(value[:7])
            rel = "/".join([*folders, rel_staged[-1]])
            dest = target / rel
            digest = _sha256(f)
            rows = conn.execute(f"select count(*) from read_parquet('{f}')").fetchall()[0][0]
            entry.update(
                {"path": rel, "rows": int(rows), "bytes": f.stat().st_size, "sha256": digest}
            )
            result.rows += int(rows)
            result.partitions.append(rel)
            if dest.exists() and _sha256(dest) == digest:
                result.unchanged += 1
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)  # atomic on one filesystem: readers never see half a file
                result.written += 1
            parts[rel] = entry
            if on_progress is not None:
                on_progress(dataset, i + 1, len(files))
        if ds.snapshot:
            # A snapshot replaces the previous one: partitions it no longer has are removed.
            for rel in set(old_parts) - set(parts):
                (target / rel).unlink(missing_ok=True)
        schema = conn.execute(f"describe {select} limit 0").fetchall()
        partition_columns = [{"name": "chain_id", "type": "UINTEGER"}] if chained else []
        if ds.day_expr:
            partition_columns.append({"name": "month", "type": "DATE"})
        layout = "/".join(
            (["chain-<chain_id>"] if chained else [])
            + (["<YYYY-MM>"] if ds.day_expr else [])
            + ["part-<n>.parquet"]
        )
        new_manifest = {
            "dataset": dataset,
            "source_table": ds.table,
            "description": ds.doc,
            "layout": layout + " (partition columns are stored in the files)",
            "kind": "snapshot" if ds.snapshot else "daily",
            "finalized_before": {str(c): str(d) for c, d in sorted(fin.items())},
            "partition_columns": partition_columns,
            "columns": [{"name": r[0], "type": r[1]} for r in schema],
            "total_rows": sum(int(p["rows"]) for p in parts.values()),  # type: ignore[call-overload]
            "partitions": [parts[k] for k in sorted(parts)],
        }
        if ds.snapshot:
            new_manifest["note"] = (
                "a snapshot of the current answer, computed over every ingested block (also "
                "the not yet finalized ones); daily datasets hold finalized days only"
            )
        text = json.dumps(new_manifest, indent=1, sort_keys=True) + "\n"
        if not manifest_path.exists() or manifest_path.read_text() != text:
            tmp = target / f"._manifest.json.{os.getpid()}"
            tmp.write_text(text)
            os.replace(tmp, manifest_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def export(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    datasets: list[str] | None = None,
    since: date | None = None,
    final_before: dict[int, date] | None = None,
    on_progress: OnProgress | None = None,
    on_dataset: Callable[[str, int, int], None] | None = None,
) -> list[ExportResult]:
    """Export the given datasets (default: every dataset whose table exists).

    ``on_dataset(name, index, count)`` is called before each dataset, ``on_progress`` per
    partition written."""
    names = datasets or [n for n, d in DATASETS.items() if table_exists(conn, d.table)]
    fin = finalized_before(conn) if final_before is None else final_before
    out = []
    for i, n in enumerate(names):
        if on_dataset is not None:
            on_dataset(n, i, len(names))
        out.append(export_dataset(conn, n, out_dir, since, fin, on_progress))
    return out
