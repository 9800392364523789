"""The Dagster wiring: materialize the metrics assets against a synthetic warehouse."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.defs.metrics import defs
from pipelines.defs.metrics.assets import MARTS, html_report, metrics_marts, parquet_exports
from pipelines.metrics import synthetic
from pipelines.resources import WarehouseResource


def test_metrics_assets_materialize(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(path))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=4_000, days=10))
    conn.close()
    # The assets read labels and the schedule from config: give them the synthetic ones.
    monkeypatch.setattr("pipelines.metrics.incremental.load_labels", lambda: world.labels)
    monkeypatch.setattr("pipelines.metrics.incremental.load_schedule", lambda: world.buckets)
    monkeypatch.setenv("OLW_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("OLW_REPORTS_DIR", str(tmp_path / "reports"))
    result = dg.materialize(
        [metrics_marts, parquet_exports, html_report],
        resources={"warehouse": WarehouseResource(path=str(path))},
    )
    assert result.success
    mats = result.get_asset_materialization_events()
    keys = {e.asset_key.path[-1] for e in mats}
    assert set(MARTS) <= keys and {"parquet", "html"} <= keys
    meta = {e.asset_key.path[-1]: e.materialization.metadata for e in mats}
    assert "chart_volume" in meta["inference_daily"]
    assert meta["callers"]["dagster/row_count"].value > 0
    assert (tmp_path / "reports" / "report.html").exists()
    assert defs.resolve_asset_graph().get_all_asset_keys()
