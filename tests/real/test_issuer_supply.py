"""The issuer-method supply of the published schedule matches the published figures."""

from __future__ import annotations

import datetime as dt

from pipelines.devnet.deploy import load_tokenomics
from pipelines.issuer_supply import issuer_circulating, published, unlocked_by_bucket

E18 = 10**18


def test_tge_split_is_the_published_one() -> None:
    at_tge = unlocked_by_bucket(dt.date(2025, 9, 8))
    assert at_tge == {
        "community": 145_500_000 * E18, "investors": 0, "team": 0,
        "ecosystem": 20_000_000 * E18, "liquidity": 50_000_000 * E18,
    }  # fmt: skip
    tok = load_tokenomics()  # the devnet deployer reads the same split
    assert {n: b.tge_amount_wei for n, b in tok.buckets.items()} == at_tge


def test_issuer_method_reads_the_published_figures_within_one_percent() -> None:
    figures = published()
    assert figures[dt.date(2026, 5, 23)] == 290_764_736
    for day, open_ in figures.items():
        got = issuer_circulating(day) / E18
        assert abs(got - open_) / open_ < 0.01, (day, got, open_)
    # 215.5M + 8 monthly tranches of (371.6M + 80M) / 48 on 2026-05-23
    assert issuer_circulating(dt.date(2026, 5, 23)) == (
        215_500_000 * E18 + 371_600_000 * E18 * 8 // 48 + 80_000_000 * E18 * 8 // 48
    )


def test_team_and_investors_unlock_after_the_cliff() -> None:
    before = unlocked_by_bucket(dt.date(2026, 9, 1))
    after = unlocked_by_bucket(dt.date(2026, 9, 4))  # 360 days after TGE
    assert before["team"] == before["investors"] == 0
    tranche = (after["team"] + after["investors"]) / E18
    assert abs(tranche - 9.24e6) / 9.24e6 < 0.01  # "about 9.24M OPEN per month"
