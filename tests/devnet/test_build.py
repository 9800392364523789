"""The committed ABIs (the warehouse's decoding schema) match a fresh compile of the contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import schemas_dir
from pipelines.devnet.build import CONTRACT_NAMES, abi_text, compile_contracts


@pytest.mark.slow  # solc-js takes 10-40 s here
def test_committed_abis_match_a_fresh_compile(tmp_path: Path) -> None:
    fresh = compile_contracts(tmp_path)
    stale = [
        name
        for name in CONTRACT_NAMES
        if (schemas_dir() / "abis" / f"{name}.json").read_text() != abi_text(fresh[name]["abi"])
    ]
    assert not stale, f"stale ABIs {stale}: run `uv run olw devnet build` and commit schemas/abis"


def test_abi_text_is_order_independent() -> None:
    abi = [
        {"type": "function", "name": "b", "inputs": []},
        {"type": "event", "name": "a", "inputs": [], "anonymous": False},
    ]
    assert abi_text(abi) == abi_text(list(reversed(abi)))
    assert abi_text(abi).endswith("\n")
