"""Small synthetic stores for the metrics unit tests (no devnet needed)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import duckdb
import pytest

from pipelines.devnet.harness import patched_env
from pipelines.metrics import incremental, synthetic
from pipelines.metrics.common import MetricsConfig


def run(conn: duckdb.DuckDBPyConnection, world: synthetic.SyntheticWorld, full: bool = False):
    return incremental.update(
        conn, full=full, cfg=MetricsConfig(), labels=world.labels, buckets=world.buckets
    )


@pytest.fixture(scope="session")
def synth_store(tmp_path_factory):
    """A 30-day synthetic store with every metrics mart built once (read-only for tests)."""
    path = tmp_path_factory.mktemp("synth") / "w.duckdb"
    conn = duckdb.connect(str(path))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=30_000, days=30))
    run(conn, world, full=True)
    yield conn, world
    conn.close()


def devnet_env(handle) -> AbstractContextManager[None]:
    """Point config lookups (contracts, labels, RPC URLs) at a devnet for a block of code."""
    return patched_env(handle.env)


def ingest_devnet(handle, warehouse: Path) -> duckdb.DuckDBPyConnection:
    """Ingest both devnet networks into `warehouse`, build the metrics, return a connection."""
    from pipelines.ingest import ingest_range

    with devnet_env(handle):
        for net in handle.networks:
            ingest_range(net, warehouse=warehouse, rpc_url=handle.urls[net])
        conn = duckdb.connect(str(warehouse))
        incremental.update(conn)
    return conn


@pytest.fixture(scope="session")
def devnet_warehouse(devnet, tmp_path_factory):
    """The session devnet (default scenario, seed 7) ingested, with every metrics mart built."""
    conn = ingest_devnet(devnet, tmp_path_factory.mktemp("mwh") / "warehouse.duckdb")
    yield conn, devnet
    conn.close()
