"""Test helpers: the hand-written sample warehouse, optionally with the dbt marts built on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.quality.sample import build_sample_warehouse
from pipelines.resources import DBT_PROJECT_DIR


def dbt_build(warehouse: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """`dbt build` of dbt_models/ against ``warehouse``, writing artifacts under ``target``
    (never the project's own target/, which a running Dagster may be reading)."""
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "OLW_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def sample_with_marts(directory: Path) -> Path:
    path = build_sample_warehouse(directory / "sample.duckdb")
    proc = dbt_build(path, directory / "dbt-target")
    assert proc.returncode == 0, proc.stdout[-4000:]
    return path


def copy_of(path: Path, directory: Path, name: str) -> Path:
    out = directory / name
    shutil.copy(path, out)
    return out
