from __future__ import annotations

import duckdb
import polars as pl
import pytest

from pipelines.metrics import real_vs_noise
from pipelines.metrics.common import Labels, MetricsConfig


def test_synthetic_noise_precision_recall(synth_store):
    conn, _ = synth_store
    row = conn.execute(
        """select count(*) filter (where c.label = 'noise' and s.is_noise),
                  count(*) filter (where c.label = 'noise'),
                  count(*) filter (where s.is_noise)
           from metrics.callers c join synthetic.callers s
             on s.chain_id = c.chain_id and s.address = c.caller_address"""
    ).fetchone()
    tp, flagged, truth = row
    precision, recall = tp / flagged, tp / truth
    print(f"synthetic: noise precision={precision:.3f} recall={recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)


def test_every_reason_is_detected_with_its_own_reason(synth_store):
    conn, _ = synth_store
    rows = conn.execute(
        """select s.kind, c.traffic_class, count(*) from metrics.callers c
           join synthetic.callers s on s.chain_id = c.chain_id and s.address = c.caller_address
           group by all"""
    ).fetchall()
    by_kind: dict[str, dict[str, int]] = {}
    for kind, cls, n in rows:
        by_kind.setdefault(kind, {})[cls] = n
    expected = {
        "organic": "real",
        "organic_dapp": "real",
        "testnet": "testnet",
        "self_dealing": "self_dealing",
        "sybil_cluster": "sybil_cluster",
        "fixed_cadence": "scripted",
        "round_trip": "round_trip",
    }
    for kind, cls in expected.items():
        counts = by_kind[kind]
        assert counts.get(cls, 0) / sum(counts.values()) >= 0.9, (kind, counts)


def test_dapp_inference_is_attributed_to_tx_sender_and_dapp(synth_store):
    conn, _ = synth_store
    # No dApp router ever appears as a caller; its users do, and dapp_daily counts them.
    routers = conn.execute(
        "select count(*) from metrics.callers c join address_labels l "
        "on l.chain_id = c.chain_id and l.address = c.caller_address where l.kind = 'dapp'"
    ).fetchone()[0]
    assert routers == 0
    via = conn.execute(
        "select count(*) from decoded.inference_market__inference_requested i "
        "join address_labels l on l.chain_id = i.chain_id and l.address = i.caller "
        "where l.kind = 'dapp'"
    ).fetchone()[0]
    assert via > 0
    assert conn.execute("select sum(inference_count) from metrics.dapp_daily").fetchone()[0] == via


def test_daily_volume_adds_up_to_events(synth_store):
    conn, _ = synth_store
    events = conn.execute(
        "select count(*), sum(fee::DECIMAL(38,0)) "
        "from decoded.inference_market__inference_requested"
    ).fetchone()
    daily = conn.execute(
        "select sum(inference_count), sum(fee_wei) from metrics.inference_daily"
    ).fetchone()
    assert tuple(daily) == tuple(events)


def _cv_store(gaps_by_caller: dict[str, list[int]]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create schema decoded; create schema metrics")
    from pipelines.metrics.synthetic import ensure_tables

    ensure_tables(conn)
    rows = []
    block = 1
    for caller, gaps in gaps_by_caller.items():
        t = 1_757_300_000
        for g in [0, *gaps]:
            t += g
            block += 1
            rows.append(
                (
                    1612,
                    block,
                    f"0xb{block}",
                    t,
                    f"0xt{block}",
                    0,
                    1,
                    "0xm",
                    caller,
                    f"0xr{block}",
                    1,
                    caller,
                    10,
                    1,
                    1,
                )
            )
    conn.executemany(
        "insert into decoded.inference_market__inference_requested values "
        "(?, ?, ?, make_timestamp(?::BIGINT * 1000000), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return conn


@pytest.mark.parametrize(
    ("gaps", "is_bot"),
    [
        ([600] * 20, True),  # cron job: CV 0
        ([600, 601, 599, 600, 602, 598, 600, 600, 601, 599], True),
        ([10, 900, 45, 3000, 120, 60, 2000, 15, 400, 700], False),  # bursty human
        ([600] * 5, False),  # too few transactions to judge
    ],
)
def test_fixed_cadence_threshold(gaps, is_bot):
    conn = _cv_store({"0xaa": gaps})
    Labels().register(conn)
    conn.execute(
        "create table metrics.models (chain_id UINTEGER, model_id UBIGINT, owner_address VARCHAR)"
    )
    real_vs_noise.update_state(conn, "true", "false")
    df = real_vs_noise.classify_callers(conn, MetricsConfig())
    assert df["is_fixed_cadence"].to_list() == [is_bot]


def test_cadence_sums_merge_exactly_across_batches():
    gaps = [5, 700, 30, 30, 2000, 1, 90, 600, 600, 13]
    conn = _cv_store({"0xaa": gaps})
    Labels().register(conn)
    real_vs_noise.update_state(conn, "true", "false")
    whole = conn.execute("select * from metrics.caller_activity").fetchall()
    conn.execute("delete from metrics.caller_activity; delete from metrics.caller_models")
    real_vs_noise.update_state(conn, "t.block_number <= 6", "false")
    real_vs_noise.update_state(conn, "t.block_number > 6", "false")
    assert conn.execute("select * from metrics.caller_activity").fetchall() == whole


def test_model_lists_merge_exactly_across_batches():
    """A caller calling models it had not called before, and a caller new in the second batch:
    two merges give the same model lists and counts as one."""
    conn = _cv_store({"0xaa": [60] * 10, "0xbb": [60] * 10})
    conn.execute(
        "update decoded.inference_market__inference_requested set model_id = case "
        "when block_number <= 6 then 9 - block_number % 2 else 1 + block_number % 4 end"
    )
    Labels().register(conn)
    real_vs_noise.update_state(conn, "true", "false")
    state = "select * from metrics.{} order by all"
    whole = {
        t: conn.execute(state.format(t)).fetchall() for t in ("caller_activity", "caller_models")
    }
    assert [r[2] for r in whole["caller_models"]] == [[1, 2, 3, 4, 8, 9], [1, 2, 3, 4]]
    conn.execute("delete from metrics.caller_activity; delete from metrics.caller_models")
    real_vs_noise.update_state(conn, "t.block_number <= 6", "false")
    real_vs_noise.update_state(conn, "t.block_number > 6", "false")
    for t, rows in whole.items():
        assert conn.execute(state.format(t)).fetchall() == rows, t


def test_exchange_funded_wallets_never_form_a_cluster():
    cfg = MetricsConfig(sybil_min_cluster_size=3)
    df = pl.DataFrame({"funder_kind": ["exchange", None]})
    counted = (
        df.select(
            pl.col("funder_kind").is_null() | ~pl.col("funder_kind").is_in(cfg.funder_exclude_kinds)
        )
        .to_series()
        .to_list()
    )
    assert counted == [False, True]
