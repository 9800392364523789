"""Cross-room jobs: the whole pipeline, and everything downstream of raw ingestion."""

import dagster as dg

from pipelines.resources import WRITER_TAGS

RAW_GROUP = "raw"

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description=(
        "Everything, in order: ingest every network to its head, decoded tables, dbt models and "
        "tests, GX checks, then the metrics and exports other rooms add."
    ),
    tags=WRITER_TAGS,
    executor_def=dg.in_process_executor,
)

transform = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP),
    description="Everything downstream of raw ingestion: decoded, dbt, checks, metrics, exports.",
    tags=WRITER_TAGS,
    executor_def=dg.in_process_executor,
)
