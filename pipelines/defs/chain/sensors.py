"""Keep each network's block-range partitions up to date with the chain head."""

import dagster as dg

from pipelines.chain import RpcClient, RpcUnavailable
from pipelines.config import NetworkConfig
from pipelines.defs.chain.jobs import backfill_job_name
from pipelines.defs.chain.lib import head_block
from pipelines.defs.chain.partitions import BLOCKS_PER_PARTITION, block_ranges, keys_covering
from pipelines.defs.lib import sensor_status
from pipelines.resources import RpcResource, snake


def new_partition_keys(net: NetworkConfig, head: int, existing: set[str]) -> list[str]:
    first = min((c.first_block for c in net.contracts), default=0)
    return [k for k in keys_covering(first, head, BLOCKS_PER_PARTITION) if k not in existing]


def build_partition_sensor(net: NetworkConfig, job: dg.JobDefinition) -> dg.SensorDefinition:
    rpc_key = f"rpc__{snake(net.name)}"
    partitions = block_ranges(net.name)

    @dg.sensor(
        name=f"block_ranges__{snake(net.name)}",
        job_name=backfill_job_name(net.name),
        minimum_interval_seconds=60,
        default_status=sensor_status(net),
        required_resource_keys={rpc_key},
        description=f"Adds block ranges to {backfill_job_name(net.name)} as the chain grows.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        rpc: RpcResource = getattr(context.resources, rpc_key)
        client = RpcClient(rpc.resolved_url())
        try:
            head = head_block(client)
        except RpcUnavailable as exc:
            return dg.SkipReason(f"node unreachable: {exc}")
        finally:
            client.close()
        existing = set(context.instance.get_dynamic_partitions(partitions.name or ""))
        new = new_partition_keys(net, head, existing)
        if not new:
            return dg.SkipReason(f"head {head}: partitions up to date")
        context.update_cursor(str(head))
        return dg.SensorResult(dynamic_partitions_requests=[partitions.build_add_request(new)])

    return _sensor
