"""Dagster resources shared by every room: the DuckDB warehouse, one RPC endpoint per network,
and the dbt CLI.

Rooms use these singletons (same objects, so ``Definitions.merge`` sees no conflict) under the
keys ``warehouse``, ``dbt`` and ``rpc__<network_snake>``. A run that writes the warehouse carries
``WRITER_TAGS``: dagster_home/dagster.yaml lets one such run at a time out of the queue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipelines.config import (
    REPO_ROOT,
    NetworkConfig,
    get_network,
    load_networks,
    redact_url,
    warehouse_path,
)

WRITER_TAGS = {"olw/duckdb": "writer"}
DBT_PROJECT_DIR = REPO_ROOT / "dbt_models"

# A busy warehouse file (another writer mid-commit, a long `olw query`) is waited for, then the
# step is retried: 3 attempts 30 s apart on top of the store's own 60 s connect wait.
BUSY_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.LINEAR)


def snake(network: str) -> str:
    return network.replace("-", "_")


def enabled_networks() -> list[NetworkConfig]:
    """The networks this deployment indexes: OLW_NETWORKS (comma-separated names), by default
    every devnet network in schemas/networks.yaml. Read at load time: it shapes the asset graph."""
    names = os.environ.get("OLW_NETWORKS")
    if names:
        return [get_network(n.strip()) for n in names.split(",") if n.strip()]
    return [n for n in load_networks().values() if n.is_devnet]


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB event store and warehouse file: $OLW_WAREHOUSE, else .olw/warehouse.duckdb."""

    path: str | None = None
    lock_wait_s: float = 60.0

    def resolved_path(self) -> Path:
        return Path(self.path) if self.path else warehouse_path()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that waits while another process holds the file, closed on exit so the
        next writer (dbt runs in its own process) can get in."""
        from pipelines.store import connect

        con = connect(self.resolved_path(), read_only=read_only, wait_s=self.lock_wait_s)
        try:
            yield con
        finally:
            con.close()


class RpcResource(dg.ConfigurableResource):
    """A network's JSON-RPC endpoint. The URL comes from the env var named in networks.yaml
    (dg.EnvVar, so the UI shows the variable's name, never the URL); devnets fall back to
    their loopback default."""

    network: str
    url: str | None = None

    def resolved_url(self) -> str:
        return self.url or get_network(self.network).rpc_url()

    @property
    def redacted_url(self) -> str:
        return redact_url(self.resolved_url())


def rpc_resource_key(network: str) -> str:
    return f"rpc__{snake(network)}"


def _rpc_resource(net: NetworkConfig) -> RpcResource:
    # EnvVar is resolved when a run starts; only a devnet without the variable set gets its
    # loopback default (a real network without its variable fails, naming the variable).
    if net.is_devnet and not os.environ.get(net.rpc_url_env):
        return RpcResource(network=net.name)
    return RpcResource(network=net.name, url=dg.EnvVar(net.rpc_url_env))


warehouse_resource = WarehouseResource()
dbt_resource = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR))
rpc_resources = {rpc_resource_key(n.name): _rpc_resource(n) for n in enabled_networks()}

RESOURCES: dict[str, object] = {
    "warehouse": warehouse_resource,
    "dbt": dbt_resource,
    **rpc_resources,
}
