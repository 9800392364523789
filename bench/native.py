"""Native-value benchmark: every transaction, its value and gas, and the internal transfers
(traces) of an OP Stack-mode anvil standing in for the OpenLedger L2, ingested end to end
(``native.transactions`` with ``traces: trace_block`` and ``traces: debug``), against the
node's raw ceiling for the same calls (eth_getBlockByNumber with full transactions and the
trace method, in the same batches and threads, parsed with orjson, storing nothing).

The chain: ``OLW_BENCH_NATIVE_BLOCKS`` (400) blocks of 10 WOPEN deposits, 5 withdrawals (an
internal transfer each) and 15 plain value transfers. The receipts stream (gas used for every
transaction) is timed apart. Figures are ratios against the ceiling measured in the same run.
More blocks do not make a fairer figure on anvil: it keeps the state of recent blocks only, and
tracing a block far behind the head (about a thousand blocks of this traffic) makes it replay
history, seconds per block, until requests time out.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

USER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
OTHER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
WOPEN = "0x4200000000000000000000000000000000000006"
DEPOSIT = "0xd0e30db0"  # deposit()
WITHDRAW = "0x2e1a7d4d"  # withdraw(uint256)


class _Node:
    def __init__(self, url: str):
        self.url = url
        self.c = httpx.Client(timeout=300, headers={"content-type": "application/json"})

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        out = orjson.loads(self.c.post(self.url, content=orjson.dumps(body)).content)
        for m in out:
            if "error" in m:
                raise RuntimeError(m["error"])
        return [m["result"] for m in sorted(out, key=lambda m: m["id"])]

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]


def _start() -> tuple[subprocess.Popen[bytes], str]:
    from pipelines.devnet.nodes import anvil_path, free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            str(anvil_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            "1612",
            "--network",
            "optimism",
            "--auto-impersonate",
            "--order",
            "fifo",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            _Node(url).call("eth_chainId")
            return proc, url
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("anvil did not start")


def generate(node: _Node, blocks: int) -> int:
    from pipelines.devnet.realchain import artifacts

    node.call("anvil_setBalance", USER, hex(10**30))
    code = artifacts()["WopenStandin"]["bytecode"]
    h = node.call("eth_sendTransaction", {"from": USER, "data": code, "gas": hex(5_000_000)})
    receipt = None
    while receipt is None:  # under load anvil serves the receipt a moment after the hash
        receipt = node.call("eth_getTransactionReceipt", h)
        time.sleep(0.05)
    addr = receipt["contractAddress"]
    node.call("anvil_setCode", WOPEN, node.call("eth_getCode", addr, "latest"))
    node.call("evm_setAutomine", False)
    for b in range(blocks):
        calls: list[tuple[str, list[Any]]] = []
        for _ in range(10):
            calls.append(
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": USER,
                            "to": WOPEN,
                            "data": DEPOSIT,
                            "value": hex(10**18),
                            "gas": hex(100_000),
                        }
                    ],
                )
            )
        for _ in range(5):
            data = WITHDRAW + (10**17 + b).to_bytes(32, "big").hex()
            calls.append(
                (
                    "eth_sendTransaction",
                    [{"from": USER, "to": WOPEN, "data": data, "gas": hex(100_000)}],
                )
            )
        for i in range(15):
            calls.append(
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": USER,
                            "to": OTHER,
                            "value": hex(b * 100 + i + 1),
                            "gas": hex(21_000),
                        }
                    ],
                )
            )
        node.batch(calls)
        node.call("evm_mine")
    node.call("evm_setAutomine", True)
    return int(node.call("eth_blockNumber"), 16)


def raw_ceiling(url: str, head: int, method: str, workers: int = 3) -> tuple[int, float]:
    """The same calls the native fetch makes (blocks in full, then the traces, 50 per batch),
    parsed with orjson, nothing stored: (transactions, seconds)."""
    from pipelines.chain.fetch import BLOCKS_PER_BATCH, TRACE_TXS_PER_BATCH

    def trace(n: int) -> tuple[str, list[Any]]:
        if method == "trace_block":
            return ("trace_block", [hex(n)])
        return ("debug_traceBlockByNumber", [hex(n), {"tracer": "callTracer"}])

    def job(a: int) -> int:
        node = _Node(url)
        nums = list(range(a, min(head, a + BLOCKS_PER_BATCH - 1) + 1))
        blocks = node.batch([("eth_getBlockByNumber", [hex(n), True]) for n in nums])
        i = 0
        while i < len(nums):  # grouped as the fetch groups them
            j, k = i, 0
            while j < len(nums) and (
                j == i or k + len(blocks[j]["transactions"]) <= TRACE_TXS_PER_BATCH
            ):
                k += len(blocks[j]["transactions"])
                j += 1
            node.batch([trace(n) for n in nums[i:j]])
            i = j
        return sum(len(b["transactions"]) for b in blocks)

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        n = sum(pool.map(job, range(0, head + 1, BLOCKS_PER_BATCH)))
    return n, time.monotonic() - t0


def main(blocks: int = int(os.environ.get("OLW_BENCH_NATIVE_BLOCKS", 400))) -> None:
    from pipelines.config import NativeConfig, get_network
    from pipelines.ingest import ingest_range
    from pipelines.store import connect

    con = Console()
    proc, url = _start()
    try:
        node = _Node(url)
        t0 = time.monotonic()
        head = generate(node, blocks)
        con.print(f"generated {blocks:,} blocks (head {head:,}) in {time.monotonic() - t0:.1f} s")
        table = Table(title="native value + traces (OP Stack-mode anvil)")
        for col in (
            "method",
            "txs",
            "traces",
            "raw ceiling tx/s",
            "logs stream tx/s",
            "ratio",
            "receipts tx/s",
        ):
            table.add_column(col, justify="right")
        with tempfile.TemporaryDirectory(prefix="olw-bench-native-") as tmp:
            for method in ("trace_block", "debug"):
                n_raw, s_raw = raw_ceiling(url, head, method)
                net = replace(
                    get_network("openledger-mainnet"),
                    native=NativeConfig(transactions=True, traces=method),
                )
                wh = Path(tmp) / f"{method}.duckdb"
                t1 = time.monotonic()
                ingest_range(net, 0, head, wh, rpc_url=url, receipts=False)
                s_logs = time.monotonic() - t1
                t2 = time.monotonic()
                ingest_range(net, None, head, wh, rpc_url=url)  # the receipts stream catches up
                s_rc = time.monotonic() - t2
                db = connect(wh, read_only=True)
                n_tx, n_tr, n_rc = (
                    db.execute(f"select count(*) from raw.{t}").fetchall()[0][0]
                    for t in ("transactions", "traces", "receipts")
                )
                db.close()
                assert n_tx == n_raw == n_rc, (n_tx, n_raw, n_rc)
                table.add_row(
                    method,
                    f"{n_tx:,}",
                    f"{n_tr:,}",
                    f"{n_raw / s_raw:,.0f}",
                    f"{n_tx / s_logs:,.0f}",
                    f"{(n_tx / s_logs) / (n_raw / s_raw):.2f}",
                    f"{n_rc / s_rc:,.0f}",
                )
        con.print(table)
        con.print(f"load average {os.getloadavg()[0]:.1f} (shared machine: compare ratios)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
