"""One blocking asset check per GX suite: raw suites on each network's raw asset, decoded
suites on their event table, mart suites on their mart. A failure names the expectation, the
column and sample rows in the check's description and metadata, and (ERROR severity) stops the
assets downstream in the same run."""

import dagster as dg
import duckdb

from pipelines.config import NetworkConfig
from pipelines.defs.chain.assets import raw_key
from pipelines.quality import SUITES, Suite, SuiteResult, run_suite
from pipelines.resources import WarehouseResource, snake


def suite_asset_key(suite: Suite) -> dg.AssetKey:
    schema, table = suite.table.split(".")
    return dg.AssetKey(["duckdb", schema, table])


def result_to_check(result: SuiteResult) -> dg.AssetCheckResult:
    rows = [
        {
            "expectation": f.expectation,
            "column": ", ".join(f.columns),
            "unexpected": f"{f.unexpected_count} of {f.element_count}",
            "samples": str(f.samples)[:500],
        }
        for f in result.failures
    ]
    metadata: dict[str, object] = {
        "rows_validated": result.rows,
        "expectations": result.evaluated,
        "failed_expectations": len(result.failures),
    }
    if rows:
        table = "| expectation | column | unexpected | samples |\n|---|---|---|---|\n" + "\n".join(
            f"| {r['expectation']} | {r['column']} | {r['unexpected']} | `{r['samples']}` |"
            for r in rows
        )
        metadata["failures"] = dg.MetadataValue.md(table)
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe()[:4000],
        metadata=metadata,  # type: ignore[arg-type]
    )


def run_suite_check(
    warehouse: WarehouseResource, suite: Suite, chain_id: int | None = None
) -> dg.AssetCheckResult:
    try:
        with warehouse.connect(read_only=True) as con:
            result = run_suite(con, suite, chain_id)
    except duckdb.CatalogException as exc:
        return dg.AssetCheckResult(
            passed=False,
            description=(
                f"{suite.name}: cannot read {suite.table} ({str(exc).splitlines()[0]}); "
                "materialize the asset first"
            ),
        )
    return result_to_check(result)


def _network_check(suite: Suite, net: NetworkConfig) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(net.name),
        name=f"{suite.name}__{snake(net.name)}",
        description=f"GX suite {suite.name}: {suite.description} (chain {net.chain_id}).",
        blocking=True,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return run_suite_check(warehouse, suite, net.chain_id)

    return _check


def _table_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite_asset_key(suite),
        name=suite.name,
        description=f"GX suite {suite.name}: {suite.description}.",
        blocking=True,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return run_suite_check(warehouse, suite)

    return _check


def build_suite_checks(networks: list[NetworkConfig]) -> list[dg.AssetChecksDefinition]:
    checks = []
    for suite in SUITES.values():
        if suite.per_network:
            checks += [_network_check(suite, n) for n in networks]
        else:
            checks.append(_table_check(suite))
    return checks
