"""Payouts per model: fee income and its split, the owner's gas, net earnings, break-even.

Tables (schema `metrics`):
- `models`: one row per chain and model: owner, name, registration, current fee.
- `model_payouts_daily`: one row per chain, day and model: attributions, fee income and the
  developer / contributors / stakers / protocol parts (from AttributionRecorded), plus the gas
  the owner spent that day on this model (registration, updates, own calls; gas_used ×
  effective_gas_price + L1 fee, in the native gas token) and the fees of its own calls.
  Day-local, incremental.
- `contributor_payouts_daily`: one row per chain, day, model, Datanet and contributor
  (from ContributorsRewarded). Day-local, incremental.
- `datanet_payouts`: one row per chain, Datanet and contributor: lifetime rewards.
- `model_economics`: one row per chain and model: lifetime totals, net earnings, real volume,
  monthly cost and the break-even inference volume per month at the current fee.
"""

from __future__ import annotations

import duckdb

from pipelines.metrics.common import (
    T_ATTRIBUTION,
    T_CONTRIBUTORS,
    T_INFERENCE,
    T_MODEL_REGISTERED,
    T_MODEL_UPDATED,
    T_RECEIPTS,
    WEI,
    MetricsConfig,
    columns_of,
    table_exists,
)

DDL = f"""
create table if not exists metrics.model_payouts_daily (
    chain_id UINTEGER, day DATE, model_id UBIGINT, attribution_count UBIGINT, fee_wei {WEI},
    developer_wei {WEI}, contributors_wei {WEI}, stakers_wei {WEI}, protocol_wei {WEI},
    registration_gas_wei {WEI}, update_gas_wei {WEI}, own_call_gas_wei {WEI},
    owner_gas_wei {WEI}, own_call_count UBIGINT, own_call_fee_wei {WEI});
create table if not exists metrics.contributor_payouts_daily (
    chain_id UINTEGER, day DATE, model_id UBIGINT, datanet_id UBIGINT,
    contributor_address VARCHAR, reward_count UBIGINT, amount_wei {WEI});
"""


def build_models(conn: duckdb.DuckDBPyConnection) -> None:
    """Rebuild metrics.models from registrations and updates (one row per chain and model)."""
    conn.execute("create schema if not exists metrics")
    if not table_exists(conn, T_MODEL_REGISTERED):
        conn.execute(
            "create table if not exists metrics.models (chain_id UINTEGER, model_id UBIGINT, "
            "owner_address VARCHAR, model_name VARCHAR, registered_at TIMESTAMP, "
            f"registered_block_number UBIGINT, registration_tx_hash VARCHAR, "
            f"fee_per_inference_wei {WEI}, registered_fee_wei {WEI}, update_count UBIGINT, "
            "datanet_ids UBIGINT[])"
        )
        return
    upd = (
        f"""select chain_id, model_id::UBIGINT as model_id,
            arg_max(fee_per_inference::{WEI}, (block_number, log_index)) as fee,
            count(*) as n from {T_MODEL_UPDATED} group by all"""
        if table_exists(conn, T_MODEL_UPDATED)
        else f"select 0::UINTEGER as chain_id, 0::UBIGINT as model_id, 0::{WEI} as fee, "
        "0 as n where false"
    )
    conn.execute(
        f"""
        create or replace table metrics.models as
        with u as ({upd})
        select r.chain_id, r.model_id::UBIGINT as model_id, r.owner as owner_address,
            r.name as model_name, r.block_timestamp as registered_at,
            r.block_number as registered_block_number, r.tx_hash as registration_tx_hash,
            coalesce(u.fee, r.fee_per_inference::{WEI})::{WEI} as fee_per_inference_wei,
            r.fee_per_inference::{WEI} as registered_fee_wei,
            coalesce(u.n, 0)::UBIGINT as update_count,
            r.datanet_ids::UBIGINT[] as datanet_ids
        from {T_MODEL_REGISTERED} r
        left join u on u.chain_id = r.chain_id and u.model_id = r.model_id::UBIGINT
        order by r.chain_id, model_id
        """
    )


def _gas_expr(conn: duckdb.DuckDBPyConnection) -> str:
    cols = columns_of(conn, T_RECEIPTS)
    price = next((c for c in ("effective_gas_price", "gas_price") if c in cols), None)
    if "gas_used" not in cols or price is None:
        return f"0::{WEI}"
    l1 = " + coalesce(r.l1_fee::HUGEINT, 0)" if "l1_fee" in cols else ""
    return f"(r.gas_used::HUGEINT * r.{price}::HUGEINT{l1})::{WEI}"


def _receipts_join(conn: duckdb.DuckDBPyConnection, alias: str) -> str:
    """Join the receipts of the dirty days only (temp `_rcpt`, cut by block range)."""
    on = f"r.chain_id = {alias}.chain_id and r.tx_hash = {alias}.tx_hash"
    if "block_hash" in columns_of(conn, T_RECEIPTS):
        on += f" and r.block_hash = {alias}.block_hash"
    return f"left join _rcpt r on {on}"


def _stage_receipts(conn: duckdb.DuckDBPyConnection) -> None:
    ranges = conn.execute(
        "select b.chain_id, min(b.min_block_number), max(b.max_block_number) "
        "from metrics.day_blocks b semi join dirty_days d "
        "on d.chain_id = b.chain_id and d.day = b.day group by 1"
    ).fetchall()
    cond = " or ".join(
        f"(r.chain_id = {c} and r.block_number between {lo} and {hi})" for c, lo, hi in ranges
    )
    conn.execute(
        f"create or replace temp table _rcpt as select * from {T_RECEIPTS} r "
        f"where {cond or 'false'}"
    )


def _share_sql(gas: str) -> str:
    """One event's share of its transaction's fee, exact to the wei: the fee divided by the
    events in the transaction, the remainder going one wei each to the first events in log
    order (so the shares add up to the fee; `gas // count` alone lost up to count-1 wei)."""
    w = "partition by t.chain_id, t.tx_hash"
    return (
        f"({gas}::HUGEINT // count(*) over ({w}) + case when row_number() over "
        f"({w} order by t.log_index) <= {gas}::HUGEINT % count(*) over ({w}) then 1 else 0 "
        f"end)::{WEI}"
    )


def build_day_marts(conn: duckdb.DuckDBPyConnection, window: str) -> None:
    """Recompute model_payouts_daily and contributor_payouts_daily for temp `dirty_days`."""
    conn.execute(DDL)
    for t in ("model_payouts_daily", "contributor_payouts_daily"):
        conn.execute(
            f"delete from metrics.{t} m using dirty_days d "
            "where m.chain_id = d.chain_id and m.day = d.day"
        )
    has_receipts = table_exists(conn, T_RECEIPTS)
    gas = _gas_expr(conn) if has_receipts else f"0::{WEI}"
    if has_receipts:
        _stage_receipts(conn)
    rjoin = _receipts_join(conn, "t") if has_receipts else ""
    zero = f"0::{WEI}"
    parts = []
    sel = "t.chain_id, t.block_timestamp::DATE as day, t.model_id::UBIGINT as model_id"
    dirty = "semi join dirty_days d on t.chain_id = d.chain_id and t.block_timestamp::DATE = d.day"
    if table_exists(conn, T_ATTRIBUTION):
        parts.append(
            f"""select {sel}, count(*) as attribution_count, sum(t.fee::{WEI}) as fee_wei,
                sum(t.developer_amount::{WEI}) as developer_wei,
                sum(t.contributors_amount::{WEI}) as contributors_wei,
                sum(t.stakers_amount::{WEI}) as stakers_wei,
                sum(t.protocol_amount::{WEI}) as protocol_wei,
                {zero} as registration_gas_wei, {zero} as update_gas_wei,
                {zero} as own_call_gas_wei, 0 as own_call_count, {zero} as own_call_fee_wei
            from {T_ATTRIBUTION} t {dirty} where {window} group by all"""
        )
    # The owner's gas: a transaction's fee is shared equally by the model events it holds.
    for table, col in ((T_MODEL_REGISTERED, "registration"), (T_MODEL_UPDATED, "update")):
        if not table_exists(conn, table):
            continue
        parts.append(
            f"""select chain_id, day, model_id, 0, {zero}, {zero}, {zero}, {zero}, {zero},
                {"sum(share)" if col == "registration" else zero},
                {"sum(share)" if col == "update" else zero}, {zero}, 0, {zero}
            from (
                select {sel}, {_share_sql(gas)} as share
                from {table} t {rjoin} {dirty}
                where {window} and t.tx_from = t.owner
            ) group by all"""
        )
    if table_exists(conn, T_INFERENCE):
        parts.append(
            f"""select chain_id, day, model_id, 0, {zero}, {zero}, {zero}, {zero}, {zero},
                {zero}, {zero}, sum(share), count(*), sum(fee)
            from (
                select {sel}, t.fee::{WEI} as fee, {_share_sql(gas)} as share
                from {T_INFERENCE} t
                join metrics.models m
                    on m.chain_id = t.chain_id and m.model_id = t.model_id::UBIGINT
                    and m.owner_address = t.tx_from
                {rjoin} {dirty}
                where {window}
            ) group by all"""
        )
    if parts:
        union = "\nunion all\n".join(parts)
        conn.execute(
            f"""
            insert into metrics.model_payouts_daily
            select chain_id, day, model_id, sum(attribution_count), sum(fee_wei),
                sum(developer_wei), sum(contributors_wei), sum(stakers_wei), sum(protocol_wei),
                sum(registration_gas_wei), sum(update_gas_wei), sum(own_call_gas_wei),
                sum(registration_gas_wei) + sum(update_gas_wei) + sum(own_call_gas_wei),
                sum(own_call_count), sum(own_call_fee_wei)
            from ({union}) group by all
            """
        )
    if table_exists(conn, T_CONTRIBUTORS):
        conn.execute(
            f"""
            insert into metrics.contributor_payouts_daily
            select chain_id, day, model_id, datanet_id, contributor_address, count(*),
                sum(amount_wei)
            from (
                select {sel}, unnest(t.datanet_ids)::UBIGINT as datanet_id,
                    unnest(t.contributors) as contributor_address,
                    unnest(t.amounts)::{WEI} as amount_wei
                from {T_CONTRIBUTORS} t {dirty} where {window}
            ) group by all
            """
        )
    # A full run stages every receipt (10M rows, 3.5 GB in memory): release it with this run,
    # not leave it for whatever the connection does next to free.
    conn.execute("drop table if exists _rcpt")


def build_summaries(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig) -> None:
    """Rebuild datanet_payouts and model_economics (one row per Datanet / model)."""
    conn.execute(DDL)
    conn.execute(
        f"""
        create or replace table metrics.datanet_payouts as
        select chain_id, datanet_id, contributor_address, count(distinct model_id) as models,
            sum(reward_count)::UBIGINT as reward_count, sum(amount_wei)::{WEI} as amount_wei
        from metrics.contributor_payouts_daily group by all
        order by chain_id, datanet_id, contributor_address
        """
    )
    trailing = int(cfg.trailing_days)
    amort = int(cfg.registration_amortization_months)
    has_daily = table_exists(conn, "metrics.inference_daily")
    real = (
        f"""select chain_id, model_id,
            sum(inference_count) filter (where traffic_class = 'real') as real_count,
            sum(inference_count) filter (where traffic_class <> 'real') as noise_count,
            sum(fee_wei) filter (where traffic_class = 'real') as real_fee,
            sum(inference_count) filter (where traffic_class = 'real'
                and day > (select max(day) from metrics.model_payouts_daily x
                           where x.chain_id = i.chain_id) - {trailing}) as real_trailing
        from metrics.inference_daily i group by all"""
        if has_daily
        else "select null::UINTEGER as chain_id, null::UBIGINT as model_id, 0 as real_count, "
        "0 as noise_count, 0 as real_fee, 0 as real_trailing where false"
    )
    conn.execute(
        f"""
        create or replace table metrics.model_economics as
        with last as (
            select chain_id, max(day) as last_day from metrics.model_payouts_daily group by all
        ), p as (
            select p.chain_id, p.model_id,
                sum(attribution_count)::UBIGINT as attribution_count,
                sum(fee_wei)::{WEI} as fee_wei, sum(developer_wei)::{WEI} as developer_wei,
                sum(contributors_wei)::{WEI} as contributors_wei,
                sum(stakers_wei)::{WEI} as stakers_wei, sum(protocol_wei)::{WEI} as protocol_wei,
                sum(registration_gas_wei)::{WEI} as registration_gas_wei,
                sum(update_gas_wei)::{WEI} as update_gas_wei,
                sum(own_call_gas_wei)::{WEI} as own_call_gas_wei,
                sum(owner_gas_wei)::{WEI} as owner_gas_wei,
                sum(own_call_count)::UBIGINT as own_call_count,
                sum(own_call_fee_wei)::{WEI} as own_call_fee_wei,
                coalesce(sum(update_gas_wei + own_call_gas_wei)
                    filter (where p.day > l.last_day - {trailing}), 0) as running_gas_trailing
            from metrics.model_payouts_daily p join last l using (chain_id)
            group by all
        ), r as ({real})
        select m.chain_id, m.model_id, m.model_name, m.owner_address, m.registered_at,
            m.fee_per_inference_wei,
            coalesce(p.attribution_count, 0)::UBIGINT as attribution_count,
            coalesce(p.fee_wei, 0)::{WEI} as fee_wei,
            coalesce(p.developer_wei, 0)::{WEI} as developer_wei,
            coalesce(p.contributors_wei, 0)::{WEI} as contributors_wei,
            coalesce(p.stakers_wei, 0)::{WEI} as stakers_wei,
            coalesce(p.protocol_wei, 0)::{WEI} as protocol_wei,
            coalesce(p.registration_gas_wei, 0)::{WEI} as registration_gas_wei,
            coalesce(p.update_gas_wei, 0)::{WEI} as update_gas_wei,
            coalesce(p.own_call_gas_wei, 0)::{WEI} as own_call_gas_wei,
            coalesce(p.owner_gas_wei, 0)::{WEI} as owner_gas_wei,
            coalesce(p.own_call_count, 0)::UBIGINT as own_call_count,
            coalesce(p.own_call_fee_wei, 0)::{WEI} as own_call_fee_wei,
            (coalesce(p.developer_wei, 0) - coalesce(p.owner_gas_wei, 0)
                - coalesce(p.own_call_fee_wei, 0))::{WEI} as net_earnings_wei,
            coalesce(r.real_count, 0)::UBIGINT as real_inference_count,
            coalesce(r.noise_count, 0)::UBIGINT as noise_inference_count,
            coalesce(r.real_fee, 0)::{WEI} as real_fee_wei,
            -- exact integers, filled in below (the product overflows 128 bits)
            null::{WEI} as developer_per_inference_wei,
            (coalesce(p.registration_gas_wei, 0)::HUGEINT // {amort}
                + coalesce(p.running_gas_trailing, 0)::HUGEINT * 30 // {trailing})::{WEI}
                as monthly_cost_wei,
            coalesce(r.real_trailing, 0)::DOUBLE * 30 / {trailing} as real_inferences_per_month,
            null::UBIGINT as break_even_inferences_per_month
        from metrics.models m
        left join p on p.chain_id = m.chain_id and p.model_id = m.model_id
        left join r on r.chain_id = m.chain_id and r.model_id = m.model_id
        order by m.chain_id, m.model_id
        """
    )
    _exact_break_even(conn)
    conn.execute(
        """
        create or replace table metrics.model_economics as
        select *, real_inferences_per_month >= coalesce(break_even_inferences_per_month, 0)
                and break_even_inferences_per_month is not null
                -- a model whose lifetime net is negative (self-dealing) never covers its costs
                and net_earnings_wei >= 0 as covers_costs,
            net_earnings_wei > 0 as is_net_positive
        from metrics.model_economics order by chain_id, model_id
        """
    )


def _exact_break_even(conn: duckdb.DuckDBPyConnection) -> None:
    """developer_per_inference_wei = floor(current fee x developer income / fee income) (the
    engine's split observed) and break_even = ceil(monthly cost / that), in Python integers:
    exact, where DOUBLE gave 11999999999999998 for 12000000000000000 and the product overflows
    128 bits on big models. One row per model, so a loop in Python is fine."""
    rows = conn.execute(
        "select chain_id, model_id, fee_per_inference_wei, developer_wei, fee_wei, "
        "monthly_cost_wei from metrics.model_economics"
    ).fetchall()
    out = []
    for chain_id, model_id, fee_now, dev, fee, cost in rows:
        if fee_now is None or not fee:
            continue
        per = int(fee_now) * int(dev) // int(fee)
        even = -(-int(cost) // per) if per > 0 else None
        out.append((chain_id, model_id, str(per), None if even is None else str(even)))
    conn.execute(
        "create or replace temp table _be (chain_id UINTEGER, model_id UBIGINT, "
        "per VARCHAR, even VARCHAR)"
    )
    if out:
        conn.executemany("insert into _be values (?, ?, ?, ?)", out)
    conn.execute(
        f"""update metrics.model_economics m
        set developer_per_inference_wei = b.per::{WEI},
            break_even_inferences_per_month = b.even::UBIGINT
        from _be b where b.chain_id = m.chain_id and b.model_id = m.model_id"""
    )
    conn.execute("drop table _be")
