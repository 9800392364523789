"""Dagster definitions, one sub-package per domain (chain, transform, quality, pipeline, and the
metrics room's metrics). ``pipelines.definitions`` merges every ``pipelines.defs.<room>.defs``.

``run_full_pipeline()`` is the entry point ``olw demo`` uses: ingestion → decoded → dbt →
checks → metrics/exports, as one Dagster run recorded in dagster_home.
"""

from __future__ import annotations

from typing import Any


def run_full_pipeline(*args: Any, **kwargs: Any) -> Any:
    """See :func:`pipelines.defs.pipeline.run.run_full_pipeline` (imported lazily: loading the
    definitions parses the dbt project)."""
    from pipelines.defs.pipeline.run import run_full_pipeline as run

    return run(*args, **kwargs)
