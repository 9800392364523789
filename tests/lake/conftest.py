"""A devnet of the lake tests' own: history traffic with every event type and amounts past
2^127 and 10^38, mined until six partitions are final, then a tail of newer traffic above.
Built once per session; tests only read it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pipelines.devnet.harness import DevnetHandle, running_devnet
from tests.ingest.traffic import Node, addr, bulk_transfers, calldata, contracts, every_event

MAINNET = "devnet-mainnet"
PARTITIONS = 6
FINALITY_DEPTH = 12  # schemas/networks.yaml, devnet-mainnet
# approvals whose amounts DuckDB's default Arrow export would wrap (>= 2^127) and that do not
# fit Iceberg's decimal(38, 0) (>= 10^38)
BIG_AMOUNTS = (2**127 + 5, 2**128 - 1)


@dataclass
class LakeChain:
    handle: DevnetHandle
    contracts: dict[str, str]
    size: int  # blocks per partition
    sealed_end: int  # last block of the six partitions
    head: int

    @property
    def url(self) -> str:
        return self.handle.urls[MAINNET]

    @property
    def addresses(self) -> list[str]:
        return sorted(self.contracts.values())


@pytest.fixture(scope="session")
def lake_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeChain]:
    with running_devnet(tmp_path_factory.mktemp("lake-chain")) as h:
        node = Node(h.urls[MAINNET])
        c = contracts(h.contracts_dir, MAINNET)
        every_event(node, c)
        node.send_block(
            [(c["OpenToken"], calldata("approve(address,uint256)", addr(7 + i), v))
             for i, v in enumerate(BIG_AMOUNTS)]
        )  # fmt: skip
        bulk_transfers(node, c, blocks=30, per_tx=40, txs=2)
        every_event(node, c)
        size = -(-(node.head() + 1) // PARTITIONS)  # six partitions hold all of it
        sealed_end = PARTITIONS * size - 1
        node.call("anvil_mine", hex(sealed_end + FINALITY_DEPTH - node.head()))
        every_event(node, c)  # the tail: above the sealed history, not final yet
        bulk_transfers(node, c, blocks=3, per_tx=40, txs=2)
        yield LakeChain(h, c, size, sealed_end, node.head())
