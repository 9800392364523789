"""The finalized-blocks sensor (with its cursor) and the deep-reorg warning, on a hand-written
warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.config import get_network
from pipelines.defs.chain.checks import build_reorg_check
from pipelines.defs.pipeline.sensors import new_finalized_blocks
from pipelines.quality.sample import NETWORK, build_sample_warehouse
from pipelines.resources import WarehouseResource


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return build_sample_warehouse(tmp_path / "w.duckdb")


def evaluate(path: Path, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"warehouse": WarehouseResource(path=str(path))},
        )
        return new_finalized_blocks(ctx)  # type: ignore[return-value]


def land_blocks(path: Path, upto: int, finalized: int) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        "insert into raw.ingest_journal select max(journal_id) + 1, network, chain_id, 'append', "
        "max(to_block) + 1, ?, 1, 0, 0, 0, 0, ?, ?, null, now()::timestamp "
        "from raw.ingest_journal group by network, chain_id",
        [upto, upto, finalized],
    )
    con.execute("update raw.cursors set block_number = ?", [upto])
    con.close()


def test_sensor_requests_a_run_when_finalized_blocks_land(warehouse: Path) -> None:
    first = evaluate(warehouse, None)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
    assert json.loads(first.cursor or "{}") == {NETWORK: 10}

    # Nothing new since the cursor: no run.
    again = evaluate(warehouse, first.cursor)
    assert isinstance(again, dg.SkipReason)

    # New blocks, but none final yet: still no run.
    land_blocks(warehouse, upto=30, finalized=10)
    assert isinstance(evaluate(warehouse, first.cursor), dg.SkipReason)

    # They become final: one run, keyed by the new cursor, and the cursor advances.
    land_blocks(warehouse, upto=40, finalized=28)
    later = evaluate(warehouse, first.cursor)
    assert isinstance(later, dg.SensorResult)
    (req,) = later.run_requests or []
    assert json.loads(later.cursor or "{}") == {NETWORK: 28}
    assert req.run_key == f"finalized:{NETWORK}=28"


def test_sensor_skips_without_a_warehouse(tmp_path: Path) -> None:
    result = evaluate(tmp_path / "missing.duckdb", None)
    assert isinstance(result, dg.SkipReason) and "no warehouse" in str(result.skip_message)


def add_retraction(path: Path, blocks: int, finalized: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("update raw.ingest_journal set finalized_block = ?", [finalized])
    con.execute(
        "insert into raw.ingest_journal select max(journal_id) + 1, network, chain_id, 'retract', "
        "20 - ? + 1, 20, ?, 0, 0, 0, 0, 20, null, 'block 20 is no longer canonical', "
        "now()::timestamp from raw.ingest_journal group by network, chain_id",
        [blocks, blocks],
    )
    con.close()


@pytest.mark.parametrize(
    ("depth", "finalized", "warns"),
    [
        (2, 5, False),  # blocks 19..20 retracted, only 1..5 were final: a normal reorg
        (13, 0, True),  # deeper than the 12-block finality depth
        (2, 19, True),  # shallow, but block 19 had been reported final
    ],
)
def test_reorg_check_warns_beyond_finality(
    warehouse: Path, depth: int, finalized: int, warns: bool
) -> None:
    net = get_network(NETWORK)
    assert net.finality.depth == 12
    add_retraction(warehouse, depth, finalized)
    check = build_reorg_check(net)
    result = check(warehouse=WarehouseResource(path=str(warehouse)))  # type: ignore[call-arg]
    assert result.passed is (not warns)
    if warns:
        assert result.severity == dg.AssetCheckSeverity.WARN
        assert f"{depth} blocks" in (result.description or "")
