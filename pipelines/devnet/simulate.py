"""Traffic simulator (being written): see ``olw devnet simulate --help``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.devnet.errors import DevnetError

SCENARIOS = ("default", "heavy-sybil", "bot-heavy")


def run(scenario: str, seed: int, events: int | None, truth_path: Path | None) -> Any:
    raise DevnetError("the traffic simulator is not finished yet")
