"""Test traffic for ingestion tests: every event type of the devnet contracts, plus bulk transfers.

Sent from anvil's unlocked dev account 0 (the deployer, holding the undistributed supply), with
automine off and one ``evm_mine`` per block so that thousands of logs take a second or two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
from eth_abi import encode
from eth_utils import keccak

DEPLOYER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
MAX_UINT = 2**256 - 1


def _sel(sig: str) -> bytes:
    return keccak(text=sig)[:4]


def calldata(sig: str, *args: Any) -> str:
    inner = sig[sig.index("(") + 1 : -1]
    types = [t for t in _split(inner)]
    return "0x" + (_sel(sig) + encode(types, list(args))).hex()


def _split(inner: str) -> list[str]:
    return [t for t in inner.split(",") if t]


def addr(i: int) -> str:
    return "0x" + keccak(text=f"olw-test:{i}")[-20:].hex()


class Node:
    def __init__(self, url: str):
        self.url = url
        self.client = httpx.Client(timeout=60, headers={"content-type": "application/json"})
        self._id = 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        r = self.client.post(
            self.url,
            content=orjson.dumps(
                {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
            ),
        )
        msg = orjson.loads(r.content)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        out = orjson.loads(self.client.post(self.url, content=orjson.dumps(payload)).content)
        for m in out:
            if "error" in m:
                raise RuntimeError(str(m["error"]))
        return [m["result"] for m in sorted(out, key=lambda m: m["id"])]

    def send_block(self, txs: list[tuple[str, str]], frm: str = DEPLOYER) -> None:
        """Mine one block holding these (to, calldata) transactions."""
        self.call("evm_setAutomine", False)
        self.batch(
            [
                (
                    "eth_sendTransaction",
                    [{"from": frm, "to": to, "data": data, "gas": hex(15_000_000)}],
                )
                for to, data in txs
            ]
        )
        self.call("evm_mine")
        self.call("evm_setAutomine", True)

    def head(self) -> int:
        return int(self.call("eth_blockNumber"), 16)


def contracts(contracts_dir: Path, network: str) -> dict[str, str]:
    data = json.loads((contracts_dir / f"{network}.json").read_text())
    return {k: v["address"] for k, v in data["contracts"].items()}


def every_event(node: Node, c: dict[str, str]) -> None:
    """At least one log of every event type (ABIs in schemas/abis), dynamic ones included."""
    h = b"\x11" * 32
    node.send_block(
        [
            (c["DatanetRegistry"], calldata("createDatanet(string,bytes32)", "alpha ünïcode", h)),
            (c["DatanetRegistry"], calldata("createDatanet(string,bytes32)", "beta", h)),
        ]
    )
    node.send_block(
        [
            (
                c["DatanetRegistry"],
                calldata(
                    "recordContribution(uint256,address,bytes32,uint256)", d, addr(i), h, 5 + i
                ),
            )
            for d in (1, 2)
            for i in range(3)
        ]
    )
    node.send_block(
        [
            (
                c["ModelRegistry"],
                calldata(
                    "registerModel(string,uint256[],bytes32,uint256)", "m1", [1, 2], h, 10**18
                ),
            ),
        ]
    )
    node.send_block(
        [
            (
                c["ModelRegistry"],
                calldata("updateModel(uint256,bytes32,uint256)", 1, h, 2 * 10**18),
            ),
            (c["OpenToken"], calldata("approve(address,uint256)", c["InferenceMarket"], 10**30)),
        ]
    )
    node.send_block(
        [
            (c["InferenceMarket"], calldata("infer(uint256,uint32,uint32)", 1, 100 + i, 7))
            for i in range(3)
        ]
    )
    node.send_block(
        [
            (c["AttributionEngine"], calldata("claim()")),
            (c["OpenToken"], calldata("approve(address,uint256)", addr(99), MAX_UINT)),
            (c["OpenToken"], calldata("burn(uint256)", 12345)),
        ]
        + [(v, calldata("release()")) for k, v in c.items() if k.startswith("VestingVault.")]
    )


def bulk_transfers(
    node: Node, c: dict[str, str], blocks: int, per_tx: int = 50, txs: int = 2
) -> int:
    """``blocks`` blocks of ``txs`` transferMany calls of ``per_tx`` Transfers each."""
    for b in range(blocks):
        to = [addr(1000 + (b * 7 + i) % 5000) for i in range(per_tx)]
        node.send_block(
            [
                (
                    c["OpenToken"],
                    calldata(
                        "transferMany(address[],uint256[])", to, [b + i + 1 for i in range(per_tx)]
                    ),
                )
                for _ in range(txs)
            ]
        )
    return blocks * per_tx * txs
