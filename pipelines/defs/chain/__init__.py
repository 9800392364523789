"""Chain ingestion: raw assets per network, decoded event tables, tail schedules, block-range
backfills and the reorg alarm."""

import dagster as dg

from pipelines.defs.chain.assets import build_decoded_assets, build_raw_asset
from pipelines.defs.chain.checks import build_reorg_check
from pipelines.defs.chain.jobs import build_backfill_job, build_tail_job
from pipelines.defs.chain.schedules import build_tail_schedule
from pipelines.defs.chain.sensors import build_partition_sensor
from pipelines.resources import RESOURCES, enabled_networks

_networks = enabled_networks()
_tail_jobs = {n.name: build_tail_job(n) for n in _networks}
_backfill_jobs = {n.name: build_backfill_job(n) for n in _networks}

defs = dg.Definitions(
    assets=[*(build_raw_asset(n) for n in _networks), build_decoded_assets(_networks)],
    asset_checks=[build_reorg_check(n) for n in _networks],
    jobs=[*_tail_jobs.values(), *_backfill_jobs.values()],
    schedules=[build_tail_schedule(n, _tail_jobs[n.name]) for n in _networks],
    sensors=[build_partition_sensor(n, _backfill_jobs[n.name]) for n in _networks],
    resources=RESOURCES,
)
