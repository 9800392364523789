"""A fault-injecting JSON-RPC proxy for tests: sits between ingest and a real node.

At ``rate`` it answers a request with one of: HTTP 500, HTTP 429 with Retry-After, a delay past
the client's timeout, a truncated body, a "too many results" JSON-RPC error, or a dropped
connection; otherwise it forwards to the node unchanged. Binds 127.0.0.1 on a free port.

It also lies, well-formed: ``lies`` maps a kind of :data:`LIES` to how many answers to falsify
(the next ones it applies to, kinds in turn): an eth_getLogs answer with a log repeated, with a
log marked ``removed``, shifted past the asked range, empty for blocks within ``unindexed`` of
the head (a provider that has not indexed them yet) or without its last block's logs (indexed
part way); a header with a wrong parentHash.
``never_fits`` names a block whose header is always served with another parent (its hash
recomputed, so the header is self-consistent): a parent link that never fits.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

FAULTS = ("http500", "http429", "delay", "truncate", "too_many", "drop")
LIES = ("dup_logs", "removed", "outside_range", "empty", "partial", "wrong_parent")


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        rate: float = 0.2,
        faults: tuple[str, ...] = FAULTS,
        delay_s: float = 1.5,
        seed: int = 0,
        retry_after_s: float = 0.2,
        max_span: int | None = None,
        lies: dict[str, int] | None = None,
        unindexed: int = 12,
        never_fits: int | None = None,
    ):
        self.upstream = upstream
        self.rate = rate
        self.faults = faults
        self.delay_s = delay_s
        self.retry_after_s = retry_after_s
        self.max_span = max_span  # eth_getLogs over more blocks than this: "too many results"
        self.rng = random.Random(seed)
        self._turn = 0
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {f: 0 for f in (*faults, "ok")}
        self.client = httpx.Client(timeout=60, headers={"content-type": "application/json"})
        self.lies_left = dict(lies or {})
        unknown = set(self.lies_left) - set(LIES)
        if unknown:
            raise ValueError(f"unknown lies {sorted(unknown)}; known: {LIES}")
        self.lied: dict[str, int] = {k: 0 for k in LIES}
        self.unindexed = unindexed
        self.never_fits = never_fits
        self.never_fits_served = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                proxy._handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _pick(self) -> str:
        with self.lock:
            # which faults: at random; which kind: in turn, so every kind shows up early
            if self.rng.random() < self.rate:
                f = self.faults[self._turn % len(self.faults)]
                self._turn += 1
            else:
                f = "ok"
            self.counts[f] += 1
            return f

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        code: int,
        body: bytes,
        extra: dict[str, str],
        length: int | None = None,
    ) -> None:
        h.send_response(code)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(body) if length is None else length))
        for k, v in extra.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = self._pick()
        if self.max_span is not None and fault == "ok" and self._span(body) > self.max_span:
            fault = "too_many"
        if fault == "http500":
            return self._send(h, 500, b"internal error", {})
        if fault == "http429":
            return self._send(h, 429, b"slow down", {"retry-after": str(self.retry_after_s)})
        if fault == "drop":
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "too_many":
            req = orjson.loads(body)
            err = {"code": -32005, "message": "query returned more than 10000 results"}
            if isinstance(req, list):
                out = orjson.dumps(
                    [{"jsonrpc": "2.0", "id": r.get("id"), "error": err} for r in req]
                )
            else:
                out = orjson.dumps({"jsonrpc": "2.0", "id": req.get("id"), "error": err})
            return self._send(h, 200, out, {})
        if fault == "delay":
            time.sleep(self.delay_s)
        resp = self.client.post(self.upstream, content=body)
        if fault == "truncate":
            cut = resp.content[: max(1, len(resp.content) // 2)]
            return self._send(h, 200, cut, {})
        content = resp.content
        if resp.status_code == 200 and (self.lies_left or self.never_fits is not None):
            content = self._lie(body, content)
        return self._send(h, resp.status_code, content, {})

    # -- lies ------------------------------------------------------------------------------
    def _take(self, kind: str) -> bool:
        with self.lock:
            if self.lies_left.get(kind, 0) <= 0:
                return False
            self.lies_left[kind] -= 1
            self.lied[kind] += 1
            return True

    def _upstream(self, method: str, params: list[Any]) -> Any:
        r = self.client.post(
            self.upstream,
            content=orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
        )
        return orjson.loads(r.content).get("result")

    def _lie(self, body: bytes, content: bytes) -> bytes:
        try:
            req, msg = orjson.loads(body), orjson.loads(content)
        except orjson.JSONDecodeError:
            return content
        pairs = list(zip(req, msg, strict=False)) if isinstance(req, list) else [(req, msg)]
        changed = False
        for r, m in pairs:
            if not isinstance(r, dict) or not isinstance(m, dict) or m.get("result") is None:
                continue
            if r.get("method") == "eth_getLogs" and isinstance(m["result"], list):
                new = self._lie_logs(r["params"][0], m["result"])
                if new is not None:
                    m["result"], changed = new, True
            elif r.get("method") == "eth_getBlockByNumber" and isinstance(m["result"], dict):
                changed = self._lie_header(m["result"]) or changed
        if not changed:
            return content
        return orjson.dumps(msg)

    def _lie_logs(self, flt: dict[str, Any], logs: list[Any]) -> list[Any] | None:
        if not logs:
            return None
        a, b = int(flt["fromBlock"], 16), int(flt["toBlock"], 16)
        for kind in LIES:
            if self.lies_left.get(kind, 0) <= 0:
                continue
            if kind == "dup_logs" and self._take(kind):
                k = len(logs) // 2
                return [*logs[: k + 1], dict(logs[k]), *logs[k + 1 :]]
            if kind == "removed" and self._take(kind):
                return [{**logs[0], "removed": True}, *logs[1:]]
            if kind == "outside_range":
                # asked a..b, served a+k..b+k (k = half the span, at least 1)
                k = max(1, (b - a + 1) // 2)
                past = self._upstream(
                    "eth_getLogs", [{**flt, "fromBlock": hex(b + 1), "toBlock": hex(b + k)}]
                )
                if past and self._take(kind):
                    return [lg for lg in logs if int(lg["blockNumber"], 16) >= a + k] + past
            if kind == "empty":
                head = int(self._upstream("eth_blockNumber", []), 16)
                if b > head - self.unindexed and self._take(kind):
                    return []
            if kind == "partial":  # indexed up to a block inside the asked range
                head = int(self._upstream("eth_blockNumber", []), 16)
                last = int(logs[-1]["blockNumber"], 16)
                first = int(logs[0]["blockNumber"], 16)
                if first < last and last > head - self.unindexed and self._take(kind):
                    return [lg for lg in logs if int(lg["blockNumber"], 16) < last]
        return None

    def _lie_header(self, hdr: dict[str, Any]) -> bool:
        from pipelines.chain.fetch import header_hash

        number = int(hdr.get("number", "0x0"), 16)
        if self.never_fits is not None and number == self.never_fits:
            hdr["parentHash"] = "0x" + "0f" * 32
            hdr["hash"] = header_hash(hdr) or hdr["hash"]
            with self.lock:
                self.never_fits_served += 1
            return True
        if number > 0 and self._take("wrong_parent"):
            hdr["parentHash"] = "0x" + "ab" * 32
            return True
        return False

    @staticmethod
    def _span(body: bytes) -> int:
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 0
        reqs = req if isinstance(req, list) else [req]
        span = 0
        for r in reqs:
            if isinstance(r, dict) and r.get("method") == "eth_getLogs":
                f = r["params"][0]
                span = max(span, int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1)
        return span

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
