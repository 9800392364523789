"""Per network: the tail-ingestion job (the raw asset and its checks) and the block-range
backfill job."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from pipelines.config import NetworkConfig
from pipelines.defs.chain.assets import ingest_to_head, raw_key
from pipelines.defs.chain.partitions import block_ranges, partition_range
from pipelines.resources import BUSY_RETRY, WRITER_TAGS, rpc_resource_key, snake


def tail_job_name(network: str) -> str:
    return f"tail_ingest__{snake(network)}"


def backfill_job_name(network: str) -> str:
    return f"backfill__{snake(network)}"


def build_tail_job(net: NetworkConfig) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        tail_job_name(net.name),
        selection=dg.AssetSelection.assets(raw_key(net.name)),
        description=f"Ingest {net.name} from its cursor up to the head (reorg-safe, idempotent).",
        tags=WRITER_TAGS,
        executor_def=dg.in_process_executor,
    )


def build_backfill_job(net: NetworkConfig) -> dg.JobDefinition:
    rpc_key = rpc_resource_key(net.name)

    @dg.op(
        name=f"ingest_block_range__{snake(net.name)}",
        required_resource_keys={"warehouse", rpc_key},
        retry_policy=BUSY_RETRY,
    )
    def ingest_block_range(context: dg.OpExecutionContext) -> None:
        # The store is strictly sequential (a cursor, no gaps), so a partition is done when the
        # cursor is at or past its last block: re-running it is a no-op, and running a later
        # partition first fills the earlier blocks too.
        first, last = partition_range(context.partition_key)
        rpc = getattr(context.resources, rpc_key)
        meta = ingest_to_head(context, net, context.resources.warehouse, rpc.resolved_url(), last)
        cursor = int(meta["cursor_block"])
        meta.update(
            {
                "partition_first_block": first,
                "partition_last_block": last,
                "partition_complete": cursor >= last,
            }
        )
        if cursor < last:
            context.log.warning(
                f"{net.name} head is at {meta['head_block']}: partition {context.partition_key} "
                "is only partly on chain yet; run it again later"
            )
        context.log_event(dg.AssetMaterialization(asset_key=raw_key(net.name), metadata=meta))

    @dg.job(
        name=backfill_job_name(net.name),
        partitions_def=block_ranges(net.name),
        description=(
            f"Backfill {net.name} one aligned block range (partition) at a time; pick dates with "
            "`olw backfill --network ... --from YYYY-MM-DD --to YYYY-MM-DD`."
        ),
        tags=WRITER_TAGS,
        executor_def=dg.in_process_executor,
    )
    def _backfill() -> None:
        ingest_block_range()

    return _backfill
