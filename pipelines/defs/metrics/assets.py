"""The three answers as Dagster assets: the metrics marts (one multi-asset, since one
incremental run updates them together in one transaction), the parquet exports and the HTML
report. Domain code lives in pipelines.metrics / export / report; this is wiring."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.config import REPO_ROOT
from pipelines.resources import BUSY_RETRY, WarehouseResource

SOURCES = (
    "open_token__transfer",
    "inference_market__inference_requested",
    "attribution_engine__attribution_recorded",
    "attribution_engine__contributors_rewarded",
    "model_registry__model_registered",
    "model_registry__model_updated",
    "vesting_vault__tokens_released",
    "vesting_vault__vesting_schedule_created",
)

# Public marts: table → the one sentence saying what a row is.
MARTS: dict[str, str] = {
    "callers": "One row per chain and effective caller: real/noise label, reason, evidence.",
    "inference_caller_daily": "One row per chain, day, model, effective caller and dApp.",
    "inference_daily": "One row per chain, day, model and traffic class (real or reason).",
    "dapp_daily": "One row per chain, day, dApp and traffic class.",
    "models": "One row per chain and model: owner, registration, current fee.",
    "model_payouts_daily": "One row per chain, day and model: fee split and owner gas.",
    "contributor_payouts_daily": "One row per chain, day, model, Datanet and contributor.",
    "datanet_payouts": "One row per chain, Datanet and contributor: lifetime rewards.",
    "model_economics": "One row per chain and model: earnings, costs, break-even volume.",
    "token_flows_daily": "One row per chain, day and labelled address: OPEN in and out.",
    "transfer_activity_daily": "One row per chain and day: transfer volume, exchange flows.",
    "supply_daily": "One row per chain and day: circulating supply, schedule, pressure.",
    "vesting_release_check": "One row per chain, day and bucket: release vs schedule.",
    "unlock_calendar": "One row per bucket and unlock date of the configured schedule.",
}
CHART_OF = {
    "inference_daily": ["volume"],
    "dapp_daily": ["dapps"],
    "model_economics": ["payouts", "economics", "niche"],
    "supply_daily": ["supply"],
}


def mart_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["duckdb", "metrics", table])


def exports_dir() -> Path:
    return Path(os.environ.get("OLW_EXPORTS_DIR", REPO_ROOT / "exports"))


def reports_dir() -> Path:
    return Path(os.environ.get("OLW_REPORTS_DIR", REPO_ROOT / "reports"))


def _total(values: Any) -> float | None:
    """The sum of a numeric series; None for a series of labels (a category axis)."""
    try:
        return sum(float(v) for v in values or () if v is not None)
    except (TypeError, ValueError):
        return None


def _chart_meta(charts: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Each chart as a short markdown summary (its title, every series with its total) and a
    pointer to the report that draws it: readable in the UI, unlike plotly's JSON."""
    report = reports_dir() / "report.html"
    out = {}
    for n in names:
        if n not in charts:
            continue
        fig = charts[n]
        title = fig.layout.title.text or n
        lines = [f"**{title}**", "", "| series | total |", "|---|---|"]
        for trace in fig.data:
            total = next(
                (t for t in (_total(trace.y), _total(trace.x)) if t is not None), float("nan")
            )
            lines.append(f"| {trace.name} | {total:,.4g} |")
        lines += ["", f"Drawn in the report: [{report}](file://{report}) (`#chart-{n}`)"]
        out[f"chart_{n}"] = dg.MetadataValue.md("\n".join(lines))
    return out


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            mart_key(t),
            description=doc,
            group_name="metrics",
            kinds={"duckdb", "polars"},
            deps=[dg.AssetKey(["duckdb", "decoded", s]) for s in SOURCES],
        )
        for t, doc in MARTS.items()
    ],
    name="metrics_marts",
    retry_policy=BUSY_RETRY,
)
def metrics_marts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Incremental update: only days with new or retracted rows are recomputed."""
    from pipelines.metrics.incremental import update
    from pipelines.report.html import ReportError, build

    with warehouse.connect(read_only=False) as conn:
        res = update(conn)
        context.log.info(
            f"metrics {res.mode}: {res.dirty_days} days, {res.changed_callers} callers changed "
            f"class, retractions {res.retracted or 'none'}, {res.seconds:.2f}s"
        )
        try:
            charts = build(conn).charts
        except ReportError as exc:
            context.log.warning(f"no charts: {exc}")
            charts = {}
        for t in MARTS:
            rows = conn.execute(f"select count(*) from metrics.{t}").fetchall()[0][0]
            yield dg.MaterializeResult(
                asset_key=mart_key(t),
                metadata={
                    "dagster/row_count": int(rows),
                    "run_mode": res.mode,
                    "days_recomputed": res.dirty_days,
                    "seconds": round(res.seconds, 3),
                    **_chart_meta(charts, CHART_OF.get(t, [])),
                },
            )


@dg.asset(
    key=dg.AssetKey(["exports", "parquet"]),
    deps=[mart_key(t) for t in MARTS],
    group_name="metrics",
    kinds={"parquet"},
    description="Finalized days of the daily marts and key event tables as parquet per chain "
    "and month (exports/<dataset>/chain-<id>/<YYYY-MM>/), the answers (callers, model "
    "economics, Datanet payouts, unlock calendar) as snapshots, a manifest per dataset.",
    retry_policy=BUSY_RETRY,
)
def parquet_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from pipelines.export import export

    with warehouse.connect(read_only=True) as conn:
        results = export(conn, exports_dir())
    context.log.info(", ".join(f"{r.dataset}: {r.written} new" for r in results))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(exports_dir())),
            "partitions_written": sum(r.written for r in results),
            "partitions_unchanged": sum(r.unchanged for r in results),
            "rows": sum(r.rows for r in results),
        }
    )


@dg.asset(
    key=dg.AssetKey(["reports", "html"]),
    deps=[mart_key(t) for t in MARTS],
    group_name="metrics",
    kinds={"html", "plotly"},
    description="The self-contained HTML report: real vs noise volume, top models by payout, "
    "break-even, circulating supply with the unlock calendar, and the key numbers.",
    retry_policy=BUSY_RETRY,
)
def html_report(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.report.html import build, render

    out = reports_dir() / "report.html"
    with warehouse.connect(read_only=True) as conn:
        rep = build(conn)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render(rep), encoding="utf-8")
    tmp.replace(out)
    numbers = "\n".join(f"| {k} | {v} |" for k, v in rep.numbers)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "key_numbers": dg.MetadataValue.md(f"| | |\n|---|---|\n{numbers}"),
            **_chart_meta(rep.charts, list(rep.charts)),
        }
    )
