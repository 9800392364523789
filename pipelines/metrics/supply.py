"""Circulating supply and supply pressure (CoinGecko's circulating method, Messari's pressure).

Tables (schema `metrics`):
- `token_flows_daily`: one row per chain, day and labelled address (or the zero address, whose
  outflows are mints and inflows burns): OPEN in and out that day. Day-local, incremental.
- `transfer_activity_daily`: one row per chain and day: transfer count and volume (mints and
  burns excluded), exchange inflows and outflows. Day-local, incremental.
- `vesting_releases_daily`: one row per chain, day and vault: TokensReleased amounts.
- `supply_daily`: one row per chain and day: minted, burned, total supply, balances of the
  uncirculating kinds, circulating supply, the schedule next to it, forward unlocks and pressure.
- `vesting_release_check`: one row per chain, day and bucket: on-chain cumulative release
  against the schedule, and the deviation flag.
- `unlock_calendar`: one row per bucket and unlock date of the configured schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl
import yaml

from pipelines.config import ConfigError, schemas_dir
from pipelines.metrics.common import (
    T_RELEASED,
    T_TRANSFER,
    WEI,
    ZERO_ADDRESS,
    MetricsConfig,
    table_exists,
)

MONTH_SECONDS = 30 * 86400  # VestingVault.MONTH
E18 = 10**18


@dataclass(frozen=True)
class Bucket:
    """One allocation bucket of the token schedule, with the VestingVault release rule."""

    name: str
    allocation_wei: int
    tge_wei: int
    start: datetime | date
    cliff_months: int
    vesting_months: int
    vault: str | None = None

    @property
    def start_ts(self) -> int:
        s = self.start
        if not isinstance(s, datetime):
            s = datetime(s.year, s.month, s.day)
        return int(s.replace(tzinfo=UTC).timestamp())


def vested_at(b: Bucket, ts: int) -> int:
    """Cumulative amount vested at unix time `ts` (VestingVault.vestedAt, to the wei)."""
    start = b.start_ts
    if ts < start:
        return 0
    if b.vesting_months == 0:
        return b.allocation_wei
    m = (ts - start) // MONTH_SECONDS
    if m < b.cliff_months:
        return b.tge_wei
    tranches = m - b.cliff_months + 1
    if tranches >= b.vesting_months:
        return b.allocation_wei
    return b.tge_wei + (b.allocation_wei - b.tge_wei) * tranches // b.vesting_months


def _end_of_day(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) + 86400 - 1


def _amount(value: Any, total_wei: int | None, where: str) -> int:
    """An amount in config: wei int, '<n> OPEN' / plain tokens (float), or a percent string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 10**12 else value * E18
    if isinstance(value, float):
        return round(value * E18)
    if isinstance(value, str):
        v = value.strip().replace("_", "").replace(",", "")
        if v.endswith("%"):
            if total_wei is None:
                raise ConfigError(f"{where}: a percent needs total_supply")
            return total_wei * round(float(v[:-1]) * 10**6) // (100 * 10**6)
        if v.upper().endswith("OPEN"):
            return round(float(v[:-4]) * 10**6) * E18 // 10**6
        return int(v)
    raise ConfigError(f"{where}: cannot read amount {value!r}")


def _as_start(value: Any, default: datetime | date | None, where: str) -> datetime | date:
    if value is None:
        if default is None:
            raise ConfigError(f"{where}: missing start/tge date")
        return default
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, int):
        return datetime.fromtimestamp(value, tz=UTC).replace(tzinfo=None)
    try:
        return datetime.fromisoformat(str(value).replace("Z", ""))
    except ValueError:
        raise ConfigError(f"{where}: cannot read date {value!r}") from None


def parse_schedule(raw: dict[str, Any], where: str = "tokenomics") -> list[Bucket]:
    """Buckets from a tokenomics mapping (tolerant of the obvious spellings)."""
    if "tokenomics" in raw and isinstance(raw["tokenomics"], dict):
        raw = raw["tokenomics"]
    token: dict[str, Any] = raw["token"] if isinstance(raw.get("token"), dict) else {}
    total = raw.get("total_supply_wei") or raw.get("total_supply") or token.get("total_supply")
    total_wei = _amount(total, None, where) if total is not None else None
    tge = raw.get("tge") or raw.get("tge_date") or raw.get("start")
    tge_start = _as_start(tge, None, where) if tge is not None else None
    items = raw.get("buckets") or raw.get("allocations") or raw.get("allocation") or {}
    if isinstance(items, dict):
        items = [
            {"name": k, **(v if isinstance(v, dict) else {"share": v})} for k, v in items.items()
        ]
    out = []
    for item in items:
        w = f"{where}: bucket {item.get('name')!r}"
        if "allocation_wei" in item:
            alloc = int(item["allocation_wei"])
        elif "amount" in item or "allocation" in item:
            alloc = _amount(item.get("amount", item.get("allocation")), total_wei, w)
        else:
            share = item.get("share") or item.get("percent") or item.get("pct")
            if share is None or total_wei is None:
                raise ConfigError(f"{w}: needs an amount or a share and total_supply")
            s = float(str(share).rstrip("%"))
            s = s / 100 if (isinstance(share, str) and "%" in share) or s > 1 else s
            alloc = total_wei * round(s * 10**8) // 10**8
        tge_val = item.get("tge_wei", item.get("tge_amount", item.get("tge_unlock", 0)))
        if isinstance(tge_val, float) and tge_val <= 1.0:
            tge_wei = alloc * round(tge_val * 10**8) // 10**8
        else:
            tge_wei = _amount(tge_val, alloc, w) if tge_val else 0
        cliff = int(item.get("cliff_months", item.get("cliff", 0)) or 0)
        vesting = int(item.get("vesting_months", item.get("vesting", 0)) or 0)
        start = _as_start(item.get("start"), tge_start, w)
        vault = item.get("vault") or item.get("address")
        out.append(
            Bucket(
                str(item["name"]),
                alloc,
                tge_wei,
                start,
                cliff,
                vesting,
                vault.lower() if isinstance(vault, str) else None,
            )
        )
    return out


def load_schedule(path: Path | None = None) -> list[Bucket]:
    path = path or schemas_dir() / "tokenomics.yaml"
    if not path.exists():
        return []
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_schedule(raw, str(path))


def schedule_from_chain(conn: duckdb.DuckDBPyConnection, chain_id: int) -> list[Bucket]:
    """The schedule the vaults announced on chain (VestingScheduleCreated), one per vault."""
    from pipelines.metrics.common import T_SCHEDULE

    if not table_exists(conn, T_SCHEDULE):
        return []
    rows = conn.execute(
        f"""select bucket, contract_address, total_allocation::VARCHAR, tge_amount::VARCHAR,
            start, cliff_months, vesting_months from {T_SCHEDULE} where chain_id = ?
            order by block_number, log_index""",
        [chain_id],
    ).fetchall()
    return [
        Bucket(
            bucket_name(r[0]),
            int(r[2]),
            int(r[3]),
            datetime.fromtimestamp(int(r[4]), tz=UTC).replace(tzinfo=None),
            int(r[5]),
            int(r[6]),
            r[1],
        )
        for r in rows
    ]


def bucket_name(raw: str) -> str:
    """bytes32 hex of an ASCII name (as VestingVault stores it) to the name; else unchanged."""
    if isinstance(raw, str) and raw.startswith("0x") and len(raw) == 66:
        try:
            return bytes.fromhex(raw[2:]).rstrip(b"\x00").decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return raw
    return raw


# ---------------------------------------------------------------- day-local marts


DDL = f"""
create table if not exists metrics.token_flows_daily (
    chain_id UINTEGER, day DATE, address VARCHAR, inflow_wei {WEI}, outflow_wei {WEI},
    transfers_in UBIGINT, transfers_out UBIGINT, last_block_number UBIGINT);
create table if not exists metrics.transfer_activity_daily (
    chain_id UINTEGER, day DATE, transfer_count UBIGINT, transfer_volume_wei {WEI},
    exchange_inflow_wei {WEI}, exchange_outflow_wei {WEI}, last_block_number UBIGINT);
create table if not exists metrics.vesting_releases_daily (
    chain_id UINTEGER, day DATE, contract_address VARCHAR, bucket VARCHAR,
    released_wei {WEI}, release_count UBIGINT);
"""


def build_day_marts(conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig, window: str) -> None:
    """Recompute the day-local supply marts for the days in temp table `dirty_days`.
    `window` is a SQL predicate on `t.block_timestamp` bounding the dirty days (zonemap pruning)."""
    conn.execute(DDL)
    for t in ("token_flows_daily", "transfer_activity_daily", "vesting_releases_daily"):
        conn.execute(
            f"delete from metrics.{t} m using dirty_days d "
            "where m.chain_id = d.chain_id and m.day = d.day"
        )
    if table_exists(conn, T_TRANSFER):
        ex = ", ".join(f"'{k}'" for k in cfg.exchange_kinds) or "''"
        conn.execute(
            f"""
            create or replace temp table _tr as
            select t.chain_id, t.block_timestamp::DATE as day, t.block_number,
                t.from_address, t.to_address, t.value::{WEI} as value_wei
            from {T_TRANSFER} t
            semi join dirty_days d
                on t.chain_id = d.chain_id and t.block_timestamp::DATE = d.day
            where {window}
            """
        )
        conn.execute(
            f"""
            insert into metrics.token_flows_daily
            with labelled as (
                select chain_id, address from address_labels
                union select distinct chain_id, '{ZERO_ADDRESS}' from dirty_days
            ), sides as (
                select chain_id, day, to_address as address, value_wei as inflow_wei,
                    0::{WEI} as outflow_wei, 1 as n_in, 0 as n_out, block_number from _tr
                union all
                select chain_id, day, from_address, 0::{WEI}, value_wei, 0, 1, block_number
                from _tr
            )
            select s.chain_id, s.day, s.address, sum(inflow_wei), sum(outflow_wei),
                sum(n_in), sum(n_out), max(block_number)
            from sides s semi join labelled l on s.chain_id = l.chain_id and s.address = l.address
            group by all
            """
        )
        conn.execute(
            f"""
            insert into metrics.transfer_activity_daily
            select t.chain_id, t.day,
                count(*) filter (where from_address <> '{ZERO_ADDRESS}'
                    and to_address <> '{ZERO_ADDRESS}'),
                coalesce(sum(value_wei) filter (where from_address <> '{ZERO_ADDRESS}'
                    and to_address <> '{ZERO_ADDRESS}'), 0),
                coalesce(sum(value_wei) filter (where lt.kind in ({ex})
                    and coalesce(lf.kind, '') not in ({ex})), 0),
                coalesce(sum(value_wei) filter (where lf.kind in ({ex})
                    and coalesce(lt.kind, '') not in ({ex})), 0),
                max(t.block_number)
            from _tr t
            left join address_labels lt on lt.chain_id = t.chain_id and lt.address = t.to_address
            left join address_labels lf
                on lf.chain_id = t.chain_id and lf.address = t.from_address
            group by all
            """
        )
        conn.execute("drop table _tr")
    if table_exists(conn, T_RELEASED):
        conn.execute(
            f"""
            insert into metrics.vesting_releases_daily
            select t.chain_id, t.block_timestamp::DATE, t.contract_address, t.bucket,
                sum(t.amount::{WEI}), count(*)
            from {T_RELEASED} t
            semi join dirty_days d
                on t.chain_id = d.chain_id and t.block_timestamp::DATE = d.day
            where {window}
            group by all
            """
        )


# ---------------------------------------------------------------- whole-history marts

_KINDS = ("vesting", "treasury", "staking_pool", "bridge_escrow", "distributor", "exchange")


def _schedule_frame(buckets: list[Bucket], days: list[date]) -> pl.DataFrame:
    rows = []
    for d in days:
        t = _end_of_day(d)
        now = sum(vested_at(b, t) for b in buckets)
        n30 = sum(vested_at(b, t + 30 * 86400) for b in buckets)
        n90 = sum(vested_at(b, t + 90 * 86400) for b in buckets)
        rows.append((d, str(now), str(n30 - now), str(n90 - now)))
    return pl.DataFrame(
        rows,
        schema={
            "day": pl.Date,
            "scheduled_unlocked_wei": pl.String,
            "unlock_next_30d_wei": pl.String,
            "unlock_next_90d_wei": pl.String,
        },
        orient="row",
    )


def _match_bucket(
    buckets: list[Bucket], name: str, vault: str, label_name: str | None
) -> Bucket | None:
    for b in buckets:
        if b.vault and b.vault == vault:
            return b
    candidates = {bucket_name(name).lower()}
    if label_name:
        candidates.add(label_name.split(".", 1)[-1].lower())
    for b in buckets:
        if b.name.lower() in candidates:
            return b
    return None


def build_supply(
    conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig, buckets: list[Bucket]
) -> None:
    """Rebuild supply_daily, vesting_release_check and unlock_calendar (small tables) from the
    day-local marts: cumulative sums over a calendar spine, with the schedule next to them."""
    conn.execute(DDL)
    uncirc = [k for k in _KINDS if k in cfg.uncirculating_kinds]
    kind_cols = ",\n".join(
        f"sum(sum(coalesce(inflow_wei, 0) - coalesce(outflow_wei, 0)) filter (where kind = '{k}'))"
        f" over w as {k}_wei"
        for k in _KINDS
    )
    conn.execute(
        f"""
        create or replace temp table _supply as
        with bounds as (
            select chain_id, min(day) as lo, max(day) as hi from (
                select chain_id, day from metrics.token_flows_daily
                union all select chain_id, day from metrics.transfer_activity_daily
                union all select chain_id, day from metrics.day_blocks)
            group by chain_id
        ), spine as (
            select chain_id, unnest(generate_series(lo, hi, interval 1 day))::DATE as day
            from bounds
        ), flows as (
            select f.chain_id, f.day, f.address, f.inflow_wei, f.outflow_wei,
                case when f.address = '{ZERO_ADDRESS}' then 'zero' else l.kind end as kind
            from metrics.token_flows_daily f
            left join address_labels l on l.chain_id = f.chain_id and l.address = f.address
        )
        select s.chain_id, s.day,
            coalesce(sum(sum(outflow_wei) filter (where kind = 'zero')) over w, 0)::{WEI}
                as minted_wei,
            coalesce(sum(sum(inflow_wei) filter (where kind = 'zero')) over w, 0)::{WEI}
                as burned_wei,
            {kind_cols}
        from spine s left join flows f on f.chain_id = s.chain_id and f.day = s.day
        group by s.chain_id, s.day
        window w as (partition by s.chain_id order by s.day
            rows between unbounded preceding and current row)
        """
    )
    days_by_chain = conn.execute(
        "select chain_id, list(day order by day) from _supply group by chain_id"
    ).fetchall()
    sched = []
    for chain_id, days in days_by_chain:
        if chain_id in cfg.testnet_chain_ids or not buckets:
            continue
        sched.append(
            _schedule_frame(buckets, list(days)).with_columns(
                pl.lit(chain_id, pl.UInt32).alias("chain_id")
            )
        )
    sched_df = (
        pl.concat(sched)
        if sched
        else pl.DataFrame(
            schema={
                "day": pl.Date,
                "scheduled_unlocked_wei": pl.String,
                "unlock_next_30d_wei": pl.String,
                "unlock_next_90d_wei": pl.String,
                "chain_id": pl.UInt32,
            }
        )
    )
    conn.register("_sched", sched_df)
    uncirc_sum = " + ".join(f"coalesce({k}_wei, 0)" for k in uncirc) or "0"
    conn.execute(
        f"""
        create or replace table metrics.supply_daily as
        with a as (
            select s.*, (minted_wei - burned_wei)::{WEI} as total_supply_wei,
                ({uncirc_sum})::{WEI} as uncirculating_wei,
                sc.scheduled_unlocked_wei::{WEI} as scheduled_unlocked_wei,
                sc.unlock_next_30d_wei::{WEI} as unlock_next_30d_wei,
                sc.unlock_next_90d_wei::{WEI} as unlock_next_90d_wei,
                coalesce(ta.exchange_inflow_wei, 0) as exchange_inflow_wei,
                coalesce(ta.transfer_volume_wei, 0) as transfer_volume_wei
            from _supply s
            left join _sched sc on sc.chain_id = s.chain_id and sc.day = s.day
            left join metrics.transfer_activity_daily ta
                on ta.chain_id = s.chain_id and ta.day = s.day
        ), r as (
            select chain_id, day, coalesce(sum(released_wei), 0) as released_day_wei
            from metrics.vesting_releases_daily group by all
        )
        select a.chain_id, a.day, a.minted_wei, a.burned_wei, a.total_supply_wei,
            {", ".join(f"coalesce(a.{k}_wei, 0)::{WEI} as {k}_wei" for k in _KINDS)},
            a.uncirculating_wei,
            (a.total_supply_wei - a.uncirculating_wei)::{WEI} as circulating_wei,
            coalesce(sum(r.released_day_wei) over w, 0)::{WEI} as released_onchain_wei,
            a.scheduled_unlocked_wei,
            a.unlock_next_30d_wei, a.unlock_next_90d_wei,
            a.unlock_next_30d_wei::DOUBLE
                / nullif((a.total_supply_wei - a.uncirculating_wei)::DOUBLE, 0)
                as unlock_30d_share_of_circulating,
            a.unlock_next_90d_wei::DOUBLE
                / nullif((a.total_supply_wei - a.uncirculating_wei)::DOUBLE, 0)
                as unlock_90d_share_of_circulating,
            a.exchange_inflow_wei::{WEI} as exchange_inflow_wei,
            a.transfer_volume_wei::{WEI} as transfer_volume_wei,
            avg(a.exchange_inflow_wei::DOUBLE) over w30 as exchange_inflow_avg_30d_wei,
            avg(a.transfer_volume_wei::DOUBLE) over w30 as transfer_volume_avg_30d_wei,
            a.unlock_next_30d_wei::DOUBLE
                / nullif(30 * avg(a.exchange_inflow_wei::DOUBLE) over w30, 0)
                as unlock_30d_vs_exchange_inflow,
            a.unlock_next_30d_wei::DOUBLE
                / nullif(30 * avg(a.transfer_volume_wei::DOUBLE) over w30, 0)
                as unlock_30d_vs_transfer_volume
        from a left join r on r.chain_id = a.chain_id and r.day = a.day
        window w as (partition by a.chain_id order by a.day
                rows between unbounded preceding and current row),
            w30 as (partition by a.chain_id order by a.day
                rows between 29 preceding and current row)
        order by a.chain_id, a.day
        """
    )
    conn.unregister("_sched")
    conn.execute("drop table _supply")
    _build_release_check(conn, cfg, buckets)
    _build_calendar(conn, cfg, buckets)
    conn.execute(
        """
        create or replace table metrics.supply_daily as
        select s.*, coalesce(c.any_deviation, false) as releases_deviate
        from metrics.supply_daily s
        left join (select chain_id, day, bool_or(is_deviation) as any_deviation
                   from metrics.vesting_release_check group by all) c
            on c.chain_id = s.chain_id and c.day = s.day
        order by s.chain_id, s.day
        """
    )


def _build_release_check(
    conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig, buckets: list[Bucket]
) -> None:
    rel = conn.execute(
        """select r.chain_id, r.day, r.contract_address, r.bucket, l.name,
               r.released_wei::VARCHAR
           from metrics.vesting_releases_daily r
           left join address_labels l
               on l.chain_id = r.chain_id and l.address = r.contract_address"""
    ).fetchall()
    spine = dict(
        conn.execute(
            "select chain_id, list(day order by day) from metrics.supply_daily group by chain_id"
        ).fetchall()
    )
    per: dict[tuple[int, str], dict[date, int]] = {}
    unknown: set[tuple[int, str]] = set()
    for chain_id, day, vault, raw_bucket, label_name, amount in rel:
        b = _match_bucket(buckets, raw_bucket, vault, label_name)
        if b is None:
            unknown.add((chain_id, bucket_name(raw_bucket)))
            continue
        per.setdefault((chain_id, b.name), {})
        per[(chain_id, b.name)][day] = per[(chain_id, b.name)].get(day, 0) + int(amount)
    rows = []
    grace = cfg.release_grace_days
    for chain_id, days in spine.items():
        if chain_id in cfg.testnet_chain_ids:
            continue
        for b in buckets:
            if b.vault is None and b.vesting_months == 0 and (chain_id, b.name) not in per:
                continue  # unlocked at TGE without a vault (liquidity): nothing to release
            daily = per.get((chain_id, b.name), {})
            cum = 0
            for d in days:
                cum += daily.get(d, 0)
                sched = vested_at(b, _end_of_day(d))
                lagged = vested_at(b, _end_of_day(d - timedelta(days=grace)))
                deviates = cum > sched or cum < lagged
                rows.append(
                    (
                        chain_id,
                        d,
                        b.name,
                        str(daily.get(d, 0)),
                        str(cum),
                        str(sched),
                        str(lagged),
                        str(cum - sched),
                        deviates,
                    )
                )
    for chain_id, name in sorted(unknown):
        # A vault releasing a bucket the schedule does not know is itself a deviation.
        for d in spine.get(chain_id, []):
            rows.append((chain_id, d, name, "0", "0", "0", "0", "0", True))
    df = pl.DataFrame(
        rows,
        schema={
            "chain_id": pl.UInt32,
            "day": pl.Date,
            "bucket": pl.String,
            "released_wei": pl.String,
            "released_cum_wei": pl.String,
            "scheduled_cum_wei": pl.String,
            "scheduled_cum_grace_wei": pl.String,
            "deviation_wei": pl.String,
            "is_deviation": pl.Boolean,
        },
        orient="row",
    )
    conn.register("_rc", df)
    conn.execute(
        f"""create or replace table metrics.vesting_release_check as
        select chain_id, day, bucket, released_wei::{WEI} as released_wei,
            released_cum_wei::{WEI} as released_cum_wei,
            scheduled_cum_wei::{WEI} as scheduled_cum_wei,
            scheduled_cum_grace_wei::{WEI} as scheduled_cum_grace_wei,
            deviation_wei::{WEI} as deviation_wei, is_deviation
        from _rc order by chain_id, bucket, day"""
    )
    conn.unregister("_rc")


def _build_calendar(
    conn: duckdb.DuckDBPyConnection, cfg: MetricsConfig, buckets: list[Bucket]
) -> None:
    rows = []
    for b in buckets:
        prev = 0
        months = b.cliff_months + b.vesting_months if b.vesting_months else 0
        for m in range(0, months + 1):
            t = b.start_ts + m * MONTH_SECONDS
            v = vested_at(b, t)
            if v > prev:
                d = datetime.fromtimestamp(t, tz=UTC).date()
                is_cliff = b.cliff_months > 0 and m == b.cliff_months
                rows.append((b.name, d, m, str(v - prev), str(v), str(b.allocation_wei), is_cliff))
            prev = v
    df = pl.DataFrame(
        rows,
        schema={
            "bucket": pl.String,
            "unlock_date": pl.Date,
            "month_index": pl.Int64,
            "unlock_wei": pl.String,
            "bucket_cumulative_wei": pl.String,
            "bucket_allocation_wei": pl.String,
            "is_cliff_end": pl.Boolean,
        },
        orient="row",
    )
    conn.register("_cal", df)
    conn.execute(
        f"""create or replace table metrics.unlock_calendar as
        with latest as (
            select circulating_wei from metrics.supply_daily
            where chain_id not in ({", ".join(str(c) for c in cfg.testnet_chain_ids) or "0"})
            order by day desc limit 1
        )
        select c.bucket, c.unlock_date, c.month_index::UBIGINT as month_index,
            c.unlock_wei::{WEI} as unlock_wei,
            c.bucket_cumulative_wei::{WEI} as bucket_cumulative_wei,
            c.bucket_allocation_wei::{WEI} as bucket_allocation_wei, c.is_cliff_end,
            c.unlock_wei::DOUBLE / nullif((select circulating_wei from latest)::DOUBLE, 0)
                as share_of_latest_circulating
        from _cal c order by c.unlock_date, c.bucket"""
    )
    conn.unregister("_cal")


# ---------------------------------------------------------------- chain-state cross-check


@dataclass(frozen=True)
class CrossCheck:
    chain_id: int
    day: date
    block_number: int
    address: str  # the token address for totalSupply
    what: str  # "balanceOf" or "totalSupply"
    derived_wei: int
    onchain_wei: int

    @property
    def ok(self) -> bool:
        return self.derived_wei == self.onchain_wei


def _eth_call(client: httpx.Client, url: str, to: str, data: str, block: int) -> int:
    resp = client.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [{"to": to, "data": data}, hex(block)],
        },
    )
    resp.raise_for_status()
    body = resp.json()
    if "error" in body:
        raise RuntimeError(f"eth_call {data[:10]} at block {block} failed: {body['error']}")
    return int(body["result"], 16)


def cross_check(
    conn: duckdb.DuckDBPyConnection,
    rpc_url: str,
    chain_id: int,
    token_address: str,
    sample_days: int = 3,
) -> list[CrossCheck]:
    """For sampled days, compare the transfer-derived balances of labelled addresses and the
    derived total supply with `balanceOf` / `totalSupply()` at the day's last transfer block."""
    days = conn.execute(
        """select day, max(last_block_number) from metrics.token_flows_daily
           where chain_id = ? group by day order by day""",
        [chain_id],
    ).fetchall()
    if not days:
        return []
    n = len(days)
    picks = sorted(
        {0, n // 2, n - 1} | {i * (n - 1) // max(sample_days - 1, 1) for i in range(sample_days)}
    )
    out = []
    with httpx.Client(timeout=30) as client:
        for i in picks:
            day, block = days[i]
            block = int(block)
            bal = conn.execute(
                """select address, sum(inflow_wei - outflow_wei)::VARCHAR
                   from metrics.token_flows_daily
                   where chain_id = ? and day <= ? and address <> ?
                   group by address order by address""",
                [chain_id, day, ZERO_ADDRESS],
            ).fetchall()
            for address, derived in bal:
                onchain = _eth_call(
                    client,
                    rpc_url,
                    token_address,
                    "0x70a08231" + address[2:].rjust(64, "0"),
                    block,
                )
                out.append(
                    CrossCheck(chain_id, day, block, address, "balanceOf", int(derived), onchain)
                )
            row = next(
                iter(
                    conn.execute(
                        "select total_supply_wei::VARCHAR from metrics.supply_daily "
                        "where chain_id = ? and day = ?",
                        [chain_id, day],
                    ).fetchall()
                ),
                None,
            )
            derived_total = int(row[0]) if row else -1
            onchain_total = _eth_call(client, rpc_url, token_address, "0x18160ddd", block)
            out.append(
                CrossCheck(
                    chain_id, day, block, token_address, "totalSupply", derived_total, onchain_total
                )
            )
    return out


def pressure_summary(conn: duckdb.DuckDBPyConnection, chain_id: int) -> dict[str, Any]:
    """Key pressure numbers of the latest day, for the report and the CLI."""
    row = next(
        iter(
            conn.execute(
                """select day, circulating_wei::DOUBLE / 1e18, total_supply_wei::DOUBLE / 1e18,
               unlock_next_30d_wei::DOUBLE / 1e18, unlock_next_90d_wei::DOUBLE / 1e18,
               unlock_30d_share_of_circulating, unlock_90d_share_of_circulating,
               unlock_30d_vs_exchange_inflow, unlock_30d_vs_transfer_volume, releases_deviate
           from metrics.supply_daily where chain_id = ? order by day desc limit 1""",
                [chain_id],
            ).fetchall()
        ),
        None,
    )
    if not row:
        return {}
    keys = [
        "day",
        "circulating_open",
        "total_supply_open",
        "unlock_next_30d_open",
        "unlock_next_90d_open",
        "unlock_30d_share",
        "unlock_90d_share",
        "unlock_30d_vs_exchange_inflow",
        "unlock_30d_vs_transfer_volume",
        "releases_deviate",
    ]
    out = dict(zip(keys, row, strict=True))
    for k, v in out.items():
        if isinstance(v, float) and math.isnan(v):
            out[k] = None
    return out
