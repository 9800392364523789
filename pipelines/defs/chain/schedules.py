"""Tail ingestion every minute per network."""

import os

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from pipelines.config import NetworkConfig
from pipelines.defs.chain.jobs import tail_job_name
from pipelines.defs.lib import job_is_active, schedule_status
from pipelines.resources import snake


def build_tail_schedule(
    net: NetworkConfig, job: UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    cron = os.environ.get("OLW_TAIL_CRON", "* * * * *")

    @dg.schedule(
        name=f"tail_ingest__{snake(net.name)}__every_minute",
        job=job,
        cron_schedule=cron,
        default_status=schedule_status(net),
        description=f"Ingest {net.name} up to the head every minute (skipped while one is active).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        # Runs queue one writer at a time; don't stack a minute's worth of them behind a slow one.
        if job_is_active(context.instance, tail_job_name(net.name)):
            return dg.SkipReason(f"a {tail_job_name(net.name)} run is still queued or running")
        return dg.RunRequest()

    return _schedule
