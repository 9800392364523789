"""Reader benchmark: `olw query` while `olw ingest --follow` commits new blocks.

A fresh in-memory devnet gets ``OLW_BENCH_READER_LOGS`` (300k) Transfer logs, a follower
(`olw ingest --follow`, a child process) catches up, and a generator then mines one block of
200 Transfers every 0.5 s. Measured in the same run:
- the follower's lag (head − cursor, blocks, sampled every 0.2 s) with no reader (baseline),
  during a long query (``OLW_BENCH_READER_QUERY_S``, 20 s of CPU) that keeps the live file
  (``--snapshot never``: the writer waits, as before the snapshot) and one that moves to a
  snapshot (``auto``, the default), twice each, interleaved, and the seconds the follower
  needs after the query to be back within the baseline's worst lag;
- reader latency of a short query (count of raw.logs) on the live file and from a snapshot
  (the copy of the warehouse that a long query pays once), and the copy's speed.
Figures are ratios against the baseline of the same run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.ingest import DEPLOYER, _Node, generate

NETWORK = "devnet-mainnet"


def _cursor(wh: Path) -> int | None:
    import duckdb

    try:
        con = duckdb.connect(str(wh), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(
            "select block_number from raw.cursors where network = ? and stream = 'logs'", [NETWORK]
        ).fetchone()
        return None if row is None else int(row[0])
    except duckdb.Error:
        return None
    finally:
        con.close()


class Lag:
    """Samples head − cursor every 0.2 s in a thread (the cursor read is a short live query)."""

    def __init__(self, node: _Node, wh: Path):
        self.node, self.wh = node, wh
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            cur = _cursor(self.wh)
            head = int(self.node.call("eth_blockNumber"), 16)
            if cur is not None:
                self.samples.append((time.monotonic(), head - cur))
            time.sleep(0.2)

    def __enter__(self) -> Lag:
        self._t.start()
        return self

    def __exit__(self, *a: object) -> None:
        self._stop.set()
        self._t.join()

    def between(self, t0: float, t1: float) -> list[int]:
        return [lag for t, lag in self.samples if t0 <= t < t1]


def _miner(url: str, token: str, stop: threading.Event) -> None:
    from eth_abi import encode
    from eth_utils import keccak

    node = _Node(url)
    to = ["0x" + keccak(text=f"reader:{i}")[-20:].hex() for i in range(200)]
    data = (
        "0x"
        + (
            keccak(text="transferMany(address[],uint256[])")[:4]
            + encode(["address[]", "uint256[]"], [to, [1 + i for i in range(200)]])
        ).hex()
    )
    tx = {"from": DEPLOYER, "to": token, "data": data, "gas": hex(8_000_000)}
    while not stop.is_set():
        node.batch([("eth_sendTransaction", [tx])])
        time.sleep(0.5)


def _spin_rows(seconds: float) -> int:
    import duckdb

    con = duckdb.connect()
    n = 30_000_000
    t0 = time.monotonic()
    con.execute(f"select count(*) from range({n}) t(i) where hash(i) % 3 = 0").fetchall()
    rate = n / max(1e-3, time.monotonic() - t0)
    con.close()
    return int(rate * seconds)


def main(
    n_logs: int = int(os.environ.get("OLW_BENCH_READER_LOGS", 300_000)),
    query_s: float = float(os.environ.get("OLW_BENCH_READER_QUERY_S", 20)),
) -> None:
    from pipelines.devnet.harness import running_devnet
    from pipelines.query_cli import run_query

    con = Console(width=120)
    home = Path(tempfile.mkdtemp(prefix="olw-bench-reader-"))
    follower = None
    stop = threading.Event()
    try:
        with running_devnet(home, persist=False) as h:
            url = h.urls[NETWORK]
            token = json.loads((h.contracts_dir / f"{NETWORK}.json").read_text())["contracts"][
                "OpenToken"
            ]["address"]
            node = _Node(url)
            con.print(f"generating {n_logs:,} Transfer logs …")
            generate(url, token, n_logs)
            wh = home / "w.duckdb"
            env = {**os.environ, **h.env, "OLW_WAREHOUSE": str(wh)}
            follower = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "ingest", "-n", NETWORK, "--follow", "-q"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            t0 = time.monotonic()
            while _cursor(wh) != int(node.call("eth_blockNumber"), 16):
                if follower.poll() is not None or time.monotonic() - t0 > 600:
                    raise RuntimeError(f"the follower did not catch up: {follower.stderr}")
                time.sleep(0.5)
            con.print(f"  follower caught up in {time.monotonic() - t0:.1f} s")
            size_mib = wh.stat().st_size / 2**20
            miner = threading.Thread(target=_miner, args=(url, token, stop), daemon=True)
            miner.start()
            spin = _spin_rows(query_s)
            long_sql = f"select count(*) from range({spin}) t(i) where hash(i) % 3 = 0"
            res: dict[str, Any] = {}
            with Lag(node, wh) as lag:
                time.sleep(10)
                base = lag.between(0, time.monotonic())
                worst = max(base)
                for run, mode in enumerate(("auto", "never", "auto", "never")):
                    q0 = time.monotonic()
                    run_query(long_sql, wh, wait_s=60, snapshot=mode)
                    q1 = time.monotonic()
                    while True:  # back within the baseline's worst lag
                        time.sleep(0.2)
                        if lag.samples and lag.samples[-1][0] > q1 and lag.samples[-1][1] <= worst:
                            break
                        if time.monotonic() - q1 > 300:
                            break
                    res[f"{mode} {run // 2 + 1}"] = {
                        "query_s": q1 - q0,
                        "lag_max": max(lag.between(q0, q1), default=0),
                        "recover_s": time.monotonic() - q1,
                    }
                    time.sleep(5)
                live, snap, copy_s = [], [], []
                from pipelines.store.db import snapshot

                for _ in range(5):
                    a = time.monotonic()
                    run_query("select count(*) from raw.logs", wh, snapshot="never")
                    live.append(time.monotonic() - a)
                    a = time.monotonic()
                    run_query("select count(*) from raw.logs", wh, snapshot="always")
                    snap.append(time.monotonic() - a)
                    a = time.monotonic()
                    p = snapshot(wh)
                    copy_s.append(time.monotonic() - a)
                    shutil.rmtree(p.parent)
            stop.set()
            miner.join()
            follower.send_signal(signal.SIGINT)
            _, err = follower.communicate(timeout=60)
            alive = follower.returncode == 0

        t = Table(title=f"olw query while olw ingest --follow runs ({size_mib:,.0f} MiB warehouse)")
        for c in ("measure", "value", "ratio to baseline"):
            t.add_column(c)
        t.add_row(
            "follower lag, no reader (median / max)",
            f"{statistics.median(base)} / {worst} blocks",
            "1.00",
        )
        labels = {"never": "long query on the live file", "auto": "long query, snapshot"}
        for key in sorted(res):
            r = res[key]
            mode, n = key.split()
            t.add_row(
                f"{labels[mode]} (run {n}): {r['query_s']:.1f} s, max lag",
                f"{r['lag_max']} blocks",
                f"{r['lag_max'] / max(1, worst):.2f}",
            )
            t.add_row("  … back within the baseline's max lag after", f"{r['recover_s']:.1f} s", "")
        ml, ms, mc = statistics.median(live), statistics.median(snap), statistics.median(copy_s)
        t.add_row("short query, live file (median of 5)", f"{ml * 1000:.0f} ms", "1.00")
        t.add_row(
            "short query, from a snapshot (median of 5)", f"{ms * 1000:.0f} ms", f"{ms / ml:.2f}"
        )
        t.add_row("snapshot copy", f"{mc * 1000:.0f} ms ({size_mib / mc:,.0f} MiB/s)", "")
        t.add_row(
            "follower exit after the run",
            "0 (alive throughout)" if alive else f"FAILED: {err[-300:]}",
            "",
        )
        con.print(t)
    finally:
        stop.set()
        if follower is not None and follower.poll() is None:
            os.killpg(follower.pid, signal.SIGKILL)
            follower.wait()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
