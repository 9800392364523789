"""The devnet contracts emit the events DESIGN.md lists, with consistent fields (read from a
simulated chain with a plain ABI decoder, not the warehouse's)."""

from __future__ import annotations

from collections import Counter

import yaml

from pipelines.config import schemas_dir
from pipelines.devnet.harness import DevnetHandle
from tests.devnet.helpers import data, kind, topic_addr, topic_int

MAINNET = "devnet-mainnet"


def _logs_of(logs: dict[str, list[dict]], name: str, network: str = MAINNET) -> list[dict]:
    return [log for log in logs[network] if kind(log) == name]


def test_every_event_kind_is_emitted(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    kinds = Counter(kind(log) for log in chain_logs[MAINNET])
    for name in (
        "Transfer",
        "Approval",
        "VestingScheduleCreated",
        "TokensReleased",
        "DatanetCreated",
        "ContributionRecorded",
        "ModelRegistered",
        "ModelUpdated",
        "InferenceRequested",
        "AttributionRecorded",
        "ContributorsRewarded",
        "RewardsClaimed",
    ):
        assert kinds[name] > 0, name
    assert kinds["other"] == 0


def test_attribution_parts_add_up_to_the_inference_fee(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    logs = chain_logs[MAINNET]
    requested = {log["topics"][1]: log for log in logs if kind(log) == "InferenceRequested"}
    rewarded = {log["topics"][1]: log for log in logs if kind(log) == "ContributorsRewarded"}
    attributed = [log for log in logs if kind(log) == "AttributionRecorded"]
    assert len(attributed) == len(requested) == len(rewarded) > 1000
    tok = yaml.safe_load((schemas_dir() / "tokenomics.yaml").read_text())["attribution"]
    for log in attributed[:3000]:
        fee, dev, contrib, stakers, protocol = data(log, ["uint256"] * 5)
        assert dev + contrib + stakers + protocol == fee
        assert dev == fee * tok["developer_bps"] // 10_000
        assert stakers == fee * tok["stakers_bps"] // 10_000
        req = requested[log["topics"][1]]
        assert topic_int(req, 2) == topic_int(log, 2)  # same model
        req_fee, tokens_in, tokens_out = data(req, ["uint256", "uint32", "uint32"])
        assert req_fee == fee and tokens_in > 0 and tokens_out > 0
        dn, who, weights, amounts = data(
            rewarded[log["topics"][1]], ["uint256[]", "address[]", "uint256[]", "uint256[]"]
        )
        assert len(dn) == len(who) == len(weights) == len(amounts) > 0
        assert sum(amounts) == contrib
        pool = fee * tok["contributors_bps"] // 10_000
        assert amounts == tuple(pool * w // sum(weights) for w in weights)


def test_inference_caller_is_the_router_for_dapp_users(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    truth = devnet.truth()["networks"][MAINNET]
    routers = {a for a, c in truth["callers"].items() if c["label"] == "dapp"}
    assert routers
    callers = {topic_addr(log, 3) for log in _logs_of(chain_logs, "InferenceRequested")}
    assert routers <= callers
    # The user behind a router call never appears as a caller itself.
    dapp_users = {a for a, v in truth["actors"].items() if v["label"] == "dapp_user"}
    assert dapp_users and not (dapp_users & callers)


def test_vesting_events_carry_the_schedule(
    devnet: DevnetHandle, chain_logs: dict[str, list[dict]]
) -> None:
    created = _logs_of(chain_logs, "VestingScheduleCreated")
    assert len(created) == 4
    buckets = {bytes.fromhex(log["topics"][1][2:]).rstrip(b"\0").decode() for log in created}
    assert buckets == {"community", "investors", "team", "ecosystem"}
    released = _logs_of(chain_logs, "TokensReleased")
    team = [log for log in released if log["topics"][1].startswith("0x7465616d")]  # "team"
    months = [data(log, ["uint256", "uint256", "uint64"])[2] for log in team]
    assert months and min(months) >= 12  # nothing before the 12-month cliff
    totals = [data(log, ["uint256", "uint256", "uint64"])[1] for log in team]
    assert totals == sorted(totals)


def test_burns_lower_total_supply(devnet: DevnetHandle, chain_logs: dict[str, list[dict]]) -> None:
    zero = "0x" + "0" * 40
    burns = [log for log in _logs_of(chain_logs, "Transfer") if topic_addr(log, 2) == zero]
    burned = sum(data(log, ["uint256"])[0] for log in burns)
    truth = devnet.truth()["networks"][MAINNET]
    assert burned > 0
    assert int(truth["total_supply_wei"]) == 10**27 - burned
