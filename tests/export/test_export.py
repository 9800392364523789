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


def test_export_is_month_partitioned_finalized_and_idempotent(store, tmp_path):
    first = export(store, tmp_path, final_before=FINAL)
    assert {r.dataset for r in first} >= {"inference_daily", "supply_daily", "transfers"}
    assert {r.dataset for r in first} >= {"callers", "model_economics"}  # the answers too
    assert all(r.written > 0 for r in first)
    files = sorted(tmp_path.glob("inference_daily/chain-*/*/part-*.parquet"))
    assert files and {f.parent.name for f in files} == {"2025-09"}  # one file per chain-month
    assert len(files) == 2
    days = duckdb.sql(
        f"select max(day) from read_parquet('{tmp_path}/inference_daily/**/*.parquet')"
    ).fetchall()[0][0]
    assert days < date(2025, 9, 20)  # only finalized days
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
    months = {
        p["month"]
        for p in json.loads((tmp_path / "supply_daily" / "_manifest.json").read_text())[
            "partitions"
        ]
    }
    # --since exports whole months: a partition always holds every final day of its month.
    assert months == {"2025-09"}
    assert (
        res[0].rows
        == store.execute(
            "select count(*) from metrics.supply_daily where day < DATE '2025-09-20'"
        ).fetchall()[0][0]
    )
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
            from read_parquet('{root}/**/*.parquet')
            group by 1 order by 1"""
    ).fetchall()
    assert [(int(a), int(b), int(c)) for a, b, c in got_duck] == [
        (int(a), int(b), int(c)) for a, b, c in want
    ]
    lf = pl.scan_parquet(f"{root}/**/*.parquet")
    got_pl = (
        lf.group_by("chain_id")
        .agg(pl.col("inference_count").sum(), pl.col("fee_wei").sum())
        .sort("chain_id")
        .collect()
    )
    assert [(int(r[0]), int(r[1]), int(r[2])) for r in got_pl.iter_rows()] == [
        (int(a), int(b), int(c)) for a, b, c in want
    ]
    table = pads.dataset(root, format="parquet").to_table()
    assert (
        table.num_rows
        == store.execute(
            "select count(*) from metrics.inference_daily where day < DATE '2025-09-20'"
        ).fetchall()[0][0]
    )
    assert {"chain_id", "month", "day", "fee_wei"} <= set(table.column_names)


def _arrow_schema_duckdb(path: str) -> list[tuple[str, str]]:
    tbl = duckdb.sql(f"select * from read_parquet('{path}/**/*.parquet') limit 0").arrow()
    return [(f.name, str(f.type)) for f in tbl.schema]


@pytest.mark.parametrize(
    "dataset",
    [
        "inference_daily",
        "supply_daily",
        "transfers",
        "callers",
        "model_economics",
        "unlock_calendar",
    ],
)
def test_every_engine_reads_the_same_schema(store, tmp_path, dataset):
    """DuckDB, polars and pyarrow, each with its defaults, see the same columns and types."""
    import pyarrow.parquet as pq

    export(store, tmp_path, [dataset], final_before=FINAL)
    root = str(tmp_path / dataset)
    duck = _arrow_schema_duckdb(root)
    polars_ = [
        (f.name, str(f.type)) for f in pl.read_parquet(f"{root}/**/*.parquet").to_arrow().schema
    ]
    arrow = [(f.name, str(f.type)) for f in pq.read_table(root).schema]
    assert duck == arrow, (duck, arrow)
    # polars writes its own Arrow flavours (large_string, ...): compare its logical types.
    norm = {"large_string": "string", "string_view": "string"}
    assert [(n, norm.get(t, t)) for n, t in polars_] == [(n, norm.get(t, t)) for n, t in arrow]
    types = dict(arrow)
    if "chain_id" in types:
        assert types["chain_id"] == "uint32"
    if "month" in types:
        assert types["month"] == "date32[day]"
