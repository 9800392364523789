"""Seeded traffic simulator for the devnet: a year of OpenLedger economy on both networks.

``olw devnet simulate --scenario default --seed 7 [--events N] [--truth PATH]``

How it works. A *plan* is built first, entirely in Python and deterministically from
(scenario, seed, scale): the world (Datanets, contributors, models, owners, fees), the
populations and their intents in simulated time (TGE 2025-09-08 → 2026-11-10), and a ledger that
mirrors the contracts exactly (balances, allowances, Proof-of-Attribution splits with the same
integer arithmetic, the contributor snapshot taken at a model's first inference, vesting math).
The ledger turns intents into transactions grouped in blocks, one *tick* of simulated time per
block (12 h on mainnet, 24 h on testnet: anvil's per-block cost, not the
simulation, sets that budget), and is the ground truth. Then the plan is *sent*: automine
off, ``eth_sendTransaction`` with anvil's auto-impersonation (no signing), 20 transactions per
JSON-RPC batch, then ``evm_mine`` at the tick's timestamp; both networks in parallel. Finally the
chain is checked against the plan (every planned balance, total supply, request count), so a
reverted transaction cannot go unnoticed.

Ordering rule that makes the plan exact regardless of the order anvil puts transactions in a
block: within a tick, everything whose effect depends on other senders (claims, vesting releases,
model/Datanet registrations, contributions, fee updates) goes in a first, *settlement* block,
sent one by one; the second block holds payments and inferences, and a sender there only spends
what it held when the block began (funds received in a block are usable from the next tick).

Populations (labels in the ground truth): ``organic`` (join over time, Poisson demand, Zipf over
models, funded by exchange withdrawals, occasionally deposit back or burn), ``dapp_user`` (organic
people who go through a DAppRouter: the InferenceRequested caller is the router, the user is the
transaction's sender), ``self_dealing`` (model owners calling their own model), ``sybil`` (clusters
funded by one funder via ``transferMany``; the funder itself withdrew from an exchange),
``bot_cadence`` (``inferBatch`` on an exact cadence), ``round_trip`` (wallets funded by a model
owner call his model and send the rest back), ``testnet_farmer`` (testnet only: high volume, tiny
fees, funded by the faucet). A niche model gets ~50 organic inferences a month. Vesting vaults
release monthly per ``schemas/tokenomics.yaml``; treasuries, team and investors move, bridge and
burn tokens; developers, contributors, the staking pool and the protocol claim rewards.
Scenarios ``adversarial`` and ``untuned`` add (``AdversarialSpec``, ``_adversarial_world``) the
populations the first real-vs-noise rules got wrong: ``multihop_sybil`` (operator →
intermediaries → members), ``exchange_burst_sybil`` (one exchange, one tick, one amount, swept to
one deposit address), ``proxy_self_dealing`` (owner → proxy → wallets calling his model),
``relay_round_trip`` (owner → wallet → relay → owner), ``mimic_sybil`` (a Datanet contributor's
wallets, organic-looking joins, amounts and timing), ``outage_cron``, ``sleepy_bot``, and as real
customers ``hub_user`` (organic users granted OPEN by an unlabelled onboarding service) and
``clinic`` (a nightly batch of varied requests). ``REAL_LABELS`` are the real intents.

Ground truth JSON (``$OLW_HOME/devnet/truth.json`` or ``--truth``); amounts are wei as decimal
strings, times are unix seconds, addresses lowercase 0x-hex::

    {"format": 1, "scenario": str, "seed": int, "scale": float, "events_target": int | null,
     "tge": int, "start": int, "end": int, "labels": [str, ...],
     "networks": {"<network>": {
        "chain_id": int,
        "first_block": int, "last_block": int,       # blocks written by the simulation
        "blocks": int, "transactions": int,
        "counts": {"<EventName>": int, ...},         # every log on the chain, deploy included
        "inference_related_events": int,             # InferenceRequested + AttributionRecorded
                                                     # + ContributorsRewarded + fee Transfers
        "actors": {"<address>": {"label": str, "inferences": int, "fees_paid_wei": str,
                                 "funded_by": str | null, "via": str | null,
                                 "models": {"<model_id>": int}}},
        "callers": {"<address>": {"label": str, "inferences": int}},  # as InferenceRequested.caller
        "funders": {"<address>": {"label": "sybil_funder", "funded": [str, ...]}},
        "models": {"<model_id>": {"owner": str, "name": str, "datanet_ids": [int],
                   "fee_per_inference_wei": str (final), "registered_at": int,
                   "kind": "catalog" | "niche" | "self_dealing" | "sybil_target" | "round_trip",
                   "inferences": int, "inferences_by_label": {label: int},
                   "tokens_in": int, "tokens_out": int, "fee_income_wei": str,
                   "payouts": {"developer_wei": str, "contributors_wei": str,
                               "stakers_wei": str, "protocol_wei": str,
                               "per_contributor_wei": {addr: str},
                               "per_datanet_wei": {datanet_id: str}}}},
        "unlocks": [{"bucket": str, "vault": str | null (liquidity: a plain transfer at TGE),
                     "beneficiary": str, "timestamp": int, "month_index": int,
                     "amount_wei": str}],
        "burns": [{"from": str, "timestamp": int, "amount_wei": str}],
        "claims": {"<address>": {"claims": int, "amount_wei": str}},
        "total_supply_wei": str, "balances_wei": {"<address>": str}}}}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pipelines.config import load_networks
from pipelines.devnet import encode
from pipelines.devnet.abi import actor, call_data, topic
from pipelines.devnet.deploy import (
    DEPLOYER,
    GAS_PRICE,
    VAULT_BUCKETS,
    WEI,
    Deployment,
    Tokenomics,
    load_deployment,
    load_tokenomics,
)
from pipelines.devnet.errors import DevnetError
from pipelines.devnet.nodes import DEVNET_NETWORKS, devnet_home, running_url
from pipelines.devnet.rpc import Rpc

HOUR = 3600
DAY = 86400
MAINNET, TESTNET = DEVNET_NETWORKS
LABELS = (
    "organic",
    "dapp_user",
    "self_dealing",
    "sybil",
    "bot_cadence",
    "round_trip",
    "testnet_farmer",
    "dapp",
    # adversarial populations (_adversarial_world): noise by intent
    "multihop_sybil",
    "exchange_burst_sybil",
    "proxy_self_dealing",
    "relay_round_trip",
    "outage_cron",
    "sleepy_bot",
    "mimic_sybil",
    # and paying customers the old rules called noise
    "hub_user",
    "clinic",
)
# Labels whose inference is real by intent (everything else is noise).
REAL_LABELS = frozenset({"organic", "dapp_user", "hub_user", "clinic"})
PRE_KINDS = frozenset(
    {"create_datanet", "contribute", "register_model", "update_model", "claim", "release"}
)
EVENT_SIGNATURES = {
    "Transfer": "Transfer(address,address,uint256)",
    "Approval": "Approval(address,address,uint256)",
    "VestingScheduleCreated": (
        "VestingScheduleCreated(bytes32,address,uint256,uint256,uint64,uint64,uint64)"
    ),
    "TokensReleased": "TokensReleased(bytes32,address,uint256,uint256,uint64)",
    "DatanetCreated": "DatanetCreated(uint256,address,string,bytes32)",
    "ContributionRecorded": "ContributionRecorded(uint256,address,uint256,bytes32,uint256)",
    "ModelRegistered": "ModelRegistered(uint256,address,string,uint256[],bytes32,uint256)",
    "ModelUpdated": "ModelUpdated(uint256,address,bytes32,uint256)",
    "InferenceRequested": "InferenceRequested(bytes32,uint256,address,uint256,uint32,uint32)",
    "AttributionRecorded": (
        "AttributionRecorded(bytes32,uint256,address,uint256,uint256,uint256,uint256,uint256)"
    ),
    "ContributorsRewarded": (
        "ContributorsRewarded(bytes32,uint256,uint256[],address[],uint256[],uint256[])"
    ),
    "RewardsClaimed": "RewardsClaimed(address,uint256)",
}
TOPIC_NAMES = {topic(sig): name for name, sig in EVENT_SIGNATURES.items()}
SEND_BATCH = 20  # transactions per JSON-RPC batch (DESIGN.md: the measured sweet spot)


def _utc(y: int, m: int, d: int) -> int:
    return int(dt.datetime(y, m, d, tzinfo=dt.UTC).timestamp())


@dataclass(frozen=True)
class AdversarialSpec:
    """Populations the first real-vs-noise rules got wrong, in both directions (ground truth is
    each actor's intent). Counts are per scenario; rates per member and day."""

    # Farms funded through intermediaries: operator (from an exchange) -> intermediaries ->
    # members, who call the operator's model with organic-looking (Poisson) timing.
    multihop_operators: int = 1
    multihop_intermediaries: int = 3
    multihop_members: int = 3
    # Exchange-withdrawal farms: wallets withdrawn from one exchange in one tick with one
    # amount, one task list, a short campaign, then swept to one deposit address.
    burst_farms: int = 1
    burst_members: int = 7
    # Owners funding fresh wallets through an intermediary to call their own model.
    proxy_dealers: int = 1
    proxy_wallets: int = 3
    # Round trips through a second wallet: owner -> wallet (calls his model) -> relay -> owner.
    relays: int = 1
    # Cron bots (identical requests on a cadence) with one long outage.
    outage_crons: int = 1
    outage_days: tuple[int, int] = (20, 40)
    # Bots sleeping a random number of ticks between identical requests.
    sleepy_bots: int = 1
    sleepy_ticks: tuple[int, int] = (1, 3)
    # Organic users behind an unlabelled onboarding service (same grant each, joined over time).
    hub_users: int = 15
    hub_grant_open: int = 25
    # Paying customers with a nightly batch: regular, but every request different.
    clinics: int = 2
    clinic_batch: tuple[int, int] = (2, 6)
    # Attribution farms mimicking organic users (staggered joins, varied amounts, Poisson
    # timing), funded through intermediaries by a contributor of the models they call.
    mimic_farms: int = 1
    mimic_members: int = 8
    member_rate_per_day: float = 0.7


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    end: int = _utc(2026, 11, 10)
    # anvil's evm_mine costs 10-50 ms and grows with the chain: blocks are the budget.
    tick_s: tuple[int, int] = (12 * HOUR, 24 * HOUR)  # mainnet, testnet
    datanets: int = 8
    catalog_models: int = 18
    late_model_share: float = 0.3
    zipf_s: float = 1.1
    organic_users: int = 220
    organic_rate_per_day: float = 0.4
    dapp_share: float = 0.25
    niche_per_month: float = 50.0
    self_dealers: int = 3
    self_rate_per_day: float = 3.0
    sybil_clusters: int = 3
    sybils_per_cluster: int = 25
    sybil_rate_per_day: float = 1.0
    sybil_campaign_days: int = 45
    bots: int = 4
    bot_cadences_h: tuple[int, ...] = (12, 24, 36, 12)  # multiples of the tick
    bot_batch: tuple[int, int] = (2, 4)
    round_trippers: int = 2
    rt_wallets: int = 3
    rt_rate_per_day: float = 2.0
    farmers: int = 30
    farmer_batch: tuple[int, int] = (5, 12)
    farmer_fire_prob: float = 0.5
    farmer_campaign_days: int = 120
    testnet_models: int = 6
    testnet_organic_share: float = 0.1
    # Adversarial populations (_adversarial_world); none in the original scenarios.
    adv: AdversarialSpec | None = None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", "a mixed economy: mostly organic demand, some noise of every kind"),
        Scenario(
            "smoke",
            "a few months, every population, small: for tests that run it more than once",
            end=_utc(2026, 1, 20),
            tick_s=(2 * DAY, 2 * DAY),
            datanets=4,
            catalog_models=6,
            organic_users=30,
            self_dealers=1,
            sybil_clusters=1,
            sybils_per_cluster=8,
            bots=2,
            bot_cadences_h=(48, 96),
            round_trippers=1,
            rt_wallets=2,
            farmers=5,
            farmer_campaign_days=60,
            testnet_models=3,
            testnet_organic_share=0.3,
        ),
        Scenario(
            "heavy-sybil",
            "many large sybil clusters farming attribution next to a smaller organic base",
            organic_users=150,
            sybil_clusters=8,
            sybils_per_cluster=40,
            sybil_campaign_days=60,
            self_dealers=5,
        ),
        Scenario(
            "bot-heavy",
            "fixed-cadence bots and testnet farmers dominate the volume",
            organic_users=150,
            bots=14,
            bot_cadences_h=(12, 24, 12, 36, 48, 24, 12, 72, 12, 24, 36, 12, 48, 24),
            bot_batch=(3, 8),
            farmers=80,
            farmer_fire_prob=0.7,
        ),
        Scenario(
            "adversarial",
            "short and small, with every adversarial population and the paying customers the "
            "first rules got wrong: the scenario the classifier was tuned against",
            end=_utc(2026, 1, 20),
            tick_s=(2 * DAY, 2 * DAY),
            datanets=4,
            catalog_models=6,
            organic_users=30,
            self_dealers=1,
            sybil_clusters=1,
            sybils_per_cluster=8,
            bots=1,
            bot_cadences_h=(48,),
            round_trippers=1,
            rt_wallets=2,
            farmers=3,
            farmer_campaign_days=60,
            testnet_models=2,
            testnet_organic_share=0.2,
            adv=AdversarialSpec(),
        ),
        Scenario(
            # Written once, scored once (seed 90210 in the tests): no threshold was set by it.
            "untuned",
            "adversarial populations at other sizes, rates and times, never used for tuning",
            end=_utc(2026, 2, 15),
            tick_s=(2 * DAY, 3 * DAY),
            datanets=5,
            catalog_models=7,
            organic_users=36,
            organic_rate_per_day=0.6,
            self_dealers=1,
            sybil_clusters=1,
            sybils_per_cluster=6,
            bots=1,
            bot_cadences_h=(96,),
            round_trippers=1,
            rt_wallets=3,
            farmers=3,
            farmer_campaign_days=45,
            testnet_models=2,
            testnet_organic_share=0.15,
            adv=AdversarialSpec(
                multihop_operators=2,
                multihop_intermediaries=2,
                multihop_members=4,
                burst_farms=1,
                burst_members=9,
                proxy_dealers=2,
                proxy_wallets=3,
                relays=2,
                outage_crons=2,
                outage_days=(14, 30),
                sleepy_bots=2,
                sleepy_ticks=(1, 4),
                hub_users=20,
                hub_grant_open=40,
                clinics=3,
                clinic_batch=(3, 9),
                mimic_farms=1,
                mimic_members=10,
                member_rate_per_day=0.5,
            ),
        ),
    )
}


def _rng(seed: int, *parts: object) -> random.Random:
    """An independent, stable random stream per (seed, actor): one population's draws never
    shift another's, and Python's per-process hash randomisation plays no part."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _h32(*parts: object) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


def _fee_wei(rng: random.Random, lo: float, hi: float) -> int:
    """Log-uniform fee between lo and hi OPEN, rounded to 1e-6 OPEN."""
    value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return max(1, round(value * 1e6)) * 10**12


def _tokens(rng: random.Random) -> tuple[int, int]:
    return int(rng.lognormvariate(6.0, 0.8)) + 1, int(rng.lognormvariate(5.5, 1.0)) + 1


def _poisson_times(rng: random.Random, t0: int, t1: int, per_day: float) -> list[int]:
    out: list[int] = []
    if per_day <= 0 or t1 <= t0:
        return out
    t = float(t0)
    mean_gap = DAY / per_day
    while True:
        t += rng.expovariate(1.0 / mean_gap)
        if t >= t1:
            return out
        out.append(int(t))


# ----------------------------------------------------------------------------------------------
# The world and the intents


@dataclass
class ModelSpec:
    model_id: int
    owner: str
    name: str
    datanets: list[int]
    fee: int
    registered_at: int
    kind: str


@dataclass
class Intent:
    t: int
    kind: str
    sender: str
    args: tuple[Any, ...] = ()


@dataclass
class NetworkPlan:
    """The world and everyone's intents on one network (before the ledger runs)."""

    network: str
    tick_s: int
    intents: list[Intent] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # sender → label
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)  # caller → (source, topup)
    via: dict[str, str] = field(default_factory=dict)  # dapp user → router address
    models: dict[int, ModelSpec] = field(default_factory=dict)
    funders: dict[str, list[str]] = field(default_factory=dict)

    def add(self, t: int, kind: str, sender: str, *args: Any) -> None:
        self.intents.append(Intent(t, kind, sender, args))


def _zipf_picker(
    rng: random.Random, models: list[ModelSpec], s: float
) -> Callable[[random.Random, int], int | None]:
    """Pick a model by Zipf popularity among those registered by time t."""
    order = list(models)
    rng.shuffle(order)
    # Special-purpose models (self-dealing, sybil targets, round trips) sit in the tail.
    order.sort(key=lambda m: m.kind != "catalog")
    weights = [1.0 / (rank + 1) ** s for rank in range(len(order))]

    def pick(r: random.Random, t: int) -> int | None:
        avail = [
            (m.model_id, w) for m, w in zip(order, weights, strict=True) if m.registered_at < t
        ]
        if not avail:
            return None
        total = sum(w for _, w in avail)
        x = r.random() * total
        acc = 0.0
        for mid, w in avail:
            acc += w
            if x < acc:
                return mid
        return avail[-1][0]

    return pick


def build_world(
    sc: Scenario, seed: int, scale: float, dep: dict[str, Deployment]
) -> dict[str, NetworkPlan]:
    tge = load_tokenomics().tge
    setup_t = tge - DAY  # Datanets and the first models exist the day before TGE
    horizon = (sc.end - tge) // DAY - 2
    start_users = tge + 2 * DAY  # exchanges are stocked by then
    end = sc.end
    # --events scales batch traffic only (bots, farmers: one tx carries many inferences):
    # anvil's cost is per transaction and per block, so single-inference populations stay put.
    sq = 1.0
    plans = {
        MAINNET: NetworkPlan(MAINNET, sc.tick_s[0]),
        TESTNET: NetworkPlan(TESTNET, sc.tick_s[1]),
    }
    main = plans[MAINNET]
    roles = dep[MAINNET].roles
    exchanges = [roles["exchange.alpha"], roles["exchange.beta"], roles["exchange.gamma"]]
    routers = [
        a["address"]
        for n, a in sorted(dep[MAINNET].contracts.items())
        if n.startswith("DAppRouter.")
    ]
    w = _rng(seed, "world")

    # Datanets, owned by a few curators, each with contributors recorded before TGE.
    curators = [actor(f"curator:{i}") for i in range(max(2, sc.datanets // 3))]
    contributors = [actor(f"contributor:{i}") for i in range(sc.datanets * 6)]
    for net, plan in plans.items():
        n_dn = sc.datanets if net == MAINNET else max(2, sc.datanets // 3)
        for d in range(1, n_dn + 1):
            cur = curators[d % len(curators)]
            plan.add(setup_t, "create_datanet", cur, f"datanet-{d}", _h32("dn", net, d))
            members = w.sample(contributors, w.randint(3, 10))
            for contrib in members:
                for _ in range(w.randint(1, 3)):
                    plan.add(
                        setup_t,
                        "contribute",
                        cur,
                        d,
                        contrib,
                        _h32("c", net, d, contrib, w.random()),
                        w.randint(1, 100),
                    )
            # Later contributions (they count only for models first used after them).
            for _ in range(w.randint(1, 4)):
                t = w.randint(tge, end - 30 * DAY)
                plan.add(
                    t,
                    "contribute",
                    cur,
                    d,
                    w.choice(contributors),
                    _h32("late", d, t),
                    w.randint(1, 50),
                )

    # Models on mainnet.
    devs = [actor(f"developer:{i}") for i in range(max(3, sc.catalog_models // 2))]
    mid = 0

    def new_model(owner: str, kind: str, fee: int, registered_at: int) -> ModelSpec:
        nonlocal mid
        mid += 1
        dns = sorted(w.sample(range(1, sc.datanets + 1), w.randint(1, 3)))
        spec = ModelSpec(mid, owner, f"{kind}-model-{mid}", dns, fee, registered_at, kind)
        main.models[mid] = spec
        return spec

    # Model ids are assigned on chain in registration order: create the models registered at
    # setup first, the late ones last and in time order.
    late_times = []
    for i in range(sc.catalog_models):
        if w.random() < sc.late_model_share:
            late_times.append((w.randint(tge + 10 * DAY, end - 60 * DAY), i))
        else:
            new_model(devs[i % len(devs)], "catalog", _fee_wei(w, 0.002, 0.5), setup_t)
    niche = new_model(w.choice(devs), "niche", _fee_wei(w, 0.05, 0.3), setup_t)
    self_models = [
        new_model(actor(f"selfdealer:{i}"), "self_dealing", _fee_wei(w, 0.01, 0.2), setup_t)
        for i in range(sc.self_dealers)
    ]
    sybil_models = [
        new_model(actor(f"sybil-operator:{c}"), "sybil_target", _fee_wei(w, 0.005, 0.05), setup_t)
        for c in range(sc.sybil_clusters)
    ]
    rt_models = [
        new_model(actor(f"rt-owner:{i}"), "round_trip", _fee_wei(w, 0.01, 0.1), setup_t)
        for i in range(sc.round_trippers)
    ]
    adv_models = _adversarial_models(sc, w, new_model, setup_t)
    for reg, i in sorted(late_times):
        new_model(devs[i % len(devs)], "catalog", _fee_wei(w, 0.002, 0.5), reg)

    # Organic users and dApp users.
    pick = _zipf_picker(w, [m for m in main.models.values() if m.kind != "niche"], sc.zipf_s)
    organic: list[tuple[str, int, int]] = []  # (address, join, leave)
    for i in range(sc.organic_users):
        addr = actor(f"organic:{i}")
        r = _rng(seed, "organic", i)
        join = start_users + int((end - 20 * DAY - start_users) * r.random() ** 0.8)
        leave = min(end, join + int(r.expovariate(1 / (220 * DAY))) + 14 * DAY)
        rate = sc.organic_rate_per_day * sq * r.lognormvariate(0, 0.8) / math.exp(0.32)
        dapp = r.random() < sc.dapp_share
        main.labels[addr] = "dapp_user" if dapp else "organic"
        if dapp:
            main.via[addr] = r.choice(routers)
        ex = r.choice(exchanges)
        main.sources[addr] = (ex, _fee_topup(r, rate, 2.0))
        organic.append((addr, join, leave))
        for t in _poisson_times(r, join, leave, rate):
            chosen = pick(r, t)
            if chosen is not None:
                main.add(t, "route" if dapp else "infer", addr, chosen, *_tokens(r))
        if r.random() < 0.25:  # cash out part of the balance to the exchange now and then
            for t in _poisson_times(r, join + 7 * DAY, leave, 1 / 45):
                main.add(t, "deposit_frac", addr, ex, 0.5)
        if r.random() < 0.03:
            main.add(r.randint(join + DAY, leave), "burn_frac", addr, 0.2)
    # The niche model: ~50 inferences a month from random active organic users.
    rn = _rng(seed, "niche")
    for t in _poisson_times(rn, start_users, end, sc.niche_per_month / 30):
        active = [a for a, j, lv in organic if j <= t < lv and main.labels[a] == "organic"]
        if active:
            main.add(t, "infer", rn.choice(active), niche.model_id, *_tokens(rn))

    # Self-dealers: owners who call their own model.
    for i in range(sc.self_dealers):
        owner = actor(f"selfdealer:{i}")
        r = _rng(seed, "self", i)
        own = self_models[i]
        main.labels[owner] = "self_dealing"
        main.sources[owner] = (r.choice(exchanges), own.fee * 400)
        t0 = start_users + r.randint(0, min(120, horizon // 3)) * DAY
        for t in _poisson_times(r, t0, end, sc.self_rate_per_day * sq):
            main.add(t, "infer", owner, own.model_id, *_tokens(r))

    # Sybil clusters: one funder (withdrew from an exchange) funds many fresh addresses at once.
    for c in range(sc.sybil_clusters):
        r = _rng(seed, "sybil", c)
        funder = actor(f"sybil-funder:{c}")
        target = sybil_models[c]
        members = [actor(f"sybil:{c}:{j}") for j in range(sc.sybils_per_cluster)]
        t0 = start_users + r.randint(5, max(6, horizon - sc.sybil_campaign_days)) * DAY
        t1 = min(end, t0 + sc.sybil_campaign_days * DAY)
        per_member = target.fee * int(sc.sybil_rate_per_day * sq * sc.sybil_campaign_days * 1.5 + 5)
        main.add(
            t0 - 2 * DAY, "transfer", r.choice(exchanges), funder, per_member * len(members) * 2
        )
        main.add(t0, "transfer_many", funder, members, [per_member] * len(members))
        main.funders[funder] = members
        for member in members:
            main.labels[member] = "sybil"
            main.sources[member] = (funder, per_member // 2)
            for t in _poisson_times(r, t0 + HOUR, t1, sc.sybil_rate_per_day * sq):
                main.add(t, "infer", member, target.model_id, *_tokens(r))

    # Fixed-cadence bots: inferBatch at exact intervals.
    catalog = [
        m for m in main.models.values() if m.kind == "catalog" and m.registered_at == setup_t
    ]
    for b in range(sc.bots):
        r = _rng(seed, "bot", b)
        addr = actor(f"bot:{b}")
        cadence = sc.bot_cadences_h[b % len(sc.bot_cadences_h)] * HOUR
        targets = [m.model_id for m in r.sample(catalog, min(len(catalog), r.randint(1, 3)))]
        k = max(1, round(r.randint(*sc.bot_batch) * scale))
        fee_per_fire = k * max(main.models[t].fee for t in targets)
        main.labels[addr] = "bot_cadence"
        main.sources[addr] = (r.choice(exchanges), fee_per_fire * 60)
        t = start_users + r.randint(0, min(60, horizon // 4)) * DAY
        t = t - t % main.tick_s
        stop = end - r.randint(0, min(60, horizon // 4)) * DAY
        while t < stop:
            ids = [targets[j % len(targets)] for j in range(k)]
            main.add(t, "batch", addr, ids, [256] * k, [512] * k)
            t += cadence

    # Round trips: a model owner funds wallets that call his model and send the rest back.
    for i in range(sc.round_trippers):
        r = _rng(seed, "rt", i)
        owner = actor(f"rt-owner:{i}")
        rtm = rt_models[i]
        t0 = start_users + r.randint(5, max(6, min(200, horizon // 2))) * DAY
        budget = rtm.fee * int(sc.rt_rate_per_day * sq * 40 + 10)
        main.add(t0 - DAY, "transfer", r.choice(exchanges), owner, budget * sc.rt_wallets * 6)
        for j in range(sc.rt_wallets):
            wallet = actor(f"rt-wallet:{i}:{j}")
            main.labels[wallet] = "round_trip"
            main.sources[wallet] = (owner, budget)
            t1 = min(end, t0 + r.randint(90, 250) * DAY)
            for t in _poisson_times(r, t0, t1, sc.rt_rate_per_day * sq):
                main.add(t, "infer", wallet, rtm.model_id, *_tokens(r))
            for t in range(t0 + 30 * DAY, t1 + 1, 30 * DAY):
                main.add(t, "deposit_frac", wallet, owner, 1.0)

    if sc.adv is not None:
        catalog_now = [
            m for m in main.models.values() if m.kind == "catalog" and m.registered_at == setup_t
        ]
        _adversarial_world(
            main, sc.adv, seed, adv_models, catalog_now, exchanges, pick, start_users, end
        )
    _economy(main, dep[MAINNET], seed, tge, end, is_mainnet=True)

    # Testnet: tiny-fee models, farmers, and a few organic users trying things out.
    test = plans[TESTNET]
    troles = dep[TESTNET].roles
    faucet = troles["testnet_faucet"]
    tmodels: list[int] = []
    for tmid in range(1, sc.testnet_models + 1):
        owner = devs[(tmid - 1) % len(devs)]
        dns = sorted(w.sample(range(1, max(2, sc.datanets // 3) + 1), 1))
        test.models[tmid] = ModelSpec(
            tmid, owner, f"test-model-{tmid}", dns, _fee_wei(w, 1e-6, 1e-4), setup_t, "catalog"
        )
        tmodels.append(tmid)
    tpick = _zipf_picker(w, list(test.models.values()), sc.zipf_s)
    for i in range(sc.farmers):
        r = _rng(seed, "farmer", i)
        addr = actor(f"farmer:{i}")
        test.labels[addr] = "testnet_farmer"
        t0 = start_users + r.randint(0, max(1, min(300, horizon - 30))) * DAY
        t1 = min(end, t0 + sc.farmer_campaign_days * DAY)
        k = max(1, round(r.randint(*sc.farmer_batch) * scale))
        test.sources[addr] = (faucet, 10**18)
        tick = test.tick_s
        t = t0 - t0 % tick
        while t < t1:
            if r.random() < sc.farmer_fire_prob:
                ids = r.choices(tmodels, k=k)
                test.add(t + r.randint(0, tick - 1), "batch", addr, ids, [64] * k, [64] * k)
            t += tick
    for addr, join, leave in organic:
        r = _rng(seed, "testnet-organic", addr)
        if r.random() >= sc.testnet_organic_share:
            continue
        test.labels[addr] = "organic"
        test.sources[addr] = (faucet, 10**17)
        for t in _poisson_times(r, join, min(leave, join + 60 * DAY), 0.3):
            m = tpick(r, t)
            if m is not None:
                test.add(t, "infer", addr, m, *_tokens(r))
    _economy(test, dep[TESTNET], seed, tge, end, is_mainnet=False)

    # Registrations: datanets before models, in id order (ids are assigned on chain in order).
    for plan in plans.values():
        for spec in sorted(plan.models.values(), key=lambda m: (m.registered_at, m.model_id)):
            plan.add(spec.registered_at, "register_model", spec.owner, spec.model_id)
        # A few fee updates (the owner reprices); the new fee applies from the next block.
        r = _rng(seed, "updates", plan.network)
        catalog_ids = [m.model_id for m in plan.models.values() if m.kind == "catalog"]
        for mid_ in r.sample(catalog_ids, min(3, len(catalog_ids))):
            spec = plan.models[mid_]
            t = r.randint(max(spec.registered_at, tge) + 30 * DAY, end - 10 * DAY)
            plan.add(
                t, "update_model", spec.owner, mid_, max(10**12, spec.fee * r.choice((1, 3)) // 2)
            )
    return plans


# ----------------------------------------------------------------------------------------------
# Adversarial populations (scenarios with `adv`): what the first rules got wrong, both ways


def _adversarial_models(
    sc: Scenario, w: random.Random, new_model: Callable[[str, str, int, int], ModelSpec], t: int
) -> dict[str, list[ModelSpec]]:
    """The adversaries' own models, registered at setup (none without `sc.adv`, so the original
    scenarios draw nothing more from the world stream)."""
    a = sc.adv
    if a is None:
        return {}
    return {
        "multihop": [
            new_model(actor(f"mh-operator:{i}"), "sybil_target", _fee_wei(w, 0.005, 0.05), t)
            for i in range(a.multihop_operators)
        ],
        "burst": [
            new_model(actor(f"burst-operator:{i}"), "sybil_target", _fee_wei(w, 0.005, 0.05), t)
            for i in range(a.burst_farms)
        ],
        "proxy": [
            new_model(actor(f"proxy-owner:{i}"), "self_dealing", _fee_wei(w, 0.01, 0.2), t)
            for i in range(a.proxy_dealers)
        ],
        "relay": [
            new_model(actor(f"relay-owner:{i}"), "round_trip", _fee_wei(w, 0.01, 0.1), t)
            for i in range(a.relays)
        ],
    }


def _adversarial_world(
    main: NetworkPlan,
    a: AdversarialSpec,
    seed: int,
    models: dict[str, list[ModelSpec]],
    catalog: list[ModelSpec],
    exchanges: list[str],
    pick: Callable[[random.Random, int], int | None],
    start: int,
    end: int,
) -> None:
    tick = main.tick_s
    span_days = max(10, (end - start) // DAY)

    def campaign(r: random.Random, lo: int, hi: int) -> tuple[int, int]:
        t0 = start + 4 * tick + r.randint(0, max(1, span_days // 3)) * DAY
        return t0, min(end - tick, t0 + r.randint(lo, hi) * DAY)

    def poisson_calls(r: random.Random, who: str, mid: int, t0: int, t1: int) -> None:
        for t in _poisson_times(r, t0, t1, a.member_rate_per_day):
            main.add(t, "infer", who, mid, *_tokens(r))

    # Multi-hop farms: operator -> intermediaries -> members (amounts within +-5 %).
    for i, target in enumerate(models.get("multihop", [])):
        r = _rng(seed, "adv-multihop", i)
        op = actor(f"mh-operator:{i}")
        t0, t1 = campaign(r, 40, 70)
        per_member = target.fee * int(a.member_rate_per_day * (t1 - t0) / DAY * 1.5 + 10)
        n_all = a.multihop_intermediaries * a.multihop_members
        main.add(t0 - 3 * tick, "transfer", r.choice(exchanges), op, per_member * n_all * 4)
        mids = [actor(f"mh-inter:{i}:{k}") for k in range(a.multihop_intermediaries)]
        main.add(
            t0 - 2 * tick,
            "transfer_many",
            op,
            mids,
            [per_member * a.multihop_members * 3] * len(mids),
        )
        everyone = []
        for k, mid_addr in enumerate(mids):
            members = [actor(f"mh-member:{i}:{k}:{j}") for j in range(a.multihop_members)]
            amounts = [per_member * r.randint(95, 105) // 100 for _ in members]
            main.add(t0 - tick, "transfer_many", mid_addr, members, amounts)
            for member, amount in zip(members, amounts, strict=True):
                main.labels[member] = "multihop_sybil"
                main.sources[member] = (mid_addr, amount // 2)
                poisson_calls(r, member, target.model_id, t0, t1)
                everyone.append(member)
        main.funders[op] = everyone

    # Exchange-withdrawal farms: one exchange, one tick, one amount; swept to one address.
    for i, target in enumerate(models.get("burst", [])):
        r = _rng(seed, "adv-burst", i)
        ex = r.choice(exchanges)
        deposit = actor(f"burst-deposit:{i}")
        t0, t1 = campaign(r, 25, 45)
        amount = target.fee * int(a.member_rate_per_day * (t1 - t0) / DAY * 1.5 + 10)
        for j in range(a.burst_members):
            member = actor(f"burst:{i}:{j}")
            main.labels[member] = "exchange_burst_sybil"
            main.sources[member] = (ex, amount)
            main.add(t0 - tick, "transfer", ex, member, amount)
            poisson_calls(r, member, target.model_id, t0, t1)
            main.add(t1 + tick, "deposit_frac", member, deposit, 1.0)

    # Self-dealing through an intermediary: owner -> proxy -> fresh wallets -> own model.
    for i, own in enumerate(models.get("proxy", [])):
        r = _rng(seed, "adv-proxy", i)
        owner, proxy = own.owner, actor(f"proxy-mid:{i}")
        t0, t1 = campaign(r, 60, 150)
        budget = own.fee * int(a.member_rate_per_day * (t1 - t0) / DAY * 1.5 + 10)
        wallets = [actor(f"proxy-wallet:{i}:{j}") for j in range(a.proxy_wallets)]
        main.add(t0 - 3 * tick, "transfer", r.choice(exchanges), owner, budget * len(wallets) * 5)
        main.add(t0 - 2 * tick, "transfer", owner, proxy, budget * len(wallets) * 3)
        main.add(t0 - tick, "transfer_many", proxy, wallets, [budget] * len(wallets))
        for wallet in wallets:
            main.labels[wallet] = "proxy_self_dealing"
            main.sources[wallet] = (proxy, budget // 2)
            poisson_calls(r, wallet, own.model_id, t0, t1)

    # Round trips through a second wallet: owner -> wallet -> (monthly) relay -> owner.
    for i, own in enumerate(models.get("relay", [])):
        r = _rng(seed, "adv-relay", i)
        owner, wallet, relay = own.owner, actor(f"relay-wallet:{i}"), actor(f"relay:{i}")
        t0, t1 = campaign(r, 60, 150)
        budget = own.fee * int(a.member_rate_per_day * 40 + 10)
        main.add(t0 - 2 * tick, "transfer", r.choice(exchanges), owner, budget * 8)
        main.labels[wallet] = "relay_round_trip"
        main.sources[wallet] = (owner, budget)
        poisson_calls(r, wallet, own.model_id, t0, t1)
        for t in range(t0 + 30 * DAY, t1 + 1, 30 * DAY):
            main.add(t, "deposit_frac", wallet, relay, 1.0)
            main.add(t + tick, "deposit_frac", relay, owner, 1.0)

    # Cron bots with one long outage: identical batches on a cadence of whole ticks.
    for i in range(a.outage_crons):
        r = _rng(seed, "adv-outage", i)
        addr = actor(f"outage-cron:{i}")
        targets = [m.model_id for m in r.sample(catalog, min(len(catalog), r.randint(1, 2)))]
        k = r.randint(2, 4)
        cadence = tick * r.randint(1, 2)
        main.labels[addr] = "outage_cron"
        main.sources[addr] = (
            r.choice(exchanges),
            k * max(main.models[m].fee for m in targets) * 80,
        )
        t = start + r.randint(1, 10) * tick
        o0 = t + (end - t) // 3
        o1 = o0 + r.randint(*a.outage_days) * DAY
        while t < end:
            if not o0 <= t < o1:
                ids = [targets[j % len(targets)] for j in range(k)]
                main.add(t, "batch", addr, ids, [256] * k, [512] * k)
            t += cadence

    # Bots sleeping a random number of ticks between identical single requests.
    for i in range(a.sleepy_bots):
        r = _rng(seed, "adv-sleepy", i)
        addr = actor(f"sleepy:{i}")
        target = r.choice(catalog)
        main.labels[addr] = "sleepy_bot"
        main.sources[addr] = (r.choice(exchanges), target.fee * 120)
        t = start + r.randint(1, 10) * tick
        while t < end:
            main.add(t, "infer", addr, target.model_id, 384, 768)
            t += r.randint(*a.sleepy_ticks) * tick

    # Organic users behind an unlabelled onboarding service: one grant each, joined over time.
    if a.hub_users:
        r = _rng(seed, "adv-hub")
        hub = actor("onboarding:0")
        grant = a.hub_grant_open * WEI
        main.add(start, "transfer", r.choice(exchanges), hub, grant * a.hub_users * 2)
        for i in range(a.hub_users):
            ru = _rng(seed, "adv-hub-user", i)
            addr = actor(f"hub-user:{i}")
            join = start + 2 * tick + int((end - start - 20 * DAY) * ru.random())
            leave = min(end, join + int(ru.expovariate(1 / (200 * DAY))) + 14 * DAY)
            rate = 0.4 * ru.lognormvariate(0, 0.8) / math.exp(0.32)
            main.labels[addr] = "hub_user"
            main.sources[addr] = (ru.choice(exchanges), _fee_topup(ru, rate, 2.0))
            main.add(join - tick, "transfer", hub, addr, grant)
            for t in _poisson_times(ru, join, leave, rate):
                chosen = pick(ru, t)
                if chosen is not None:
                    main.add(t, "infer", addr, chosen, *_tokens(ru))

    # Attribution farms that mimic organic users: a Datanet contributor funds wallets through
    # intermediaries with varied amounts; they join over months and call, with Poisson timing,
    # the catalog models his contributions are rewarded by.
    members_of: defaultdict[int, list[str]] = defaultdict(list)
    for it in main.intents:
        if it.kind == "contribute" and it.args[1] not in members_of[it.args[0]]:
            members_of[it.args[0]].append(it.args[1])
    for i in range(a.mimic_farms):
        r = _rng(seed, "adv-mimic", i)
        usable = [m for m in catalog if members_of.get(m.datanets[0])]
        if not usable:
            break
        first = r.choice(usable)
        op = members_of[first.datanets[0]][0]
        targets = [m.model_id for m in usable if m.datanets[0] == first.datanets[0]]
        mids = [actor(f"mimic-inter:{i}:{k}") for k in range(2)]
        fee = max(main.models[m].fee for m in targets)
        per = fee * int(a.member_rate_per_day * 60 * 1.5 + 10)
        main.add(start, "transfer", r.choice(exchanges), op, per * a.mimic_members * 4)
        main.add(start + tick, "transfer_many", op, mids, [per * a.mimic_members * 2] * 2)
        members = []
        for j in range(a.mimic_members):
            member = actor(f"mimic:{i}:{j}")
            join = start + 3 * tick + int((end - start - 40 * DAY) * r.random())
            amount = per * r.randint(60, 140) // 100
            mid_addr = mids[j % 2]
            main.add(join - tick, "transfer", mid_addr, member, amount)
            main.labels[member] = "mimic_sybil"
            main.sources[member] = (mid_addr, amount // 2)
            rate = a.member_rate_per_day * r.lognormvariate(0, 0.5)
            for t in _poisson_times(r, join, min(end, join + r.randint(30, 90) * DAY), rate):
                main.add(t, "infer", member, r.choice(targets), *_tokens(r))
            members.append(member)
        main.funders[op] = members

    # Paying customers with a nightly batch: every tick, every request a different size.
    for i in range(a.clinics):
        r = _rng(seed, "adv-clinic", i)
        addr = actor(f"clinic:{i}")
        targets = [m.model_id for m in r.sample(catalog, min(len(catalog), r.randint(2, 3)))]
        main.labels[addr] = "clinic"
        hi = a.clinic_batch[1]
        main.sources[addr] = (
            r.choice(exchanges),
            hi * max(main.models[m].fee for m in targets) * 90,
        )
        t = start + r.randint(1, 8) * tick
        stop = end - r.randint(0, 10) * DAY
        while t < stop:
            k = r.randint(*a.clinic_batch)
            sizes = [_tokens(r) for _ in range(k)]
            ids = [r.choice(targets) for _ in range(k)]
            main.add(t, "batch", addr, ids, [x for x, _ in sizes], [y for _, y in sizes])
            t += tick


def _fee_topup(r: random.Random, rate_per_day: float, avg_fee_open: float) -> int:
    """Withdrawal size for an organic user: about two months of their demand, at least 20 OPEN."""
    need = rate_per_day * 60 * avg_fee_open * r.uniform(0.5, 2.0)
    return max(20 * WEI, int(need * 1e6) * 10**12)


def _economy(
    plan: NetworkPlan, dep: Deployment, seed: int, tge: int, end: int, is_mainnet: bool
) -> None:
    """Token flows around the inference economy: TGE, vesting, treasuries, claims, burns."""
    tok = load_tokenomics()
    roles = dep.roles
    r = _rng(seed, "economy", plan.network)
    exchanges = [roles["exchange.alpha"], roles["exchange.beta"], roles["exchange.gamma"]]
    liq = tok.buckets["liquidity"].amount_wei
    plan.add(tge, "unlock_transfer", DEPLOYER, roles["liquidity_wallet"], liq)
    plan.add(
        tge + DAY,
        "transfer_many",
        roles["liquidity_wallet"],
        exchanges,
        [liq // 2, liq // 4, liq // 4],
    )
    if not is_mainnet:
        plan.add(
            tge + DAY,
            "transfer",
            roles["community_treasury"],
            roles["testnet_faucet"],
            5_000_000 * WEI,
        )
    investors = [actor(f"investor:{i}") for i in range(8)]
    for bucket in VAULT_BUCKETS:
        vault = dep.address(f"VestingVault.{bucket}")
        ben = roles[tok.buckets[bucket].beneficiary]
        m = 0
        while tge + m * tok.month_s + HOUR < end:
            t = tge + m * tok.month_s + HOUR
            plan.add(t, "release", ben, vault, bucket)
            if bucket == "team" and m >= tok.buckets[bucket].cliff_months:
                plan.add(t + DAY, "transfer_frac", ben, roles["exchange.alpha"], 0.25)
            if bucket == "investors" and m >= tok.buckets[bucket].cliff_months:
                plan.add(t + DAY, "spread_frac", ben, investors, 0.5)
                for inv in investors:
                    plan.add(
                        t + 8 * DAY,
                        "transfer_frac",
                        inv,
                        r.choice(exchanges),
                        r.choice((0.0, 0.3, 0.8)),
                    )
            m += 1
    # Treasury programmes, monthly: staking rewards, bridging out, grants, buyback-and-burn.
    for k, t in enumerate(range(tge + 3 * DAY, end, 30 * DAY)):
        plan.add(t, "transfer", roles["community_treasury"], roles["staking_pool"], 1_000_000 * WEI)
        if is_mainnet:
            plan.add(
                t, "transfer", roles["community_treasury"], roles["bridge_escrow"], 2_000_000 * WEI
            )
            devs = sorted({m.owner for m in plan.models.values() if m.kind == "catalog"})
            plan.add(t, "transfer", roles["ecosystem_fund"], r.choice(devs), 100_000 * WEI)
            if k == 6:
                plan.add(t, "burn", roles["community_treasury"], 1_000_000 * WEI)
        plan.add(t + 5 * DAY, "claim", roles["protocol_treasury"])
        plan.add(t + 6 * DAY, "burn_frac", roles["protocol_treasury"], 0.2)
    # Claims: the staking pool weekly, developers monthly, contributors quarterly.
    for t in range(tge + 7 * DAY, end, 7 * DAY):
        plan.add(t, "claim", roles["staking_pool"])
    owners = sorted({m.owner for m in plan.models.values()})
    for t in range(tge + 31 * DAY, end, 30 * DAY):
        for o in owners:
            if r.random() < 0.8:
                plan.add(t, "claim", o)
    contributors = [actor(f"contributor:{i}") for i in range(64)]
    for t in range(tge + 91 * DAY, end, 90 * DAY):
        for c in contributors:
            if r.random() < 0.6:
                plan.add(t, "claim", c)


# ----------------------------------------------------------------------------------------------
# The ledger: mirrors the contracts and turns intents into blocks of transactions


@dataclass
class Block:
    timestamp: int
    txs: list[dict[str, Any]]
    sequential: bool  # settlement block: send one by one (order matters on chain)


@dataclass
class ModelState:
    spec: ModelSpec
    fee: int
    shares: list[tuple[str, int, int]] = field(default_factory=list)  # contributor, datanet, w
    total_weight: int = 0
    inferences: int = 0
    by_label: Counter[str] = field(default_factory=Counter)
    tokens_in: int = 0
    tokens_out: int = 0


class Ledger:
    def __init__(self, plan: NetworkPlan, dep: Deployment, tok: Tokenomics, deployer_nonce: int):
        self.plan = plan
        self.dep = dep
        self.tok = tok
        self.token = dep.address("OpenToken")
        self.market = dep.address("InferenceMarket")
        self.attribution = dep.address("AttributionEngine")
        self.datanet_registry = dep.address("DatanetRegistry")
        self.model_registry = dep.address("ModelRegistry")
        self.bal: defaultdict[str, int] = defaultdict(int)
        self.incoming: defaultdict[str, int] = defaultdict(int)
        self.claimable: defaultdict[str, int] = defaultdict(int)
        self.nonce: defaultdict[str, int] = defaultdict(int)
        self.nonce[DEPLOYER] = deployer_nonce
        self.approved: set[tuple[str, str]] = set()
        self.datanets: dict[int, dict[str, int]] = {}
        self.models: dict[int, ModelState] = {}
        self.released: dict[str, int] = {}
        self.total_supply = tok.total_supply_wei
        self.counts: Counter[str] = Counter()
        self.fee_transfers = 0
        self.pending: Counter[tuple[int, int]] = Counter()  # (model, fee) → inferences not split
        self.split_cache: dict[tuple[int, int], tuple[int, int, int, list[int]]] = {}
        self.payout_dev: Counter[int] = Counter()
        self.payout_contrib: Counter[int] = Counter()
        self.payout_stakers: Counter[int] = Counter()
        self.payout_protocol: Counter[int] = Counter()
        self.fee_income: Counter[int] = Counter()
        self.per_contributor: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.per_datanet: defaultdict[int, Counter[int]] = defaultdict(Counter)
        self.actor_inf: Counter[str] = Counter()
        self.actor_fees: Counter[str] = Counter()
        self.actor_models: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.caller_inf: Counter[str] = Counter()
        self.unlocks: list[dict[str, Any]] = []
        self.burns: list[dict[str, Any]] = []
        self.claims: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.blocks: list[Block] = []
        self.senders: set[str] = set()
        self.drops = 0
        self.datanet_count = 0
        self.model_count = 0
        # Vaults hold their whole allocation after the deploy.
        for bucket in VAULT_BUCKETS:
            self.bal[dep.address(f"VestingVault.{bucket}")] = tok.buckets[bucket].amount_wei
        self.bal[DEPLOYER] = tok.total_supply_wei - sum(
            tok.buckets[b].amount_wei for b in VAULT_BUCKETS
        )

    # -- transactions
    def _tx(self, txs: list[dict[str, Any]], sender: str, to: str, data: str, gas: int) -> None:
        n = self.nonce[sender]
        self.nonce[sender] = n + 1
        self.senders.add(sender)
        txs.append(
            {
                "from": sender,
                "to": to,
                "data": data,
                "gas": hex(gas),
                "gasPrice": hex(GAS_PRICE),
                "nonce": hex(n),
            }
        )

    def _move(self, frm: str, to: str, amount: int, settle_now: bool) -> None:
        self.bal[frm] -= amount
        if settle_now:
            self.bal[to] += amount
        else:
            self.incoming[to] += amount
        self.counts["Transfer"] += 1

    # -- attribution
    def _split(self, model_id: int, fee: int) -> tuple[int, int, int, list[int]]:
        key = (model_id, fee)
        hit = self.split_cache.get(key)
        if hit is not None:
            return hit
        st = self.models[model_id]
        dev = fee * self.tok.developer_bps // 10_000
        stakers = fee * self.tok.stakers_bps // 10_000
        pool = fee * self.tok.contributors_bps // 10_000
        sw = st.total_weight
        amounts = [0 if sw == 0 else pool * w // sw for _, _, w in st.shares]
        protocol = fee - dev - stakers - sum(amounts)
        out = (dev, stakers, protocol, amounts)
        self.split_cache[key] = out
        return out

    def _flush(self) -> None:
        """Apply the splits of all inferences so far to claimable balances and payouts."""
        roles = self.dep.roles
        for (mid, fee), n in self.pending.items():
            st = self.models[mid]
            dev, stakers, protocol, amounts = self._split(mid, fee)
            self.claimable[st.spec.owner] += dev * n
            self.claimable[roles["staking_pool"]] += stakers * n
            self.claimable[roles["protocol_treasury"]] += protocol * n
            self.payout_dev[mid] += dev * n
            self.payout_stakers[mid] += stakers * n
            self.payout_protocol[mid] += protocol * n
            self.fee_income[mid] += fee * n
            for (c, d, _), a in zip(st.shares, amounts, strict=True):
                self.claimable[c] += a * n
                self.payout_contrib[mid] += a * n
                self.per_contributor[mid][c] += a * n
                self.per_datanet[mid][d] += a * n
        self.pending.clear()

    def _snapshot(self, st: ModelState) -> None:
        shares: list[tuple[str, int, int]] = []
        for d in st.spec.datanets:
            for c, weight in self.datanets.get(d, {}).items():
                if len(shares) >= 16:
                    break
                shares.append((c, d, weight))
        st.shares = shares
        st.total_weight = sum(w for _, _, w in shares)

    def _record_inference(
        self, mid: int, caller: str, sender: str, tin: int, tout: int, n: int = 1
    ) -> int:
        """Account for ``n`` inferences of one model (tin/tout are totals); return their fees."""
        st = self.models[mid]
        if st.total_weight == 0:
            if any(key[0] == mid for key in self.pending):
                self._flush()
            self._snapshot(st)
            self.split_cache = {k: v for k, v in self.split_cache.items() if k[0] != mid}
        self.pending[(mid, st.fee)] += n
        st.inferences += n
        label = self.plan.labels.get(sender, "unknown")
        st.by_label[label] += n
        st.tokens_in += tin
        st.tokens_out += tout
        self.actor_inf[sender] += n
        self.actor_models[sender][mid] += n
        self.caller_inf[caller] += n
        self.counts["InferenceRequested"] += n
        self.counts["AttributionRecorded"] += n
        self.counts["ContributorsRewarded"] += n
        return st.fee * n

    # -- funding
    def _ensure_funds(self, txs: list[dict[str, Any]], who: str, need: int) -> bool:
        """True if ``who`` can pay ``need`` now; else ask its source for a top-up (usable from
        the next tick) and return False."""
        if self.bal[who] >= need:
            return True
        src = self.plan.sources.get(who)
        if src is None:
            return False
        source, topup = src
        amount = max(topup, need * 2)
        if self.incoming[who] > 0 or self.bal[source] < amount:
            return False
        self._tx(txs, source, self.token, encode.transfer(who, amount), 80_000)
        self._move(source, who, amount, settle_now=False)
        return False

    def _approve(self, txs: list[dict[str, Any]], owner: str, spender: str) -> None:
        if (owner, spender) not in self.approved:
            self.approved.add((owner, spender))
            self._tx(txs, owner, self.token, encode.approve(spender), 80_000)
            self.counts["Approval"] += 1

    # -- the two phases of a tick
    def settle(self, t: int, intents: list[Intent]) -> list[dict[str, Any]]:
        txs: list[dict[str, Any]] = []
        roles = self.dep.roles
        for it in intents:
            k = it.kind
            if k == "create_datanet":
                name, mh = it.args
                self.datanet_count += 1
                self.datanets[self.datanet_count] = {}
                self._tx(
                    txs, it.sender, self.datanet_registry, encode.create_datanet(name, mh), 300_000
                )
                self.counts["DatanetCreated"] += 1
            elif k == "contribute":
                d, c, dh, weight = it.args
                if d not in self.datanets:
                    continue
                slot = self.datanets[d]
                slot[c] = slot.get(c, 0) + weight
                self._tx(
                    txs,
                    it.sender,
                    self.datanet_registry,
                    encode.record_contribution(d, c, dh, weight),
                    300_000,
                )
                self.counts["ContributionRecorded"] += 1
            elif k == "register_model":
                (mid,) = it.args
                spec = self.plan.models[mid]
                self.model_count += 1
                assert self.model_count == mid, "models must register in id order"
                self.models[mid] = ModelState(spec, spec.fee)
                mh = _h32("model", self.plan.network, mid)
                self._tx(
                    txs,
                    spec.owner,
                    self.model_registry,
                    encode.register_model(spec.name, spec.datanets, mh, spec.fee),
                    600_000,
                )
                self.counts["ModelRegistered"] += 1
            elif k == "update_model":
                mid, fee = it.args
                if mid not in self.models:
                    continue
                self.models[mid].fee = fee
                mh = _h32("model-v2", self.plan.network, mid, fee)
                self._tx(
                    txs, it.sender, self.model_registry, encode.update_model(mid, mh, fee), 200_000
                )
                self.counts["ModelUpdated"] += 1
            elif k == "claim":
                self._flush()
                amount = self.claimable[it.sender]
                if amount == 0:
                    continue
                self.claimable[it.sender] = 0
                self._tx(txs, it.sender, self.attribution, encode.claim(), 120_000)
                self._move(self.attribution, it.sender, amount, settle_now=True)
                self.counts["RewardsClaimed"] += 1
                c = self.claims[it.sender]
                c[0] += 1
                c[1] += amount
            elif k == "release":
                vault, bucket = it.args
                b = self.tok.buckets[bucket]
                vested = _vested_at(
                    b.amount_wei,
                    b.tge_amount_wei,
                    b.cliff_months,
                    b.vesting_months,
                    self.tok.tge,
                    self.tok.month_s,
                    t,
                )
                amount = vested - self.released.get(vault, 0)
                if amount <= 0:
                    continue
                self.released[vault] = vested
                ben = roles[b.beneficiary]
                self._tx(txs, it.sender, vault, encode.release(), 150_000)
                self._move(vault, ben, amount, settle_now=True)
                self.counts["TokensReleased"] += 1
                month = max(0, (t - self.tok.tge) // self.tok.month_s)
                self.unlocks.append(
                    {
                        "bucket": bucket,
                        "vault": vault,
                        "beneficiary": ben,
                        "timestamp": t,
                        "month_index": month,
                        "amount_wei": str(amount),
                    }
                )
        return txs

    def _defer_or_drop(self, it: Intent, deferred: list[Intent]) -> None:
        """Funds on their way (received in this block) make an intent wait one tick."""
        if self.incoming[it.sender] > 0:
            deferred.append(it)
        else:
            self.drops += 1

    def execute(self, t: int, intents: list[Intent]) -> tuple[list[dict[str, Any]], list[Intent]]:
        """The payments block; returns its transactions and the intents deferred to next tick."""
        txs: list[dict[str, Any]] = []
        deferred: list[Intent] = []
        for it in intents:
            k = it.kind
            s = it.sender
            if k in ("infer", "route"):
                mid, tin, tout = it.args
                st = self.models.get(mid)
                if st is None:
                    continue
                if not self._ensure_funds(txs, s, st.fee):
                    if self.incoming[s] > 0:
                        deferred.append(it)
                    else:
                        self.drops += 1
                    continue
                if k == "infer":
                    self._approve(txs, s, self.market)
                    self._tx(txs, s, self.market, encode.infer(mid, tin, tout), 3_000_000)
                    fee = self._record_inference(mid, s, s, tin, tout)
                    self._move(s, self.attribution, fee, settle_now=False)
                else:
                    router = self.plan.via[s]
                    self._approve(txs, s, router)
                    self._tx(txs, s, router, encode.route(mid, tin, tout), 3_000_000)
                    fee = self._record_inference(mid, router, s, tin, tout)
                    self.bal[s] -= fee
                    self.incoming[self.attribution] += fee
                    self.counts["Transfer"] += 2  # user → router, router → attribution
                    self.fee_transfers += 1
                self.fee_transfers += 1
                self.actor_fees[s] += fee
            elif k == "batch":
                ids, tins, touts = it.args
                if any(m not in self.models for m in ids):
                    continue
                total = sum(self.models[m].fee for m in ids)
                if not self._ensure_funds(txs, s, total):
                    if self.incoming[s] > 0:
                        deferred.append(it)
                    else:
                        self.drops += 1
                    continue
                self._approve(txs, s, self.market)
                self._tx(
                    txs,
                    s,
                    self.market,
                    encode.infer_batch(ids, tins, touts),
                    3_000_000 + 400_000 * len(ids),
                )
                paid = 0
                per_model: dict[int, list[int]] = {}
                for m, a, b in zip(ids, tins, touts, strict=True):
                    acc = per_model.setdefault(m, [0, 0, 0])
                    acc[0] += 1
                    acc[1] += a
                    acc[2] += b
                for m, (n, a, b) in per_model.items():
                    paid += self._record_inference(m, s, s, a, b, n)
                self._move(s, self.attribution, paid, settle_now=False)
                self.fee_transfers += 1
                self.actor_fees[s] += paid
            elif k in ("transfer", "unlock_transfer"):
                to, amount = it.args
                if self.bal[s] < amount:
                    self._defer_or_drop(it, deferred)
                    continue
                self._tx(txs, s, self.token, encode.transfer(to, amount), 80_000)
                self._move(s, to, amount, settle_now=False)
                if k == "unlock_transfer":  # the liquidity bucket: unlocked at TGE, no vault
                    self.unlocks.append(
                        {
                            "bucket": "liquidity",
                            "vault": None,
                            "beneficiary": to,
                            "timestamp": t,
                            "month_index": 0,
                            "amount_wei": str(amount),
                        }
                    )
            elif k in ("transfer_frac", "deposit_frac"):
                to, frac = it.args
                amount = int(self.bal[s] * frac) // 10**12 * 10**12 if frac < 1 else self.bal[s]
                if amount <= 0:
                    continue
                self._tx(txs, s, self.token, encode.transfer(to, amount), 80_000)
                self._move(s, to, amount, settle_now=False)
            elif k == "transfer_many":
                tos, amounts = it.args
                if self.bal[s] < sum(amounts):
                    self._defer_or_drop(it, deferred)
                    continue
                self._tx(
                    txs,
                    s,
                    self.token,
                    encode.transfer_many(tos, amounts),
                    60_000 + 40_000 * len(tos),
                )
                for to, a in zip(tos, amounts, strict=True):
                    self._move(s, to, a, settle_now=False)
            elif k == "spread_frac":
                tos, frac = it.args
                each = int(self.bal[s] * frac) // len(tos) // 10**12 * 10**12
                if each <= 0:
                    continue
                self._tx(
                    txs,
                    s,
                    self.token,
                    encode.transfer_many(tos, [each] * len(tos)),
                    60_000 + 40_000 * len(tos),
                )
                for to in tos:
                    self._move(s, to, each, settle_now=False)
            elif k in ("burn", "burn_frac"):
                amount = (
                    it.args[0] if k == "burn" else int(self.bal[s] * it.args[0]) // 10**12 * 10**12
                )
                if amount <= 0 or self.bal[s] < amount:
                    continue
                self._tx(txs, s, self.token, encode.burn(amount), 60_000)
                self.bal[s] -= amount
                self.total_supply -= amount
                self.counts["Transfer"] += 1
                self.burns.append({"from": s, "timestamp": t, "amount_wei": str(amount)})
            else:
                raise AssertionError(f"unknown intent {k}")
        for a, v in self.incoming.items():
            self.bal[a] += v
        self.incoming.clear()
        return txs, deferred

    def run(self, start: int, end: int) -> None:
        tick = self.plan.tick_s
        by_tick: defaultdict[int, list[Intent]] = defaultdict(list)
        for it in self.plan.intents:
            by_tick[(it.t - start) // tick].append(it)
        last = (end - start) // tick
        deferred: list[Intent] = []
        for k in range(last + 1):
            items = by_tick.get(k, [])
            if not items and not deferred:
                continue
            base = start + k * tick
            # Stable order inside a tick: by time, then by the order intents were planned.
            items.sort(key=lambda i: i.t)
            pre = [i for i in items if i.kind in PRE_KINDS]
            main = deferred + [i for i in items if i.kind not in PRE_KINDS]
            if pre:
                txs = self.settle(base, pre)
                if txs:
                    self.blocks.append(Block(base, txs, sequential=True))
            txs, deferred = self.execute(base + 1, main)
            if txs:
                self.blocks.append(Block(base + 1, txs, sequential=False))
        self.drops += len(deferred)
        self._flush()


def _vested_at(
    total: int, tge_amount: int, cliff: int, months: int, start: int, month_s: int, t: int
) -> int:
    """VestingVault.vestedAt, in Python."""
    if t < start:
        return 0
    if months == 0:
        return total
    m = (t - start) // month_s
    if m < cliff:
        return tge_amount
    tranches = m - cliff + 1
    if tranches >= months:
        return total
    return tge_amount + (total - tge_amount) * tranches // months


# ----------------------------------------------------------------------------------------------
# Sending the plan to the nodes


def _send(rpc: Rpc, ledger: Ledger, timing: dict[str, float]) -> tuple[int, int]:
    """Send every block; return (first block number, last block number) written."""
    senders = sorted(ledger.senders)
    for i in range(0, len(senders), 200):
        rpc.batch([("anvil_setBalance", [a, hex(10**24)]) for a in senders[i : i + 200]])
    rpc.call("evm_setAutomine", False)
    first = int(rpc.call("eth_blockNumber"), 16) + 1
    try:
        send_s = mine_s = 0.0
        for n, block in enumerate(ledger.blocks):
            t0 = time.monotonic()
            if block.sequential:
                for tx in block.txs:
                    rpc.call("eth_sendTransaction", tx)
            else:
                txs = block.txs
                for i in range(0, len(txs), SEND_BATCH):
                    rpc.batch([("eth_sendTransaction", [tx]) for tx in txs[i : i + SEND_BATCH]])
            t1 = time.monotonic()
            rpc.call("evm_mine", block.timestamp)
            send_s += t1 - t0
            mine_s += time.monotonic() - t1
            if n % 500 == 499:
                _check_pool(rpc, ledger.plan.network)
        _check_pool(rpc, ledger.plan.network)
        timing["send_s"] = round(send_s, 2)
        timing["mine_s"] = round(mine_s, 2)
    finally:
        rpc.call("evm_setAutomine", True)
    last = int(rpc.call("eth_blockNumber"), 16)
    return first, last


def _check_pool(rpc: Rpc, network: str) -> None:
    status = rpc.call("txpool_status")
    pending = int(status.get("pending", "0x0"), 16) + int(status.get("queued", "0x0"), 16)
    if pending:
        raise DevnetError(f"{network}: {pending} transactions were not mined (nonce gap?)")


def _eth_call(rpc: Rpc, to: str, data: str) -> int:
    return int(rpc.call("eth_call", {"to": to, "data": data}, "latest"), 16)


def has_traffic(rpc: Rpc, dep: Deployment) -> bool:
    """Whether this chain already holds simulated traffic (its market has served a request)."""
    return _eth_call(rpc, dep.address("InferenceMarket"), call_data("requestCount()")) != 0


def _verify(rpc: Rpc, ledger: Ledger) -> None:
    """The chain must hold exactly what the plan says, or the ground truth would lie."""
    net = ledger.plan.network
    requests = _eth_call(rpc, ledger.market, call_data("requestCount()"))
    planned = ledger.counts["InferenceRequested"]
    if requests != planned:
        raise DevnetError(f"{net}: {requests} inferences on chain, {planned} planned (reverts?)")
    for mid, st in ledger.models.items():
        raw = rpc.call(
            "eth_call",
            {"to": ledger.model_registry, "data": call_data("modelInfo(uint256)", mid)},
            "latest",
        )
        if "0x" + raw[26:66] != st.spec.owner:
            raise DevnetError(f"{net}: model {mid} is not owned by {st.spec.owner} on chain")
    supply = _eth_call(rpc, ledger.token, call_data("totalSupply()"))
    if supply != ledger.total_supply:
        raise DevnetError(f"{net}: total supply {supply} on chain, {ledger.total_supply} planned")
    addrs = sorted(a for a, v in ledger.bal.items() if v or a in ledger.senders)
    for i in range(0, len(addrs), 500):
        chunk = addrs[i : i + 500]
        calls = [
            (
                "eth_call",
                [{"to": ledger.token, "data": call_data("balanceOf(address)", a)}, "latest"],
            )
            for a in chunk
        ]
        for a, raw in zip(chunk, rpc.batch(calls), strict=True):
            if int(raw, 16) != ledger.bal[a]:
                raise DevnetError(
                    f"{net}: balance of {a} is {int(raw, 16)} on chain, {ledger.bal[a]} planned"
                )


def _chain_counts(rpc: Rpc, to_block: int) -> Counter[str]:
    logs = rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(to_block)})
    return Counter(TOPIC_NAMES.get(log["topics"][0], "other") for log in logs)


# ----------------------------------------------------------------------------------------------
# Entry point


@dataclass
class Summary:
    scenario: str
    seed: int
    scale: float
    truth_path: Path
    seconds: float
    plan_seconds: float
    per_network: dict[str, dict[str, Any]]

    def render(self) -> str:
        lines = [
            f"simulated scenario {self.scenario!r} seed {self.seed} (scale {self.scale:.2f}) in "
            f"{self.seconds:.1f}s (planning {self.plan_seconds:.1f}s)"
        ]
        total = 0
        for net, info in self.per_network.items():
            total += info["inference_related_events"]
            lines.append(
                f"{net}: blocks {info['first_block']}..{info['last_block']} ({info['blocks']}), "
                f"{info['transactions']} txs, "
                f"{info['inference_related_events']} inference-related events"
            )
            lines.append(f"  seconds: {info.get('timing', {})}")
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(info["counts"].items()) if v)
            lines.append(f"  events: {kinds}")
        lines.append(f"inference-related events, both networks: {total}")
        lines.append(f"ground truth: {self.truth_path}")
        return "\n".join(lines)


def _inference_events(ledger: Ledger) -> int:
    c = ledger.counts
    return (
        c["InferenceRequested"]
        + c["AttributionRecorded"]
        + c["ContributorsRewarded"]
        + ledger.fee_transfers
    )


def plan(
    scenario: str,
    seed: int,
    scale: float,
    deps: dict[str, Deployment],
    deployer_nonces: dict[str, int],
) -> dict[str, Ledger]:
    sc = SCENARIOS[scenario]
    tok = load_tokenomics()
    world = build_world(sc, seed, scale, deps)
    ledgers = {}
    for net, p in world.items():
        lg = Ledger(p, deps[net], tok, deployer_nonces[net])
        # Ticks are aligned on TGE, so monthly unlocks land on tick boundaries.
        lg.run(tok.tge - max(DAY, *sc.tick_s), sc.end)
        ledgers[net] = lg
    return ledgers


def run(
    scenario: str, seed: int = 7, events: int | None = None, truth_path: Path | None = None
) -> Summary:
    if scenario not in SCENARIOS:
        raise DevnetError(f"unknown scenario {scenario!r}; valid: {', '.join(sorted(SCENARIOS))}")
    t_start = time.monotonic()
    nets = load_networks()
    deps: dict[str, Deployment] = {}
    rpcs: dict[str, Rpc] = {}
    nonces: dict[str, int] = {}
    tok = load_tokenomics()
    for net in DEVNET_NETWORKS:
        url = running_url(net) or nets[net].rpc_url()
        rpc = Rpc(url, timeout=120)
        cid = int(rpc.call("eth_chainId"), 16)
        if cid != nets[net].chain_id:
            raise DevnetError(f"{net}: node answers chain id {cid}, expected {nets[net].chain_id}")
        dep = load_deployment(net)
        if dep is None or dep.chain_id != cid:
            raise DevnetError(
                f"{net}: no deployment recorded under {devnet_home()}; run `olw devnet up`"
            )
        if has_traffic(rpc, dep):
            raise DevnetError(
                f"{net}: this chain already holds simulated traffic; start fresh chains with "
                "`olw devnet up --reset`, then simulate again"
            )
        head = rpc.call("eth_getBlockByNumber", "latest", False)
        if int(head["timestamp"], 16) >= tok.tge - max(DAY, *SCENARIOS[scenario].tick_s):
            raise DevnetError(
                f"{net}: chain time is past the simulation start; run `olw devnet up --reset`"
            )
        deps[net] = dep
        rpcs[net] = rpc
        nonces[net] = int(rpc.call("eth_getTransactionCount", DEPLOYER, "latest"), 16)

    scale = 1.0
    t_plan = time.monotonic()
    ledgers = plan(scenario, seed, scale, deps, nonces)
    if events:
        # Events grow linearly with the batch populations' share: solve for the scale, then
        # correct once or twice for rounding.
        batch_labels = ("bot_cadence", "testnet_farmer")
        fixed = batched = 0
        for lg in ledgers.values():
            b = sum(n for a, n in lg.actor_inf.items() if lg.plan.labels.get(a) in batch_labels)
            batched += 3 * b
            fixed += _inference_events(lg) - 3 * b
        scale = max(1.0, (events - fixed) / max(1, batched) * 1.01)
        ledgers = plan(scenario, seed, scale, deps, nonces)
        for _ in range(6):
            got = sum(_inference_events(lg) for lg in ledgers.values())
            if got >= events:
                break
            scale *= max(1.01, events / got * 1.01)
            ledgers = plan(scenario, seed, scale, deps, nonces)
        else:
            raise DevnetError(f"could not plan {events} inference-related events")
    plan_seconds = time.monotonic() - t_plan

    results: dict[str, tuple[int, int]] = {}
    timings: dict[str, dict[str, float]] = {n: {} for n in DEVNET_NETWORKS}
    errors: list[BaseException] = []

    def worker(net: str) -> None:
        try:
            t0 = time.monotonic()
            results[net] = _send(rpcs[net], ledgers[net], timings[net])
            t1 = time.monotonic()
            _verify(rpcs[net], ledgers[net])
            timings[net]["verify_s"] = round(time.monotonic() - t1, 2)
            timings[net]["total_s"] = round(time.monotonic() - t0, 2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in DEVNET_NETWORKS]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]

    truth = _truth(scenario, seed, scale, events, tok, ledgers, results, rpcs)
    path = truth_path or devnet_home() / "truth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    for rpc in rpcs.values():
        rpc.close()
    per_net = {
        n: {
            k: truth["networks"][n][k]
            for k in (
                "first_block",
                "last_block",
                "blocks",
                "transactions",
                "counts",
                "inference_related_events",
            )
        }
        for n in DEVNET_NETWORKS
    }
    for n in DEVNET_NETWORKS:
        per_net[n]["timing"] = timings[n]
    return Summary(scenario, seed, scale, path, time.monotonic() - t_start, plan_seconds, per_net)


def _truth(
    scenario: str,
    seed: int,
    scale: float,
    events: int | None,
    tok: Tokenomics,
    ledgers: dict[str, Ledger],
    blocks: dict[str, tuple[int, int]],
    rpcs: dict[str, Rpc],
) -> dict[str, Any]:
    sc = SCENARIOS[scenario]
    out: dict[str, Any] = {
        "format": 1,
        "scenario": scenario,
        "seed": seed,
        "scale": scale,
        "events_target": events,
        "tge": tok.tge,
        "start": tok.tge - DAY,
        "end": sc.end,
        "labels": list(LABELS),
        "networks": {},
    }
    for net, lg in ledgers.items():
        first, last = blocks[net]
        deploy_counts = _chain_counts(rpcs[net], first - 1)
        counts = Counter(lg.counts)
        counts.update(deploy_counts)
        actors = {}
        for a, n in sorted(lg.actor_inf.items()):
            src = lg.plan.sources.get(a)
            actors[a] = {
                "label": lg.plan.labels.get(a, "unknown"),
                "inferences": n,
                "fees_paid_wei": str(lg.actor_fees[a]),
                "funded_by": src[0] if src else None,
                "via": lg.plan.via.get(a),
                "models": {str(m): c for m, c in sorted(lg.actor_models[a].items())},
            }
        callers = {}
        routers = {
            c["address"] for name, c in lg.dep.contracts.items() if name.startswith("DAppRouter.")
        }
        for a, n in sorted(lg.caller_inf.items()):
            label = "dapp" if a in routers else lg.plan.labels.get(a, "unknown")
            callers[a] = {"label": label, "inferences": n}
        models = {}
        for mid, st in sorted(lg.models.items()):
            models[str(mid)] = {
                "owner": st.spec.owner,
                "name": st.spec.name,
                "datanet_ids": st.spec.datanets,
                "fee_per_inference_wei": str(st.fee),
                "registered_at": st.spec.registered_at,
                "kind": st.spec.kind,
                "inferences": st.inferences,
                "inferences_by_label": dict(sorted(st.by_label.items())),
                "tokens_in": st.tokens_in,
                "tokens_out": st.tokens_out,
                "fee_income_wei": str(lg.fee_income[mid]),
                "payouts": {
                    "developer_wei": str(lg.payout_dev[mid]),
                    "contributors_wei": str(lg.payout_contrib[mid]),
                    "stakers_wei": str(lg.payout_stakers[mid]),
                    "protocol_wei": str(lg.payout_protocol[mid]),
                    "per_contributor_wei": {
                        c: str(v) for c, v in sorted(lg.per_contributor[mid].items())
                    },
                    "per_datanet_wei": {
                        str(d): str(v) for d, v in sorted(lg.per_datanet[mid].items())
                    },
                },
            }
        out["networks"][net] = {
            "chain_id": lg.dep.chain_id,
            "first_block": first,
            "last_block": last,
            "blocks": len(lg.blocks),
            "transactions": sum(len(b.txs) for b in lg.blocks),
            "counts": dict(sorted(counts.items())),
            "inference_related_events": _inference_events(lg),
            "dropped_intents": lg.drops,
            "actors": actors,
            "callers": callers,
            "funders": {
                f: {"label": "sybil_funder", "funded": m}
                for f, m in sorted(lg.plan.funders.items())
            },
            "models": models,
            "unlocks": lg.unlocks,
            "burns": lg.burns,
            "claims": {
                a: {"claims": c[0], "amount_wei": str(c[1])} for a, c in sorted(lg.claims.items())
            },
            "total_supply_wei": str(lg.total_supply),
            "balances_wei": {a: str(v) for a, v in sorted(lg.bal.items()) if v},
        }
    return out
