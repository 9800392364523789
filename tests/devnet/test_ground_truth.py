"""The simulator's ground truth equals what the chain holds (per model, per caller, per kind)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from pipelines.devnet.harness import DevnetHandle
from tests.devnet.helpers import counts_by_kind, data, kind, topic_addr, topic_int

NETWORKS = ("devnet-mainnet", "devnet-testnet")


@pytest.mark.parametrize("network", NETWORKS)
def test_event_counts_per_kind_match(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]], network: str
) -> None:
    truth = devnet.truth()["networks"][network]
    assert dict(counts_by_kind(chain_logs[network])) == truth["counts"]


@pytest.mark.parametrize("network", NETWORKS)
def test_fees_per_model_and_callers_match(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]], network: str
) -> None:
    truth = devnet.truth()["networks"][network]
    fees: defaultdict[str, int] = defaultdict(int)
    per_model: Counter[str] = Counter()
    per_caller: Counter[str] = Counter()
    for log in chain_logs[network]:
        if kind(log) != "InferenceRequested":
            continue
        model = str(topic_int(log, 2))
        fees[model] += data(log, ["uint256", "uint32", "uint32"])[0]
        per_model[model] += 1
        per_caller[topic_addr(log, 3)] += 1
    assert {m: str(v) for m, v in fees.items()} == {
        m: t["fee_income_wei"] for m, t in truth["models"].items() if t["inferences"]
    }
    assert dict(per_model) == {
        m: t["inferences"] for m, t in truth["models"].items() if t["inferences"]
    }
    assert dict(per_caller) == {a: c["inferences"] for a, c in truth["callers"].items()}


def test_payouts_per_model_match(devnet: DevnetHandle, chain_logs: dict[str, list[dict]]) -> None:
    truth = devnet.truth()["networks"]["devnet-mainnet"]
    small = {m for m, t in truth["models"].items() if 0 < t["inferences"] <= 2000}
    assert len(small) >= 5
    dev: Counter[str] = Counter()
    per_contributor: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for log in chain_logs["devnet-mainnet"]:
        model = str(int(log["topics"][2], 16)) if len(log["topics"]) > 2 else ""
        if kind(log) == "AttributionRecorded":
            dev[model] += data(log, ["uint256"] * 5)[1]
        elif kind(log) == "ContributorsRewarded" and model in small:
            _, who, _, amounts = data(log, ["uint256[]", "address[]", "uint256[]", "uint256[]"])
            for a, v in zip(who, amounts, strict=True):
                per_contributor[model][a.lower()] += v
    for model, t in truth["models"].items():
        if not t["inferences"]:
            continue
        assert str(dev[model]) == t["payouts"]["developer_wei"]
        if model not in small:
            continue
        got = {a: str(v) for a, v in per_contributor[model].items() if v}
        want = {a: v for a, v in t["payouts"]["per_contributor_wei"].items() if v != "0"}
        assert got == want, model


def truth_tge(devnet: DevnetHandle) -> int:
    return int(devnet.truth()["tge"]) + 86400  # TGE-day releases land within the first day


def test_unlocks_match_token_released_logs(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    truth = devnet.truth()["networks"]["devnet-mainnet"]
    logs = [log for log in chain_logs["devnet-mainnet"] if kind(log) == "TokensReleased"]
    on_chain = sorted((log["address"], data(log, ["uint256"] * 3)[0]) for log in logs)
    vaults = [u for u in truth["unlocks"] if u["vault"] is not None]
    assert on_chain == sorted((u["vault"], int(u["amount_wei"])) for u in vaults)
    at_tge = sum(
        int(u["amount_wei"]) for u in truth["unlocks"] if u["timestamp"] <= truth_tge(devnet)
    )
    assert at_tge == 215_500_000 * 10**18  # circulating at TGE per tokenomics.yaml
    cliff = [u for u in truth["unlocks"] if u["bucket"] in ("team", "investors")]
    # First team/investor unlock: 12 months of 30 days after TGE 2025-09-08 → 2026-09-03.
    assert min(u["timestamp"] for u in cliff) >= 1757289600 + 360 * 86400


def test_every_population_is_present(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    truth = devnet.truth()["networks"]
    main = Counter(a["label"] for a in truth["devnet-mainnet"]["actors"].values())
    for label in ("organic", "dapp_user", "self_dealing", "sybil", "bot_cadence", "round_trip"):
        assert main[label] > 0, label
    test_labels = Counter(a["label"] for a in truth["devnet-testnet"]["actors"].values())
    assert test_labels["testnet_farmer"] > 0
    farmers = {
        a for a, v in truth["devnet-testnet"]["actors"].items() if v["label"] == "testnet_farmer"
    }
    assert not farmers & set(truth["devnet-mainnet"]["actors"])  # farmers exist only on testnet
    niche = [m for m in truth["devnet-mainnet"]["models"].values() if m["kind"] == "niche"]
    meta = devnet.truth()
    months = (meta["end"] - meta["tge"]) / (30 * 86400)
    assert 25 <= niche[0]["inferences"] / months <= 80  # ~50 a month


def test_self_dealers_call_only_their_own_model(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    truth = devnet.truth()["networks"]["devnet-mainnet"]
    owners = {m: t["owner"] for m, t in truth["models"].items()}
    dealers = {a: v for a, v in truth["actors"].items() if v["label"] == "self_dealing"}
    assert dealers
    for addr, v in dealers.items():
        assert all(owners[m] == addr for m in v["models"])


def test_sybils_are_funded_by_one_address_with_visible_transfers(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    truth = devnet.truth()["networks"]["devnet-mainnet"]
    funded_by: defaultdict[str, set[str]] = defaultdict(set)
    for log in chain_logs["devnet-mainnet"]:
        if kind(log) == "Transfer":
            funded_by[topic_addr(log, 2)].add(topic_addr(log, 1))
    for funder, info in truth["funders"].items():
        assert len(info["funded"]) >= 5
        assert all(funder in funded_by[s] for s in info["funded"])
