"""GX suites: all pass on consistent data; each corruption fails the expectation it should,
naming the column and showing the bad value."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.quality import SUITES, run_suite
from pipelines.quality.sample import CHAIN_ID
from tests.quality.warehouse import copy_of, sample_with_marts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_with_marts(tmp_path_factory.mktemp("gx"))


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_passes_on_consistent_data(built: Path, suite: str) -> None:
    con = duckdb.connect(str(built), read_only=True)
    try:
        result = run_suite(con, suite, CHAIN_ID)
    finally:
        con.close()
    assert result.success, result.describe()
    assert result.rows > 0, f"{suite} validated no rows: the sample should cover it"


CORRUPTIONS = [
    # (suite, SQL that breaks one thing, expectation that must fail, column, bad value in sample)
    (
        "raw_logs",
        "insert into raw.logs select * from raw.logs limit 1",
        "expect_compound_columns_to_be_unique",
        "chain_id",
        None,
    ),
    (
        "raw_logs",
        "update raw.logs set tx_hash = upper(tx_hash) where log_index = 2",
        "expect_column_values_to_match_regex",
        "tx_hash",
        "0X",
    ),
    (
        "raw_blocks",
        "update raw.blocks set timestamp_unix = timestamp_unix - 3600 where block_number = 5",
        "expect_column_values_to_be_between",
        "timestamp_step_s",
        None,
    ),
    (
        "raw_blocks",
        "update raw.blocks set parent_hash = '0x' || repeat('a', 64) where block_number = 7",
        "expect_column_values_to_be_in_set",
        "links_to_previous",
        None,
    ),
    (
        "ingest_journal",
        "insert into raw.ingest_journal select 2, network, chain_id, 'append', 15, 20, 6, "
        "0, 0, 0, 0, 20, 20, null, recorded_at from raw.ingest_journal",
        "expect_column_values_to_be_between",
        "gap_blocks",
        4.0,
    ),
    (
        "decoded_inference_requests",
        "update decoded.inference_market__inference_requested set fee = 10::uhugeint ** 30 "
        "where log_index = "
        "(select min(log_index) from decoded.inference_market__inference_requested)",
        "expect_column_values_to_be_between",
        "fee_wei",
        1e30,
    ),
    (
        "decoded_attributions",
        "update decoded.attribution_engine__attribution_recorded set stakers_amount = fee * 2",
        "expect_column_values_to_be_between",
        "stakers_share",
        2.0,
    ),
    (
        "mart_inference_payouts",
        "update marts.fct_inference_payouts set protocol_amount_wei = protocol_amount_wei + 1 "
        "where request_id = (select min(request_id) from marts.fct_inference_payouts)",
        "expect_column_values_to_be_between",
        "excess_wei",
        1.0,
    ),
    (
        "mart_model_payouts",
        "update marts.fct_model_payouts set developer_amount_wei = developer_amount_wei + 5",
        "expect_column_values_to_be_between",
        "excess_wei",
        5.0,
    ),
    (
        "mart_token_supply",
        "update marts.fct_token_supply set held_wei = held_wei - 7",
        "expect_column_values_to_be_between",
        "imbalance_wei",
        -7.0,
    ),
]


@pytest.mark.parametrize(
    ("suite", "corrupt", "expectation", "column", "bad"),
    CORRUPTIONS,
    ids=[f"{c[0]}-{c[3]}" for c in CORRUPTIONS],
)
def test_corruption_fails_the_right_expectation(
    built: Path,
    tmp_path: Path,
    suite: str,
    corrupt: str,
    expectation: str,
    column: str,
    bad: object,
) -> None:
    path = copy_of(built, tmp_path, "corrupt.duckdb")
    con = duckdb.connect(str(path))
    try:
        con.execute(corrupt)
        result = run_suite(con, suite, CHAIN_ID)
    finally:
        con.close()
    assert not result.success
    failing = [f for f in result.failures if f.expectation == expectation and column in f.columns]
    assert failing, result.describe()
    assert len(result.failures) == 1, f"only one expectation should fail:\n{result.describe()}"
    text = result.describe()
    assert expectation in text and column in text
    if bad is not None:
        if isinstance(bad, str):
            assert bad in text
        else:
            assert any(isinstance(s, dict) and s.get(column) == bad for s in failing[0].samples), (
                failing[0].samples
            )
