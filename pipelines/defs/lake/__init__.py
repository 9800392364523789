"""Sealed history: the job that writes finalized block-range partitions into the lake."""

import dagster as dg

from pipelines.defs.lake.jobs import seal_history

defs = dg.Definitions(jobs=[seal_history])
