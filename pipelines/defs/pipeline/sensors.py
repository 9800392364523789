"""Follow the data: materialise everything downstream when new finalized blocks land."""

import json

import dagster as dg
import duckdb

from pipelines.defs.chain.lib import finalized_ingested
from pipelines.defs.lib import job_is_active, sensor_status
from pipelines.defs.pipeline.jobs import transform
from pipelines.resources import WarehouseResource, snake


@dg.sensor(
    name="new_finalized_blocks",
    job=transform,
    minimum_interval_seconds=30,
    default_status=sensor_status(),
    description=(
        "Requests a `transform` run when the warehouse holds finalized blocks it did not hold at "
        "the last request (cursor: the finalized-and-ingested block per network)."
    ),
)
def new_finalized_blocks(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    from pipelines.store import WarehouseError, connect

    path = warehouse.resolved_path()
    if not path.exists():
        return dg.SkipReason(f"no warehouse at {path} yet")
    try:
        # A short wait: a writer holds the file for one commit at a time; next tick retries.
        con = connect(path, read_only=True, wait_s=5)
    except WarehouseError as exc:
        return dg.SkipReason(f"warehouse busy: {exc}")
    try:
        current = finalized_ingested(con)
    except duckdb.CatalogException:
        return dg.SkipReason("the warehouse has no ingest journal yet")
    finally:
        con.close()
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    advanced = {n: b for n, b in current.items() if b > seen.get(n, -1)}
    if not advanced:
        return dg.SkipReason(f"no new finalized blocks (at {current or 'nothing'})")
    if job_is_active(context.instance, transform.name):
        # Keep the cursor: the tick after the active run ends requests one run for all of it.
        return dg.SkipReason("a transform run is still queued or running")
    new_cursor = {**seen, **current}
    run_key = "finalized:" + ",".join(f"{n}={b}" for n, b in sorted(new_cursor.items()))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                tags={f"olw/finalized__{snake(n)}": str(b) for n, b in advanced.items()},
            )
        ],
        cursor=json.dumps(new_cursor, sort_keys=True),
    )
