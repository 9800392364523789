"""The code location loads and holds the expected assets, jobs, schedules, sensors and checks."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.config import get_network
from pipelines.resources import RpcResource, _rpc_resource


@pytest.fixture(scope="module")
def repo() -> dg.RepositoryDefinition:
    from pipelines.definitions import defs

    return defs.get_repository_def()


def keys(repo: dg.RepositoryDefinition) -> set[str]:
    return {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}


def test_assets_mirror_where_tables_live(repo: dg.RepositoryDefinition) -> None:
    k = keys(repo)
    assert {"duckdb/raw/logs__devnet_mainnet", "duckdb/raw/logs__devnet_testnet"} <= k
    assert "duckdb/decoded/inference_market__inference_requested" in k
    assert "duckdb/decoded/open_token__transfer" in k
    assert "duckdb/staging/stg_inference_market__inference_requests" in k
    for mart in (
        "fct_daily_inference",
        "fct_model_payouts",
        "fct_token_transfers",
        "fct_unlocks",
        "fct_token_supply",
        "fct_inference_payouts",
    ):
        assert f"duckdb/marts/{mart}" in k
    # dbt sources are the decoded assets themselves, not separate source assets.
    assert not any(x.startswith("decoded/") for x in k)


def test_every_asset_says_what_a_row_is(repo: dg.RepositoryDefinition) -> None:
    graph = repo.asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        # Tables say what a row is; the metrics room's files (exports, report) describe themselves.
        if not node.is_materializable or key.path[0] != "duckdb":
            continue
        desc = node.description or ""
        assert desc.startswith("One row per"), f"{key.to_user_string()}: {desc!r}"


def test_lineage_runs_raw_to_decoded_to_marts(repo: dg.RepositoryDefinition) -> None:
    graph = repo.asset_graph
    decoded = dg.AssetKey(["duckdb", "decoded", "inference_market__inference_requested"])
    assert dg.AssetKey(["duckdb", "raw", "logs__devnet_mainnet"]) in graph.get(decoded).parent_keys
    staging = dg.AssetKey(["duckdb", "staging", "stg_inference_market__inference_requests"])
    assert decoded in graph.get(staging).parent_keys


def test_jobs_schedules_sensors(repo: dg.RepositoryDefinition) -> None:
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {
        "full_pipeline",
        "transform",
        "tail_ingest__devnet_mainnet",
        "tail_ingest__devnet_testnet",
        "backfill__devnet_mainnet",
    } <= jobs
    schedules = {s.name: s for s in repo.schedule_defs}
    for net in ("devnet_mainnet", "devnet_testnet"):
        s = schedules[f"tail_ingest__{net}__every_minute"]
        assert s.cron_schedule == "* * * * *"
        assert s.job_name == f"tail_ingest__{net}"
    sensors = {s.name for s in repo.sensor_defs}
    assert {"new_finalized_blocks", "block_ranges__devnet_mainnet"} <= sensors
    backfill = repo.get_job("backfill__devnet_mainnet")
    assert isinstance(backfill.partitions_def, dg.DynamicPartitionsDefinition)
    # Every job that writes DuckDB queues behind the one-writer tag limit of dagster.yaml.
    for name in (
        "full_pipeline",
        "transform",
        "tail_ingest__devnet_mainnet",
        "backfill__devnet_mainnet",
    ):
        assert repo.get_job(name).tags.get("olw/duckdb") == "writer", name


def test_checks_cover_raw_decoded_and_marts(repo: dg.RepositoryDefinition) -> None:
    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    expected = {
        ("duckdb/raw/logs__devnet_mainnet", "raw_logs__devnet_mainnet"),
        ("duckdb/raw/logs__devnet_mainnet", "raw_blocks__devnet_mainnet"),
        ("duckdb/raw/logs__devnet_mainnet", "ingest_journal__devnet_mainnet"),
        ("duckdb/raw/logs__devnet_mainnet", "reorg_within_finality__devnet_mainnet"),
        ("duckdb/decoded/inference_market__inference_requested", "decoded_inference_requests"),
        ("duckdb/marts/fct_inference_payouts", "mart_inference_payouts"),
        ("duckdb/marts/fct_token_supply", "mart_token_supply"),
    }
    assert expected <= checks
    # dbt tests arrive as checks too (e.g. supply conservation in fct_token_supply's YAML).
    assert any(
        a == "duckdb/marts/fct_token_supply" and n.startswith("expression_is_true")
        for a, n in checks
    )


def test_rpc_url_comes_from_env_var_never_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    real = get_network("openledger-mainnet")
    monkeypatch.delenv(real.rpc_url_env, raising=False)
    res = _rpc_resource(real)
    assert isinstance(res.url, dg.EnvVar) and res.url.env_var_name == real.rpc_url_env
    monkeypatch.setenv(real.rpc_url_env, "https://rpc.example.org/v1/SECRET-KEY")
    resolved = RpcResource(
        network=real.name, url=dg.EnvVar(real.rpc_url_env)
    ).process_config_and_initialize()
    assert "SECRET-KEY" not in resolved.redacted_url
    assert resolved.redacted_url.startswith("https://rpc.example.org")
