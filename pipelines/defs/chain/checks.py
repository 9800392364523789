"""The reorg alarm: a warning on a network's raw asset when a reorg reached below finality."""

import dagster as dg

from pipelines.config import NetworkConfig
from pipelines.defs.chain.assets import raw_key
from pipelines.defs.chain.lib import deep_reorgs
from pipelines.resources import WarehouseResource, snake

# A warning stays visible for a day after the reorg, then clears.
REORG_WINDOW_HOURS = 24


def build_reorg_check(net: NetworkConfig) -> dg.AssetChecksDefinition:
    depth = net.finality.depth if net.finality.mode == "depth" else None
    bound = f"{depth} blocks" if depth is not None else f"the node's {net.finality.tag} tag"

    @dg.asset_check(
        asset=raw_key(net.name),
        name=f"reorg_within_finality__{snake(net.name)}",
        description=(
            "Warns when the ingest journal recorded, in the last 24 h, a reorg deeper than the "
            f"network's finality bound ({bound})."
        ),
        blocking=False,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            deep = deep_reorgs(con, net.name, depth, REORG_WINDOW_HOURS)
        if not deep:
            return dg.AssetCheckResult(passed=True, metadata={"deep_reorgs": 0})
        worst = max(deep, key=lambda r: int(r["block_count"]))  # type: ignore[call-overload]
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{len(deep)} reorg(s) on {net.name} went deeper than the finality bound in the "
                f"last {REORG_WINDOW_HOURS} h; the deepest retracted blocks "
                f"{worst['from_block']}..{worst['to_block']} ({worst['block_count']} blocks). "
                "Data already exported or reported for those blocks may be wrong: re-run the "
                "marts and exports, and check the node's finality settings."
            ),
            metadata={
                "deep_reorgs": len(deep),
                "deepest_blocks": int(worst["block_count"]),  # type: ignore[call-overload]
                "journal": dg.MetadataValue.json(
                    [{k: str(v) for k, v in r.items()} for r in deep][:20]
                ),
            },
        )

    return _check
