"""Data-quality suites (Great Expectations 1.x) over the event store and the marts.

Each suite reads a pandas frame from DuckDB (GX's SQL datasource cannot reflect DuckDB) and
returns a :class:`SuiteResult` naming every failing expectation, its column and sample bad rows.
Knows nothing of Dagster: pipelines/defs/quality wraps the suites as asset checks.
"""

from pipelines.quality.gx import Failure, SuiteResult
from pipelines.quality.suites import SUITES, Suite, run_suite

__all__ = ["SUITES", "Failure", "Suite", "SuiteResult", "run_suite"]
