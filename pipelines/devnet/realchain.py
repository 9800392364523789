"""Stand-ins for the real chains' public contracts (devnet/contracts/realchain/): compiled
offline with solc-js, cached in devnet/build/ by a hash of their sources.

They emit exactly the real events (schemas/abis/: Open, OPENOFTAdapter, OmnichainOpen, WOPEN,
GOPEN, OpenLedgerGovernor, Staking, SigDispersal, BaseDistributor, L2ToL1MessagePasser,
OptimismPortal, NativeAssetLiquidity, LiquidityController, FeeVault, EndpointV2).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipelines.devnet.build import BUILD_DIR, DEVNET_DIR
from pipelines.devnet.errors import DevnetError

SRC_DIR = DEVNET_DIR / "contracts" / "realchain"
SCRIPT = DEVNET_DIR / "compile.js"  # with the stand-ins' folder as its source

# stand-in contract -> the ABI file (schemas/abis/) of the real contract it stands in for
STANDS_FOR = {
    "OpenStandin": "Open",
    "OftAdapterStandin": "OPENOFTAdapter",
    "OmnichainOpenStandin": "OmnichainOpen",
    "WopenStandin": "WOPEN",
    "GopenStandin": "GOPEN",
    "GovernorStandin": "OpenLedgerGovernor",
    "StakingStandin": "Staking",
    "SigDispersalStandin": "SigDispersal",
    "BaseDistributorStandin": "BaseDistributor",
    "MessagePasserStandin": "L2ToL1MessagePasser",
    "PortalStandin": "OptimismPortal",
    "NativeAssetLiquidityStandin": "NativeAssetLiquidity",
    "LiquidityControllerStandin": "LiquidityController",
    "FeeVaultStandin": "FeeVault",
    "EndpointStandin": "EndpointV2",
}


def _digest() -> str:
    h = hashlib.sha256()
    for f in [*sorted(SRC_DIR.glob("*.sol")), SCRIPT, DEVNET_DIR / "package-lock.json"]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def artifacts() -> dict[str, Any]:
    """{contract: {abi, bytecode}} of the stand-ins, compiling only when a source changed."""
    digest = _digest()
    cache = BUILD_DIR / "realchain.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("source_hash") == digest:
            return dict(cached["contracts"])
    node = shutil.which("node")
    if node is None or not (DEVNET_DIR / "node_modules" / "solc").exists():
        raise DevnetError("node or solc-js is missing; run `make install`")
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [node, str(SCRIPT), out, str(SRC_DIR)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise DevnetError(
                f"compiling devnet/contracts/realchain failed:\n{proc.stderr.strip()}"
            )
        combined = json.loads((Path(out) / "combined.json").read_text())
    contracts: dict[str, Any] = combined["contracts"]
    missing = [n for n in STANDS_FOR if n not in contracts]
    if missing:
        raise DevnetError(f"compiler output lacks stand-ins {missing}")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source_hash": digest, "contracts": contracts}))
    tmp.replace(cache)
    return contracts
