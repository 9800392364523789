"""Small synthetic stores for the metrics unit tests (no devnet needed)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.metrics import incremental, synthetic
from pipelines.metrics.common import MetricsConfig


def run(conn: duckdb.DuckDBPyConnection, world: synthetic.SyntheticWorld, full: bool = False):
    return incremental.update(
        conn, full=full, cfg=MetricsConfig(), labels=world.labels, buckets=world.buckets
    )


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory):
    """A 30-day synthetic store with every metrics mart built once (read-only for tests)."""
    path = tmp_path_factory.mktemp("synth") / "w.duckdb"
    conn = duckdb.connect(str(path))
    world = synthetic.generate(conn, synthetic.SyntheticSpec(n_inferences=30_000, days=30))
    run(conn, world, full=True)
    yield conn, world
    conn.close()
