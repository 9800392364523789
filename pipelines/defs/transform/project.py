"""The dbt project's manifest, produced by `dbt parse` from the repo itself (no committed
target/): parsed when missing or older than any project file, under a file lock because the
code server and the daemon of `dagster dev` load the definitions at the same time."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from pipelines.resources import DBT_PROJECT_DIR


def dbt_executable() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def _newest_source_mtime(project: Path) -> float:
    files = [project / "dbt_project.yml", project / "profiles.yml"]
    for sub in ("models", "macros", "seeds", "tests"):
        files += [p for p in (project / sub).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


def manifest_path(project: Path = DBT_PROJECT_DIR) -> Path:
    target = project / "target"
    manifest = target / "manifest.json"
    target.mkdir(exist_ok=True)
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project):
            return manifest
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        proc = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--quiet",
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not manifest.exists():
            raise RuntimeError(
                f"`dbt parse` of {project} failed (exit {proc.returncode}); fix the project "
                f"and reload:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
            )
        return manifest
