"""Logs of the session devnet, fetched once per network (tests only read them)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.devnet.harness import DevnetHandle
from tests.devnet.helpers import all_logs


@pytest.fixture(scope="session")
def chain_logs(devnet: DevnetHandle) -> dict[str, list[dict[str, Any]]]:
    return {network: all_logs(url) for network, url in devnet.urls.items()}
