"""Shared plumbing of the metrics room: config, address labels, table names, bookkeeping.

Amounts in the `metrics` schema are DECIMAL(38,0) wei: exact, summable without the DOUBLE
fallback DuckDB applies to `sum(UHUGEINT)`, and lossless through Arrow, polars and parquet
(polars Int128 cannot cross to DuckDB/Arrow; see DESIGN.md, known traps).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipelines.config import ConfigError, contracts_dir, load_networks, schemas_dir

WEI = "DECIMAL(38,0)"
ZERO_ADDRESS = "0x" + "0" * 40

# Decoded event tables this room reads (docs/CONTRACTS.md).
T_TRANSFER = "decoded.open_token__transfer"
T_INFERENCE = "decoded.inference_market__inference_requested"
T_ATTRIBUTION = "decoded.attribution_engine__attribution_recorded"
T_CONTRIBUTORS = "decoded.attribution_engine__contributors_rewarded"
T_MODEL_REGISTERED = "decoded.model_registry__model_registered"
T_MODEL_UPDATED = "decoded.model_registry__model_updated"
T_RELEASED = "decoded.vesting_vault__tokens_released"
T_SCHEDULE = "decoded.vesting_vault__vesting_schedule_created"
T_RECEIPTS = "raw.receipts"
T_TRANSACTIONS = "raw.transactions"
T_BLOCKS = "raw.blocks"
T_TRACES = "raw.traces"

# Tables whose new rows make days dirty; the watermark is kept per (chain_id, table).
WATCHED_TABLES = (
    T_TRANSFER,
    T_INFERENCE,
    T_ATTRIBUTION,
    T_CONTRIBUTORS,
    T_MODEL_REGISTERED,
    T_MODEL_UPDATED,
    T_RELEASED,
)


@dataclass(frozen=True)
class MetricsConfig:
    """Thresholds from schemas/metrics.yaml (defaults here when a key is missing)."""

    testnet_chain_ids: tuple[int, ...] = (161201,)
    sybil_min_cluster_size: int = 5
    funder_exclude_kinds: tuple[str, ...] = (
        "exchange",
        "distributor",
        "vesting",
        "treasury",
        "staking_pool",
        "bridge_escrow",
        "dapp",
        "market",
        "attribution",
        "faucet",
        "liquidity",
        "team",
        "investors",
        "protocol",
        "protocol_escrow",
    )
    graph_ignore_kinds: tuple[str, ...] = ("market", "attribution", "dapp", "protocol")
    funding_max_hops: int = 4
    cluster_min_similarity: float = 0.6
    cluster_min_model_share: float = 0.5
    cluster_start_window_days: int = 7
    cluster_amount_tolerance: float = 0.1
    burst_window_s: int = 21600
    hub_min_callers: int = 5
    cadence_min_tx: int = 8
    periodic_min_share: float = 0.8
    scripted_max_content_cv: float = 0.02
    scripted_min_inferences: int = 8
    round_trip_min_share: float = 0.5
    noise_min_score: float = 0.8
    review_min_score: float = 0.5
    reason_precedence: tuple[str, ...] = (
        "testnet",
        "round_trip",
        "self_dealing",
        "sybil_cluster",
        "scripted",
    )
    registration_amortization_months: int = 12
    trailing_days: int = 30
    uncirculating_kinds: tuple[str, ...] = (
        "vesting",
        "treasury",
        "staking_pool",
        "bridge_escrow",
        "distributor",
    )
    exchange_kinds: tuple[str, ...] = ("exchange",)
    release_grace_days: int = 7
    calendar_months: int = 48


def load_metrics_config(path: Path | None = None) -> MetricsConfig:
    path = path or schemas_dir() / "metrics.yaml"
    if not path.exists():
        return MetricsConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    known = MetricsConfig.__dataclass_fields__
    unknown = sorted(set(flat) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}
    return MetricsConfig(**kwargs)


@dataclass
class Labels:
    """Address labels per chain: rows of (chain_id, address, kind, name)."""

    rows: list[tuple[int, str, str, str]] = field(default_factory=list)

    def add(self, chain_id: int, address: str, kind: str, name: str) -> None:
        self.rows.append((int(chain_id), address.lower(), kind, name))

    def register(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Materialise as the temp table `address_labels` (one row per chain and address)."""
        conn.execute(
            "create or replace temp table address_labels "
            "(chain_id UINTEGER, address VARCHAR, kind VARCHAR, name VARCHAR)"
        )
        seen: set[tuple[int, str]] = set()
        rows = []
        for r in self.rows:
            if (r[0], r[1]) not in seen:
                seen.add((r[0], r[1]))
                rows.append(r)
        if rows:
            conn.executemany("insert into address_labels values (?, ?, ?, ?)", rows)


_KIND_ALIASES = {
    "vesting_vault": "vesting",
    "staking": "staking_pool",
    "staking_bank": "staking_pool",
    "bridge": "bridge_escrow",
    "escrow": "bridge_escrow",
    "cex": "exchange",
    "dapp_router": "dapp",
}


def _norm_kind(kind: str) -> str:
    k = kind.strip().lower().replace("-", "_").replace(" ", "_")
    return _KIND_ALIASES.get(k, k)


def _labels_from_yaml(data: Any, chain_id: int, labels: Labels) -> None:
    """Accept the shapes a label file can reasonably take: a list of {address, kind, name}
    records, a mapping address -> kind or -> {kind, name}, or kind -> [addresses]."""
    if isinstance(data, dict) and "labels" in data:
        data = data["labels"]
    if isinstance(data, dict) and "addresses" in data:
        data = data["addresses"]
    if isinstance(data, list):
        for rec in data:
            if not isinstance(rec, dict) or "address" not in rec:
                continue
            kind = rec.get("kind") or rec.get("label") or rec.get("type") or "unknown"
            name = rec.get("name") or kind
            labels.add(chain_id, str(rec["address"]), _norm_kind(str(kind)), str(name))
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if isinstance(key, str) and key.startswith("0x"):
            if isinstance(value, dict):
                kind = value.get("kind") or value.get("label") or value.get("type") or "unknown"
                name = value.get("name") or kind
            else:
                kind, name = str(value), str(value)
            labels.add(chain_id, key, _norm_kind(str(kind)), str(name))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    labels.add(chain_id, item, _norm_kind(key), key)
                elif isinstance(item, dict) and "address" in item:
                    name = str(item.get("name") or key)
                    labels.add(chain_id, str(item["address"]), _norm_kind(key), name)
        elif isinstance(value, str) and value.startswith("0x"):
            labels.add(chain_id, value, _norm_kind(key), key)
        elif isinstance(value, dict):
            for name, addr in value.items():
                if isinstance(addr, str) and addr.startswith("0x"):
                    labels.add(chain_id, addr, _norm_kind(key), f"{key}.{name}")


def _labels_from_contracts(data: dict[str, Any], chain_id: int, labels: Labels) -> None:
    kinds = {
        "VestingVault": "vesting",
        "DAppRouter": "dapp",
        "InferenceMarket": "market",
        "AttributionEngine": "attribution",
    }
    for name, spec in (data.get("contracts") or {}).items():
        base = name.split(".", 1)[0]
        if base in kinds and isinstance(spec, dict) and "address" in spec:
            labels.add(chain_id, spec["address"], kinds[base], name)


def labels_dir() -> Path:
    """Where schemas/labels/<network>.yaml live; the devnet fixture points this at a temp dir."""
    return Path(os.environ.get("OLW_LABELS_DIR", schemas_dir() / "labels"))


def load_labels(networks: list[str] | None = None) -> Labels:
    """Labels of the given networks (default: every network with a contracts file), from
    schemas/labels/<network>.yaml plus the deployed contracts (vaults, dApp routers, market)."""
    nets = load_networks()
    names = networks or [n for n in nets if (contracts_dir() / f"{n}.json").exists()]
    labels = Labels()
    for name in names:
        if name not in nets:
            raise ConfigError(f"unknown network {name!r}; known: {', '.join(sorted(nets))}")
        chain_id = nets[name].chain_id
        # the user's overlay first: Labels.register keeps the first label of an address
        labels.rows.extend(__import__("pipelines.labels").labels.overlay_rows(name, chain_id))
        cpath = contracts_dir() / f"{name}.json"
        if cpath.exists():
            _labels_from_contracts(json.loads(cpath.read_text()), chain_id, labels)
        for lpath in (labels_dir() / f"{name}.yaml", schemas_dir() / "labels" / f"{name}.yaml"):
            if lpath.exists():
                _labels_from_yaml(yaml.safe_load(lpath.read_text()), chain_id, labels)
                break
    return labels


def table_exists(conn: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    row = next(
        iter(
            conn.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
        ),
        None,
    )
    return bool(row and row[0])


def columns_of(conn: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, name = qualified.split(".", 1)
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def day_list(days: set[date] | list[date]) -> list[date]:
    return sorted(set(days))
