"""End to end through Dagster against the session devnet: the full pipeline into a temp
warehouse and instance, an idempotent tail-ingestion run, and a failing GX check that stops the
transforms downstream of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from pipelines.devnet.harness import DevnetHandle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(devnet: DevnetHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as mp:
        devnet.apply(mp)
        mp.setenv("OLW_WAREHOUSE", str(tmp / "warehouse.duckdb"))
        mp.setenv("OLW_AUTOMATION", "off")
        mp.setenv("DAGSTER_HOME", str(tmp / "dagster_home"))
        yield tmp


@pytest.fixture(scope="module")
def pipeline(env: Path) -> Any:
    from pipelines.defs import run_full_pipeline

    return run_full_pipeline(dagster_home=env / "dagster_home", echo=False)


def scalar(path: Path, sql: str) -> Any:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_full_pipeline_materializes_everything(env: Path, pipeline: Any) -> None:
    assert pipeline.success, pipeline.describe()
    assert not pipeline.failed_checks and not pipeline.failed_steps
    m = pipeline.materialized
    assert m["duckdb/raw/logs__devnet_mainnet"] > 0 and m["duckdb/raw/logs__devnet_testnet"] > 0
    assert "duckdb/marts/fct_model_payouts" in m and "duckdb/marts/fct_unlocks" in m
    checks = {c.name for c in pipeline.checks}
    assert {"raw_logs__devnet_mainnet", "mart_token_supply", "mart_inference_payouts"} <= checks
    w = env / "warehouse.duckdb"
    # Every attribution recorded on chain is one payout row; the run sees the whole devnet.
    assert (
        scalar(w, "select count(*) from marts.fct_inference_payouts")
        == scalar(w, "select count(*) from decoded.attribution_engine__attribution_recorded")
        > 0
    )
    # One billion OPEN minted once per chain; balances and burns add up to it.
    assert (
        scalar(
            w,
            "select count(*) from marts.fct_token_supply where minted_wei = 10::hugeint ** 27"
            " and held_wei + burned_wei = minted_wei",
        )
        == 2
    )
    # The run is recorded in the instance, for the UI.
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(pipeline.run_id)
    assert run is not None and run.job_name == "full_pipeline"


def counts(path: Path) -> tuple[int, ...]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(
            con.execute(sql).fetchone()[0]  # type: ignore[index]
            for sql in (
                "select count(*) from raw.logs",
                "select count(*) from raw.blocks",
                "select count(*) from raw.receipts",
                "select count(*) from decoded.open_token__transfer",
                "select max(block_number) from raw.cursors",
            )
        )
    finally:
        con.close()


def test_tail_schedule_run_is_idempotent(env: Path, pipeline: Any) -> None:
    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("tail_ingest__devnet_mainnet__every_minute")
    job = defs.resolve_job_def("tail_ingest__devnet_mainnet")
    w = env / "warehouse.duckdb"
    before = counts(w)
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance)
        requests = schedule.evaluate_tick(ctx).run_requests or []
        assert len(requests) == 1
        first = job.execute_in_process(instance=instance, tags=requests[0].tags)
        after_first = counts(w)
        second = job.execute_in_process(instance=instance, tags=requests[0].tags)
    assert first.success and second.success
    assert before == after_first == counts(w)
    mats = second.asset_materializations_for_node("duckdb__raw__logs__devnet_mainnet")
    assert mats[-1].metadata["blocks_added"].value == 0


def test_failing_gx_check_stops_downstream(
    env: Path, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.definitions import defs

    bad = env / "corrupt.duckdb"
    shutil.copy(env / "warehouse.duckdb", bad)
    con = duckdb.connect(str(bad))
    con.execute(
        "update decoded.inference_market__inference_requested set fee = 10::uhugeint ** 30 "
        "where block_number = (select min(block_number) "
        "from decoded.inference_market__inference_requested)"
    )
    con.close()
    monkeypatch.setenv("OLW_WAREHOUSE", str(bad))
    job = defs.resolve_job_def("transform")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    evals = {
        e.event_specific_data.check_name: e.event_specific_data  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    }
    failed = evals["decoded_inference_requests"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_between" in failed.description
    assert "fee_wei" in failed.description and "1e+30" in failed.description
    # The dbt models read that table: the blocking check kept them from running.
    marts = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[:2] == ["duckdb", "marts"]
    ]
    assert marts == []
