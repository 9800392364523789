"""The issuer method of circulating supply (what CoinGecko and CoinMarketCap publish): the
schedule's unlocked amount in schemas/tokenomics.yaml on a day, per bucket, next to the
published figures the same file records.

The schedule follows the published facts (../shared/REAL_CHAIN.md §4): 215.5M at TGE
(2025-09-08) as 50M liquidity + 145.5M community + 20M ecosystem; community and ecosystem
linear over 48 monthly tranches from the month after TGE; team and investors a 12-month cliff,
then 36 monthly tranches. A month is the VestingVault's 30 days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from pipelines.config import ConfigError, schemas_dir
from pipelines.metrics.supply import load_schedule, vested_at


def unlocked_by_bucket(day: dt.date, path: Path | None = None) -> dict[str, int]:
    """Wei unlocked per bucket at the end of ``day`` (UTC)."""
    end = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) + 86399
    return {b.name: vested_at(b, end) for b in load_schedule(path)}


def issuer_circulating(day: dt.date, path: Path | None = None) -> int:
    """Wei the schedule has unlocked by the end of ``day``: the issuer-method supply."""
    return sum(unlocked_by_bucket(day, path).values())


def published(path: Path | None = None) -> dict[dt.date, int]:
    """Published circulating figures (whole OPEN) by day, from tokenomics.yaml."""
    path = path or schemas_dir() / "tokenomics.yaml"
    raw = yaml.safe_load(path.read_text()) or {}
    out = {}
    for k, v in (raw.get("published_circulating") or {}).items():
        day = k if isinstance(k, dt.date) else dt.date.fromisoformat(str(k))
        if not isinstance(v, int):
            raise ConfigError(f"{path}: published_circulating.{k} must be whole OPEN")
        out[day] = v
    return out
