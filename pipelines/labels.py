"""User-owned address labels: ``<labels dir>/<network>.local.yaml``, merged over the shipped
labels (``schemas/labels/<network>.yaml``, which ``olw devnet up`` rewrites for devnets).

The labels dir is ``$OLW_LABELS_DIR`` or ``schemas/labels/``. Nothing but ``olw labels add``
(and the user's editor) writes an overlay; a label there wins over a shipped one for the same
address. ``olw labels add ADDRESS KIND NAME --network N`` adds or replaces one entry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
import yaml
from eth_utils import is_checksum_address

from pipelines.config import ConfigError, get_network, schemas_dir

# What the metrics understand (pipelines/metrics/common.py and the supply method): wallets
# that hold uncirculating supply, market actors, protocol contracts.
KINDS = (
    "attribution", "bridge_escrow", "burn", "dapp", "distributor", "exchange", "faucet",
    "investors", "liquidity", "market", "protocol", "protocol_escrow", "staking_pool", "team",
    "treasury", "vesting",
)  # fmt: skip
HEADER = (
    "# Your own address labels for {network} (chain id {chain_id}), merged over the shipped\n"
    "# labels; a label here wins for its address. Written by `olw labels add`; never rewritten\n"
    "# by `olw devnet up`. Kinds: {kinds}.\n"
)


def labels_dir() -> Path:
    return Path(os.environ.get("OLW_LABELS_DIR", schemas_dir() / "labels"))


def overlay_path(network: str) -> Path:
    return labels_dir() / f"{network}.local.yaml"


def validate_address(address: str) -> str:
    a = address.strip()
    if not (a.startswith("0x") and len(a) == 42):
        raise ConfigError(f"{address!r} is not an address: expected 0x followed by 40 hex digits")
    try:
        int(a[2:], 16)
    except ValueError:
        raise ConfigError(f"{address!r} is not an address: it has non-hex digits") from None
    body = a[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(a):
        raise ConfigError(
            f"{address!r} has mixed case but a wrong EIP-55 checksum (a typo?); "
            "check it, or give it all lowercase"
        )
    return a.lower()


def validate_kind(kind: str) -> str:
    k = kind.strip().lower().replace("-", "_")
    if k not in KINDS:
        raise ConfigError(f"unknown label kind {kind!r}; use one of: {', '.join(KINDS)}")
    return k


def load_overlay(network: str) -> dict[str, dict[str, str]]:
    """The overlay's labels, address -> {kind, name} ({} without a file)."""
    path = overlay_path(network)
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    labels = data.get("labels") if isinstance(data, dict) else None
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise ConfigError(f"{path}: 'labels' must map addresses to {{kind, name}}")
    out = {}
    for addr, spec in labels.items():
        where = f"{path}: labels.{addr}"
        if not isinstance(spec, dict) or "kind" not in spec:
            raise ConfigError(f"{where}: expected {{kind: KIND, name: NAME}}")
        try:
            a, k = validate_address(str(addr)), validate_kind(str(spec["kind"]))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        out[a] = {"kind": k, "name": str(spec.get("name") or k)}
    return out


def add_label(network: str, address: str, kind: str, name: str) -> Path:
    """Add or replace one label in the network's overlay (atomically); returns its path."""
    net = get_network(network)
    a, k = validate_address(address), validate_kind(kind)
    if not name.strip():
        raise ConfigError("a label needs a non-empty NAME")
    labels = load_overlay(network)
    labels[a] = {"kind": k, "name": name.strip()}
    path = overlay_path(network)
    path.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {
        "network": network,
        "chain_id": net.chain_id,
        "labels": dict(sorted(labels.items())),
    }
    text = HEADER.format(network=network, chain_id=net.chain_id, kinds=", ".join(KINDS))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + yaml.safe_dump(body, sort_keys=False))
    tmp.replace(path)
    return path


def overlay_rows(network: str, chain_id: int) -> list[tuple[int, str, str, str]]:
    """(chain_id, address, kind, name) of the overlay, for label readers to put first."""
    return [(chain_id, a, s["kind"], s["name"]) for a, s in load_overlay(network).items()]


app = typer.Typer(
    help="Your own address labels (a per-network overlay the metrics merge over the shipped "
    "labels; `olw devnet up` never rewrites it).",
    no_args_is_help=True,
)


@app.command("add")
def add_cmd(
    address: str = typer.Argument(..., help="0x address (lowercase, or EIP-55 checksummed)."),
    kind: str = typer.Argument(..., help=f"One of: {', '.join(KINDS)}."),
    name: str = typer.Argument(..., help="A name for reports, e.g. 'binance.hot.7'."),
    network: str = typer.Option(
        ..., "--network", "-n", help="Network name (schemas/networks.yaml)."
    ),
) -> None:
    """Label ADDRESS as KIND (e.g. treasury, exchange) in NETWORK's overlay
    (<labels dir>/<network>.local.yaml; $OLW_LABELS_DIR or schemas/labels)."""
    try:
        path = add_label(network, address, kind, name)
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{address.lower()} → {validate_kind(kind)} {name!r} in {path}")


@app.command("list")
def list_cmd(
    network: str = typer.Option(
        ..., "--network", "-n", help="Network name (schemas/networks.yaml)."
    ),
) -> None:
    """Show NETWORK's overlay labels."""
    try:
        get_network(network)
        labels = load_overlay(network)
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if not labels:
        typer.echo(f"no labels of your own for {network} ({overlay_path(network)})")
    for a, s in labels.items():
        typer.echo(f"{a}  {s['kind']:<16} {s['name']}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="labels")
