"""Finalized data as hive-partitioned parquet with a manifest.

Layout: ``<out>/<dataset>/chain_id=<id>/date=<day>/part-0.parquet`` plus
``<out>/<dataset>/_manifest.json`` (schema, one entry per partition with its row count, bytes
and sha256). Only days whose every block is at or below the chain's finalized block (the ingest
journal's latest `finalized_block`) are written. Files are written into a staging folder and
renamed into place; a partition whose content is unchanged is left alone, so re-exporting is
idempotent (same files, same manifest). Partition columns live in the path, not in the files,
so DuckDB, polars and pyarrow read the folder as-is with hive partitioning.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.metrics.common import table_exists


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    day_expr: str  # SQL giving the partition date of a row
    order_by: str
    doc: str


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
    understands (DuckDB would otherwise write them as DOUBLE)."""
    schema, name = table.split(".", 1)
    out = []
    for col, typ in conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall():
        if col == "chain_id":
            continue
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


def export_dataset(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    out_dir: Path,
    since: date | None = None,
    final_before: dict[int, date] | None = None,
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
    cond = " or ".join(f"(chain_id = {c} and {ds.day_expr} < DATE '{d}')" for c, d in fin.items())
    if since is not None:
        cond = f"({cond}) and {ds.day_expr} >= DATE '{since}'"
    target = out_dir / dataset
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        cols = _export_columns(conn, ds.table)
        n = conn.execute(f"select count(*) from {ds.table} where {cond}").fetchall()[0][0]
        if n == 0:
            return result
        conn.execute(
            f"""copy (select chain_id, {ds.day_expr} as "date", {cols} from {ds.table}
                      where {cond} order by chain_id, "date", {ds.order_by})
                to '{staging}' (format parquet, partition_by (chain_id, "date"),
                    filename_pattern 'part-{{i}}', compression zstd)"""
        )
        manifest_path = target / "_manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        parts = {p["path"]: p for p in manifest.get("partitions", [])}
        for f in sorted(staging.rglob("*.parquet")):
            rel = f.relative_to(staging).as_posix()
            dest = target / rel
            digest = _sha256(f)
            rows = conn.execute(f"select count(*) from read_parquet('{f}')").fetchall()[0][0]
            chain_part, date_part = rel.split("/")[:2]
            entry = {
                "path": rel,
                "chain_id": int(chain_part.split("=", 1)[1]),
                "date": date_part.split("=", 1)[1],
                "rows": int(rows),
                "bytes": f.stat().st_size,
                "sha256": digest,
            }
            result.rows += int(rows)
            result.partitions.append(rel)
            if dest.exists() and _sha256(dest) == digest:
                result.unchanged += 1
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)  # atomic on one filesystem: readers never see half a file
                result.written += 1
            parts[rel] = entry
        schema = conn.execute(f"describe select {cols} from {ds.table} limit 0").fetchall()
        new_manifest = {
            "dataset": dataset,
            "source_table": ds.table,
            "description": ds.doc,
            "layout": "chain_id=<id>/date=<YYYY-MM-DD>/part-<n>.parquet (hive)",
            "partition_columns": [
                {"name": "chain_id", "type": "UINTEGER"},
                {"name": "date", "type": "DATE"},
            ],
            "columns": [{"name": r[0], "type": r[1]} for r in schema],
            "total_rows": sum(p["rows"] for p in parts.values()),
            "partitions": [parts[k] for k in sorted(parts)],
        }
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
) -> list[ExportResult]:
    """Export the given datasets (default: every dataset whose table exists)."""
    names = datasets or [n for n, d in DATASETS.items() if table_exists(conn, d.table)]
    fin = finalized_before(conn) if final_before is None else final_before
    return [export_dataset(conn, n, out_dir, since, fin) for n in names]
