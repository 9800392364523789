"""dbt models (staging views, intermediate views, marts tables) as Dagster assets; dbt tests
become asset checks, and a failing test stops the models downstream of it."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from pipelines.defs.transform.project import DBT_PROJECT, manifest_path
from pipelines.resources import BUSY_RETRY, WarehouseResource


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys mirror where the tables live: ["duckdb", <schema>, <table>]; sources map to
    the decoded assets through their meta.dagster.asset_key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey(["duckdb", dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return str(dbt_resource_props["schema"])


MANIFEST = manifest_path()
TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=MANIFEST,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_models",
    retry_policy=BUSY_RETRY,
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    # dbt runs in its own process: hand it the same warehouse file this run uses.
    os.environ["OLW_WAREHOUSE"] = str(warehouse.resolved_path())
    yield from dbt.cli(["build"], context=context).stream()
