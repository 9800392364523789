"""Compile the devnet contracts offline (solc-js) and write their ABIs to ``schemas/abis/``.

The ABIs are committed: they are the schema the warehouse decodes. The bytecode is a build
artifact cached in ``devnet/build/`` (git-ignored), keyed by a hash of the sources, the compile
script and the pinned solc version, so a deploy compiles only when a source changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipelines.config import REPO_ROOT, schemas_dir
from pipelines.devnet.errors import DevnetError

DEVNET_DIR = REPO_ROOT / "devnet"
CONTRACTS_SRC = DEVNET_DIR / "contracts"
BUILD_DIR = DEVNET_DIR / "build"

# The concrete contracts the warehouse decodes (the .sol files also declare small interfaces).
CONTRACT_NAMES = (
    "AttributionEngine",
    "DAppRouter",
    "DatanetRegistry",
    "InferenceMarket",
    "ModelRegistry",
    "OpenToken",
    "VestingVault",
)


def source_hash() -> str:
    """Hash of everything that determines the compiler output."""
    h = hashlib.sha256()
    files = [
        *sorted(CONTRACTS_SRC.glob("*.sol")),
        DEVNET_DIR / "compile.js",
        DEVNET_DIR / "package-lock.json",
    ]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def compile_contracts(out_dir: Path) -> dict[str, Any]:
    """Run ``node devnet/compile.js`` into ``out_dir`` and return ``{name: {abi, bytecode}}``."""
    node = shutil.which("node")
    if node is None:
        raise DevnetError("node is not installed; install Node.js, then run `make install`")
    if not (DEVNET_DIR / "node_modules" / "solc").exists():
        raise DevnetError("solc-js is missing in devnet/node_modules; run `make install`")
    proc = subprocess.run(
        [node, str(DEVNET_DIR / "compile.js"), str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevnetError(f"compiling devnet/contracts failed:\n{proc.stderr.strip()}")
    combined = json.loads((out_dir / "combined.json").read_text())
    contracts: dict[str, Any] = combined["contracts"]
    missing = [n for n in CONTRACT_NAMES if n not in contracts]
    if missing:
        raise DevnetError(f"compiler output lacks contracts {missing}")
    return {n: contracts[n] for n in CONTRACT_NAMES}


def abi_text(abi: list[dict[str, Any]]) -> str:
    """Stable serialisation: ABI entries sorted by (type, name), keys sorted, one-space indent."""
    entries = sorted(abi, key=lambda e: (e.get("type", ""), e.get("name", "")))
    return json.dumps(entries, indent=1, sort_keys=True) + "\n"


def write_abis(contracts: dict[str, Any], abi_dir: Path | None = None) -> list[Path]:
    abi_dir = abi_dir or schemas_dir() / "abis"
    abi_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CONTRACT_NAMES:
        path = abi_dir / f"{name}.json"
        text = abi_text(contracts[name]["abi"])
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def build(write: bool = True) -> dict[str, Any]:
    """Compile (or reuse the cache), refresh the cache and, if ``write``, the committed ABIs."""
    digest = source_hash()
    cache = BUILD_DIR / "artifacts.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("source_hash") == digest:
            contracts: dict[str, Any] = cached["contracts"]
            if write:
                write_abis(contracts)
            return contracts
    with tempfile.TemporaryDirectory(prefix="olw-solc-") as tmp:
        contracts = compile_contracts(Path(tmp))
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp_cache = cache.with_suffix(".tmp")
    tmp_cache.write_text(json.dumps({"source_hash": digest, "contracts": contracts}))
    tmp_cache.replace(cache)
    if write:
        write_abis(contracts)
    return contracts


def artifacts() -> dict[str, Any]:
    """ABI and bytecode per contract, compiling only if the sources changed."""
    return build(write=False)


def main() -> None:
    contracts = build(write=True)
    print(f"wrote {len(contracts)} ABIs to {schemas_dir() / 'abis'}")


if __name__ == "__main__":
    main()
