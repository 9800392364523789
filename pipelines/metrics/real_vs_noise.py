"""Real versus noise inference volume (funder clustering, cadence, self-dealing, round trips).

Tables (schema `metrics`):
- `inference_caller_daily`: one row per chain, day, model, effective caller and dApp (NULL when
  called directly): inferences, transactions, fees, tokens. The effective caller of an inference
  routed through a dApp contract is the transaction's sender. Day-local, incremental.
- `caller_activity` (state): one row per chain and effective caller: transaction count, first and
  last call, number of models called, and the running sums of inter-arrival seconds and their
  squares, which merge across batches exactly, so the cadence CV never needs a full rescan.
  A batch rewrites the rows of the callers it saw (one day at 10M events touches nearly all).
- `caller_models` (state): one row per chain and effective caller: the sorted list of models
  it has called. Rewritten only for a caller that calls a model for the first time: as
  (caller, model) pair rows (1.8M at 10M events) every batch had to scan them all to find its
  new pairs, and as a column of caller_activity the lists were rewritten with every touched
  caller (15 MB more WAL per batch).
- `funding` (state): one row per chain and address: its first OPEN Transfer received (funder).
- `funder_returns` (state): one row per chain and address: OPEN it sent back to its funder.
- `callers`: one row per chain and effective caller: label (real/noise), the reason reported,
  every flag and the evidence behind it (funder, cluster size, cadence CV, returned value, ...).
- `inference_daily`: one row per chain, day, model and traffic class (`real` or the noise
  reason): inferences, fees, tokens in/out, unique callers.
- `dapp_daily`: one row per chain, day, dApp and traffic class: inferences, fees, unique users.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.metrics.common import (
    T_INFERENCE,
    T_TRANSFER,
    WEI,
    MetricsConfig,
)

DDL = f"""
create table if not exists metrics.inference_caller_daily (
    chain_id UINTEGER, day DATE, model_id UBIGINT, caller_address VARCHAR, dapp_address VARCHAR,
    inference_count UBIGINT, tx_count UBIGINT, fee_wei {WEI}, tokens_in UBIGINT,
    tokens_out UBIGINT);
create table if not exists metrics.caller_activity (
    chain_id UINTEGER, caller_address VARCHAR, tx_count UBIGINT, inference_count UBIGINT,
    fee_wei {WEI}, first_call_at TIMESTAMP, last_call_at TIMESTAMP, last_block_number UBIGINT,
    sum_gap_s HUGEINT, sum_gap_sq HUGEINT, via_dapp_count UBIGINT, models_called UBIGINT);
create table if not exists metrics.caller_models (
    chain_id UINTEGER, caller_address VARCHAR, models UBIGINT[]);
create table if not exists metrics.funding (
    chain_id UINTEGER, address VARCHAR, funder_address VARCHAR, funded_at TIMESTAMP,
    funded_block_number UBIGINT, funding_tx_hash VARCHAR, funded_wei {WEI});
create table if not exists metrics.funder_returns (
    chain_id UINTEGER, address VARCHAR, funder_address VARCHAR, returned_wei {WEI},
    return_count UBIGINT);
"""

CALLERS_DDL = f"""
create table if not exists metrics.callers (
    chain_id UINTEGER, caller_address VARCHAR, label VARCHAR, noise_reason VARCHAR,
    traffic_class VARCHAR, is_testnet BOOLEAN, is_self_dealing BOOLEAN,
    is_sybil_cluster BOOLEAN, is_fixed_cadence BOOLEAN, is_round_trip BOOLEAN,
    funder_address VARCHAR, funder_kind VARCHAR, cluster_size UBIGINT, cadence_cv DOUBLE,
    tx_count UBIGINT, inference_count UBIGINT, fee_wei {WEI}, models_called UBIGINT,
    self_dealing_models VARCHAR, funded_wei {WEI}, returned_to_funder_wei {WEI},
    via_dapp_count UBIGINT, first_call_at TIMESTAMP, last_call_at TIMESTAMP)
"""


DAPP_JOIN = (
    "left join (select chain_id, address from address_labels where kind = 'dapp') dl "
    "on dl.chain_id = t.chain_id and dl.address = t.caller"
)


def _effective_caller_sql(alias: str) -> tuple[str, str]:
    """(effective caller, dApp) expressions over `DAPP_JOIN`: a dApp router's user is the
    transaction's sender."""
    return (
        f"case when dl.address is not null then {alias}.tx_from else {alias}.caller end",
        f"case when dl.address is not null then {alias}.caller end",
    )


def build_day_marts(conn: duckdb.DuckDBPyConnection, window: str) -> None:
    """Recompute inference_caller_daily for the days in temp table `dirty_days`."""
    conn.execute(DDL)
    conn.execute(
        "delete from metrics.inference_caller_daily m using dirty_days d "
        "where m.chain_id = d.chain_id and m.day = d.day"
    )
    eff, dapp = _effective_caller_sql("t")
    conn.execute(
        f"""
        insert into metrics.inference_caller_daily
        select t.chain_id, t.block_timestamp::DATE, t.model_id::UBIGINT, {eff}, {dapp},
            count(*), count(distinct t.tx_hash), sum(t.fee::{WEI}),
            sum(t.tokens_in), sum(t.tokens_out)
        from {T_INFERENCE} t
        {DAPP_JOIN}
        semi join dirty_days d on t.chain_id = d.chain_id and t.block_timestamp::DATE = d.day
        where {window}
        group by all
        """
    )


def update_state(conn: duckdb.DuckDBPyConnection, new_inference: str, new_transfer: str) -> None:
    """Merge new rows into the caller state tables. `new_inference` / `new_transfer` are SQL
    predicates selecting the rows not yet seen (above the per-chain watermarks). New rows are
    later in chain order than everything merged before, which makes the gap sums exact."""
    conn.execute(DDL)
    eff, dapp = _effective_caller_sql("t")
    conn.execute(
        f"""
        create or replace temp table _new_tx as
        select t.chain_id, {eff} as caller_address, t.tx_hash, t.block_number,
            min(t.tx_index) as tx_index, min(t.block_timestamp) as ts, count(*) as n,
            sum(t.fee::{WEI}) as fee_wei, bool_or({dapp} is not null) as via_dapp
        from {T_INFERENCE} t {DAPP_JOIN} where {new_inference}
        group by t.chain_id, caller_address, t.tx_hash, t.block_number
        """
    )
    conn.execute(
        """
        create or replace temp table _new_act as
        with g as (
            select *, epoch(ts)::BIGINT - lag(epoch(ts)::BIGINT) over (
                partition by chain_id, caller_address order by block_number, tx_index) as gap
            from _new_tx
        )
        select chain_id, caller_address, count(*) as tx_count, sum(n) as inference_count,
            sum(fee_wei) as fee_wei, min(ts) as first_call_at, max(ts) as last_call_at,
            max(block_number) as last_block_number,
            coalesce(sum(gap), 0)::HUGEINT as sum_gap_s,
            coalesce(sum(gap::HUGEINT * gap), 0)::HUGEINT as sum_gap_sq,
            count(*) filter (where via_dapp) as via_dapp_count
        from g group by all
        """
    )
    # Models a caller had not called before. list_contains per element is cheap, where
    # list_distinct/list_sort over every touched caller's whole list cost 0.7 s at 10M events;
    # only a caller with a new model gets its (sorted, canonical) list rebuilt.
    conn.execute(
        f"""
        create or replace temp table _cm as
        with p as (
            select t.chain_id, {eff} as caller_address,
                list(distinct t.model_id::UBIGINT) as models
            from {T_INFERENCE} t {DAPP_JOIN} where {new_inference} group by all
        ), a as (
            select p.chain_id, p.caller_address, o.models as old_models,
                list_filter(p.models, lambda x: not coalesce(list_contains(o.models, x), false))
                    as added
            from p left join metrics.caller_models o
                on o.chain_id = p.chain_id and o.caller_address = p.caller_address
        )
        select * from a where len(added) > 0
        """
    )
    conn.execute(
        "delete from metrics.caller_models o using _cm m "
        "where o.chain_id = m.chain_id and o.caller_address = m.caller_address"
    )
    conn.execute(
        "insert into metrics.caller_models select chain_id, caller_address, "
        "list_sort(list_concat(old_models, added)) from _cm"
    )
    conn.execute(
        f"""
        create or replace temp table _merged as
        select n.chain_id, n.caller_address,
            coalesce(o.tx_count, 0) + n.tx_count as tx_count,
            coalesce(o.inference_count, 0) + n.inference_count as inference_count,
            (coalesce(o.fee_wei, 0) + n.fee_wei)::{WEI} as fee_wei,
            coalesce(o.first_call_at, n.first_call_at) as first_call_at,
            n.last_call_at, n.last_block_number,
            coalesce(o.sum_gap_s, 0) + n.sum_gap_s + coalesce(
                epoch(n.first_call_at)::BIGINT - epoch(o.last_call_at)::BIGINT, 0) as sum_gap_s,
            coalesce(o.sum_gap_sq, 0) + n.sum_gap_sq + coalesce(
                (epoch(n.first_call_at)::BIGINT - epoch(o.last_call_at)::BIGINT)::HUGEINT
                * (epoch(n.first_call_at)::BIGINT - epoch(o.last_call_at)::BIGINT), 0)
                as sum_gap_sq,
            coalesce(o.via_dapp_count, 0) + n.via_dapp_count as via_dapp_count,
            (coalesce(o.models_called, 0) + coalesce(len(p.added), 0))::UBIGINT as models_called
        from _new_act n
        left join metrics.caller_activity o
            on o.chain_id = n.chain_id and o.caller_address = n.caller_address
        left join _cm p on p.chain_id = n.chain_id and p.caller_address = n.caller_address
        """
    )
    conn.execute(
        "delete from metrics.caller_activity o using _merged m "
        "where o.chain_id = m.chain_id and o.caller_address = m.caller_address"
    )
    conn.execute("insert into metrics.caller_activity by name select * from _merged")
    # Funding: the first Transfer an address ever receives names its funder.
    conn.execute(
        f"""
        insert into metrics.funding
        select t.chain_id, t.to_address, arg_min(t.from_address, (t.block_number, t.log_index)),
            arg_min(t.block_timestamp, (t.block_number, t.log_index)), min(t.block_number),
            arg_min(t.tx_hash, (t.block_number, t.log_index)),
            arg_min(t.value::{WEI}, (t.block_number, t.log_index))
        from {T_TRANSFER} t
        where {new_transfer}
            and not exists (select 1 from metrics.funding f
                            where f.chain_id = t.chain_id and f.address = t.to_address)
        group by t.chain_id, t.to_address
        """
    )
    conn.execute(
        f"""
        create or replace temp table _ret as
        select t.chain_id, t.from_address as address, f.funder_address,
            sum(t.value::{WEI}) as returned_wei, count(*) as return_count
        from {T_TRANSFER} t
        join metrics.funding f on f.chain_id = t.chain_id and f.address = t.from_address
            and f.funder_address = t.to_address
        where {new_transfer}
        group by all
        """
    )
    conn.execute(
        f"""
        create or replace temp table _ret2 as
        select n.chain_id, n.address, n.funder_address,
            (coalesce(o.returned_wei, 0) + n.returned_wei)::{WEI} as returned_wei,
            coalesce(o.return_count, 0) + n.return_count as return_count
        from _ret n left join metrics.funder_returns o
            on o.chain_id = n.chain_id and o.address = n.address
        """
    )
    conn.execute(
        "delete from metrics.funder_returns o using _ret2 m "
        "where o.chain_id = m.chain_id and o.address = m.address"
    )
    conn.execute("insert into metrics.funder_returns by name select * from _ret2")
    for t in ("_new_tx", "_new_act", "_merged", "_cm", "_ret", "_ret2"):
        conn.execute(f"drop table if exists {t}")


def classify_callers(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig) -> pl.DataFrame:
    """One row per caller with every flag and its evidence (polars; a few rows per wallet)."""
    acts = conn.sql(
        """
        select a.chain_id, a.caller_address, a.tx_count, a.inference_count,
            a.fee_wei, a.first_call_at, a.last_call_at, a.via_dapp_count,
            a.models_called,
            a.sum_gap_s::DOUBLE as sum_gap_s, a.sum_gap_sq::DOUBLE as sum_gap_sq,
            f.funder_address, f.funded_wei, coalesce(r.returned_wei, 0)::DECIMAL(38,0)
                as returned_to_funder_wei,
            lf.kind as funder_kind
        from metrics.caller_activity a
        left join metrics.funding f
            on f.chain_id = a.chain_id and f.address = a.caller_address
        left join metrics.funder_returns r
            on r.chain_id = a.chain_id and r.address = a.caller_address
        left join address_labels lf
            on lf.chain_id = f.chain_id and lf.address = f.funder_address
        """
    ).pl()
    # Self-dealing: calls to a model owned by the caller or by the caller's funder. The few
    # (caller, model) pairs that would qualify come from the models and funding tables, and
    # are checked against the callers' model lists.
    selfd = conn.sql(
        """
        with own as (
            select chain_id, owner_address as caller_address, model_id from metrics.models
            union
            select f.chain_id, f.address, m.model_id from metrics.funding f
            join metrics.models m
                on m.chain_id = f.chain_id and m.owner_address = f.funder_address
        )
        select o.chain_id, o.caller_address,
            string_agg(distinct o.model_id::VARCHAR, ',' order by o.model_id::VARCHAR)
                as self_dealing_models
        from own o
        join metrics.caller_models cm
            on cm.chain_id = o.chain_id and cm.caller_address = o.caller_address
        where list_contains(cm.models, o.model_id)
        group by all
        """
    ).pl()
    excluded = list(cfg.funder_exclude_kinds)
    df = acts.join(selfd, on=["chain_id", "caller_address"], how="left").with_columns(
        funder_counts=pl.col("funder_kind").is_null() | ~pl.col("funder_kind").is_in(excluded)
    )
    cluster = (
        df.filter(pl.col("funder_address").is_not_null())
        .group_by("chain_id", "funder_address")
        .agg(pl.len().cast(pl.UInt64).alias("cluster_size"))
    )
    gaps = (pl.col("tx_count").cast(pl.Float64) - 1).clip(lower_bound=1)
    mean = pl.col("sum_gap_s") / gaps
    var = (pl.col("sum_gap_sq") / gaps - mean * mean).clip(lower_bound=0)
    df = df.join(cluster, on=["chain_id", "funder_address"], how="left").with_columns(
        cadence_cv=pl.when((pl.col("tx_count") >= 3) & (mean > 0))
        .then(var.sqrt() / mean)
        .otherwise(None),
        is_testnet=pl.col("chain_id").is_in(list(cfg.testnet_chain_ids)),
        is_self_dealing=pl.col("self_dealing_models").is_not_null(),
        is_sybil_cluster=pl.col("funder_counts")
        & (pl.col("cluster_size").fill_null(0) >= cfg.sybil_min_cluster_size),
        is_round_trip=pl.col("funder_counts")
        & pl.col("funded_wei").is_not_null()
        & (
            pl.col("returned_to_funder_wei").cast(pl.Float64)
            >= cfg.round_trip_min_share * pl.col("funded_wei").cast(pl.Float64)
        )
        & (pl.col("returned_to_funder_wei").cast(pl.Float64) > 0),
    )
    df = df.with_columns(
        is_fixed_cadence=(pl.col("tx_count") >= cfg.cadence_min_tx)
        & pl.col("cadence_cv").is_not_null()
        & (pl.col("cadence_cv") < cfg.cadence_max_cv),
        is_round_trip=pl.col("is_round_trip").fill_null(False),
    )
    reason = pl.lit(None, pl.String)
    for r in reversed(cfg.reason_precedence):
        reason = pl.when(pl.col(f"is_{r}")).then(pl.lit(r)).otherwise(reason)
    df = df.with_columns(noise_reason=reason).with_columns(
        label=pl.when(pl.col("noise_reason").is_null())
        .then(pl.lit("real"))
        .otherwise(pl.lit("noise")),
        traffic_class=pl.col("noise_reason").fill_null("real"),
    )
    return df.select(
        "chain_id",
        "caller_address",
        "label",
        "noise_reason",
        "traffic_class",
        "is_testnet",
        "is_self_dealing",
        "is_sybil_cluster",
        "is_fixed_cadence",
        "is_round_trip",
        "funder_address",
        "funder_kind",
        "cluster_size",
        "cadence_cv",
        "tx_count",
        "inference_count",
        "fee_wei",
        "models_called",
        "self_dealing_models",
        "funded_wei",
        "returned_to_funder_wei",
        "via_dapp_count",
        "first_call_at",
        "last_call_at",
    )


def write_callers(conn: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> None:
    """Replace metrics.callers; callers whose class changed are left in temp `changed_callers`."""
    conn.execute("create schema if not exists metrics")
    conn.execute(CALLERS_DDL)
    conn.register("_callers_new", df)
    conn.execute(
        """
        create or replace temp table changed_callers as
        select n.chain_id, n.caller_address from _callers_new n
        left join metrics.callers o
            on o.chain_id = n.chain_id and o.caller_address = n.caller_address
        where o.traffic_class is distinct from n.traffic_class
        union
        select o.chain_id, o.caller_address from metrics.callers o
        anti join _callers_new n
            on o.chain_id = n.chain_id and o.caller_address = n.caller_address
        """
    )
    conn.execute("delete from metrics.callers")
    conn.execute(
        "insert into metrics.callers by name select * from _callers_new "
        "order by chain_id, caller_address"
    )
    conn.unregister("_callers_new")


def build_class_marts(conn: duckdb.DuckDBPyConnection) -> None:
    """Recompute inference_daily and dapp_daily for the days in temp table `class_days`."""
    conn.execute(
        f"""
        create table if not exists metrics.inference_daily (
            chain_id UINTEGER, day DATE, model_id UBIGINT, traffic_class VARCHAR,
            is_noise BOOLEAN, inference_count UBIGINT, fee_wei {WEI}, tokens_in UBIGINT,
            tokens_out UBIGINT, unique_callers UBIGINT);
        create table if not exists metrics.dapp_daily (
            chain_id UINTEGER, day DATE, dapp_address VARCHAR, dapp_name VARCHAR,
            traffic_class VARCHAR, is_noise BOOLEAN, inference_count UBIGINT, fee_wei {WEI},
            unique_users UBIGINT);
        """
    )
    for t in ("inference_daily", "dapp_daily"):
        conn.execute(
            f"delete from metrics.{t} m using class_days d "
            "where m.chain_id = d.chain_id and m.day = d.day"
        )
    conn.execute(
        """
        insert into metrics.inference_daily
        select i.chain_id, i.day, i.model_id, coalesce(c.traffic_class, 'real'),
            coalesce(c.traffic_class, 'real') <> 'real', sum(i.inference_count),
            sum(i.fee_wei), sum(i.tokens_in), sum(i.tokens_out),
            count(distinct i.caller_address)
        from metrics.inference_caller_daily i
        semi join class_days d on d.chain_id = i.chain_id and d.day = i.day
        left join metrics.callers c
            on c.chain_id = i.chain_id and c.caller_address = i.caller_address
        group by all
        """
    )
    conn.execute(
        """
        insert into metrics.dapp_daily
        select i.chain_id, i.day, i.dapp_address, any_value(l.name),
            coalesce(c.traffic_class, 'real'), coalesce(c.traffic_class, 'real') <> 'real',
            sum(i.inference_count), sum(i.fee_wei), count(distinct i.caller_address)
        from metrics.inference_caller_daily i
        semi join class_days d on d.chain_id = i.chain_id and d.day = i.day
        left join metrics.callers c
            on c.chain_id = i.chain_id and c.caller_address = i.caller_address
        left join address_labels l on l.chain_id = i.chain_id and l.address = i.dapp_address
        where i.dapp_address is not null
        group by i.chain_id, i.day, i.dapp_address, c.traffic_class
        """
    )
