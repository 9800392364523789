"""Load and validate the warehouse configuration kept as data under ``schemas/``.

Networks live in ``schemas/networks.yaml``; the contracts per network in
``schemas/contracts/<network>.json`` (written by the devnet deployer for devnet entries,
by hand for real networks); ABIs in ``schemas/abis/<Contract>.json``.
Every problem is reported as a :class:`ConfigError` naming the file and the field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A configuration file is missing or wrong; the message says which and how to fix it."""


def schemas_dir() -> Path:
    return Path(os.environ.get("OLW_SCHEMAS_DIR", REPO_ROOT / "schemas"))


def contracts_dir() -> Path:
    """Where per-network contract files live; tests point this at a temp dir."""
    return Path(os.environ.get("OLW_CONTRACTS_DIR", schemas_dir() / "contracts"))


def state_dir() -> Path:
    """Runtime state (devnet state files, pids, the default warehouse); never committed."""
    path = Path(os.environ.get("OLW_HOME", REPO_ROOT / ".olw"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse_path() -> Path:
    return Path(os.environ.get("OLW_WAREHOUSE", state_dir() / "warehouse.duckdb"))


def exports_dir() -> Path:
    """Where `olw export` writes parquet by default (and `olw query` may read it)."""
    return Path(os.environ.get("OLW_EXPORTS_DIR", REPO_ROOT / "exports"))


def lake_dir() -> Path:
    """Where finalized history lives as table files (Iceberg) under OLW_HOME."""
    return Path(os.environ.get("OLW_LAKE_DIR", state_dir() / "lake"))


def query_allowed_dirs(warehouse: Path | None = None) -> list[Path]:
    """The only directories an `olw query` connection may touch (DuckDB `allowed_directories`
    with external access off): the warehouse's folder, the exports and the lake. Everything
    that adds files for readers (views over parquet, say) adds its folder here."""
    wh = Path(warehouse) if warehouse else warehouse_path()
    return [wh.resolve().parent, exports_dir().resolve(), lake_dir().resolve()]


def redact_url(url: str) -> str:
    """Show scheme, host and port only: RPC URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def check_rpc_url(url: str, where: str) -> None:
    """ConfigError unless ``url`` is an http(s) URL with a host (and a numeric port, if any);
    the message says what is wrong without repeating the URL (it may carry an API key)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        problem = "its port is not a number"
    else:
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            shown = f" (its scheme is {scheme!r})" if scheme.isalpha() and len(scheme) <= 10 else ""
            problem = f"it does not start with http:// or https://{shown}"
        elif not parts.hostname:
            problem = "it has no host"
        else:
            return
    raise ConfigError(
        f"{where} is not a valid RPC URL: {problem}. Expected http(s)://host[:port][/path], "
        "e.g. https://rpc.example.org/KEY (the value is not shown: it may hold a key)"
    )


@dataclass(frozen=True)
class Finality:
    mode: str  # "tag" (use the node's finalized/safe tag) or "depth" (head minus depth)
    tag: str = "finalized"
    depth: int = 0


TRACE_METHODS = ("none", "trace_block", "debug")


@dataclass(frozen=True)
class NativeConfig:
    """The ``native`` option of a network: whether the logs stream also stores every
    transaction of every block (value, sender, gas, deposit mints) and, by ``traces``, the
    internal native transfers (``trace_block``, ``debug`` = debug_traceBlockByNumber with
    callTracer, or ``none`` when the provider serves neither)."""

    transactions: bool = False
    traces: str = "none"


@dataclass(frozen=True)
class ContractConfig:
    name: str
    address: str  # lowercase 0x-hex
    abi_file: str
    first_block: int


@dataclass(frozen=True)
class NetworkConfig:
    name: str
    chain_id: int
    kind: str
    rpc_url_env: str
    default_rpc_url: str | None
    gas_symbol: str
    finality: Finality
    max_blocks: int
    max_results: int
    description: str = ""
    contracts: tuple[ContractConfig, ...] = field(default=())
    native: NativeConfig = field(default=NativeConfig())

    @property
    def is_devnet(self) -> bool:
        return self.kind == "devnet"

    def rpc_url(self) -> str:
        url = os.environ.get(self.rpc_url_env) or self.default_rpc_url
        if not url:
            raise ConfigError(
                f"network {self.name!r} has no RPC URL: set the environment variable "
                f"{self.rpc_url_env} (e.g. export {self.rpc_url_env}=https://…)"
            )
        where = self.rpc_url_env if os.environ.get(self.rpc_url_env) else "default_rpc_url"
        check_rpc_url(url, f"{where} (network {self.name!r})")
        return url

    def contract(self, name: str) -> ContractConfig:
        for c in self.contracts:
            if c.name == name:
                return c
        raise ConfigError(
            f"network {self.name!r} has no contract {name!r} in "
            f"{contracts_dir() / (self.name + '.json')}; deploy it (olw devnet up) or add it"
        )


def _require(mapping: dict[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in mapping:
        raise ConfigError(f"{where}: missing field {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: field {key!r} must be {kind.__name__}, got {value!r}")
    return value


def load_contracts(network: str) -> tuple[ContractConfig, ...]:
    path = contracts_dir() / f"{network}.json"
    if not path.exists():
        return ()
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object with a 'contracts' mapping")
    contracts = _require(data, "contracts", where, dict)
    out = []
    seen: dict[str, str] = {}  # address -> the contract entry that has it
    for name, spec in contracts.items():
        w = f"{where}: contracts.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{w}: expected an object")
        address = _require(spec, "address", w, str)
        if not (address.startswith("0x") and len(address) == 42):
            raise ConfigError(f"{w}: address {address!r} is not a 20-byte 0x-hex address")
        try:
            int(address, 16)
        except ValueError:
            raise ConfigError(f"{w}: address {address!r} is not hex") from None
        abi_file = _require(spec, "abi", w, str)
        if not (schemas_dir() / abi_file).exists():
            raise ConfigError(f"{w}: ABI file {schemas_dir() / abi_file} does not exist")
        first_block = _require(spec, "first_block", w, int)
        if first_block < 0:
            raise ConfigError(f"{w}: first_block must be >= 0")
        if address.lower() in seen:
            # every log of the address would be fetched, stored and decoded twice
            raise ConfigError(
                f"{w}: address {address.lower()} is already listed as contracts."
                f"{seen[address.lower()]}; list each contract address once"
            )
        seen[address.lower()] = name
        out.append(ContractConfig(name, address.lower(), abi_file, first_block))
    return tuple(out)


def load_networks() -> dict[str, NetworkConfig]:
    path = schemas_dir() / "networks.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("networks"), dict):
        raise ConfigError(f"{path}: expected a top-level 'networks' mapping")
    out: dict[str, NetworkConfig] = {}
    for name, spec in raw["networks"].items():
        where = f"{path}: networks.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping")
        fin = _require(spec, "finality", where, dict)
        mode = _require(fin, "mode", where + ".finality", str)
        if mode not in ("tag", "depth"):
            raise ConfigError(f"{where}.finality: mode must be 'tag' or 'depth', got {mode!r}")
        depth = fin.get("depth", 0)
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            raise ConfigError(
                f"{where}.finality: depth must be a whole number of blocks >= 0, got {depth!r}"
            )
        if mode == "depth" and "depth" not in fin:
            raise ConfigError(f"{where}.finality: mode 'depth' needs a depth (blocks, >= 0)")
        finality = Finality(mode=mode, tag=str(fin.get("tag", "finalized")), depth=depth)
        if finality.tag not in ("finalized", "safe"):
            raise ConfigError(f"{where}.finality: tag must be 'finalized' or 'safe'")
        gl = _require(spec, "get_logs", where, dict)
        max_blocks = _require(gl, "max_blocks", where + ".get_logs", int)
        max_results = _require(gl, "max_results", where + ".get_logs", int)
        if max_blocks < 1 or max_results < 1:
            raise ConfigError(f"{where}.get_logs: limits must be positive")
        out[name] = NetworkConfig(
            name=name,
            chain_id=_require(spec, "chain_id", where, int),
            kind=_require(spec, "kind", where, str),
            rpc_url_env=_require(spec, "rpc_url_env", where, str),
            default_rpc_url=spec.get("default_rpc_url"),
            gas_symbol=str(spec.get("gas_symbol", "OPEN")),
            finality=finality,
            max_blocks=max_blocks,
            max_results=max_results,
            description=str(spec.get("description", "")),
            contracts=load_contracts(name),
            native=_native(spec.get("native"), where),
        )
    return out


def _native(spec: Any, where: str) -> NativeConfig:
    if spec is None:
        return NativeConfig()
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}.native: expected a mapping (transactions, traces)")
    transactions = spec.get("transactions", False)
    if not isinstance(transactions, bool):
        raise ConfigError(f"{where}.native: transactions must be true or false")
    traces = spec.get("traces", "none")
    if traces not in TRACE_METHODS:
        raise ConfigError(
            f"{where}.native: traces must be one of {', '.join(TRACE_METHODS)}, got {traces!r}"
        )
    if traces != "none" and not transactions:
        raise ConfigError(f"{where}.native: traces need transactions: true")
    return NativeConfig(transactions, traces)


def get_network(name: str) -> NetworkConfig:
    networks = load_networks()
    if name not in networks:
        known = ", ".join(sorted(networks))
        raise ConfigError(f"unknown network {name!r}; known networks: {known}")
    return networks[name]
