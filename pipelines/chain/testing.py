"""A fault-injecting JSON-RPC proxy for tests: sits between ingest and a real node.

At ``rate`` it answers a request with one of: HTTP 500, HTTP 429 with Retry-After, a delay past
the client's timeout, a truncated body, a "too many results" JSON-RPC error, or a dropped
connection; otherwise it forwards to the node unchanged. Binds 127.0.0.1 on a free port.
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
        return self._send(h, resp.status_code, resp.content, {})

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
