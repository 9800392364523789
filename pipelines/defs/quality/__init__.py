"""Great Expectations suites (pipelines.quality) as blocking Dagster asset checks."""

import dagster as dg

from pipelines.defs.quality.checks import build_suite_checks
from pipelines.resources import RESOURCES, enabled_networks

defs = dg.Definitions(asset_checks=build_suite_checks(enabled_networks()), resources=RESOURCES)
