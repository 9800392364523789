"""The ``seal_history`` job: finalized block-range partitions sealed into the lake, each in a
step of its own, independent of every other.

On one machine the multiprocess executor runs ``max_concurrent`` steps at once (``olw backfill
--parallel N``); on a cluster the same job runs under the k8s or celery executor with the
run launcher of dagster.yaml, one pod or worker per partition (README, "Scaling out"). Steps
never touch the local DuckDB file, so they carry no writer tag.
"""

from typing import Any

import dagster as dg

SEAL_JOB = "seal_history"
# A step killed with its worker (a pod evicted, a SIGKILL) is run again: a partition is
# rewritten whole and its marker comes last, so a retry is always safe.
SEAL_RETRY = dg.RetryPolicy(max_retries=2, delay=5)


class SealConfig(dg.Config):
    network: str
    keys: list[str]  # block-range partition keys, NNN-NNN (pipelines.lake.keys_between)


@dg.op(out=dg.DynamicOut(dict), description="One output per partition to seal.")
def plan_partitions(context: dg.OpExecutionContext, config: SealConfig) -> Any:
    from pipelines.lake import parse_key

    for key in config.keys:
        parse_key(key)
        yield dg.DynamicOutput(
            {"network": config.network, "key": key}, mapping_key=key.replace("-", "_")
        )


@dg.op(
    retry_policy=SEAL_RETRY, description="Fetch, decode and write one partition, then its marker."
)
def seal_block_range(context: dg.OpExecutionContext, part: dict) -> dict:
    from pipelines.lake import seal_partition

    res = seal_partition(part["network"], part["key"])
    context.log.info(
        f"{res.network} {res.key}: {res.logs} logs, {res.decoded} decoded, "
        f"{res.dead_letters} dead letters, {res.receipts} receipts in {res.commits} commits "
        f"(fetch {res.fetch_s:.1f} s, write {res.write_s:.1f} s)"
    )
    return res.as_dict()


@dg.op(description="The sealed watermark after this run: where the local store's tail starts.")
def sealed_watermark(context: dg.OpExecutionContext, results: list[dict]) -> dict:
    from pipelines.lake import open_catalog, watermarks

    marks = watermarks(open_catalog())
    out = {str(cid): {"block": w.block, "partitions": w.partitions} for cid, w in marks.items()}
    context.add_output_metadata(
        {
            "partitions_sealed": len(results),
            "logs": sum(int(r["logs"]) for r in results),
            "watermarks": dg.MetadataValue.json(out),
        }
    )
    return out


@dg.job(
    name=SEAL_JOB,
    executor_def=dg.multiprocess_executor,
    tags={"olw/lake": "sealer"},
    description=(
        "Seal finalized block-range partitions of a network into the Iceberg lake, each "
        "partition an independent step (olw backfill --parallel N)."
    ),
)
def seal_history() -> None:
    sealed_watermark(plan_partitions().map(seal_block_range).collect())
