"""The three answers (metrics marts, parquet exports, HTML report) as Dagster assets."""

import dagster as dg

from pipelines.defs.metrics.assets import html_report, metrics_marts, parquet_exports
from pipelines.defs.metrics.checks import CHECKS
from pipelines.resources import RESOURCES

defs = dg.Definitions(
    assets=[metrics_marts, parquet_exports, html_report], asset_checks=CHECKS, resources=RESOURCES
)
