"""Sealing history into the lake in parallel: ``olw backfill --parallel N`` for N = 1, 2, 4.

A fresh in-memory devnet gets ``OLW_BENCH_LAKE_LOGS`` (200,000) Transfer logs, cut into
``OLW_BENCH_LAKE_PARTITIONS`` (8) partitions. The baseline is the single-store ingest of the
same blocks (logs and receipts, as a partition seals both) in the same run; each N then seals
every partition into a fresh lake with ``olw backfill --parallel N`` (one ``seal_history``
Dagster run, a process per partition, N at a time; the CLI's start-up included). Printed:
partitions/minute, logs/s, and logs/s against the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

NETWORK = "devnet-mainnet"
CHAIN_ID = 1612
FINALITY_DEPTH = 12


def main() -> None:
    from bench.ingest import _Node, generate
    from pipelines.devnet.harness import patched_env, running_devnet
    from pipelines.ingest import ingest_range
    from pipelines.lake import LakeSettings, keys_between, open_catalog, watermarks

    n_logs = int(os.environ.get("OLW_BENCH_LAKE_LOGS", "200000"))
    n_parts = int(os.environ.get("OLW_BENCH_LAKE_PARTITIONS", "8"))
    con = Console()
    tmp = Path(tempfile.mkdtemp(prefix="olw-bench-lake-"))
    try:
        with running_devnet(tmp / "devnet", persist=False) as h, patched_env(h.env):
            url = h.urls[NETWORK]
            contracts = json.loads((h.contracts_dir / f"{NETWORK}.json").read_text())
            token = contracts["contracts"]["OpenToken"]["address"]
            _, end, gen_s = generate(url, token, n_logs)
            size = -(-(end + 1) // n_parts)
            sealed_end = n_parts * size - 1
            node = _Node(url)
            node.call("anvil_mine", hex(max(1, sealed_end + FINALITY_DEPTH - end)))
            con.print(
                f"chain: {n_logs:,} Transfers up to block {end} (mined in {gen_s:.1f} s); "
                f"{n_parts} partitions of {size} blocks"
            )
            t0 = time.monotonic()
            single = ingest_range(NETWORK, None, sealed_end, tmp / "single.duckdb", rpc_url=url)
            base_s = time.monotonic() - t0
            logs = single.logs
            base = logs / base_s
            rows = [("single store (ingest_range)", "-", base_s, base, 1.0)]
            for n in (1, 2, 4):
                lake = {
                    "OLW_LAKE_DIR": str(tmp / f"lake{n}"),
                    "OLW_LAKE_PARTITION_BLOCKS": str(size),
                }
                with patched_env(lake):
                    t0 = time.monotonic()
                    subprocess.run(
                        [sys.executable, "-m", "pipelines.cli", "backfill", "--network", NETWORK,
                         "--from", "2025-01-01", "--to", "2030-12-31", "--parallel", str(n),
                         "--dagster-home", str(tmp / "dagster")],
                        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    took = time.monotonic() - t0
                    mark = watermarks(open_catalog(LakeSettings.from_env()))[CHAIN_ID]
                assert mark.block == sealed_end and mark.partitions == n_parts, mark
                rate = logs / took
                rows.append((f"olw backfill --parallel {n}", f"{n_parts / took * 60:.1f}",
                             took, rate, rate / base))  # fmt: skip
            assert len(keys_between(0, sealed_end, size)) == n_parts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title=f"seal {logs:,} logs ({n_parts} partitions) into the lake")
    for col in ("run", "partitions/min", "seconds", "logs/s", "vs single store"):
        table.add_column(col, justify="right")
    for name, ppm, secs, rate, ratio in rows:
        table.add_row(name, ppm, f"{secs:.1f}", f"{rate:,.0f}", f"{ratio:.2f}x")
    con.print(table)


if __name__ == "__main__":
    main()
