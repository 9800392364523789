from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from pipelines.metrics import incremental
from pipelines.metrics.common import Labels, MetricsConfig
from pipelines.metrics.supply import Bucket, bucket_name, parse_schedule, vested_at
from pipelines.metrics.synthetic import ensure_tables

E18 = 10**18
START = datetime(2025, 9, 8)
MONTH = 30 * 86400
T0 = int(datetime(2025, 9, 8, tzinfo=__import__("datetime").UTC).timestamp())


@pytest.mark.parametrize(
    ("bucket", "t", "expected"),
    [
        (Bucket("team", 360, 0, START, 12, 36), T0 - 1, 0),
        (Bucket("team", 360, 0, START, 12, 36), T0 + 11 * MONTH, 0),
        (Bucket("team", 360, 0, START, 12, 36), T0 + 12 * MONTH, 10),  # cliff: first tranche
        (Bucket("team", 360, 0, START, 12, 36), T0 + 47 * MONTH, 360),
        (Bucket("community", 480, 96, START, 0, 48), T0, 104),  # TGE + first tranche
        (Bucket("liquidity", 50, 50, START, 0, 0), T0, 50),
    ],
)
def test_vested_at_mirrors_the_vault(bucket, t, expected):
    assert vested_at(bucket, t) == expected


def test_parse_schedule_reads_shares_and_dates():
    buckets = parse_schedule(
        {
            "total_supply": 1_000_000_000,
            "tge": "2025-09-08",
            "buckets": [
                {"name": "team", "share": "15%", "cliff_months": 12, "vesting_months": 36},
                {"name": "liquidity", "share": 0.05, "tge_unlock": 1.0},
            ],
        }
    )
    assert buckets[0].allocation_wei == 150_000_000 * E18
    assert buckets[0].cliff_months == 12
    assert buckets[1].tge_wei == 50_000_000 * E18


def test_bucket_name_decodes_bytes32():
    assert bucket_name("0x" + b"team".hex().ljust(64, "0")) == "team"


def _transfers(conn, rows):
    for i, (day, frm, to, value) in enumerate(rows):
        conn.execute(
            "insert into decoded.open_token__transfer values (1612, ?, ?, ?, ?, 0, 0, '0xtok', ?,"
            " ?, ?, ?)",
            [i + 1, f"0xb{i}", datetime.fromisoformat(day), f"0xt{i}", frm, frm, to, value],
        )


def test_circulating_is_total_minus_burned_minus_uncirculating():
    conn = duckdb.connect()
    ensure_tables(conn)
    z, dist, vault, bridge, user = "0x" + "0" * 40, "0xd1", "0xfa", "0xb1", "0xu1"
    _transfers(
        conn,
        [
            ("2025-09-06 10:00", z, dist, 1000 * E18),
            ("2025-09-06 11:00", dist, vault, 600 * E18),
            ("2025-09-07 11:00", dist, user, 400 * E18),
            ("2025-09-08 12:00", user, bridge, 100 * E18),
            ("2025-09-09 12:00", user, z, 50 * E18),
        ],
    )
    labels = Labels()
    labels.add(1612, dist, "distributor", "distributor")
    labels.add(1612, vault, "vesting", "VestingVault.team")
    labels.add(1612, bridge, "bridge_escrow", "bridge")
    incremental.update(conn, cfg=MetricsConfig(), labels=labels, buckets=[])
    rows = conn.execute(
        "select day, total_supply_wei // 1e18, burned_wei // 1e18, circulating_wei // 1e18 "
        "from metrics.supply_daily order by day"
    ).fetchall()
    assert [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows] == [
        (date(2025, 9, 6), 1000, 0, 0),
        (date(2025, 9, 7), 1000, 0, 400),
        (date(2025, 9, 8), 1000, 0, 300),
        (date(2025, 9, 9), 950, 50, 250),
    ]


def test_release_deviation_is_flagged():
    conn = duckdb.connect()
    ensure_tables(conn)
    b = Bucket("team", 360 * E18, 0, date(2025, 9, 8), 0, 36, "0xfa")
    _transfers(conn, [("2025-09-06 10:00", "0x" + "0" * 40, "0xfa", 360 * E18)])
    ok, early = 10 * E18, 30 * E18
    for i, (day, amount) in enumerate([("2025-09-08 01:00", ok), ("2025-09-20 01:00", early)]):
        conn.execute(
            "insert into decoded.vesting_vault__tokens_released values (1612, ?, ?, ?, ?, 0, 0,"
            " '0xfa', '0xbe', ?, '0xbe', ?, ?, 0)",
            [
                100 + i,
                f"0xr{i}",
                datetime.fromisoformat(day),
                f"0xrt{i}",
                "0x" + b"team".hex().ljust(64, "0"),
                amount,
                amount,
            ],
        )
        conn.execute(
            "insert into decoded.open_token__transfer values (1612, ?, ?, ?, ?, 0, 1, '0xtok',"
            " '0xbe', '0xfa', '0xbe', ?)",
            [100 + i, f"0xr{i}", datetime.fromisoformat(day), f"0xrt{i}", amount],
        )
    labels = Labels()
    labels.add(1612, "0xfa", "vesting", "VestingVault.team")
    incremental.update(conn, cfg=MetricsConfig(), labels=labels, buckets=[b])
    flags = dict(
        conn.execute(
            "select day, is_deviation from metrics.vesting_release_check where bucket = 'team'"
        ).fetchall()
    )
    assert flags[date(2025, 9, 8)] is False
    assert flags[date(2025, 9, 20)] is True  # 40 released while 10 were due
    assert (
        conn.execute("select bool_or(releases_deviate) from metrics.supply_daily").fetchone()[0]
        is True
    )


def test_unlock_calendar_runs_through_the_cliff(synth_store):
    conn, _ = synth_store
    rows = conn.execute(
        "select bucket, unlock_date, unlock_wei from metrics.unlock_calendar "
        "where is_cliff_end order by bucket"
    ).fetchall()
    assert {r[0] for r in rows} == {"team", "investors"}
    assert all(date(2026, 9, 1) <= r[1] <= date(2026, 9, 10) for r in rows)
    total = conn.execute("select sum(unlock_wei) from metrics.unlock_calendar").fetchone()[0]
    assert total == 1_000_000_000 * E18
