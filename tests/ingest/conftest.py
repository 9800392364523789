"""A devnet of our own for ingestion tests: traffic with every event type plus bulk transfers.

The shared ``devnet`` fixture is read-only; this one is also only read by tests (reorg tests
start their own), built once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.devnet.harness import DevnetHandle, running_devnet
from tests.ingest.traffic import Node, bulk_transfers, contracts, every_event

MAINNET = "devnet-mainnet"
TESTNET = "devnet-testnet"


@dataclass
class IngestChain:
    handle: DevnetHandle
    node: Node
    contracts: dict[str, str]
    head: int
    logs: int

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
def ingest_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestChain]:
    with running_devnet(tmp_path_factory.mktemp("ingest-chain")) as h:
        node = Node(h.urls[MAINNET])
        c = contracts(h.contracts_dir, MAINNET)
        every_event(node, c)
        n = bulk_transfers(node, c, blocks=60, per_tx=50, txs=2)
        every_event(node, c)
        tnode = Node(h.urls[TESTNET])
        every_event(tnode, contracts(h.contracts_dir, TESTNET))
        yield IngestChain(h, node, c, node.head(), n)


from tests.ingest.sparse import sparse_chain  # noqa: E402, F401  (session fixture, tests mine on it)
