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


def _tiny_store():
    """One model (current fee 0.012 OPEN, 70 % of each fee to the developer), registered in one
    transaction and called three times by its owner in one batch transaction, plus one older
    inference by someone else at another fee (1000000000000001 wei)."""
    import duckdb

    from pipelines.metrics.common import Labels
    from pipelines.metrics.synthetic import RECEIPTS_DDL, ensure_tables

    conn = duckdb.connect()
    ensure_tables(conn)
    conn.execute(RECEIPTS_DDL)
    owner, fee, old = "0xowner", 12 * 10**15, 10**15 + 1
    ts = "TIMESTAMP '2026-01-05 10:00:00'"
    conn.execute(
        f"insert into decoded.model_registry__model_registered values (1612, 1, '0xb1', {ts}, "
        f"'0xreg', 0, 0, '0xregistry', '{owner}', 1, '{owner}', 'm', [1], '0xh', {fee})"
    )
    calls = [("0xbatch", 2, i, owner, fee) for i in range(3)] + [("0xother", 3, 0, "0xu", old)]
    for tx, block, i, who, f in calls:
        dev = f * 7 // 10
        conn.execute(
            f"insert into decoded.inference_market__inference_requested values (1612, {block}, "
            f"'0xb{block}', {ts}, '{tx}', 0, {2 * i}, '0xmarket', '{who}', '{tx}{i}', 1, "
            f"'{who}', {f}, 10, 10)"
        )
        conn.execute(
            f"insert into decoded.attribution_engine__attribution_recorded values (1612, "
            f"{block}, '0xb{block}', {ts}, '{tx}', 0, {2 * i + 1}, '0xattr', '{who}', "
            f"'{tx}{i}', 1, '{owner}', {f}, {dev}, {f - dev}, 0, 0)"
        )
    # gas_used x price (1 wei) + no L1 fee: 100_001 wei for each transaction
    conn.execute(
        "insert into raw.receipts values "
        "(1612, 1, '0xb1', '0xreg', 0, '0xowner', '0xregistry', 1, 100001, 1, 0, 0, 0, '0'),"
        "(1612, 2, '0xb2', '0xbatch', 0, '0xowner', '0xmarket', 1, 100001, 1, 0, 0, 0, '0'),"
        "(1612, 3, '0xb3', '0xother', 0, '0xu', '0xmarket', 1, 100001, 1, 0, 0, 0, '0')"
    )
    return conn, Labels()


def test_owner_gas_split_keeps_every_wei_and_per_inference_share_is_exact():
    from pipelines.metrics import incremental
    from pipelines.metrics.common import MetricsConfig

    conn, labels = _tiny_store()
    incremental.update(conn, full=True, cfg=MetricsConfig(), labels=labels, buckets=[])
    own_gas, reg_gas, per, count, fee, dev = conn.execute(
        "select own_call_gas_wei, registration_gas_wei, developer_per_inference_wei, "
        "own_call_count, fee_wei, developer_wei from metrics.model_economics"
    ).fetchone()
    assert count == 3
    # 100_001 over 3 events: 33_334 + 33_334 + 33_333, where gas // 3 per event kept 99_999.
    assert int(own_gas) == 100_001
    assert int(reg_gas) == 100_001
    # floor(current fee x developer income / fee income) in integers; DOUBLE said 8.4e15.
    assert int(per) == 12 * 10**15 * int(dev) // int(fee) == 8_399_999_999_999_999
