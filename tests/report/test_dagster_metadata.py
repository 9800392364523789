"""The answers as the Dagster UI shows them: charts as markdown summaries (not plotly JSON) and
asset checks on the metrics marts that run with them."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.defs.metrics.assets import html_report, metrics_marts
from pipelines.defs.metrics.checks import CHECKS
from pipelines.metrics import synthetic
from pipelines.resources import WarehouseResource


def test_metrics_checks_pass_and_charts_are_markdown(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(path))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=3_000, days=8))
    conn.close()
    monkeypatch.setattr("pipelines.metrics.incremental.load_labels", lambda: world.labels)
    monkeypatch.setattr("pipelines.metrics.incremental.load_schedule", lambda: world.buckets)
    monkeypatch.setenv("OLW_REPORTS_DIR", str(tmp_path / "reports"))
    result = dg.materialize(
        [metrics_marts, html_report, *CHECKS],
        resources={"warehouse": WarehouseResource(path=str(path))},
    )
    assert result.success
    evals = result.get_asset_check_evaluations()
    assert len(evals) == len(CHECKS) and all(e.passed for e in evals), [
        (e.check_name, e.description) for e in evals if not e.passed
    ]
    meta = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    chart = meta["model_economics"]["chart_economics"]
    assert isinstance(chart, dg.MarkdownMetadataValue)
    assert "| series | total |" in chart.value and "report.html" in chart.value
    assert isinstance(meta["html"]["chart_volume"], dg.MarkdownMetadataValue)


def test_a_losing_model_marked_as_covering_fails_its_check(tmp_path):
    path = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("create schema metrics")
    conn.execute(
        "create table metrics.model_economics as select 'm' as model_name, true as covers_costs, "
        "(-5)::HUGEINT as net_earnings_wei, 1::HUGEINT as developer_wei, "
        "0::HUGEINT as contributors_wei, 0::HUGEINT as stakers_wei, 0::HUGEINT as protocol_wei, "
        "2::HUGEINT as fee_wei"
    )
    conn.close()
    check = next(c for c in CHECKS if "no_losing_model" in str(c.check_keys))
    res = check(WarehouseResource(path=str(path)))  # type: ignore[call-arg]
    assert not res.passed and "1 offending" in (res.description or "")
