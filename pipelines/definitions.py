"""The Dagster code location: every ``pipelines.defs.<room>`` module that exposes
``defs: dagster.Definitions``, merged. Rooms add a folder under pipelines/defs/ without editing
this file; shared resources come from pipelines.resources (same objects, so no merge conflict).

    dagster dev -m pipelines.definitions          (or: make dev)
    dagster job execute -m pipelines.definitions -j full_pipeline
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import pipelines.defs


def discover() -> list[tuple[str, dg.Definitions]]:
    found = []
    for mod in sorted(pkgutil.iter_modules(pipelines.defs.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pipelines.defs.__name__}.{mod.name}")
        room_defs = getattr(module, "defs", None)
        if isinstance(room_defs, dg.Definitions):
            found.append((mod.name, room_defs))
    return found


# Steps run one after another in the run's process: DuckDB takes one writer process per file,
# and a multiprocess executor would have sibling steps (and dbt) fight over the lock.
defs = dg.Definitions.merge(
    *(d for _, d in discover()), dg.Definitions(executor=dg.in_process_executor)
)
