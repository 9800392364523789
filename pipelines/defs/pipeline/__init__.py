"""The whole pipeline: the full_pipeline and transform jobs, and the sensor that runs the
transforms when new finalized blocks land."""

import dagster as dg

from pipelines.defs.pipeline.jobs import full_pipeline, transform
from pipelines.defs.pipeline.sensors import new_finalized_blocks
from pipelines.resources import RESOURCES

defs = dg.Definitions(
    jobs=[full_pipeline, transform], sensors=[new_finalized_blocks], resources=RESOURCES
)
