"""The suites: which rows each one reads from DuckDB and what it expects of them.

Amounts are UHUGEINT/HUGEINT in DuckDB, which pandas cannot hold: a suite compares exact
integers in SQL (e.g. ``payout_total_wei - fee_wei``) and hands GX the small difference as a
double, so a 1-wei excess is still visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb
import pandas as pd
import yaml

from pipelines.config import schemas_dir
from pipelines.quality.gx import SuiteResult, validate

HASH = r"^0x[0-9a-f]{64}$"
ADDRESS = r"^0x[0-9a-f]{40}$"
# Ethereum genesis: no EVM block is older; a block more than a day in the future is a clock bug.
EARLIEST = pd.Timestamp("2015-07-30")


@lru_cache(maxsize=1)
def max_supply_wei() -> float:
    token = yaml.safe_load((schemas_dir() / "tokenomics.yaml").read_text())["token"]
    return float(int(token["total_supply"]) * 10 ** int(token["decimals"]))


def _latest() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)


@dataclass(frozen=True)
class Suite:
    """A named set of expectations over the rows ``sql`` returns (``$chain_id`` filters raw
    suites to one network). ``asset`` is where the table lives: (schema, table) or, for
    per-network raw suites, (schema, None) and the Dagster layer names the network's asset."""

    name: str
    table: str
    sql: str
    expectations: Callable[[], list[Any]]
    id_columns: list[str] = field(default_factory=list)
    per_network: bool = False
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    description: str = ""


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _raw_logs() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["chain_id", "block_hash", "log_index"]),
        gxe.ExpectColumnValuesToMatchRegex(column="block_hash", regex=HASH),
        gxe.ExpectColumnValuesToMatchRegex(column="tx_hash", regex=HASH),
        gxe.ExpectColumnValuesToMatchRegex(column="topic0", regex=HASH),
        gxe.ExpectColumnValuesToMatchRegex(column="contract_address", regex=ADDRESS),
        gxe.ExpectColumnValuesToBeInSet(column="removed", value_set=[False]),
    ]


def _raw_blocks() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["chain_id", "block_hash"]),
        gxe.ExpectColumnValuesToBeUnique(column="block_number"),
        gxe.ExpectColumnValuesToMatchRegex(column="block_hash", regex=HASH),
        gxe.ExpectColumnValuesToMatchRegex(column="parent_hash", regex=HASH),
        # Timestamps never go back along the chain (OP Stack: +2 s per block).
        gxe.ExpectColumnValuesToBeBetween(column="timestamp_step_s", min_value=0),
        # Where two consecutive blocks are both stored, the later one extends the earlier.
        gxe.ExpectColumnValuesToBeInSet(column="links_to_previous", value_set=[True]),
    ]


def _journal_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """Walk the journal in order: an append must start right after what is held (a retraction
    moves the tip back to its first block minus one)."""
    gaps: list[float | None] = []
    tip: int | None = None
    for action, lo, hi in zip(df["action"], df["from_block"], df["to_block"], strict=True):
        if action == "append":
            gaps.append(None if tip is None else float(int(lo) - (tip + 1)))
            tip = int(hi)
        else:
            gaps.append(None)
            tip = int(lo) - 1
    return df.assign(gap_blocks=gaps)


def _journal() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectColumnValuesToBeUnique(column="journal_id"),
        gxe.ExpectColumnValuesToBeInSet(column="action", value_set=["append", "retract"]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="to_block", column_B="from_block", or_equal=True
        ),
        # Ingested ranges are contiguous: 0 blocks between one append and the next.
        gxe.ExpectColumnValuesToBeBetween(column="gap_blocks", min_value=0, max_value=0),
    ]


def _decoded_inference() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="fee_wei", min_value=0, max_value=max_supply_wei()
        ),
        gxe.ExpectColumnValuesToMatchRegex(column="caller", regex=ADDRESS),
        gxe.ExpectColumnValuesToMatchRegex(column="request_id", regex=HASH),
        gxe.ExpectColumnValuesToBeBetween(column="tokens_in", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(
            column="block_timestamp", min_value=EARLIEST, max_value=_latest()
        ),
    ]


def _decoded_transfers() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="value_wei", min_value=0, max_value=max_supply_wei()
        ),
        gxe.ExpectColumnValuesToMatchRegex(column="from_address", regex=ADDRESS),
        gxe.ExpectColumnValuesToMatchRegex(column="to_address", regex=ADDRESS),
        gxe.ExpectColumnValuesToBeBetween(
            column="block_timestamp", min_value=EARLIEST, max_value=_latest()
        ),
    ]


def _decoded_attributions() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="fee_wei", min_value=0, max_value=max_supply_wei()
        ),
        # Each part of a split is a share of the fee in [0, 1].
        *(
            gxe.ExpectColumnValuesToBeBetween(column=f"{part}_share", min_value=0, max_value=1)
            for part in ("developer", "contributors", "stakers", "protocol")
        ),
    ]


def _mart_payouts() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["chain_id", "request_id"]),
        # The four parts never add up to more than the fee (exact wei difference).
        gxe.ExpectColumnValuesToBeBetween(column="excess_wei", max_value=0),
        *(
            gxe.ExpectColumnValuesToBeBetween(column=f"{part}_amount_wei", min_value=0)
            for part in ("developer", "contributors", "stakers", "protocol")
        ),
    ]


def _mart_model_payouts() -> list[Any]:
    gxe = _gxe()
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["chain_id", "model_id"]),
        gxe.ExpectColumnValuesToBeBetween(column="excess_wei", max_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="unattributed_fee_wei", min_value=0),
    ]


def _mart_supply() -> list[Any]:
    gxe = _gxe()
    return [
        # Supply conservation: balances + burns - mints = 0 wei, on every chain.
        gxe.ExpectColumnValuesToBeBetween(column="imbalance_wei", min_value=0, max_value=0),
        gxe.ExpectColumnValuesToBeBetween(
            column="total_supply_wei", min_value=0, max_value=max_supply_wei()
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="negative_balance_count", min_value=0, max_value=0
        ),
    ]


SUITES: dict[str, Suite] = {
    s.name: s
    for s in [
        Suite(
            "raw_logs",
            "raw.logs",
            "select chain_id, block_number, block_hash, log_index, tx_hash, contract_address, "
            "topic0, removed from raw.logs where chain_id = $chain_id",
            _raw_logs,
            ["chain_id", "block_number", "log_index"],
            per_network=True,
            description="raw.logs: unique key, hex hashes and addresses, none removed",
        ),
        Suite(
            "raw_blocks",
            "raw.blocks",
            "select chain_id, block_number, block_hash, parent_hash, timestamp_unix, "
            "timestamp_unix::bigint - lag(timestamp_unix::bigint) over w as timestamp_step_s, "
            "case when lag(block_number) over w = block_number - 1 "
            "then parent_hash = lag(block_hash) over w end as links_to_previous "
            "from raw.blocks where chain_id = $chain_id window w as (order by block_number) "
            "order by block_number",
            _raw_blocks,
            ["chain_id", "block_number"],
            per_network=True,
            description="raw.blocks: unique keys, hex hashes, monotonic timestamps, parents link",
        ),
        Suite(
            "ingest_journal",
            "raw.ingest_journal",
            # the logs stream's appends and the retractions; receipts commits
            # ('append_receipts') follow the same blocks later and are not part of the walk
            "select journal_id, action, from_block, to_block from raw.ingest_journal "
            "where chain_id = $chain_id and action in ('append', 'retract') "
            "order by journal_id",
            _journal,
            ["journal_id"],
            per_network=True,
            prepare=_journal_gaps,
            description="raw.ingest_journal: ingested block ranges are contiguous",
        ),
        Suite(
            "decoded_inference_requests",
            "decoded.inference_market__inference_requested",
            "select chain_id, block_number, log_index, request_id, caller, fee::double as fee_wei, "
            "tokens_in, block_timestamp from decoded.inference_market__inference_requested",
            _decoded_inference,
            ["chain_id", "block_number", "log_index"],
            description="inference requests: fee within the token supply, hex ids, sane timestamps",
        ),
        Suite(
            "decoded_transfers",
            "decoded.open_token__transfer",
            "select chain_id, block_number, log_index, from_address, to_address, "
            "value::double as value_wei, block_timestamp from decoded.open_token__transfer",
            _decoded_transfers,
            ["chain_id", "block_number", "log_index"],
            description="OPEN transfers: amount within the token supply, hex addresses",
        ),
        Suite(
            "decoded_attributions",
            "decoded.attribution_engine__attribution_recorded",
            "select chain_id, block_number, log_index, fee::double as fee_wei, "
            "case when fee > 0 then developer_amount::double / fee::double end as developer_share, "
            "case when fee > 0 then contributors_amount::double / fee::double end "
            "as contributors_share, "
            "case when fee > 0 then stakers_amount::double / fee::double end as stakers_share, "
            "case when fee > 0 then protocol_amount::double / fee::double end as protocol_share "
            "from decoded.attribution_engine__attribution_recorded",
            _decoded_attributions,
            ["chain_id", "block_number", "log_index"],
            description="attributions: each part of a split is between 0 and the fee",
        ),
        Suite(
            "mart_inference_payouts",
            "marts.fct_inference_payouts",
            "select chain_id, request_id, model_id::double as model_id, "
            "(developer_amount_wei + contributors_amount_wei + stakers_amount_wei "
            "+ protocol_amount_wei - fee_wei)::double as excess_wei, "
            "developer_amount_wei::double as developer_amount_wei, "
            "contributors_amount_wei::double as contributors_amount_wei, "
            "stakers_amount_wei::double as stakers_amount_wei, "
            "protocol_amount_wei::double as protocol_amount_wei from marts.fct_inference_payouts",
            _mart_payouts,
            ["chain_id", "request_id"],
            description="payout splits never exceed the fee of an inference",
        ),
        Suite(
            "mart_model_payouts",
            "marts.fct_model_payouts",
            "select chain_id, model_id::double as model_id, "
            "(developer_amount_wei + contributors_amount_wei + stakers_amount_wei "
            "+ protocol_amount_wei - attributed_fee_wei)::double as excess_wei, "
            "(fee_wei - attributed_fee_wei)::double as unattributed_fee_wei "
            "from marts.fct_model_payouts",
            _mart_model_payouts,
            ["chain_id", "model_id"],
            description="per model: payouts never exceed the fees attributed",
        ),
        Suite(
            "mart_token_supply",
            "marts.fct_token_supply",
            "select s.chain_id, s.token_address, "
            "(s.held_wei + s.burned_wei - s.minted_wei)::double as imbalance_wei, "
            "s.total_supply_wei::double as total_supply_wei, "
            "(select count(*) from marts.fct_token_balances b where b.chain_id = s.chain_id "
            "and b.token_address = s.token_address and b.balance_wei < 0) "
            "as negative_balance_count "
            "from marts.fct_token_supply s",
            _mart_supply,
            ["chain_id", "token_address"],
            description="supply conservation: balances and burns add up to what was minted",
        ),
    ]
}


def load_frame(
    con: duckdb.DuckDBPyConnection, suite: Suite, chain_id: int | None = None
) -> pd.DataFrame:
    sql = suite.sql
    params: dict[str, Any] = {}
    if suite.per_network:
        if chain_id is None:
            raise ValueError(f"suite {suite.name} reads one network: pass its chain_id")
        params["chain_id"] = chain_id
    df = con.execute(sql, params or None).df()
    return suite.prepare(df) if suite.prepare else df


def run_suite(
    con: duckdb.DuckDBPyConnection, suite: Suite | str, chain_id: int | None = None
) -> SuiteResult:
    """Read the suite's rows through ``con`` and validate them."""
    s = SUITES[suite] if isinstance(suite, str) else suite
    df = load_frame(con, s, chain_id)
    return validate(s.name, s.table, df, s.expectations(), s.id_columns)
