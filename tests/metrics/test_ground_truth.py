"""End to end: devnet traffic → ingestion → metrics, compared with the simulator's ground truth."""

from __future__ import annotations

import pytest

from pipelines.metrics.supply import cross_check
from tests.measure import report_measurement
from tests.metrics.conftest import devnet_env, ingest_devnet
from tests.metrics.truth_eval import score

pytestmark = pytest.mark.slow


def _assert_score(s, request) -> None:
    line = s.line()
    report_measurement(request.config, f"[real-vs-noise] {line}")
    for row in s.table():
        report_measurement(request.config, f"[real-vs-noise]   {s.scenario}: {row.strip()}")
    # The acceptance: >= 0.95 by caller and by volume, real volume within 2 %.
    assert s.precision >= 0.95 and s.recall >= 0.95, (line, s.misses[:10])
    assert s.volume_precision >= 0.95 and s.volume_recall >= 0.95, (line, s.misses[:10])
    assert s.real_volume_error <= 0.02, line


def test_real_vs_noise_default_scenario(devnet_warehouse, request):
    conn, handle = devnet_warehouse
    _assert_score(score(conn, handle.truth()), request)


@pytest.mark.parametrize(("scenario", "seed"), [("heavy-sybil", 11), ("bot-heavy", 23)])
def test_real_vs_noise_other_scenarios(scenario, seed, tmp_path, request):
    from pipelines.devnet.harness import running_devnet

    with running_devnet(tmp_path / "devnet", scenario=scenario, seed=seed, events=15_000) as h:
        conn = ingest_devnet(h, tmp_path / "warehouse.duckdb")
        s = score(conn, h.truth())
        conn.close()
    _assert_score(s, request)


@pytest.mark.parametrize(
    ("scenario", "seed"),
    [
        # the adversarial populations; the classifier's thresholds were set looking at this one
        ("adversarial", 5),
        # other sizes, rates, times and a seed nobody looked at while tuning: generated and
        # scored once, then kept as it came out
        ("untuned", 90210),
    ],
)
def test_real_vs_noise_adversarial_scenarios(scenario, seed, tmp_path, request):
    from pipelines.devnet.harness import running_devnet

    with running_devnet(tmp_path / "devnet", scenario=scenario, seed=seed) as h:
        conn = ingest_devnet(h, tmp_path / "warehouse.duckdb")
        s = score(conn, h.truth())
        conn.close()
    _assert_score(s, request)
    # Every adversarial population is present (truth by intent) and none is empty.
    for label in (
        "multihop_sybil",
        "exchange_burst_sybil",
        "proxy_self_dealing",
        "mimic_sybil",
        "relay_round_trip",
        "outage_cron",
        "sleepy_bot",
        "hub_user",
        "clinic",
    ):
        assert s.populations[label].callers > 0, label


def test_payouts_reconcile_with_ground_truth_to_the_wei(devnet_warehouse):
    conn, handle = devnet_warehouse
    truth = handle.truth()
    checked = 0
    for net in truth["networks"].values():
        chain = int(net["chain_id"])
        for mid, m in net["models"].items():
            p = m["payouts"]
            want = (
                int(m["fee_income_wei"]),
                int(p["developer_wei"]),
                int(p["contributors_wei"]),
                int(p["stakers_wei"]),
                int(p["protocol_wei"]),
                int(m["inferences"]),
            )
            got = conn.execute(
                """select fee_wei, developer_wei, contributors_wei, stakers_wei, protocol_wei,
                       attribution_count from metrics.model_economics
                   where chain_id = ? and model_id = ?""",
                [chain, int(mid)],
            ).fetchall()
            assert got and tuple(int(x) for x in got[0]) == want, (chain, mid)
            per_c = dict(
                conn.execute(
                    """select contributor_address, sum(amount_wei)
                   from metrics.contributor_payouts_daily
                   where chain_id = ? and model_id = ? group by 1""",
                    [chain, int(mid)],
                ).fetchall()
            )
            assert {a: int(v) for a, v in per_c.items() if v} == {
                a.lower(): int(v) for a, v in p["per_contributor_wei"].items() if int(v)
            }
            per_d = dict(
                conn.execute(
                    """select datanet_id::VARCHAR, sum(amount_wei)
                   from metrics.contributor_payouts_daily
                   where chain_id = ? and model_id = ? group by 1""",
                    [chain, int(mid)],
                ).fetchall()
            )
            assert {a: int(v) for a, v in per_d.items() if v} == {
                str(a): int(v) for a, v in p["per_datanet_wei"].items() if int(v)
            }
            checked += 1
    assert checked > 20


def test_niche_model_shows_whether_it_covers_its_costs(devnet_warehouse, request):
    conn, handle = devnet_warehouse
    models = handle.truth()["networks"]["devnet-mainnet"]["models"]
    niche = [int(k) for k, m in models.items() if m["kind"] == "niche"]
    assert niche
    row = conn.execute(
        """select model_name, real_inferences_per_month, break_even_inferences_per_month,
               covers_costs, owner_gas_wei, net_earnings_wei
           from metrics.model_economics where chain_id = 1612 and model_id = ?""",
        [niche[0]],
    ).fetchall()[0]
    name, per_month, break_even, covers, gas, net = row
    assert gas > 0 and break_even is not None and covers is not None
    assert covers == (per_month >= break_even)
    line = (
        f"niche model {name}: {per_month:.0f} real inferences/month vs break-even "
        f"{break_even}/month → covers costs: {covers}; lifetime net {int(net) / 1e18:.4f} OPEN"
    )
    report_measurement(request.config, f"[payouts] {line}")


def test_supply_matches_truth_and_chain_state(devnet_warehouse):
    conn, handle = devnet_warehouse
    truth = handle.truth()
    for name, net in truth["networks"].items():
        chain = int(net["chain_id"])
        total = conn.execute(
            "select total_supply_wei from metrics.supply_daily where chain_id = ? "
            "order by day desc limit 1",
            [chain],
        ).fetchall()[0][0]
        assert int(total) == int(net["total_supply_wei"])
        balances = dict(
            conn.execute(
                "select address, sum(inflow_wei - outflow_wei) from metrics.token_flows_daily "
                "where chain_id = ? group by 1",
                [chain],
            ).fetchall()
        )
        shared = [a for a in net["balances_wei"] if a in balances]
        assert len(shared) >= 10
        assert all(int(balances[a]) == int(net["balances_wei"][a]) for a in shared)
        released = conn.execute(
            "select coalesce(sum(released_wei), 0) from metrics.vesting_releases_daily "
            "where chain_id = ?",
            [chain],
        ).fetchall()[0][0]
        # Vault releases only: the liquidity unlock at TGE is a plain transfer (no vault).
        vaults = [u for u in net["unlocks"] if u.get("vault")]
        assert int(released) == sum(int(u["amount_wei"]) for u in vaults)
        with devnet_env(handle):
            from pipelines.config import get_network

            token = get_network(name).contract("OpenToken").address
        checks = cross_check(conn, handle.urls[name], chain, token, sample_days=3)
        assert {c.what for c in checks} == {"balanceOf", "totalSupply"}
        bad = [c for c in checks if not c.ok]
        assert not bad, bad[:5]
    # Releases follow the schedule in schemas/tokenomics.yaml on the devnet.
    assert (
        conn.execute(
            "select count(*) filter (where is_deviation) from metrics.vesting_release_check"
        ).fetchall()[0][0]
        == 0
    )
