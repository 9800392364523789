"""Deploy the OpenLedger devnet contracts on a node and write the network's config files.

Deploys, in a fixed order from a fixed deployer (anvil's first dev account), so addresses and
first blocks are the same on every fresh chain and on both networks: OpenToken (1B OPEN to the
distributor), one VestingVault per vesting bucket of ``schemas/tokenomics.yaml`` (funded with its
allocation), DatanetRegistry, ModelRegistry, AttributionEngine (fee split from tokenomics.yaml),
InferenceMarket (then ``AttributionEngine.setMarket``) and a few DAppRouters.

Writes ``<contracts dir>/<network>.json`` (docs/CONTRACTS.md format; ``OLW_CONTRACTS_DIR``),
``<labels dir>/<network>.yaml`` (address → label kind; ``OLW_LABELS_DIR``) and a copy of the
deployment record under ``$OLW_HOME/devnet/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from eth_abi import encode

from pipelines.config import contracts_dir, schemas_dir
from pipelines.devnet.abi import actor, bucket_id, call_data
from pipelines.devnet.build import artifacts
from pipelines.devnet.errors import DevnetError
from pipelines.devnet.nodes import devnet_home
from pipelines.devnet.rpc import Rpc

DEPLOYER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil dev account 0 (well-known key)
GAS_PRICE = 2 * 10**9
WEI = 10**18
DAPPS = ("chatbox", "agenthub", "codepilot")
VAULT_BUCKETS = ("community", "investors", "team", "ecosystem")

# Named wallets of the economy (deterministic addresses) and their label kind.
ROLES: dict[str, str] = {
    "protocol_treasury": "treasury",
    "community_treasury": "treasury",
    "ecosystem_fund": "treasury",
    "staking_pool": "staking_pool",
    "bridge_escrow": "bridge_escrow",
    "team_multisig": "team",
    "investors_distributor": "investors",
    "liquidity_wallet": "liquidity",
    "exchange.alpha": "exchange",
    "exchange.beta": "exchange",
    "exchange.gamma": "exchange",
    "testnet_faucet": "faucet",
}


def labels_dir() -> Path:
    return Path(os.environ.get("OLW_LABELS_DIR", schemas_dir() / "labels"))


@dataclass(frozen=True)
class Bucket:
    name: str
    amount_wei: int
    tge_amount_wei: int
    cliff_months: int
    vesting_months: int
    beneficiary: str  # role name


@dataclass(frozen=True)
class Tokenomics:
    tge: int  # unix seconds
    month_s: int
    total_supply_wei: int
    buckets: dict[str, Bucket]
    developer_bps: int
    contributors_bps: int
    stakers_bps: int


def load_tokenomics() -> Tokenomics:
    path = schemas_dir() / "tokenomics.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
        tge_date = raw["tge"]
        if isinstance(tge_date, str):
            tge_date = dt.date.fromisoformat(tge_date)
        tge = int(
            dt.datetime(tge_date.year, tge_date.month, tge_date.day, tzinfo=dt.UTC).timestamp()
        )
        buckets = {
            name: Bucket(
                name,
                int(b["amount"]) * WEI,
                int(b["tge_amount"]) * WEI,
                int(b["cliff_months"]),
                int(b["vesting_months"]),
                str(b["beneficiary"]),
            )
            for name, b in raw["buckets"].items()
        }
        attr = raw["attribution"]
        out = Tokenomics(
            tge=tge,
            month_s=int(raw["month_days"]) * 86400,
            total_supply_wei=int(raw["token"]["total_supply"]) * WEI,
            buckets=buckets,
            developer_bps=int(attr["developer_bps"]),
            contributors_bps=int(attr["contributors_bps"]),
            stakers_bps=int(attr["stakers_bps"]),
        )
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise DevnetError(f"{path}: cannot read tokenomics ({type(exc).__name__}: {exc})") from None
    if sum(b.amount_wei for b in buckets.values()) != out.total_supply_wei:
        raise DevnetError(f"{path}: bucket amounts do not add up to total_supply")
    for b in buckets.values():
        if b.beneficiary not in ROLES:
            raise DevnetError(f"{path}: buckets.{b.name}.beneficiary {b.beneficiary!r} unknown")
    return out


@dataclass
class Deployment:
    network: str
    chain_id: int
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → address/abi/block
    roles: dict[str, str] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return str(self.contracts[name]["address"])

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "network": self.network,
            "deployer": DEPLOYER,
            "contracts": self.contracts,
            "roles": self.roles,
        }


def wait_receipt(rpc: Rpc, tx_hash: str, timeout: float = 30.0) -> Any:
    """Automine mines asynchronously: the hash comes back before the receipt exists."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None or time.monotonic() > deadline:
            return receipt
        time.sleep(0.005)


def _send(rpc: Rpc, frm: str, data: str, to: str | None = None, gas: int = 8_000_000) -> Any:
    tx: dict[str, Any] = {"from": frm, "data": data, "gas": hex(gas), "gasPrice": hex(GAS_PRICE)}
    if to is not None:
        tx["to"] = to
    tx_hash = rpc.call("eth_sendTransaction", tx)
    receipt = wait_receipt(rpc, tx_hash)
    if receipt is None or receipt["status"] != "0x1":
        raise DevnetError(f"deploy transaction {tx_hash} failed (to={to})")
    return receipt


def _deploy(rpc: Rpc, arts: dict[str, Any], name: str, types: list[str], args: list[Any]) -> Any:
    code = arts[name]["bytecode"] + encode(types, args).hex()
    return _send(rpc, DEPLOYER, code, gas=15_000_000)


def _is_deployed(rpc: Rpc, dep: Deployment) -> bool:
    return all(
        rpc.call("eth_getCode", c["address"], "latest") not in ("0x", "0x0")
        for c in dep.contracts.values()
    )


def deploy(rpc: Rpc, network: str, chain_id: int) -> Deployment:
    """Deploy everything on an empty chain (deployer nonce 0)."""
    tok = load_tokenomics()
    arts = artifacts()
    rpc.call("evm_setAutomine", True)
    dep = Deployment(network, chain_id)
    dep.roles = {name: actor(name) for name in ROLES}

    def record(instance: str, abi_name: str, receipt: Any) -> str:
        address = receipt["contractAddress"].lower()
        dep.contracts[instance] = {
            "address": address,
            "abi": f"abis/{abi_name}.json",
            "first_block": int(receipt["blockNumber"], 16),
        }
        return str(address)

    token = record(
        "OpenToken", "OpenToken", _deploy(rpc, arts, "OpenToken", ["address"], [DEPLOYER])
    )
    for bname in VAULT_BUCKETS:
        b = tok.buckets[bname]
        r = _deploy(
            rpc,
            arts,
            "VestingVault",
            ["address", "bytes32", "address", "uint256", "uint256", "uint64", "uint64", "uint64"],
            [
                token,
                bucket_id(bname),
                dep.roles[b.beneficiary],
                b.amount_wei,
                b.tge_amount_wei,
                tok.tge,
                b.cliff_months,
                b.vesting_months,
            ],
        )
        record(f"VestingVault.{bname}", "VestingVault", r)
    datanets = record(
        "DatanetRegistry", "DatanetRegistry", _deploy(rpc, arts, "DatanetRegistry", [], [])
    )
    models = record("ModelRegistry", "ModelRegistry", _deploy(rpc, arts, "ModelRegistry", [], []))
    attribution = record(
        "AttributionEngine",
        "AttributionEngine",
        _deploy(
            rpc,
            arts,
            "AttributionEngine",
            ["address", "address", "address", "address", "address", "uint16", "uint16", "uint16"],
            [
                token,
                models,
                datanets,
                dep.roles["staking_pool"],
                dep.roles["protocol_treasury"],
                tok.developer_bps,
                tok.contributors_bps,
                tok.stakers_bps,
            ],
        ),
    )
    market = record(
        "InferenceMarket",
        "InferenceMarket",
        _deploy(
            rpc,
            arts,
            "InferenceMarket",
            ["address", "address", "address"],
            [token, models, attribution],
        ),
    )
    _send(rpc, DEPLOYER, call_data("setMarket(address)", market), to=attribution)
    for name in DAPPS:
        r = _deploy(
            rpc,
            arts,
            "DAppRouter",
            ["address", "address", "address", "string"],
            [token, market, models, name],
        )
        record(f"DAppRouter.{name}", "DAppRouter", r)
    # Fund each vault with its whole allocation; what is left (liquidity) moves at TGE.
    for bname in VAULT_BUCKETS:
        _send(
            rpc,
            DEPLOYER,
            call_data(
                "transfer(address,uint256)",
                dep.address(f"VestingVault.{bname}"),
                tok.buckets[bname].amount_wei,
            ),
            to=token,
        )
    return dep


def labels(dep: Deployment) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {DEPLOYER: {"kind": "distributor", "name": "distributor"}}
    for role, kind in ROLES.items():
        out[dep.roles[role]] = {"kind": kind, "name": role}
    for name, c in dep.contracts.items():
        if name.startswith("VestingVault."):
            kind = "vesting"
        elif name.startswith("DAppRouter."):
            kind = "dapp"
        elif name == "AttributionEngine":
            kind = "protocol_escrow"  # holds fees until claimed
        else:
            kind = "protocol"
        out[c["address"]] = {"kind": kind, "name": name}
    return dict(sorted(out.items()))


def write_files(dep: Deployment) -> tuple[Path, Path]:
    cdir = contracts_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    cpath = cdir / f"{dep.network}.json"
    spec = {"chain_id": dep.chain_id, "contracts": dict(sorted(dep.contracts.items()))}
    _atomic_write(cpath, json.dumps(spec, indent=1, sort_keys=True) + "\n")
    ldir = labels_dir()
    ldir.mkdir(parents=True, exist_ok=True)
    lpath = ldir / f"{dep.network}.yaml"
    header = (
        f"# Address labels for {dep.network} (chain id {dep.chain_id}); written by the devnet\n"
        "# deployer (pipelines/devnet/deploy.py). Addresses are deterministic. Kinds: treasury,\n"
        "# vesting, staking_pool, bridge_escrow, exchange, distributor, dapp, faucet, liquidity,\n"
        "# team, investors, protocol, protocol_escrow.\n"
    )
    body = {"network": dep.network, "chain_id": dep.chain_id, "labels": labels(dep)}
    _atomic_write(lpath, header + yaml.safe_dump(body, sort_keys=False))
    _atomic_write(_record_path(dep.network), json.dumps(dep.to_json(), indent=1, sort_keys=True))
    return cpath, lpath


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _record_path(network: str) -> Path:
    return devnet_home() / f"{network}.deployment.json"


def load_deployment(network: str) -> Deployment | None:
    path = _record_path(network)
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    return Deployment(raw["network"], raw["chain_id"], raw["contracts"], raw["roles"])


def ensure_deployed(rpc: Rpc, network: str, chain_id: int) -> tuple[Deployment, bool]:
    """Deploy unless this chain already holds the deployment; always (re)write the config files.

    Returns the deployment and whether it was deployed now.
    """
    dep = load_deployment(network)
    if dep is not None and dep.chain_id == chain_id and _is_deployed(rpc, dep):
        write_files(dep)
        return dep, False
    nonce = int(rpc.call("eth_getTransactionCount", DEPLOYER, "latest"), 16)
    if nonce != 0:
        raise DevnetError(
            f"{network}: the chain has transactions from the deployer but no deployment record "
            f"under {devnet_home()}; start a fresh chain with `olw devnet up --reset`"
        )
    dep = deploy(rpc, network, chain_id)
    write_files(dep)
    return dep, True
