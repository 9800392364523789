"""Session-wide devnet fixtures (devnet room; see docs/CONTRACTS.md).

- ``devnet``: both anvil nodes on free ports under a temp OLW_HOME / OLW_CONTRACTS_DIR, contracts
  deployed, the default scenario (seed 7) simulated once. Treat it as read-only: do not mine,
  reorg or send transactions on it. Fields: ``urls`` and ``chain_ids`` per network name,
  ``networks``, ``contracts_dir``, ``labels_dir``, ``truth_path`` / ``truth()``, ``summary``,
  ``env`` (OLW_HOME, OLW_CONTRACTS_DIR, OLW_LABELS_DIR, OLW_WAREHOUSE, OLW_RPC_DEVNET_MAINNET,
  OLW_RPC_DEVNET_TESTNET) and ``apply(monkeypatch)`` to set them for one test.
- ``devnet_nodes``: a separate pair of nodes with the contracts deployed and no traffic; cheap
  (about 2 s). Tests that change chain state (reorgs, snapshots) still should use their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.devnet.harness import DevnetHandle, running_devnet
from tests.measure import MEASURED


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetHandle]:
    with running_devnet(tmp_path_factory.mktemp("devnet"), scenario="default", seed=7) as handle:
        yield handle


@pytest.fixture(scope="session")
def devnet_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetHandle]:
    with running_devnet(tmp_path_factory.mktemp("devnet-nodes")) as handle:
        yield handle


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(MEASURED, [])
    if lines:
        terminalreporter.section("measured against the simulator's ground truth")
        for line in lines:
            terminalreporter.write_line(line)
