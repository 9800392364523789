from __future__ import annotations


def test_payouts_reconcile_to_the_wei_with_attribution_events(synth_store):
    conn, _ = synth_store
    events = conn.execute(
        """select sum(fee::DECIMAL(38,0)), sum(developer_amount::DECIMAL(38,0)),
               sum(contributors_amount::DECIMAL(38,0)), sum(stakers_amount::DECIMAL(38,0)),
               sum(protocol_amount::DECIMAL(38,0))
           from decoded.attribution_engine__attribution_recorded"""
    ).fetchone()
    daily = conn.execute(
        """select sum(fee_wei), sum(developer_wei), sum(contributors_wei), sum(stakers_wei),
               sum(protocol_wei) from metrics.model_payouts_daily"""
    ).fetchone()
    lifetime = conn.execute(
        """select sum(fee_wei), sum(developer_wei), sum(contributors_wei), sum(stakers_wei),
               sum(protocol_wei) from metrics.model_economics"""
    ).fetchone()
    assert tuple(daily) == tuple(events) == tuple(lifetime)
    # The four parts add up to the fee, and contributor rows add up to the contributors' part.
    assert sum(events[1:]) == events[0]
    contrib = conn.execute("select sum(amount_wei) from metrics.contributor_payouts_daily")
    assert contrib.fetchone()[0] == events[2]
    datanet = conn.execute("select sum(amount_wei) from metrics.datanet_payouts").fetchone()
    assert datanet[0] == events[2]


def test_owner_gas_counts_registration_updates_and_own_calls(synth_store):
    conn, world = synth_store
    rows = conn.execute(
        """select model_id, registration_gas_wei, update_gas_wei, own_call_count,
               own_call_gas_wei, net_earnings_wei,
               developer_wei - owner_gas_wei - own_call_fee_wei
           from metrics.model_economics where chain_id = 1612 order by model_id"""
    ).fetchall()
    # Synthetic receipts: gas_used × 1 gwei + 2e12 wei L1 fee.
    assert all(r[1] == 180_000 * 10**9 + 2 * 10**12 for r in rows)
    updated = {
        r["model_id"]
        for r in world.models.iter_rows(named=True)
        if r["new_fee"] is not None and r["chain_id"] == 1612
    }
    assert {r[0] for r in rows if r[2] > 0} == updated
    # Owners of models 1..n_self_dealers call their own model; nobody else does.
    assert {r[0] for r in rows if r[3] > 0} == set(range(1, world.spec.n_self_dealers + 1))
    assert all(r[4] > 0 for r in rows if r[3] > 0)
    assert all(r[5] == r[6] for r in rows)


def test_break_even_is_cost_over_developer_share(synth_store):
    conn, _ = synth_store
    for cost, per, be, covers, real_pm in conn.execute(
        """select monthly_cost_wei, developer_per_inference_wei,
               break_even_inferences_per_month, covers_costs, real_inferences_per_month
           from metrics.model_economics where developer_per_inference_wei > 0"""
    ).fetchall():
        assert be == -(-int(cost) // int(per))
        assert covers == (real_pm >= be)
