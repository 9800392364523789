"""Ingestion benchmark: backfill >= 1M logs from a fresh devnet into the store, decoded.

Prints one table: end-to-end logs/s of the logs stream (fetch + decode + DuckDB: blocks, senders,
logs and decoded rows, from a forked child so its peak RSS is its own), then the receipts stream
catching up with it (gas used and L1 fees, which anvil serves at about half the rate of the
logs: they repeat every log), the web3.py baseline (get_logs + process_log over a sample,
extrapolated), the raw serving ceiling (eth_getLogs + orjson over the same range and request
sizes, storing nothing), peak RSS, and the ratios against the targets. Then a sparse chain
(``OLW_BENCH_SPARSE_BLOCKS``, 10,000 blocks of which ~1 % carry our logs, the rest empty or
native transfers) backfilled from scratch: blocks/s and requests per 1,000 blocks next to the
raw ceiling for the same range (eth_getLogs at the configured span, then eth_getBlockReceipts
for each block with our logs). The ceiling and the
end-to-end run are measured in turn, ``OLW_BENCH_ROUNDS`` (2) times, and compared best to best.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from eth_abi import encode
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

NETWORK = "devnet-mainnet"
DEPLOYER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
PER_TX = 100
TXS_PER_BLOCK = 20


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


def generate(url: str, token: str, n_logs: int) -> tuple[int, int, float]:
    """Mine blocks of TXS_PER_BLOCK transferMany(PER_TX) calls until n_logs Transfers exist."""
    node = _Node(url)
    to = ["0x" + keccak(text=f"bench:{i}")[-20:].hex() for i in range(PER_TX)]
    data = (
        "0x"
        + (
            keccak(text="transferMany(address[],uint256[])")[:4]
            + encode(["address[]", "uint256[]"], [to, [10**18 + i for i in range(PER_TX)]])
        ).hex()
    )
    tx = {"from": DEPLOYER, "to": token, "data": data, "gas": hex(3_000_000)}
    start = int(node.call("eth_blockNumber"), 16) + 1
    node.call("evm_setAutomine", False)
    t0 = time.monotonic()
    blocks = -(-n_logs // (PER_TX * TXS_PER_BLOCK))
    for _ in range(blocks):
        node.batch([("eth_sendTransaction", [tx])] * TXS_PER_BLOCK)
        node.call("evm_mine")
    node.call("evm_setAutomine", True)
    end = int(node.call("eth_blockNumber"), 16)
    return start, end, time.monotonic() - t0


def _ingest_child(conn: Any, warehouse: str, end: int) -> None:
    """The logs stream (blocks, senders, logs, decoded), then the receipts stream catching up
    with it: the same two streams one `olw ingest` runs, timed apart."""
    from pipelines.ingest import ingest_range

    s = ingest_range(NETWORK, end=end, warehouse=warehouse, receipts=False)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = ingest_range(NETWORK, end=end, warehouse=warehouse)
    conn.send(
        {
            "logs": s.logs,
            "decoded": s.decoded,
            "dead": s.dead_letters,
            "s": s.elapsed_s,
            "rss_mib": rss_kib / 1024,
            "commits": s.commits,
            "rpc": s.rpc,
            "receipts": r.receipts,
            "receipts_s": r.elapsed_s,
            "rss_all_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _forked(target: Any, *args: Any) -> dict[str, Any]:
    """``target(conn, *args)`` in a forked process of its own (so its peak RSS is its own);
    what it sends back on ``conn``."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    out: dict[str, Any] = parent.recv()
    proc.join()
    return out


def raw_ceiling(
    url: str, addresses: list[str], start: int, end: int, span: int, workers: int = 3
) -> tuple[int, float]:
    """eth_getLogs + orjson over start..end in span-block requests, workers in flight."""
    client = httpx.Client(
        timeout=300,
        headers={"content-type": "application/json"},
        limits=httpx.Limits(max_connections=workers),
    )

    def one(a: int) -> int:
        b = min(end, a + span - 1)
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [{"fromBlock": hex(a), "toBlock": hex(b), "address": addresses}],
        }
        return len(orjson.loads(client.post(url, content=orjson.dumps(body)).content)["result"])

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        n = sum(pool.map(one, range(start, end + 1, span)))
    return n, time.monotonic() - t0


def receipts_ceiling(url: str, start: int, end: int, workers: int = 3) -> tuple[int, float]:
    """eth_getBlockReceipts + orjson per block, workers in flight: the node work the receipts
    (gas used, fees, sender) add on top of eth_getLogs, storing nothing."""
    client = httpx.Client(
        timeout=300,
        headers={"content-type": "application/json"},
        limits=httpx.Limits(max_connections=workers),
    )

    def one(n: int) -> int:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockReceipts", "params": [hex(n)]}
        rs = orjson.loads(client.post(url, content=orjson.dumps(body)).content)["result"] or []
        return sum(len(r["logs"]) for r in rs)

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        n = sum(pool.map(one, range(start, end + 1)))
    return n, time.monotonic() - t0


def web3_baseline(
    url: str, token: str, start: int, end: int, sample_logs: int
) -> tuple[int, float]:
    from web3 import Web3

    from pipelines.config import schemas_dir

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 300}))
    abi = json.loads((schemas_dir() / "abis/OpenToken.json").read_text())
    ev = w3.eth.contract(abi=abi).events.Transfer()
    blocks = max(1, sample_logs // (PER_TX * TXS_PER_BLOCK))
    t0 = time.monotonic()
    n = 0
    for a in range(start, min(end, start + blocks - 1) + 1):
        for lg in w3.eth.get_logs(
            {"fromBlock": a, "toBlock": a, "address": Web3.to_checksum_address(token)}
        ):
            ev.process_log(lg)
            n += 1
    return n, time.monotonic() - t0


def _mix_child(conn: Any, warehouse: str) -> None:
    """The logs stream over the simulator's whole mainnet: every event type, arrays included."""
    import duckdb

    from pipelines.ingest import ingest_range

    s = ingest_range(NETWORK, warehouse=warehouse, receipts=False)
    con = duckdb.connect(warehouse, read_only=True)
    dynamic = sum(
        con.execute(f"select count(*) from decoded.{t}").fetchall()[0][0]
        for t in (
            "attribution_engine__contributors_rewarded",
            "model_registry__model_registered",
            "datanet_registry__datanet_created",
        )
    )
    con.close()
    conn.send(
        {
            "logs": s.logs,
            "decoded": s.decoded,
            "dead": s.dead_letters,
            "s": s.elapsed_s,
            "blocks": s.blocks,
            "head": s.cursor,
            "dynamic": dynamic,
        }
    )


def mix(con: Console, events: int) -> dict[str, Any]:
    """Ingest the simulator's default scenario scaled to ``events`` inference-related events
    (a fresh devnet), with the raw getLogs ceiling over the same blocks."""
    from pipelines.devnet.harness import running_devnet

    home = Path(tempfile.mkdtemp(prefix="olw-bench-mix-"))
    try:
        con.print(f"simulating the default scenario with --events {events:,} on a fresh devnet …")
        t0 = time.monotonic()
        with running_devnet(home, scenario="default", seed=7, events=events, persist=False) as h:
            sim_s = time.monotonic() - t0
            os.environ.update(h.env)
            url = h.urls[NETWORK]
            contracts = json.loads((h.contracts_dir / f"{NETWORK}.json").read_text())["contracts"]
            addresses = sorted(c["address"] for c in contracts.values())
            out = _forked(_mix_child, str(home / "mix.duckdb"))
            # requests of about the size the adaptive range settles on (~2,000 logs)
            span = max(1, round(2000 * out["blocks"] / max(1, out["logs"])))
            raw_n, raw_s = raw_ceiling(url, addresses, 0, out["head"], span)
        out.update(sim_s=sim_s, raw_n=raw_n, raw_s=raw_s, span=span)
        return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _sparse_child(conn: Any, warehouse: str, end: int) -> None:
    """A backfill of the sparse chain (both streams, as one `olw ingest` runs it)."""
    from pipelines.ingest import ingest_range

    s = ingest_range(NETWORK, end=end, warehouse=warehouse)
    conn.send(
        {
            "s": s.elapsed_s,
            "blocks": s.blocks,
            "logs": s.logs,
            "receipts": s.receipts,
            "requests": s.rpc.get("requests", 0),
            "cursor": s.cursor,
            "dead": s.dead_letters,
        }
    )


def make_sparse(url: str, token: str, blocks: int, gap: int = 48) -> tuple[int, int]:
    """Extend the chain by about ``blocks`` blocks of which ~1 % carry our logs: rounds of
    ``gap`` empty blocks, a block of native transfers (transactions, no logs of ours), ``gap``
    empty blocks and a block with one transferMany(3) of OPEN. Returns (first, last) block."""
    node = _Node(url)
    first = int(node.call("eth_blockNumber"), 16) + 1
    for k in range(max(1, blocks // (2 * gap + 2))):
        node.call("anvil_mine", hex(gap))
        nonce = int(node.call("eth_getTransactionCount", DEPLOYER, "pending"), 16)
        node.call("evm_setAutomine", False)
        node.batch(
            [
                (
                    "eth_sendTransaction",
                    [{"from": DEPLOYER, "to": "0x" + keccak(text=f"native:{k}:{i}")[-20:].hex(),
                      "value": hex(1), "gas": hex(21_000), "nonce": hex(nonce + i)}],
                )
                for i in range(3)
            ]
        )  # fmt: skip
        node.call("evm_mine")
        node.call("anvil_mine", hex(gap))
        to = ["0x" + keccak(text=f"sparse:{k}:{i}")[-20:].hex() for i in range(3)]
        data = (
            "0x"
            + (
                keccak(text="transferMany(address[],uint256[])")[:4]
                + encode(["address[]", "uint256[]"], [to, [10**18 + k] * 3])
            ).hex()
        )
        node.batch(
            [("eth_sendTransaction", [{"from": DEPLOYER, "to": token, "data": data,
                                       "gas": hex(500_000), "nonce": hex(nonce + 3)}])]
        )  # fmt: skip
        node.call("evm_mine")
        node.call("evm_setAutomine", True)
    return first, int(node.call("eth_blockNumber"), 16)


def sparse_raw_ceiling(
    url: str, addresses: list[str], end: int, span: int, workers: int = 3
) -> dict[str, Any]:
    """What the node must serve for blocks 0..end at the least: eth_getLogs in ``span``-block
    requests (the configured cap), then eth_getBlockReceipts for each block with our logs,
    ``workers`` in flight, storing nothing."""
    client = httpx.Client(
        timeout=300,
        headers={"content-type": "application/json"},
        limits=httpx.Limits(max_connections=workers),
    )

    def post(method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return orjson.loads(client.post(url, content=orjson.dumps(body)).content)["result"]

    def logs(a: int) -> list[Any]:
        b = min(end, a + span - 1)
        return post("eth_getLogs", [{"fromBlock": hex(a), "toBlock": hex(b), "address": addresses}])

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        found = [lg for part in pool.map(logs, range(0, end + 1, span)) for lg in part]
        with_logs = sorted({lg["blockHash"] for lg in found})
        list(pool.map(lambda h: post("eth_getBlockReceipts", [h]), with_logs))
    return {
        "s": time.monotonic() - t0,
        "requests": len(range(0, end + 1, span)) + len(with_logs),
        "logs": len(found),
        "blocks_with_logs": len(with_logs),
    }


def sparse(con: Console, blocks: int, rounds: int) -> dict[str, Any]:
    """The sparse-chain backfill on a fresh devnet: ~``blocks`` blocks, ~1 % with our logs."""
    from pipelines.config import get_network
    from pipelines.devnet.harness import running_devnet

    home = Path(tempfile.mkdtemp(prefix="olw-bench-sparse-"))
    try:
        with running_devnet(home, persist=False) as h:
            os.environ.update(h.env)
            url = h.urls[NETWORK]
            contracts = json.loads((h.contracts_dir / f"{NETWORK}.json").read_text())["contracts"]
            addresses = sorted(c["address"] for c in contracts.values())
            con.print(f"making a sparse chain of ~{blocks:,} blocks (~1 % with our logs) …")
            _, end = make_sparse(url, contracts["OpenToken"]["address"], blocks)
            span = get_network(NETWORK).max_blocks
            runs, raws = [], []
            for r in range(rounds):
                raws.append(sparse_raw_ceiling(url, addresses, end, span))
                runs.append(_forked(_sparse_child, str(home / f"sparse{r}.duckdb"), end))
                con.print(
                    f"  round {r + 1}: raw ceiling {(end + 1) / raws[-1]['s']:,.0f} blocks/s, "
                    f"backfill {runs[-1]['blocks'] / runs[-1]['s']:,.0f} blocks/s"
                )
        best = max(runs, key=lambda x: x["blocks"] / x["s"])
        raw = max(raws, key=lambda x: (end + 1) / x["s"])
        best.update(end=end, raw=raw, span=span)
        return best
    finally:
        shutil.rmtree(home, ignore_errors=True)


def sparse_table(out: dict[str, Any], rounds: int) -> Table:
    blocks, raw = out["end"] + 1, out["raw"]
    t = Table(
        title=f"sparse-chain backfill: blocks 0..{out['end']:,}, "
        f"{raw['blocks_with_logs']:,} with our logs "
        f"({100 * (1 - raw['blocks_with_logs'] / blocks):.1f} % without), best of {rounds}"
    )
    t.add_column("measure")
    t.add_column("backfill (both streams)", justify="right")
    t.add_column("raw ceiling", justify="right")
    t.add_row("blocks/s", f"{out['blocks'] / out['s']:,.0f}", f"{blocks / raw['s']:,.0f}")
    t.add_row(
        "requests per 1,000 blocks",
        f"{1000 * out['requests'] / blocks:,.1f}",
        f"{1000 * raw['requests'] / blocks:,.1f}",
    )
    t.add_row("requests", f"{out['requests']:,}", f"{raw['requests']:,}")
    t.add_row("logs / receipts", f"{out['logs']:,} / {out['receipts']:,}", f"{raw['logs']:,} / -")
    t.add_row("elapsed s", f"{out['s']:.2f}", f"{raw['s']:.2f}")
    t.add_row(
        "backfill / raw ceiling (blocks/s)",
        f"{(out['blocks'] / out['s']) / (blocks / raw['s']):.2f}",
        f"getLogs spans {out['span']:,} blocks + 1 getBlockReceipts per block with logs",
    )
    return t


def main(
    n_logs: int = int(os.environ.get("OLW_BENCH_LOGS", 1_000_000)),
    mix_events: int = int(os.environ.get("OLW_BENCH_MIX_EVENTS", 200_000)),
    rounds: int = int(os.environ.get("OLW_BENCH_ROUNDS", 2)),
    sparse_blocks: int = int(os.environ.get("OLW_BENCH_SPARSE_BLOCKS", 10_000)),
) -> None:
    from pipelines.devnet.harness import running_devnet

    con = Console()
    load_start = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="olw-bench-"))
    try:
        # persist=False: anvil would rewrite its whole state (1 GB of JSON for this chain)
        # every 30 s, stalling its RPC for seconds mid-run (runs of 88k-155k logs/s)
        with running_devnet(home, persist=False) as h:
            os.environ.update(h.env)
            url = h.urls[NETWORK]
            contracts = json.loads((h.contracts_dir / f"{NETWORK}.json").read_text())["contracts"]
            token = contracts["OpenToken"]["address"]
            addresses = sorted(c["address"] for c in contracts.values())
            # The custom generator, not `olw devnet simulate --events N`: it mines 25-110k
            # Transfer logs/s (20 transferMany(100) txs per block, automine off; 1M logs in
            # ~40 s under load 9), while --events scales inference batches at anvil's per-block
            # pace (12h/24h ticks). A Transfer-only mix is what a busy token chain serves.
            con.print(f"generating {n_logs:,} Transfer logs on a fresh devnet (custom generator) …")
            start, end, gen_s = generate(url, token, n_logs)
            con.print(f"  blocks {start:,}..{end:,} in {gen_s:.1f} s")

            # The machine is shared: a run's speed varies by up to a third with what else the
            # host does. Each round measures the raw ceiling and then the ingest, and the
            # table compares the best of each; every round is printed.
            span = 1  # one block = 2,000 logs: the request size anvil serves fastest
            runs: list[dict[str, Any]] = []
            raws: list[tuple[int, float]] = []
            for r in range(rounds):
                raws.append(raw_ceiling(url, addresses, 0, end, span))
                runs.append(_forked(_ingest_child, str(home / f"wh{r}.duckdb"), end))
                con.print(
                    f"  round {r + 1}: raw ceiling {raws[-1][0] / raws[-1][1]:,.0f} logs/s, "
                    f"end-to-end {runs[-1]['logs'] / runs[-1]['s']:,.0f} logs/s, "
                    f"peak RSS {runs[-1]['rss_mib']:,.0f} MiB"
                )
            e2e = max(runs, key=lambda x: x["logs"] / x["s"])
            e2e["rss_mib"] = max(x["rss_mib"] for x in runs)
            e2e["rss_all_mib"] = max(x["rss_all_mib"] for x in runs)
            raw_n, raw_s = max(raws, key=lambda x: x[0] / x[1])
            rc_n, rc_s = receipts_ceiling(url, start, end)
            w3_n, w3_s = web3_baseline(url, token, start, end, 20_000)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    mixed = mix(con, mix_events) if mix_events > 0 else None

    load_end = os.getloadavg()
    e2e_rate = e2e["logs"] / e2e["s"]
    # both calls per block, as the ingest path makes them: the node-bound ceiling for a store
    # that must hold every emitting transaction's receipt in the same commit as its logs
    both_rate = raw_n / (raw_s + rc_s) if raw_s + rc_s > 0 else 0.0
    raw_rate = raw_n / raw_s
    w3_rate = w3_n / w3_s
    t = Table(
        title=f"ingest benchmark: {e2e['logs']:,} logs, 2 cores, anvil on this machine, "
        f"best of {rounds} rounds (peak RSS: the highest)"
    )
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("target", justify="right")
    t.add_row(
        "end-to-end logs/s (logs stream: fetch+decode+DuckDB)", f"{e2e_rate:,.0f}", ">= 100,000"
    )
    t.add_row(
        "  logs / decoded / dead letters",
        f"{e2e['logs']:,} / {e2e['decoded']:,} / {e2e['dead']:,}",
        "",
    )
    t.add_row("  elapsed s / commits", f"{e2e['s']:.1f} / {e2e['commits']}", "")
    t.add_row(
        "receipts stream catching up: receipts / s",
        f"{e2e['receipts']:,} / {e2e['receipts_s']:.1f}",
        "",
    )
    total_rate = e2e["logs"] / (e2e["s"] + e2e["receipts_s"])
    t.add_row("  both streams, logs/s", f"{total_rate:,.0f}", "")
    t.add_row(f"web3.py get_logs+process_log logs/s ({w3_n:,}-log sample)", f"{w3_rate:,.0f}", "")
    t.add_row(f"  extrapolated to {e2e['logs']:,} logs", f"{e2e['logs'] / w3_rate:,.0f} s", "")
    t.add_row("raw ceiling logs/s (eth_getLogs+orjson, 3 in flight)", f"{raw_rate:,.0f}", "")
    t.add_row(
        "  eth_getBlockReceipts alone logs/s (same blocks, 3 in flight)",
        f"{rc_n / rc_s:,.0f}" if rc_s > 0 else "-",
        "",
    )
    t.add_row("  ceiling with receipts (getLogs then getBlockReceipts)", f"{both_rate:,.0f}", "")
    t.add_row(
        "peak RSS of the ingest process (logs stream / both)",
        f"{e2e['rss_mib']:,.0f} / {e2e['rss_all_mib']:,.0f} MiB",
        "< 1,536 MiB",
    )
    t.add_row("end-to-end / web3.py", f"{e2e_rate / w3_rate:,.1f}x", ">= 30x")
    t.add_row("end-to-end / raw ceiling", f"{e2e_rate / raw_rate:.2f}", ">= 0.50")
    t.add_row("both streams / ceiling with receipts", f"{total_rate / both_rate:.2f}", "")
    if mixed is not None:
        m_rate = mixed["logs"] / mixed["s"]
        m_raw = mixed["raw_n"] / mixed["raw_s"]
        t.add_row(
            f"simulator mix ({mix_events:,} inference events, {mixed['sim_s']:.0f} s to make): "
            "logs / with arrays or strings",
            f"{mixed['logs']:,} / {mixed['dynamic']:,}",
            "",
        )
        t.add_row("  mix end-to-end logs/s (logs stream)", f"{m_rate:,.0f}", "")
        t.add_row(f"  mix raw ceiling logs/s ({mixed['span']}-block requests)", f"{m_raw:,.0f}", "")
        t.add_row("  mix end-to-end / raw ceiling", f"{m_rate / m_raw:.2f}", "")
    t.add_row(
        "load average (1/5/15 min) at start / end",
        f"{'/'.join(f'{x:.1f}' for x in load_start)} / {'/'.join(f'{x:.1f}' for x in load_end)}",
        "2 cores",
    )
    Console().print(t)
    if sparse_blocks > 0:
        Console().print(sparse_table(sparse(con, sparse_blocks, rounds), rounds))


if __name__ == "__main__":
    main()
