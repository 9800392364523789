"""Real versus noise inference volume: a funding graph, behaviour, and scores with evidence.

Tables (schema `metrics`):
- `inference_caller_daily`: one row per chain, day, model, effective caller and dApp (NULL when
  called directly): inferences, transactions, fees, tokens. The effective caller of an inference
  routed through a dApp contract is the transaction's sender. Day-local, incremental.
- `caller_activity` (state): one row per chain and effective caller: transaction count, first and
  last call, number of models called, the running sums of inter-arrival seconds and their
  squares, and of request sizes (tokens in/out) and their squares, which merge across batches
  exactly, so the cadence and content CVs never need a full rescan.
- `caller_models` (state): one row per chain and effective caller: the sorted list of models
  it has called. Rewritten only for a caller that calls a model for the first time.
- `caller_gaps` (state): one row per chain, caller and gap bin: how many of its inter-arrival
  gaps fell in that bin (bins 10 % wide on a log scale; bin -1 holds zero gaps). The robust
  periodicity (share of gaps near the dominant period, which one outage barely moves) is read
  from it; counts merge exactly.
- `value_edges` (state): one row per chain, sender and recipient of value: total amount,
  transfers, first/last time, the first transfer's amount. Fed by `value_transfers_sql`, the one
  relation of every value movement the warehouse has (ERC-20 OPEN Transfers, native value of
  transactions; traces plug in as one more branch). The funding graph is read from it.
- `callers`: one row per chain and effective caller: label (real / noise / review), noise score,
  the reason, every flag and the evidence behind it (funding path, clusters, periodicity,
  content similarity, returned value, ...), also as one JSON `evidence` column.
- `inference_daily`: one row per chain, day, model and traffic class (`real`, `review` or the
  noise reason): inferences, fees, tokens in/out, unique callers.
- `dapp_daily`: one row per chain, day, dApp and traffic class: inferences, fees, unique users.

The funding graph: every address's *primary funder* is the sender of the largest total value it
received (dust and small one-off transfers cannot capture it); from each caller the walk follows
primary funders up to `funding_max_hops`, stopping at a labelled entity (exchange, treasury,
faucet, ...). Every unlabelled ancestor defines a cluster (the callers below it), and so does
every wallet's *primary sink* (the recipient of the largest value it sent), and every burst of
funding from one funder (same time bucket, same amount to two significant digits). A cluster of
at least `sybil_min_cluster_size` callers whose members call the same models, start together and
were funded the same amounts is a sybil farm; a large cluster of diverse callers (an onboarding
faucet, an unlabelled exchange, a company treasury) puts its members in `review`, never in noise.
Self-dealing is a call to a model whose owner is the caller or any ancestor on its funding path;
a round trip is value sent down the caller's sink path (through any intermediaries) that reaches
one of its unlabelled ancestors or the owner of a model it called, against all it received.
Behaviour: identical requests (token counts that never vary) over many inferences are scripted;
periodicity alone (a clinic's nightly batch) is evidence, never noise.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.metrics.common import (
    T_BLOCKS,
    T_INFERENCE,
    T_TRACES,
    T_TRANSACTIONS,
    T_TRANSFER,
    WEI,
    ZERO_ADDRESS,
    MetricsConfig,
    columns_of,
    table_exists,
)

DDL = f"""
create table if not exists metrics.inference_caller_daily (
    chain_id UINTEGER, day DATE, model_id UBIGINT, caller_address VARCHAR, dapp_address VARCHAR,
    inference_count UBIGINT, tx_count UBIGINT, fee_wei {WEI}, tokens_in UBIGINT,
    tokens_out UBIGINT);
create table if not exists metrics.caller_activity (
    chain_id UINTEGER, caller_address VARCHAR, tx_count UBIGINT, inference_count UBIGINT,
    fee_wei {WEI}, first_call_at TIMESTAMP, last_call_at TIMESTAMP, last_block_number UBIGINT,
    sum_gap_s HUGEINT, sum_gap_sq HUGEINT, via_dapp_count UBIGINT, models_called UBIGINT,
    sum_tin HUGEINT, sum_tin_sq HUGEINT, sum_tout HUGEINT, sum_tout_sq HUGEINT);
create table if not exists metrics.caller_models (
    chain_id UINTEGER, caller_address VARCHAR, models UBIGINT[]);
create table if not exists metrics.caller_gaps (
    chain_id UINTEGER, caller_address VARCHAR, gap_bin INTEGER, gap_count UBIGINT);
create table if not exists metrics.value_edges (
    chain_id UINTEGER, from_address VARCHAR, to_address VARCHAR, amount_wei {WEI},
    transfer_count UBIGINT, first_at TIMESTAMP, last_at TIMESTAMP, first_block_number UBIGINT,
    first_amount_wei {WEI});
"""

CALLERS_DDL = f"""
create table if not exists metrics.callers (
    chain_id UINTEGER, caller_address VARCHAR, label VARCHAR, noise_reason VARCHAR,
    traffic_class VARCHAR, is_testnet BOOLEAN, is_self_dealing BOOLEAN,
    is_sybil_cluster BOOLEAN, is_fixed_cadence BOOLEAN, is_round_trip BOOLEAN,
    funder_address VARCHAR, funder_kind VARCHAR, cluster_size UBIGINT, cadence_cv DOUBLE,
    tx_count UBIGINT, inference_count UBIGINT, fee_wei {WEI}, models_called UBIGINT,
    self_dealing_models VARCHAR, funded_wei {WEI}, returned_to_funder_wei {WEI},
    via_dapp_count UBIGINT, first_call_at TIMESTAMP, last_call_at TIMESTAMP,
    noise_score DOUBLE, review_reason VARCHAR, is_scripted BOOLEAN, is_hub_member BOOLEAN,
    funding_root VARCHAR, funding_root_kind VARCHAR, funding_hops UINTEGER,
    cluster_kind VARCHAR, cluster_key VARCHAR, cluster_similarity DOUBLE,
    periodic_share DOUBLE, period_s DOUBLE, content_cv DOUBLE, lifetime_days DOUBLE,
    round_trip_path VARCHAR, evidence VARCHAR)
"""

# Gap bins: 10 % wide on a log scale (bin b holds gaps near 1.1^b seconds).
GAP_BIN_BASE = 1.1


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


def native_value_available(conn: duckdb.DuckDBPyConnection) -> bool:
    """raw.transactions carries native value (and raw.blocks the time) in this warehouse."""
    return (
        table_exists(conn, T_TRANSACTIONS)
        and table_exists(conn, T_BLOCKS)
        and "value_wei" in columns_of(conn, T_TRANSACTIONS)
    )


def value_transfers_sql(
    conn: duckdb.DuckDBPyConnection, new_transfer: str = "true", new_native: str = "true"
) -> str:
    """The one relation of every value movement the warehouse has, one row per movement:
    (chain_id, block_number, block_timestamp, tx_hash, from_address, to_address, amount_wei,
    source). Today: ERC-20 OPEN Transfers (`erc20`) and the native value of transactions
    (`native_tx`, OPEN is the gas token on the real L2), and internal native transfers from
    raw.traces (`internal`). A new source (deposits, bridge receipts) is one more branch of
    this union, with its own predicate selecting the rows not yet merged. `new_*` are SQL
    predicates over alias `t`."""
    parts = []
    if table_exists(conn, T_TRANSFER):
        parts.append(
            f"""select t.chain_id, t.block_number, t.block_timestamp, t.tx_hash,
                t.from_address, t.to_address, t.value::{WEI} as amount_wei, 'erc20' as source
            from {T_TRANSFER} t where {new_transfer}"""
        )
    if native_value_available(conn):
        parts.append(
            f"""select t.chain_id, t.block_number, b.block_timestamp, t.tx_hash,
                t.tx_from as from_address, t.tx_to as to_address,
                t.value_wei::{WEI} as amount_wei, 'native_tx' as source
            from {T_TRANSACTIONS} t
            join {T_BLOCKS} b on b.chain_id = t.chain_id and b.block_hash = t.block_hash
            where t.value_wei > 0 and t.tx_to is not null and {new_native}"""
        )
    if native_value_available(conn) and table_exists(conn, T_TRACES):
        # internal native transfers (call frames below the top level), committed with their
        # transactions, so the transactions' watermark covers them
        parts.append(
            f"""select t.chain_id, t.block_number, b.block_timestamp, t.tx_hash,
                t.from_address, t.to_address, t.value_wei::{WEI} as amount_wei,
                'internal' as source
            from {T_TRACES} t
            join {T_BLOCKS} b on b.chain_id = t.chain_id and b.block_hash = t.block_hash
            where t.value_wei > 0 and not t.reverted and t.error is null
                and t.to_address is not null and {new_native}"""
        )
    if not parts:
        return (
            f"select null::UINTEGER as chain_id, null::UBIGINT as block_number, "
            f"null::TIMESTAMP as block_timestamp, null::VARCHAR as tx_hash, "
            f"null::VARCHAR as from_address, null::VARCHAR as to_address, "
            f"null::{WEI} as amount_wei, null::VARCHAR as source where false"
        )
    return "\nunion all\n".join(parts)


def update_state(
    conn: duckdb.DuckDBPyConnection,
    new_inference: str,
    new_transfer: str,
    new_native: str | None = None,
    cfg: MetricsConfig | None = None,
) -> None:
    """Merge new rows into the caller state tables. `new_inference` / `new_transfer` /
    `new_native` are SQL predicates selecting the rows not yet seen (above the per-chain
    watermarks; `new_native` defaults to `new_transfer`). New rows are later in chain order than
    everything merged before, which makes the gap sums and histograms exact."""
    conn.execute(DDL)
    eff, dapp = _effective_caller_sql("t")
    conn.execute(
        f"""
        create or replace temp table _new_tx as
        select t.chain_id, {eff} as caller_address, t.tx_hash, t.block_number,
            min(t.tx_index) as tx_index, min(t.block_timestamp) as ts, count(*) as n,
            sum(t.fee::{WEI}) as fee_wei, bool_or({dapp} is not null) as via_dapp,
            sum(t.tokens_in)::HUGEINT as tin,
            sum(t.tokens_in::HUGEINT * t.tokens_in)::HUGEINT as tin_sq,
            sum(t.tokens_out)::HUGEINT as tout,
            sum(t.tokens_out::HUGEINT * t.tokens_out)::HUGEINT as tout_sq
        from {T_INFERENCE} t {DAPP_JOIN} where {new_inference}
        group by t.chain_id, caller_address, t.tx_hash, t.block_number
        """
    )
    conn.execute(
        """
        create or replace temp table _new_gap as
        select *, epoch(ts)::BIGINT - lag(epoch(ts)::BIGINT) over (
            partition by chain_id, caller_address order by block_number, tx_index) as gap
        from _new_tx
        """
    )
    conn.execute(
        """
        create or replace temp table _new_act as
        select chain_id, caller_address, count(*) as tx_count, sum(n) as inference_count,
            sum(fee_wei) as fee_wei, min(ts) as first_call_at, max(ts) as last_call_at,
            max(block_number) as last_block_number,
            coalesce(sum(gap), 0)::HUGEINT as sum_gap_s,
            coalesce(sum(gap::HUGEINT * gap), 0)::HUGEINT as sum_gap_sq,
            count(*) filter (where via_dapp) as via_dapp_count,
            sum(tin)::HUGEINT as sum_tin, sum(tin_sq)::HUGEINT as sum_tin_sq,
            sum(tout)::HUGEINT as sum_tout, sum(tout_sq)::HUGEINT as sum_tout_sq
        from _new_gap group by all
        """
    )
    # Gap histogram: the gaps inside the batch, plus the one from each caller's last call
    # before it to its first call in it.
    b = f"ln({GAP_BIN_BASE})"
    conn.execute(
        f"""
        create or replace temp table _gn as
        with gaps as (
            select chain_id, caller_address, gap from _new_gap where gap is not null
            union all
            select n.chain_id, n.caller_address,
                epoch(n.first_call_at)::BIGINT - epoch(o.last_call_at)::BIGINT
            from _new_act n join metrics.caller_activity o
                on o.chain_id = n.chain_id and o.caller_address = n.caller_address
        )
        select chain_id, caller_address,
            (case when gap <= 0 then -1 else round(ln(gap) / {b}) end)::INTEGER as gap_bin,
            count(*)::UBIGINT as gap_count
        from gaps group by all
        """
    )
    conn.execute(
        """
        create or replace temp table _gm as
        select n.chain_id, n.caller_address, n.gap_bin,
            (n.gap_count + coalesce(o.gap_count, 0))::UBIGINT as gap_count
        from _gn n left join metrics.caller_gaps o on o.chain_id = n.chain_id
            and o.caller_address = n.caller_address and o.gap_bin = n.gap_bin
        """
    )
    conn.execute(
        "delete from metrics.caller_gaps o using _gm m where o.chain_id = m.chain_id "
        "and o.caller_address = m.caller_address and o.gap_bin = m.gap_bin"
    )
    conn.execute("insert into metrics.caller_gaps by name select * from _gm")
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
            (coalesce(o.models_called, 0) + coalesce(len(p.added), 0))::UBIGINT as models_called,
            coalesce(o.sum_tin, 0) + n.sum_tin as sum_tin,
            coalesce(o.sum_tin_sq, 0) + n.sum_tin_sq as sum_tin_sq,
            coalesce(o.sum_tout, 0) + n.sum_tout as sum_tout,
            coalesce(o.sum_tout_sq, 0) + n.sum_tout_sq as sum_tout_sq
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
    # Value edges: every movement of value, summed per (sender, recipient). Movements to or
    # from an address of `graph_ignore_kinds` (fee payments: one per inference) are never
    # funding; dropping them here keeps the edge state small (labels changing rebuild it all).
    ignore = _in_list((cfg or MetricsConfig()).graph_ignore_kinds)
    vt = value_transfers_sql(conn, new_transfer, new_transfer if new_native is None else new_native)
    skip = f"(select chain_id, address from address_labels where kind in ({ignore}))"
    conn.execute(
        f"""
        create or replace temp table _ve as
        select chain_id, from_address, to_address, sum(amount_wei)::{WEI} as amount_wei,
            count(*)::UBIGINT as transfer_count, min(block_timestamp) as first_at,
            max(block_timestamp) as last_at, min(block_number)::UBIGINT as first_block_number,
            arg_min(amount_wei, (block_number, amount_wei))::{WEI} as first_amount_wei
        from ({vt}) v
        anti join {skip} a on a.chain_id = v.chain_id and a.address = v.to_address
        anti join {skip} b on b.chain_id = v.chain_id and b.address = v.from_address
        where from_address <> to_address and from_address <> '{ZERO_ADDRESS}'
            and to_address <> '{ZERO_ADDRESS}' and amount_wei > 0
        group by all
        """
    )
    conn.execute(
        f"""
        create or replace temp table _vm as
        select n.chain_id, n.from_address, n.to_address,
            (n.amount_wei + coalesce(o.amount_wei, 0))::{WEI} as amount_wei,
            n.transfer_count + coalesce(o.transfer_count, 0) as transfer_count,
            coalesce(o.first_at, n.first_at) as first_at, n.last_at,
            coalesce(o.first_block_number, n.first_block_number) as first_block_number,
            coalesce(o.first_amount_wei, n.first_amount_wei) as first_amount_wei
        from _ve n left join metrics.value_edges o on o.chain_id = n.chain_id
            and o.from_address = n.from_address and o.to_address = n.to_address
        """
    )
    conn.execute(
        "delete from metrics.value_edges o using _vm m where o.chain_id = m.chain_id "
        "and o.from_address = m.from_address and o.to_address = m.to_address"
    )
    conn.execute("insert into metrics.value_edges by name select * from _vm")
    for t in ("_new_tx", "_new_gap", "_new_act", "_merged", "_cm", "_gn", "_gm", "_ve", "_vm"):
        conn.execute(f"drop table if exists {t}")


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "''"


def _funding_graph(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig) -> None:
    """Temp tables of the funding graph: `_pf` (each address's primary funder), `_ps` (its
    primary sink), `_up` / `_dn` (each caller's walk up its funders and down its sinks)."""
    ignore = _in_list(cfg.graph_ignore_kinds)
    stop = _in_list(cfg.funder_exclude_kinds)
    conn.execute(
        f"""
        create or replace temp table _ed as
        select e.* from metrics.value_edges e
        anti join (select chain_id, address from address_labels where kind in ({ignore})) a
            on a.chain_id = e.chain_id and a.address = e.from_address
        anti join (select chain_id, address from address_labels where kind in ({ignore})) b
            on b.chain_id = e.chain_id and b.address = e.to_address
        """
    )
    conn.execute(
        """
        create or replace temp table _pf as
        select chain_id, to_address as address,
            arg_max(from_address, (amount_wei, from_address)) as parent,
            max(amount_wei) as parent_wei, sum(amount_wei) as inflow_wei,
            arg_max(first_at, (amount_wei, from_address)) as parent_first_at,
            arg_max(first_amount_wei, (amount_wei, from_address)) as parent_first_wei
        from _ed group by all
        """
    )
    conn.execute(
        """
        create or replace temp table _ps as
        select chain_id, from_address as address,
            arg_max(to_address, (amount_wei, to_address)) as sink,
            max(amount_wei) as sink_wei, sum(amount_wei) as outflow_wei
        from _ed group by all
        """
    )
    for table, rel, nxt in (("_up", "_pf", "parent"), ("_dn", "_ps", "sink")):
        conn.execute(
            f"""
            create or replace temp table {table} as
            select chain_id, caller_address, caller_address as node, 0 as hop,
                [caller_address] as path, null::VARCHAR as node_kind, false as stops
            from metrics.caller_activity
            """
        )
        for h in range(1, int(cfg.funding_max_hops) + 1):
            conn.execute(
                f"""
                insert into {table}
                select u.chain_id, u.caller_address, p.{nxt}, {h},
                    list_append(u.path, p.{nxt}), l.kind, coalesce(l.kind in ({stop}), false)
                from {table} u
                join {rel} p on p.chain_id = u.chain_id and p.address = u.node
                left join address_labels l on l.chain_id = u.chain_id and l.address = p.{nxt}
                where u.hop = {h - 1} and not u.stops and not list_contains(u.path, p.{nxt})
                """
            )


def _clusters(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig) -> None:
    """Temp `_cl`: per caller, its most homogeneous cluster of at least the minimum size
    (ancestor, sink or funding burst) and whether it sits in a large diverse one (a hub)."""
    win = int(cfg.cluster_start_window_days) * 86400
    tol = float(cfg.cluster_amount_tolerance)
    burst = int(cfg.burst_window_s)
    conn.execute(
        f"""
        create or replace temp table _cp as
        with pairs as (
            select chain_id, caller_address, 'ancestor' as ckind, node as ckey
            from _up where hop >= 1 and not stops
            union
            select chain_id, caller_address, 'sink', node from _dn where hop >= 1 and not stops
            union
            select chain_id, address, 'burst', printf('%s|%d|%.1e', parent,
                epoch(parent_first_at)::BIGINT // {burst}, parent_first_wei::DOUBLE)
            from _pf semi join metrics.caller_activity a
                on a.chain_id = _pf.chain_id and a.caller_address = _pf.address
        )
        select p.*, coalesce(cm.models::VARCHAR, '') as model_key,
            epoch(a.first_call_at)::DOUBLE as t0, coalesce(f.parent_first_wei::DOUBLE, 0) as amt
        from pairs p
        join metrics.caller_activity a
            on a.chain_id = p.chain_id and a.caller_address = p.caller_address
        left join metrics.caller_models cm
            on cm.chain_id = p.chain_id and cm.caller_address = p.caller_address
        left join _pf f on f.chain_id = p.chain_id and f.address = p.caller_address
        """
    )
    conn.execute(
        f"""
        create or replace temp table _cs as
        with med as (
            select chain_id, ckind, ckey, count(*) as n, median(t0) as mt, median(amt) as ma
            from _cp group by all having count(*) >= {int(cfg.sybil_min_cluster_size)}
        ), mm as (
            select chain_id, ckind, ckey, max(c) as mc from (
                select chain_id, ckind, ckey, model_key, count(*) as c from _cp
                semi join med using (chain_id, ckind, ckey) group by all
            ) group by all
        )
        select p.chain_id, p.ckind, p.ckey, any_value(m.n) as n,
            any_value(mm.mc) / any_value(m.n) as model_share,
            avg(case when abs(p.t0 - m.mt) <= {win} then 1.0 else 0.0 end) as start_share,
            avg(case when m.ma > 0 and abs(p.amt - m.ma) <= {tol} * m.ma then 1.0 else 0.0 end)
                as amount_share
        from _cp p join med m using (chain_id, ckind, ckey) join mm using (chain_id, ckind, ckey)
        group by all
        """
    )
    conn.execute(
        f"""
        create or replace temp table _cl as
        with s as (
            select p.chain_id, p.caller_address, p.ckind, p.ckey, c.n,
                (c.model_share + c.start_share + c.amount_share) / 3 as similarity,
                c.model_share
            from _cp p join _cs c using (chain_id, ckind, ckey)
        )
        select chain_id, caller_address,
            arg_max(ckind, (similarity, n, ckind, ckey)) as cluster_kind,
            arg_max(ckey, (similarity, n, ckind, ckey)) as cluster_key,
            max(similarity) as cluster_similarity,
            bool_or(similarity >= {float(cfg.cluster_min_similarity)}
                and model_share >= {float(cfg.cluster_min_model_share)}) as is_similar,
            arg_max(n, (similarity, n, ckind, ckey))::UBIGINT as cluster_size,
            bool_or(ckind <> 'burst' and n >= {int(cfg.hub_min_callers)}
                and (similarity < {float(cfg.cluster_min_similarity)}
                    or model_share < {float(cfg.cluster_min_model_share)})) as in_hub,
            max(n) filter (where ckind <> 'burst') as hub_size
        from s group by all
        """
    )


def classify_callers(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig) -> pl.DataFrame:
    """One row per caller with its label, noise score, every flag and the evidence (DuckDB over
    a few rows per wallet and edge; the walk is `funding_max_hops` joins)."""
    conn.execute(DDL)
    _funding_graph(conn, cfg)
    _clusters(conn, cfg)
    _in_list(cfg.funder_exclude_kinds)
    # Self-dealing: a model owned by the caller or by any ancestor on its funding path, or
    # rewarding it as a Datanet contributor (attribution farming).
    contrib = (
        """union all
            select distinct chain_id, model_id, contributor_address, 'contributor'
            from metrics.contributor_payouts_daily"""
        if table_exists(conn, "metrics.contributor_payouts_daily")
        else ""
    )
    conn.execute(
        f"""
        create or replace temp table _sd as
        with benef as (
            select chain_id, model_id, owner_address as address, 'owner' as role
            from metrics.models
            {contrib}
        )
        select u.chain_id, u.caller_address,
            string_agg(distinct m.model_id::VARCHAR, ',' order by m.model_id::VARCHAR)
                as self_dealing_models,
            min(u.hop) as self_dealing_hops,
            string_agg(distinct m.role, ',' order by m.role) as self_dealing_roles
        from _up u
        join benef m on m.chain_id = u.chain_id and m.address = u.node
        join metrics.caller_models cm
            on cm.chain_id = u.chain_id and cm.caller_address = u.caller_address
        where list_contains(cm.models, m.model_id) and (m.role = 'owner' or u.hop >= 1)
        group by all
        """
    )
    # Round trip: the sink path reaches an unlabelled ancestor, or an owner of a called model.
    conn.execute(
        f"""
        create or replace temp table _rt as
        with hubs as (
            -- a diverse hub (an unlabelled exchange): sending back to it is cashing out
            select chain_id, ckey as node from _cs
            where ckind = 'ancestor' and n >= {int(cfg.hub_min_callers)}
                and ((model_share + start_share + amount_share) / 3
                        < {float(cfg.cluster_min_similarity)}
                    or model_share < {float(cfg.cluster_min_model_share)})
        ), targets as (
            select chain_id, caller_address, node from _up u
            where hop >= 1 and not stops
                and not exists (select 1 from hubs h
                                where h.chain_id = u.chain_id and h.node = u.node)
            union
            select cm.chain_id, cm.caller_address, m.owner_address from metrics.caller_models cm
            join metrics.models m on m.chain_id = cm.chain_id
                and list_contains(cm.models, m.model_id)
        )
        select d.chain_id, d.caller_address, min(d.hop) as rt_hops,
            arg_min(array_to_string(d.path, '>'), d.hop) as round_trip_path
        from _dn d join targets t on t.chain_id = d.chain_id
            and t.caller_address = d.caller_address and t.node = d.node
        where d.hop >= 1 and d.node <> d.caller_address
        group by all
        """
    )
    conn.execute(
        """
        create or replace temp table _root as
        select chain_id, caller_address,
            arg_max(node, hop) filter (where not stops) as funding_root,
            max(hop) filter (where not stops) as root_hops,
            arg_max(node_kind, hop) filter (where stops) as funding_root_kind,
            max(hop) as funding_hops
        from _up where hop >= 1 group by all
        """
    )
    b = f"ln({GAP_BIN_BASE})"
    conn.execute(
        f"""
        create or replace temp table _per as
        with g as (select * from metrics.caller_gaps where gap_bin >= 0),
        m as (
            select chain_id, caller_address, arg_max(gap_bin, (gap_count, -gap_bin)) as mode_bin,
                sum(gap_count) as total
            from g group by all
        )
        select chain_id, caller_address, exp(any_value(m.mode_bin) * {b}) as period_s,
            any_value(m.total) as gap_total,
            sum(g.gap_count) filter (where abs(g.gap_bin - m.mode_bin) <= 1)
                / any_value(m.total) as periodic_share
        from m join g using (chain_id, caller_address) group by chain_id, caller_address
        """
    )
    testnets = ", ".join(str(int(c)) for c in cfg.testnet_chain_ids) or "-1"
    df = conn.sql(
        f"""
        with base as (
            select a.chain_id, a.caller_address, a.tx_count, a.inference_count, a.fee_wei,
                a.first_call_at, a.last_call_at, a.via_dapp_count, a.models_called,
                a.sum_gap_s::DOUBLE as sum_gap_s, a.sum_gap_sq::DOUBLE as sum_gap_sq,
                a.sum_tin::DOUBLE / a.inference_count as mean_in,
                a.sum_tout::DOUBLE / a.inference_count as mean_out,
                a.sum_tin_sq::DOUBLE / a.inference_count as msq_in,
                a.sum_tout_sq::DOUBLE / a.inference_count as msq_out,
                f.parent as funder_address, f.inflow_wei as funded_wei, lf.kind as funder_kind,
                s.sink_wei, sd.self_dealing_models, sd.self_dealing_hops,
                sd.self_dealing_roles,
                rt.rt_hops, rt.round_trip_path, r.funding_root, r.funding_root_kind,
                r.funding_hops, cl.cluster_kind, cl.cluster_key, cl.cluster_similarity,
                cl.cluster_size, cl.is_similar, coalesce(cl.in_hub, false) as in_hub, cl.hub_size,
                p.periodic_share, p.period_s, p.gap_total
            from metrics.caller_activity a
            left join _pf f on f.chain_id = a.chain_id and f.address = a.caller_address
            left join address_labels lf on lf.chain_id = f.chain_id and lf.address = f.parent
            left join _ps s on s.chain_id = a.chain_id and s.address = a.caller_address
            left join _sd sd
                on sd.chain_id = a.chain_id and sd.caller_address = a.caller_address
            left join _rt rt
                on rt.chain_id = a.chain_id and rt.caller_address = a.caller_address
            left join _root r
                on r.chain_id = a.chain_id and r.caller_address = a.caller_address
            left join _cl cl
                on cl.chain_id = a.chain_id and cl.caller_address = a.caller_address
            left join _per p
                on p.chain_id = a.chain_id and p.caller_address = a.caller_address
        ), sig as (
            select *,
                case when tx_count >= 3 and sum_gap_s > 0 then
                    sqrt(greatest(sum_gap_sq / greatest(tx_count - 1, 1)
                        - pow(sum_gap_s / greatest(tx_count - 1, 1), 2), 0))
                    / (sum_gap_s / greatest(tx_count - 1, 1)) end as cadence_cv,
                case when inference_count >= 2 and mean_in > 0 and mean_out > 0 then greatest(
                    sqrt(greatest(msq_in - mean_in * mean_in, 0)) / mean_in,
                    sqrt(greatest(msq_out - mean_out * mean_out, 0)) / mean_out) end
                    as content_cv,
                chain_id in ({testnets}) as is_testnet,
                self_dealing_models is not null as is_self_dealing,
                -- what came back, against all it received less what it spent on fees
                sink_wei::DOUBLE / greatest(funded_wei::DOUBLE - fee_wei::DOUBLE,
                    funded_wei::DOUBLE * 0.01, 1) as returned_share,
                coalesce(rt_hops is not null and funded_wei > 0 and sink_wei::DOUBLE
                    >= {float(cfg.round_trip_min_share)} * greatest(
                        funded_wei::DOUBLE - fee_wei::DOUBLE, funded_wei::DOUBLE * 0.01), false)
                    as is_round_trip,
                coalesce(is_similar, false) as is_sybil_cluster,
                coalesce(periodic_share >= {float(cfg.periodic_min_share)}
                    and gap_total >= {int(cfg.cadence_min_tx) - 1}, false) as is_fixed_cadence,
                epoch(last_call_at - first_call_at) / 86400.0 as lifetime_days
            from base
        )
        select *,
            coalesce(content_cv <= {float(cfg.scripted_max_content_cv)}
                and inference_count >= {int(cfg.scripted_min_inferences)}, false) as is_scripted
        from sig
        """
    ).pl()
    score = {
        "testnet": pl.lit(1.0),
        "round_trip": pl.lit(1.0),
        "self_dealing": pl.lit(1.0),
        "sybil_cluster": 0.8 + 0.2 * pl.col("cluster_similarity").fill_null(0),
        "scripted": pl.when(pl.col("is_fixed_cadence")).then(0.95).otherwise(0.85),
    }
    noise_score = pl.lit(0.0)
    for name, value in score.items():
        noise_score = pl.max_horizontal(
            noise_score, pl.when(pl.col(f"is_{name}")).then(value).otherwise(0.0)
        )
    df = df.with_columns(
        is_hub_member=pl.col("in_hub") & ~pl.col("is_sybil_cluster"),
    ).with_columns(
        noise_score=pl.max_horizontal(
            noise_score,
            pl.when(pl.col("is_hub_member")).then(0.5).otherwise(0.0),
            pl.when(pl.col("is_fixed_cadence")).then(0.2).otherwise(0.0),
        )
    )
    reason = pl.lit(None, pl.String)
    for r in reversed(cfg.reason_precedence):
        reason = pl.when(pl.col(f"is_{r}")).then(pl.lit(r)).otherwise(reason)
    is_noise = pl.col("noise_score") >= cfg.noise_min_score
    is_review = ~is_noise & (pl.col("noise_score") >= cfg.review_min_score)
    df = df.with_columns(
        label=pl.when(is_noise)
        .then(pl.lit("noise"))
        .when(is_review)
        .then(pl.lit("review"))
        .otherwise(pl.lit("real")),
        noise_reason=pl.when(is_noise).then(reason).otherwise(None),
        review_reason=pl.when(is_review).then(pl.lit("hub")).otherwise(None),
        returned_to_funder_wei=pl.when(pl.col("rt_hops").is_not_null())
        .then(pl.col("sink_wei"))
        .otherwise(pl.lit(0).cast(pl.Decimal(38, 0))),
    ).with_columns(
        traffic_class=pl.when(pl.col("label") == "noise")
        .then(pl.col("noise_reason"))
        .otherwise(pl.col("label")),
    )
    for t in (
        "_ed",
        "_pf",
        "_ps",
        "_up",
        "_dn",
        "_cp",
        "_cs",
        "_cl",
        "_sd",
        "_rt",
        "_root",
        "_per",
    ):
        conn.execute(f"drop table if exists {t}")
    evidence = [
        "noise_score",
        "is_testnet",
        "is_round_trip",
        "round_trip_path",
        "returned_share",
        "is_self_dealing",
        "self_dealing_models",
        "self_dealing_hops",
        "self_dealing_roles",
        "is_sybil_cluster",
        "cluster_kind",
        "cluster_key",
        "cluster_size",
        "cluster_similarity",
        "is_hub_member",
        "hub_size",
        "funder_address",
        "funder_kind",
        "funding_root",
        "funding_root_kind",
        "funding_hops",
        "is_scripted",
        "content_cv",
        "is_fixed_cadence",
        "periodic_share",
        "period_s",
        "cadence_cv",
        "lifetime_days",
        "models_called",
    ]
    df = df.with_columns(
        evidence=pl.struct([pl.col(c) for c in evidence]).struct.json_encode(),
        funded_wei=pl.col("funded_wei").cast(pl.Decimal(38, 0)),
        returned_to_funder_wei=pl.col("returned_to_funder_wei").cast(pl.Decimal(38, 0)),
        cluster_size=pl.col("cluster_size").cast(pl.UInt64),
        funding_hops=pl.col("funding_hops").cast(pl.UInt32),
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
        "noise_score",
        "review_reason",
        "is_scripted",
        "is_hub_member",
        "funding_root",
        "funding_root_kind",
        "funding_hops",
        "cluster_kind",
        "cluster_key",
        "cluster_similarity",
        "periodic_share",
        "period_s",
        "content_cv",
        "lifetime_days",
        "round_trip_path",
        "evidence",
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
