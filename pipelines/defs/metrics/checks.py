"""Asset checks on the metrics marts: invariants of the answers themselves, in SQL (cheap: one
aggregate each). WARN severity: a failure is shown on the asset in the UI and in the demo's
summary, and the exports and the report still run, so the figure in question can be examined."""

from collections.abc import Callable

import dagster as dg

from pipelines.defs.metrics.assets import mart_key
from pipelines.resources import WarehouseResource


def _sql_check(
    table: str, name: str, description: str, sql: Callable[[], str]
) -> dg.AssetChecksDefinition:
    """A check passing when ``sql`` (one row: the number of offending rows, an example) finds
    no offending row."""

    @dg.asset_check(asset=mart_key(table), name=name, description=description, blocking=False)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as conn:
            bad, example = conn.execute(sql()).fetchall()[0]
        bad = int(bad or 0)
        return dg.AssetCheckResult(
            passed=bad == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=description if bad == 0 else f"{bad} offending row(s), e.g. {example}",
            metadata={"offending_rows": bad},
        )

    return _check


def _testnets() -> str:
    from pipelines.metrics.common import load_metrics_config

    return ", ".join(str(c) for c in load_metrics_config().testnet_chain_ids) or "0"


CHECKS = [
    _sql_check(
        "model_economics",
        "no_losing_model_covers_its_costs",
        "A model whose lifetime net is negative never counts as covering its costs.",
        lambda: (
            "select count(*), any_value(model_name) from metrics.model_economics "
            "where covers_costs and net_earnings_wei < 0"
        ),
    ),
    _sql_check(
        "model_economics",
        "fee_split_within_fee",
        "Developer + contributors + stakers + protocol shares never exceed the fees paid.",
        lambda: (
            "select count(*), any_value(model_name) from metrics.model_economics "
            "where developer_wei + contributors_wei + stakers_wei + protocol_wei > fee_wei"
        ),
    ),
    _sql_check(
        "inference_daily",
        "testnet_class_only_on_testnets",
        "Traffic class 'testnet' exactly on the testnet chains: testnet never counts as demand.",
        lambda: (
            "select count(*), any_value(chain_id || '/' || traffic_class) "
            f"from metrics.inference_daily where (traffic_class = 'testnet') "
            f"<> (chain_id in ({_testnets()}))"
        ),
    ),
    _sql_check(
        "supply_daily",
        "circulating_within_total_supply",
        "Circulating supply is between zero and the total supply on every day.",
        lambda: (
            "select count(*), any_value(day) from metrics.supply_daily "
            "where circulating_wei < 0 or circulating_wei > total_supply_wei"
        ),
    ),
    _sql_check(
        "callers",
        "one_label_per_caller",
        "Every effective caller has exactly one row and a label of real or noise.",
        lambda: (
            "select count(*), any_value(caller_address) from (select caller_address, "
            "count(*) over (partition by chain_id, caller_address) as n, label "
            "from metrics.callers) where n > 1 or label not in ('real', 'noise')"
        ),
    ),
]
