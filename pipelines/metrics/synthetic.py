"""Synthetic event store: realistic rows generated straight into the documented `decoded.*`
and `raw.receipts` tables (docs/CONTRACTS.md), with the truth about every caller kept in
`synthetic.callers`. Used by the unit tests (small) and the benchmark (10M+ inferences).

Populations follow DESIGN.md: organic users funded from exchanges calling Zipf-popular models
(directly or through dApp routers), model owners calling their own models (and wallets they
funded), sybil clusters funded from one source, fixed-cadence bots, round-trippers that send
value back to their funder, and testnet farmers. Event expansion runs in DuckDB SQL so 10M rows
take seconds, not a Python loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from pipelines.metrics.common import ZERO_ADDRESS, Labels
from pipelines.metrics.supply import Bucket

MAINNET = 1612
TESTNET = 161201
BLOCK_TIME = 2
E18 = 10**18
DEV_BPS, CONTRIB_BPS, STAKERS_BPS = 5000, 3000, 1000

COMMON_DDL = """
    chain_id UINTEGER, block_number UBIGINT, block_hash VARCHAR, block_timestamp TIMESTAMP,
    tx_hash VARCHAR, tx_index UINTEGER, log_index UINTEGER, contract_address VARCHAR,
    tx_from VARCHAR"""

DDL = {
    "decoded.open_token__transfer": "from_address VARCHAR, to_address VARCHAR, value UHUGEINT",
    "decoded.inference_market__inference_requested": (
        "request_id VARCHAR, model_id UHUGEINT, caller VARCHAR, fee UHUGEINT, "
        "tokens_in UBIGINT, tokens_out UBIGINT"
    ),
    "decoded.attribution_engine__attribution_recorded": (
        "request_id VARCHAR, model_id UHUGEINT, developer VARCHAR, fee UHUGEINT, "
        "developer_amount UHUGEINT, contributors_amount UHUGEINT, stakers_amount UHUGEINT, "
        "protocol_amount UHUGEINT"
    ),
    "decoded.attribution_engine__contributors_rewarded": (
        "request_id VARCHAR, model_id UHUGEINT, datanet_ids UHUGEINT[], contributors VARCHAR[], "
        "weights UHUGEINT[], amounts UHUGEINT[]"
    ),
    "decoded.model_registry__model_registered": (
        "model_id UHUGEINT, owner VARCHAR, name VARCHAR, datanet_ids UHUGEINT[], "
        "metadata_hash VARCHAR, fee_per_inference UHUGEINT"
    ),
    "decoded.model_registry__model_updated": (
        "model_id UHUGEINT, owner VARCHAR, metadata_hash VARCHAR, fee_per_inference UHUGEINT"
    ),
    "decoded.vesting_vault__vesting_schedule_created": (
        "bucket VARCHAR, beneficiary VARCHAR, total_allocation UHUGEINT, tge_amount UHUGEINT, "
        "start UBIGINT, cliff_months UBIGINT, vesting_months UBIGINT"
    ),
    "decoded.vesting_vault__tokens_released": (
        "bucket VARCHAR, beneficiary VARCHAR, amount UHUGEINT, total_released UHUGEINT, "
        "month_index UBIGINT"
    ),
}

RECEIPTS_DDL = """create table if not exists raw.receipts (
    chain_id UINTEGER, block_number UBIGINT, block_hash VARCHAR, tx_hash VARCHAR,
    tx_index UINTEGER, tx_from VARCHAR, tx_to VARCHAR, status UBIGINT, gas_used UBIGINT,
    effective_gas_price UHUGEINT, l1_fee UHUGEINT, l1_gas_used UBIGINT, l1_gas_price UHUGEINT,
    l1_fee_scalar VARCHAR)"""


def addr(prefix: int, i: int) -> str:
    """Readable synthetic address: 4-byte kind prefix, then the index."""
    return f"0x{prefix:08x}{i:032x}"


@dataclass(frozen=True)
class SyntheticSpec:
    n_inferences: int = 50_000
    start: datetime = datetime(2025, 9, 8)
    days: int = 30
    seed: int = 7
    n_models: int = 12
    n_organic: int = 600
    n_dapp_users: int = 150
    n_sybil_clusters: int = 4
    sybil_cluster_size: int = 10
    n_bots: int = 12
    n_self_dealers: int = 3
    self_dealer_wallets: int = 2
    n_round_trippers: int = 8
    n_testnet_farmers: int = 80
    # Share of inferences per population (normalised).
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "organic": 0.55,
            "organic_dapp": 0.10,
            "sybil_cluster": 0.10,
            "fixed_cadence": 0.08,
            "self_dealing": 0.05,
            "round_trip": 0.04,
            "testnet": 0.08,
        }
    )


@dataclass
class SyntheticWorld:
    spec: SyntheticSpec
    labels: Labels
    buckets: list[Bucket]
    callers: pl.DataFrame
    models: pl.DataFrame


P_EXCHANGE, P_DIST, P_TREASURY, P_STAKING, P_BRIDGE, P_VAULT = 0xE0, 0xD0, 0x7E, 0x57, 0xB1, 0xFA
P_DAPP, P_MARKET, P_ATTR, P_FAUCET, P_BENEF = 0xDA, 0x3A, 0xA7, 0xFC, 0xBE
P_OWNER, P_ORG, P_SYB_SRC, P_SYB, P_BOT, P_SELFW, P_RT_SRC, P_RT, P_FARM, P_CONTRIB = (
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
    0x09,
    0x0C,
)

EXCHANGES = [addr(P_EXCHANGE, i) for i in range(3)]
DISTRIBUTOR = addr(P_DIST, 0)
TREASURY = addr(P_TREASURY, 0)
STAKING = addr(P_STAKING, 0)
BRIDGE = addr(P_BRIDGE, 0)
DAPPS = [addr(P_DAPP, i) for i in range(2)]
MARKET = addr(P_MARKET, 0)
ATTRIBUTION = addr(P_ATTR, 0)
TOKEN = addr(0x70, 0)
REGISTRY = addr(0x71, 0)
FAUCET = addr(P_FAUCET, 0)


def synthetic_buckets(start: datetime) -> list[Bucket]:
    m = 1_000_000 * E18
    day = start.date()
    return [
        Bucket("community", 517_100_000 * E18, 120 * m, day, 0, 48, addr(P_VAULT, 0)),
        Bucket("ecosystem", 100 * m, 45_500_000 * E18, day, 0, 48, addr(P_VAULT, 1)),
        Bucket("team", 150 * m, 0, day, 12, 36, addr(P_VAULT, 2)),
        Bucket("investors", 182_900_000 * E18, 0, day, 12, 36, addr(P_VAULT, 3)),
        Bucket("liquidity", 50 * m, 50 * m, day, 0, 0, None),
    ]


def synthetic_labels() -> Labels:
    labels = Labels()
    for chain in (MAINNET, TESTNET):
        for i, a in enumerate(EXCHANGES):
            labels.add(chain, a, "exchange", f"exchange_{i}")
        labels.add(chain, DISTRIBUTOR, "distributor", "distributor")
        labels.add(chain, TREASURY, "treasury", "treasury")
        labels.add(chain, STAKING, "staking_pool", "staking_pool")
        labels.add(chain, BRIDGE, "bridge_escrow", "bridge_escrow")
        labels.add(chain, MARKET, "market", "InferenceMarket")
        labels.add(chain, ATTRIBUTION, "attribution", "AttributionEngine")
        for i, d in enumerate(DAPPS):
            labels.add(chain, d, "dapp", f"DAppRouter.app{i}")
        for b in synthetic_buckets(datetime(2025, 9, 8)):
            if b.vault:
                labels.add(chain, b.vault, "vesting", f"VestingVault.{b.name}")
    labels.add(TESTNET, FAUCET, "faucet", "faucet")
    return labels


def _split_counts(total: int, n: int, rng: random.Random, skew: float) -> list[int]:
    if n == 0:
        return []
    w = [rng.paretovariate(skew) for _ in range(n)]
    s = sum(w)
    counts = [max(1, int(total * x / s)) for x in w]
    return counts


def _population(spec: SyntheticSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Callers (one row per caller and chain) and models (one row per model and chain)."""
    rng = random.Random(spec.seed)
    wsum = sum(spec.weights.values())
    share = {k: v / wsum for k, v in spec.weights.items()}
    n = spec.n_inferences

    models = []
    for chain in (MAINNET, TESTNET):
        for i in range(1, spec.n_models + 1):
            fee = rng.choice([1, 2, 5, 10, 20, 50]) * 10**15
            n_dn = 1 + (i % 2)
            datanets = [1 + (i + j) % 6 for j in range(n_dn)]
            contributors = [addr(P_CONTRIB, (i * 3 + j) % 17) for j in range(1 + i % 4)]
            weights = [1 + (i * 7 + j * 3) % 9 for j in range(len(contributors))]
            dn_of = [datanets[j % n_dn] for j in range(len(contributors))]
            models.append(
                {
                    "chain_id": chain,
                    "model_id": i,
                    "owner": addr(P_OWNER, i),
                    "fee": fee,
                    "new_fee": fee * 2 if i % 4 == 0 else None,
                    "datanet_ids": datanets,
                    "contributors": contributors,
                    "weights": weights,
                    "contributor_datanets": dn_of,
                }
            )

    rows: list[dict] = []

    def add(chain, address, kind, funder, calls, models_, via_dapp=None, period=0, phase=0):
        rows.append(
            {
                "chain_id": chain,
                "address": address,
                "kind": kind,
                "is_noise": kind not in ("organic", "organic_dapp"),
                "funder": funder,
                "n_calls": int(calls),
                "models": models_,
                "via_dapp": via_dapp,
                "period": int(period),
                "phase": int(phase),
            }
        )

    nm = spec.n_models
    zipf = list(range(1, nm + 1))
    for i, c in enumerate(_split_counts(int(n * share["organic"]), spec.n_organic, rng, 1.5)):
        add(MAINNET, addr(P_ORG, i), "organic", rng.choice(EXCHANGES), c, zipf)
    for i, c in enumerate(
        _split_counts(int(n * share["organic_dapp"]), spec.n_dapp_users, rng, 1.5)
    ):
        add(
            MAINNET,
            addr(P_ORG, 100_000 + i),
            "organic_dapp",
            rng.choice(EXCHANGES),
            c,
            zipf,
            via_dapp=DAPPS[i % len(DAPPS)],
        )
    total_syb = spec.n_sybil_clusters * spec.sybil_cluster_size
    syb_counts = _split_counts(int(n * share["sybil_cluster"]), max(total_syb, 1), rng, 3.0)
    for k in range(spec.n_sybil_clusters):
        src = addr(P_SYB_SRC, k)
        target = [2 + k % (nm - 1)]
        for j in range(spec.sybil_cluster_size):
            idx = k * spec.sybil_cluster_size + j
            add(MAINNET, addr(P_SYB, idx), "sybil_cluster", src, syb_counts[idx], target)
    span = spec.days * 86400
    per_bot = 10
    bot_total = int(n * share["fixed_cadence"])
    for i in range(spec.n_bots):
        calls = max(bot_total // max(spec.n_bots, 1), per_bot)
        period = max(span // calls, 1)
        add(
            MAINNET,
            addr(P_BOT, i),
            "fixed_cadence",
            rng.choice(EXCHANGES),
            calls,
            [1 + i % nm],
            via_dapp=DAPPS[0] if i % 5 == 4 else None,
            period=period,
            phase=rng.randrange(0, period),
        )
    sd_total = int(n * share["self_dealing"])
    per_sd = sd_total // max(spec.n_self_dealers * (1 + spec.self_dealer_wallets), 1)
    for i in range(1, spec.n_self_dealers + 1):
        owner = addr(P_OWNER, i)
        add(MAINNET, owner, "self_dealing", rng.choice(EXCHANGES), per_sd, [i])
        for j in range(spec.self_dealer_wallets):
            add(MAINNET, addr(P_SELFW, i * 100 + j), "self_dealing", owner, per_sd, [i])
    rt_counts = _split_counts(int(n * share["round_trip"]), spec.n_round_trippers, rng, 2.0)
    for i, c in enumerate(rt_counts):
        add(MAINNET, addr(P_RT, i), "round_trip", addr(P_RT_SRC, i), c, zipf[:4])
    for i, c in enumerate(
        _split_counts(int(n * share["testnet"]), spec.n_testnet_farmers, rng, 2.0)
    ):
        add(TESTNET, addr(P_FARM, i), "testnet", FAUCET, c, zipf)

    callers = pl.DataFrame(rows, infer_schema_length=None).with_row_index("caller_id")
    return callers, pl.DataFrame(models, infer_schema_length=None)


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the documented decoded/raw tables if the ingestion room's DDL has not."""
    conn.execute("create schema if not exists decoded")
    conn.execute("create schema if not exists raw")
    for table, cols in DDL.items():
        conn.execute(f"create table if not exists {table} ({COMMON_DDL}, {cols})")
    conn.execute(RECEIPTS_DDL)


def _epoch(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp())


# One staging table of non-inference transactions, expanded into logs and receipts in SQL.
_MISC_COLS = (
    "chain_id UINTEGER, ts BIGINT, seq BIGINT, kind VARCHAR, tx_from VARCHAR, "
    "contract_address VARCHAR, a VARCHAR, b VARCHAR, amount HUGEINT, model_id BIGINT, "
    "extra VARCHAR"
)


def _block_sql(ts: str, chain: str, t0: int) -> str:
    # The chain starts ten days before the spec's start, so genesis transactions fit.
    return f"(({ts}) - {t0 - 10 * 86400}) // {BLOCK_TIME} + 1"


def _hash_sql(*parts: str) -> str:
    joined = " || ':' || ".join(f"({p})::VARCHAR" for p in parts)
    return f"('0x' || md5({joined}) || md5('x' || {joined}))"


def _write_misc(conn: duckdb.DuckDBPyConnection, rows: list[tuple], t0: int) -> None:
    """Insert non-inference transactions (transfers, registrations, releases) and receipts."""
    if not rows:
        return
    conn.execute(f"create or replace temp table misc ({_MISC_COLS})")
    conn.executemany(f"insert into misc values ({', '.join(['?'] * 11)})", rows)
    blk = _block_sql("ts", "chain_id", t0)
    conn.execute(
        f"""
        create or replace temp table misc_x as
        select *, {blk} as block_number,
            50000 + row_number() over (partition by chain_id, {blk} order by seq) as tx_index
        from misc
        """
    )
    common = f"""chain_id, block_number::UBIGINT, {_hash_sql("chain_id", "block_number")},
        make_timestamp(ts * 1000000), {_hash_sql("'tx'", "chain_id", "block_number", "tx_index")},
        tx_index::UINTEGER"""
    conn.execute(
        f"""insert into decoded.open_token__transfer
        select {common}, (tx_index * 4)::UINTEGER, '{TOKEN}', tx_from, a, b, amount::UHUGEINT
        from misc_x where kind in ('transfer', 'release')"""
    )
    conn.execute(
        f"""insert into decoded.vesting_vault__tokens_released
        select {common}, (tx_index * 4 + 1)::UINTEGER, contract_address, tx_from,
            split_part(extra, '|', 1), b, amount::UHUGEINT,
            split_part(extra, '|', 2)::UHUGEINT, split_part(extra, '|', 3)::UBIGINT
        from misc_x where kind = 'release'"""
    )
    conn.execute(
        f"""insert into decoded.vesting_vault__vesting_schedule_created
        select {common}, (tx_index * 4)::UINTEGER, contract_address, tx_from,
            split_part(extra, '|', 1), b, amount::UHUGEINT, split_part(extra, '|', 2)::UHUGEINT,
            split_part(extra, '|', 3)::UBIGINT, split_part(extra, '|', 4)::UBIGINT,
            split_part(extra, '|', 5)::UBIGINT
        from misc_x where kind = 'schedule'"""
    )
    conn.execute(
        f"""insert into decoded.model_registry__model_registered
        select {common}, (tx_index * 4)::UINTEGER, '{REGISTRY}', tx_from,
            model_id::UHUGEINT, tx_from, 'model-' || model_id,
            split_part(extra, '|', 1)::UHUGEINT[], {_hash_sql("'meta'", "model_id")},
            amount::UHUGEINT
        from misc_x where kind = 'register'"""
    )
    conn.execute(
        f"""insert into decoded.model_registry__model_updated
        select {common}, (tx_index * 4)::UINTEGER, '{REGISTRY}', tx_from,
            model_id::UHUGEINT, tx_from, {_hash_sql("'meta2'", "model_id")}, amount::UHUGEINT
        from misc_x where kind = 'update'"""
    )
    conn.execute(
        f"""insert into raw.receipts
        select chain_id, block_number::UBIGINT, {_hash_sql("chain_id", "block_number")},
            {_hash_sql("'tx'", "chain_id", "block_number", "tx_index")}, tx_index::UINTEGER,
            tx_from, coalesce(contract_address, '{TOKEN}'), 1,
            (case kind when 'register' then 180000 when 'update' then 60000 else 50000 end)
                ::UBIGINT,
            1000000000::UHUGEINT, 2000000000000::UHUGEINT, 1600, 30000000000, '0.684'
        from misc_x"""
    )


def _genesis_rows(spec: SyntheticSpec, callers: pl.DataFrame, models: pl.DataFrame) -> list:
    t = _epoch(spec.start)
    rows: list[tuple] = []
    seq = 0

    def tx(chain, ts, kind, frm, contract, a, b, amount, model_id=None, extra=None):
        nonlocal seq
        seq += 1
        rows.append((chain, ts, seq, kind, frm, contract, a, b, amount, model_id, extra))

    buckets = synthetic_buckets(spec.start)
    supply = 1_000_000_000 * E18
    for chain, holder in ((MAINNET, DISTRIBUTOR), (TESTNET, FAUCET)):
        tx(chain, t - 3 * 86400, "transfer", holder, TOKEN, ZERO_ADDRESS, holder, supply)
    for b in buckets:
        dest = b.vault or EXCHANGES[0]
        if b.vault:
            benef = addr(P_BENEF, buckets.index(b))
            extra = f"{b.name}|{b.tge_wei}|{t}|{b.cliff_months}|{b.vesting_months}"
            tx(
                MAINNET,
                t - 2 * 86400,
                "schedule",
                DISTRIBUTOR,
                b.vault,
                None,
                benef,
                b.allocation_wei,
                extra=extra,
            )
        tx(
            MAINNET,
            t - 2 * 86400 + 10,
            "transfer",
            DISTRIBUTOR,
            TOKEN,
            DISTRIBUTOR,
            dest,
            b.allocation_wei,
        )
    # Exchanges and private funders get float from the liquidity exchange.
    for i, ex in enumerate(EXCHANGES[1:]):
        tx(
            MAINNET,
            t - 86400 + i,
            "transfer",
            EXCHANGES[0],
            TOKEN,
            EXCHANGES[0],
            ex,
            10_000_000 * E18,
        )
    for r in models.iter_rows(named=True):
        dn = "[" + ",".join(str(d) for d in r["datanet_ids"]) + "]"
        tx(
            r["chain_id"],
            t - 86400 + 100 + r["model_id"],
            "register",
            r["owner"],
            REGISTRY,
            None,
            None,
            r["fee"],
            model_id=r["model_id"],
            extra=dn,
        )
        if r["new_fee"] is not None:
            mid = t + (spec.days * 86400) // 2
            tx(
                r["chain_id"],
                mid,
                "update",
                r["owner"],
                REGISTRY,
                None,
                None,
                r["new_fee"],
                model_id=r["model_id"],
            )
    funders = (
        callers.filter(
            pl.col("funder").str.starts_with(f"0x{P_SYB_SRC:08x}")
            | pl.col("funder").str.starts_with(f"0x{P_RT_SRC:08x}")
        )
        .select("chain_id", "funder")
        .unique()
        .sort("funder")
    )
    for i, r in enumerate(funders.iter_rows(named=True)):
        tx(
            r["chain_id"],
            t - 43200 + i,
            "transfer",
            EXCHANGES[1],
            TOKEN,
            EXCHANGES[1],
            r["funder"],
            100_000 * E18,
        )
    for i, r in enumerate(callers.iter_rows(named=True)):
        amount = 1000 * E18
        tx(
            r["chain_id"],
            t - 40000 + i,
            "transfer",
            r["funder"],
            TOKEN,
            r["funder"],
            r["address"],
            amount,
        )
        if r["kind"] == "round_trip":
            back = amount * 6 // 10
            tx(
                r["chain_id"],
                t + 86400 * (1 + i % 5),
                "transfer",
                r["address"],
                TOKEN,
                r["address"],
                r["funder"],
                back,
            )
    # Beneficiaries move part of their TGE release to exchanges; some go to the bridge; a burn.
    tx(
        MAINNET,
        t + 3 * 86400,
        "transfer",
        addr(P_BENEF, 0),
        TOKEN,
        addr(P_BENEF, 0),
        BRIDGE,
        20_000_000 * E18,
    )
    tx(
        MAINNET,
        t + 4 * 86400,
        "transfer",
        addr(P_BENEF, 1),
        TOKEN,
        addr(P_BENEF, 1),
        ZERO_ADDRESS,
        1_000_000 * E18,
    )
    return rows


def _release_rows(spec: SyntheticSpec, start: datetime, days: int, released: dict) -> list:
    """Monthly vault releases (and a sell-off to an exchange) falling in [start, start+days)."""
    from pipelines.metrics.supply import vested_at

    t0 = _epoch(spec.start)
    lo, hi = _epoch(start), _epoch(start) + days * 86400
    rows: list[tuple] = []
    seq = 10**9
    for bi, b in enumerate(synthetic_buckets(spec.start)):
        if not b.vault:
            continue
        benef = addr(P_BENEF, bi)
        for m in range(0, 60):
            ts = t0 + m * 30 * 86400 + 3600
            if ts >= hi:
                break
            amount = vested_at(b, ts) - released.get(b.name, 0)
            if amount <= 0:
                continue
            released[b.name] = released.get(b.name, 0) + amount
            if ts < lo:
                continue
            seq += 1
            extra = f"{b.name}|{released[b.name]}|{m}"
            rows.append(
                (MAINNET, ts, seq, "release", benef, b.vault, b.vault, benef, amount, None, extra)
            )
            seq += 1
            rows.append(
                (
                    MAINNET,
                    ts + 2 * 86400,
                    seq,
                    "transfer",
                    benef,
                    TOKEN,
                    benef,
                    EXCHANGES[bi % 3],
                    amount * 3 // 10,
                    None,
                    None,
                )
            )
    return rows


def _inference_rows(
    conn: duckdb.DuckDBPyConnection,
    spec: SyntheticSpec,
    callers: pl.DataFrame,
    models: pl.DataFrame,
    start: datetime,
    days: int,
    scale: float,
) -> int:
    t0 = _epoch(spec.start)
    lo = _epoch(start)
    span = days * 86400
    fee_levels = []
    for r in models.iter_rows(named=True):
        mid = t0 + (spec.days * 86400) // 2
        levels = [(r["fee"], 0, mid if r["new_fee"] else 2**62)]
        if r["new_fee"]:
            levels.append((r["new_fee"], mid, 2**62))
        sw = sum(r["weights"])
        for fee, since, until in levels:
            pool = fee * CONTRIB_BPS // 10_000
            amounts = [pool * w // sw for w in r["weights"]]
            dev = fee * DEV_BPS // 10_000
            stk = fee * STAKERS_BPS // 10_000
            fee_levels.append(
                {
                    "chain_id": r["chain_id"],
                    "model_id": r["model_id"],
                    "owner": r["owner"],
                    "since": since,
                    "until": until,
                    "fee": str(fee),
                    "dev": str(dev),
                    "stk": str(stk),
                    "ctot": str(sum(amounts)),
                    "prot": str(fee - dev - stk - sum(amounts)),
                    "dn": [str(d) for d in r["contributor_datanets"]],
                    "cs": r["contributors"],
                    "ws": [str(w) for w in r["weights"]],
                    "am": [str(a) for a in amounts],
                }
            )
    fl = pl.DataFrame(fee_levels)
    pop = callers.with_columns(
        (pl.col("n_calls").cast(pl.Float64) * scale).ceil().cast(pl.Int64).alias("n_win")
    ).select(
        "caller_id", "chain_id", "address", "kind", "n_win", "models", "via_dapp", "period", "phase"
    )
    conn.register("syn_pop", pop)
    conn.register("syn_fl", fl)
    blk = _block_sql("ts", "chain_id", t0)
    seed = spec.seed
    conn.execute(
        f"""
        create or replace temp table ev as
        with expanded as (
            select caller_id, chain_id, address, kind, models, via_dapp, period, phase,
                unnest(range(n_win)) as k
            from syn_pop
        ), timed as (
            select *,
                case when kind = 'fixed_cadence'
                    then {lo} + phase % greatest(period, 1) + k * period
                        + (hash({seed}, caller_id, k, 'j') % 3)::BIGINT
                    else {lo} + (hash({seed}, caller_id, k, 't') % {span})::BIGINT
                end as ts,
                models[1 + (floor(len(models) * pow((hash({seed}, caller_id, k, 'm') % 1000000)
                    / 1000000.0, 2.2)))::BIGINT] as model_id,
                -- a cron bot sends the same request every time (its evidence: identical
                -- request sizes); everyone else's requests vary
                (case when kind = 'fixed_cadence' then 256
                    else 100 + hash({seed}, caller_id, k, 'i') % 2000 end)::UBIGINT as tokens_in,
                (case when kind = 'fixed_cadence' then 512
                    else 50 + hash({seed}, caller_id, k, 'o') % 4000 end)::UBIGINT as tokens_out
            from expanded
        )
        select t.*, {blk} as block_number,
            row_number() over (partition by t.chain_id, {blk} order by t.caller_id, t.k)
                as tx_index,
            f.fee, f.dev, f.stk, f.ctot, f.prot, f.dn, f.cs, f.ws, f.am, f.owner
        from timed t
        join syn_fl f on f.chain_id = t.chain_id and f.model_id = t.model_id
            and t.ts >= f.since and t.ts < f.until
        where t.ts < {lo + span}
        order by t.chain_id, block_number, tx_index
        """
    )
    # Hash once per row (md5 dominates generation time), then every table selects the columns.
    conn.execute(
        f"""create or replace temp table ev as
        select *, {_hash_sql("chain_id", "block_number")} as bh,
            {_hash_sql("'tx'", "chain_id", "block_number", "tx_index")} as txh,
            {_hash_sql("'req'", "chain_id", "block_number", "tx_index")} as rid
        from ev"""
    )
    common = """chain_id, block_number::UBIGINT, bh, make_timestamp(ts * 1000000), txh,
        tx_index::UINTEGER"""
    rid = "rid"
    payer = "coalesce(via_dapp, address)"
    conn.execute(
        f"""insert into decoded.open_token__transfer
        select {common}, (tx_index * 4)::UINTEGER, '{TOKEN}', address, {payer}, '{ATTRIBUTION}',
            fee::UHUGEINT
        from ev"""
    )
    conn.execute(
        f"""insert into decoded.inference_market__inference_requested
        select {common}, (tx_index * 4 + 1)::UINTEGER, '{MARKET}', address, {rid},
            model_id::UHUGEINT, {payer}, fee::UHUGEINT, tokens_in, tokens_out
        from ev"""
    )
    conn.execute(
        f"""insert into decoded.attribution_engine__attribution_recorded
        select {common}, (tx_index * 4 + 2)::UINTEGER, '{ATTRIBUTION}', address, {rid},
            model_id::UHUGEINT, owner, fee::UHUGEINT, dev::UHUGEINT, ctot::UHUGEINT,
            stk::UHUGEINT, prot::UHUGEINT
        from ev"""
    )
    conn.execute(
        f"""insert into decoded.attribution_engine__contributors_rewarded
        select {common}, (tx_index * 4 + 3)::UINTEGER, '{ATTRIBUTION}', address, {rid},
            model_id::UHUGEINT, dn::UHUGEINT[], cs, ws::UHUGEINT[], am::UHUGEINT[]
        from ev"""
    )
    conn.execute(
        f"""insert into raw.receipts
        select chain_id, block_number::UBIGINT, bh, txh, tx_index::UINTEGER,
            address, coalesce(via_dapp, '{MARKET}'), 1, 150000::UBIGINT,
            1000000000::UHUGEINT, 2000000000000::UHUGEINT, 1600, 30000000000, '0.684'
        from ev"""
    )
    row = next(iter(conn.execute("select count(*) from ev").fetchall()), None)
    conn.execute("drop table ev")
    conn.unregister("syn_pop")
    conn.unregister("syn_fl")
    return int(row[0]) if row else 0


def build_world(spec: SyntheticSpec) -> SyntheticWorld:
    callers, models = _population(spec)
    return SyntheticWorld(spec, synthetic_labels(), synthetic_buckets(spec.start), callers, models)


def generate(conn: duckdb.DuckDBPyConnection, spec: SyntheticSpec) -> SyntheticWorld:
    """Fill an empty store with the genesis and `spec.days` days of traffic."""
    world = build_world(spec)
    ensure_tables(conn)
    t0 = _epoch(spec.start)
    _write_misc(conn, _genesis_rows(spec, world.callers, world.models), t0)
    _write_misc(conn, _release_rows(spec, spec.start, spec.days, {}), t0)
    _inference_rows(conn, spec, world.callers, world.models, spec.start, spec.days, 1.0)
    conn.execute("create schema if not exists synthetic")
    conn.register("syn_callers", world.callers.drop("models"))
    conn.execute("create or replace table synthetic.callers as select * from syn_callers")
    conn.unregister("syn_callers")
    return world


def append(conn: duckdb.DuckDBPyConnection, world: SyntheticWorld, days: int, share: float) -> int:
    """Append `days` more days of traffic after the data already generated, each caller making
    `share` of its original calls: `share=0.01` is the benchmark's 1 % of new data."""
    spec = world.spec
    row = next(
        iter(
            conn.execute(
                "select max(block_timestamp) from decoded.inference_market__inference_requested"
            ).fetchall()
        ),
        None,
    )
    last = row[0] if row and row[0] else spec.start
    start = datetime(last.year, last.month, last.day) + timedelta(days=1)
    _write_misc(conn, _release_rows(spec, start, days, {}), _epoch(spec.start))
    return _inference_rows(conn, spec, world.callers, world.models, start, days, share)
