"""Measured figures (precision, recall, reconciliation) kept for the run's closing summary.

Output written during a test is captured, so tests hand their lines to report_measurement and
tests/conftest.py prints them in pytest_terminal_summary. This lives outside conftest.py because
pytest imports conftest under its own module name: a key defined there would exist twice.
"""

from __future__ import annotations

import pytest

MEASURED = pytest.StashKey[list[str]]()


def report_measurement(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(MEASURED, []).append(line)
