from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl
import pyarrow.dataset as pads
import pytest

from pipelines.export import ExportError, export
from pipelines.metrics import synthetic
from tests.metrics.conftest import run

FINAL = {1612: date(2025, 9, 20), 161201: date(2025, 9, 20)}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    conn = duckdb.connect(str(tmp_path_factory.mktemp("exp") / "w.duckdb"))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=6_000, days=20))
    run(conn, world)
    yield conn
    conn.close()


def _snapshot(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_export_is_hive_partitioned_finalized_and_idempotent(store, tmp_path):
    first = export(store, tmp_path, final_before=FINAL)
    assert {r.dataset for r in first} >= {"inference_daily", "supply_daily", "transfers"}
    assert all(r.written > 0 for r in first)
    files = sorted(tmp_path.glob("inference_daily/chain_id=*/date=*/part-*.parquet"))
    assert files
    assert all(f.parent.name < "date=2025-09-20" for f in files)  # only finalized days
    before = _snapshot(tmp_path)
    again = export(store, tmp_path, final_before=FINAL)
    assert all(r.written == 0 and r.unchanged > 0 for r in again)
    assert _snapshot(tmp_path) == before
    assert not list(tmp_path.rglob(".staging-*"))
    manifest = json.loads((tmp_path / "inference_daily" / "_manifest.json").read_text())
    expected = store.execute(
        "select count(*) from metrics.inference_daily where day < DATE '2025-09-20'"
    ).fetchall()[0][0]
    assert manifest["total_rows"] == expected
    assert all(len(p["sha256"]) == 64 for p in manifest["partitions"])
    assert {c["name"] for c in manifest["columns"]} >= {"fee_wei", "traffic_class"}


def test_export_since_and_unknown_dataset(store, tmp_path):
    res = export(store, tmp_path, ["supply_daily"], since=date(2025, 9, 15), final_before=FINAL)
    days = {
        p["date"]
        for p in json.loads((tmp_path / "supply_daily" / "_manifest.json").read_text())[
            "partitions"
        ]
    }
    assert res[0].rows > 0 and min(days) == "2025-09-15"
    with pytest.raises(ExportError, match="unknown dataset"):
        export(store, tmp_path, ["nope"], final_before=FINAL)
    # Without a finalized block nothing is exported.
    assert export(store, tmp_path / "none", ["supply_daily"], final_before={})[0].rows == 0


def test_export_reads_with_duckdb_polars_and_pyarrow(store, tmp_path):
    export(store, tmp_path, ["inference_daily"], final_before=FINAL)
    root = tmp_path / "inference_daily"
    want = store.execute(
        """select chain_id, sum(inference_count), sum(fee_wei) from metrics.inference_daily
           where day < DATE '2025-09-20' group by 1 order by 1"""
    ).fetchall()
    got_duck = duckdb.sql(
        f"""select chain_id, sum(inference_count), sum(fee_wei)
            from read_parquet('{root}/**/*.parquet', hive_partitioning = true)
            group by 1 order by 1"""
    ).fetchall()
    assert [(int(a), int(b), int(c)) for a, b, c in got_duck] == [
        (int(a), int(b), int(c)) for a, b, c in want
    ]
    lf = pl.scan_parquet(f"{root}/**/*.parquet", hive_partitioning=True)
    got_pl = (
        lf.group_by("chain_id")
        .agg(pl.col("inference_count").sum(), pl.col("fee_wei").sum())
        .sort("chain_id")
        .collect()
    )
    assert [(int(r[0]), int(r[1]), int(r[2])) for r in got_pl.iter_rows()] == [
        (int(a), int(b), int(c)) for a, b, c in want
    ]
    table = pads.dataset(root, format="parquet", partitioning="hive").to_table()
    assert (
        table.num_rows
        == store.execute(
            "select count(*) from metrics.inference_daily where day < DATE '2025-09-20'"
        ).fetchall()[0][0]
    )
    assert {"chain_id", "date", "fee_wei"} <= set(table.column_names)
