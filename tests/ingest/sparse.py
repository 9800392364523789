"""A sparse chain: long stretches of blocks without any log of ours, as a real chain has.

Most blocks are empty (``anvil_mine``) or carry only native transfers (transactions of no
contract we index); every few dozen blocks one carries an OPEN transfer. Built once per session
on a devnet of its own (tests mine on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.devnet.harness import DevnetHandle, running_devnet
from pipelines.store import connect
from tests.ingest.traffic import DEPLOYER, Node, addr, calldata, contracts, every_event

MAINNET = "devnet-mainnet"
TESTNET = "devnet-testnet"


def mine_empty(node: Node, n: int) -> None:
    node.call("anvil_mine", hex(n))


def native_transfers(node: Node, n: int = 3) -> None:
    """One block of plain value transfers: transactions, but no log of any contract."""
    node.call("evm_setAutomine", False)
    nonce = int(node.call("eth_getTransactionCount", DEPLOYER, "pending"), 16)
    node.batch(
        [
            (
                "eth_sendTransaction",
                [
                    {
                        "from": DEPLOYER,
                        "to": addr(7000 + i),
                        "value": hex(1),
                        "gas": hex(21_000),
                        "nonce": hex(nonce + i),
                    }
                ],
            )
            for i in range(n)
        ]
    )
    node.call("evm_mine")
    node.call("evm_setAutomine", True)


def token_transfer(node: Node, c: dict[str, str], k: int) -> None:
    """One block with one OPEN transferMany of 3 Transfers."""
    node.send_block(
        [
            (
                c["OpenToken"],
                calldata(
                    "transferMany(address[],uint256[])",
                    [addr(8000 + k * 3 + j) for j in range(3)],
                    [k + j + 1 for j in range(3)],
                ),
            )
        ]
    )


def sparse_stretches(node: Node, c: dict[str, str], rounds: int, gap: int) -> None:
    """``rounds`` times: ``gap`` empty blocks, a block of native transfers, ``gap`` empty
    blocks, one block with our logs."""
    for k in range(rounds):
        mine_empty(node, gap)
        native_transfers(node)
        mine_empty(node, gap)
        token_transfer(node, c, k)


@dataclass
class SparseChain:
    handle: DevnetHandle
    node: Node
    contracts: dict[str, str]
    head: int  # the head once built (tests that mine go past it)
    first_sparse: int  # the first block of the sparse part (after every_event)

    @property
    def url(self) -> str:
        return self.handle.urls[MAINNET]

    @property
    def addresses(self) -> list[str]:
        return sorted(self.contracts.values())

    def apply(self, monkeypatch: pytest.MonkeyPatch, warehouse: Path) -> None:
        self.handle.apply(monkeypatch)
        monkeypatch.setenv("OLW_WAREHOUSE", str(warehouse))


@pytest.fixture(scope="session")
def sparse_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparseChain]:
    with running_devnet(tmp_path_factory.mktemp("sparse-chain")) as h:
        node = Node(h.urls[MAINNET])
        c = contracts(h.contracts_dir, MAINNET)
        every_event(node, c)  # every event type, an "infinite" (2^256 - 1) Approval included
        first = node.head() + 1
        sparse_stretches(node, c, rounds=16, gap=45)
        yield SparseChain(h, node, c, node.head(), first)


def cursors(wh: Path, network: str = MAINNET) -> dict[str, tuple[int, str]]:
    con = connect(wh, read_only=True, wait_s=10)
    try:
        return {
            s: (int(n), h)
            for s, n, h in con.execute(
                "select stream, block_number, block_hash from raw.cursors where network = ?",
                [network],
            ).fetchall()
        }
    finally:
        con.close()


def unmatched_receipts(wh: Path) -> int:
    con = connect(wh, read_only=True, wait_s=10)
    try:
        return int(
            con.execute(
                "select count(*) from raw.transactions t full join raw.receipts r "
                "using (chain_id, block_hash, tx_hash) where t.tx_hash is null or r.tx_hash is null"
            ).fetchall()[0][0]
        )
    finally:
        con.close()
