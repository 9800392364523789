"""Helpers shared by the Dagster rooms."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.config import NetworkConfig


def automation_on(net: NetworkConfig | None = None) -> bool:
    """Schedules and sensors start *stopped* unless asked for: opening the UI must not start
    ingestion or re-run the whole transform. OLW_AUTOMATION=on (`olw dev --automation`) starts
    them running for the devnets; real networks stay stopped until started in the UI (they need
    an RPC URL first) unless OLW_AUTOMATION=all. Anything else (unset, off) leaves all stopped."""
    flag = os.environ.get("OLW_AUTOMATION", "").lower()
    if flag == "all":
        return True
    if flag in ("on", "1", "true"):
        return net is None or net.is_devnet
    return False


def schedule_status(net: NetworkConfig | None = None) -> dg.DefaultScheduleStatus:
    return (
        dg.DefaultScheduleStatus.RUNNING if automation_on(net) else dg.DefaultScheduleStatus.STOPPED
    )


def sensor_status(net: NetworkConfig | None = None) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on(net) else dg.DefaultSensorStatus.STOPPED


ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def job_is_active(instance: dg.DagsterInstance, job_name: str) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES), limit=1
    )
    return bool(runs)
