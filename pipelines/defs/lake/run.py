"""``olw backfill --parallel N``: one ``seal_history`` run, N partitions at a time."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import typer

from pipelines.config import NetworkConfig
from pipelines.defs.lake.jobs import seal_history

PRELOAD = ["pipelines.defs.lake.jobs", "pipelines.lake.seal", "pipelines.ingest", "pyiceberg.table"]


_forkserver_started = False


def _start_method() -> dict[str, object]:
    """Steps fork from a server that has imported the sealing code once (a fresh interpreter
    per step spent ~2 s of CPU importing it). The server lives as long as this process and
    keeps the environment it started with, so a second run here (a test, a benchmark, with
    other OLW_LAKE_* settings) spawns its steps afresh instead."""
    global _forkserver_started
    if _forkserver_started:
        return {"spawn": {}}
    _forkserver_started = True
    return {"forkserver": {"preload_modules": PRELOAD}}


def backfill_parallel(
    net: NetworkConfig,
    first: int,
    last: int,
    parallel: int,
    dagster_home: Path | None = None,
    echo: bool = True,
) -> int:
    """Seal every final partition inside blocks first..last; the exit code."""
    from pipelines.ingest import open_reader
    from pipelines.lake import LakeSettings, keys_between, tail_start
    from pipelines.query_cli import dagster_env

    s = LakeSettings.from_env()
    reader, _ = open_reader(net)
    try:
        fin = reader.finalized()
    finally:
        reader.close()
    keys = keys_between(first, min(last, fin), s.blocks_per_partition)
    say = typer.echo if echo else (lambda *_a, **_k: None)
    if not keys:
        say(
            f"{net.name}: no {s.blocks_per_partition}-block partition of blocks {first}..{last} "
            f"is final yet (finalized block {fin})",
            err=True,
        )
        return 0
    say(
        f"{net.name}: sealing {len(keys)} partitions ({keys[0]} .. {keys[-1]}) into "
        f"{s.redacted_catalog()}, {parallel} at a time"
    )
    env = dagster_env(dagster_home)
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "DAGSTER_DISABLE_TELEMETRY")})
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(seal_history),
            instance=instance,
            run_config={
                "ops": {"plan_partitions": {"config": {"network": net.name, "keys": keys}}},
                "execution": {
                    "config": {
                        "max_concurrent": parallel,
                        "start_method": _start_method(),
                    }
                },
            },
            raise_on_error=False,
        )
        ok = result.success
        say(f"  run {result.run_id}: {'ok' if ok else 'FAILED'}")
    start = tail_start(net.chain_id, s)
    if start is not None:
        say(
            f"  sealed history ends at block {start - 1}; the local tail starts at {start}: "
            f"olw ingest --network {net.name} --from {start}"
        )
    return 0 if ok else 1
