"""Raw JSON-RPC over HTTP: keep-alive httpx, orjson, retries with jittered backoff.

Errors are sorted into three kinds: "too much" (the caller should ask for less: bisect a log
range), transient (retry here with backoff until the call's deadline), and fatal (raise at once).
"""

from __future__ import annotations

import base64
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import orjson

from pipelines.config import redact_url

T = TypeVar("T")


class RpcError(Exception):
    """The node answered with a JSON-RPC error that retrying will not fix."""

    def __init__(self, method: str, code: int | None, message: str):
        super().__init__(f"{method}: JSON-RPC error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message


class TooMuchError(Exception):
    """The request asked for too much (result count, range, response size or time)."""


class RpcUnavailable(Exception):
    """The node could not be reached or kept failing until the deadline; says what and where."""


class MalformedResult(Exception):
    """A result's text that does not parse (truncated or corrupted on the way)."""


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, timeout: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.timeout = timeout


# Providers word "asked for too much" differently: geth/reth "query returned more than 10000
# results", Alchemy "Log response size exceeded", Infura "-32005 limit exceeded", the
# OpenLedger RPC's block-range cap, anvil's own limits.
_TOO_MUCH = re.compile(
    r"too many|more than \d+|limit|exceed|too large|too big|response size|block range|"
    r"range (is )?too|max(imum)? (block|range|results)|timeout|timed out|query returned",
    re.IGNORECASE,
)
_TRANSIENT_CODES = {-32000, -32603, 429}


def is_too_much(code: int | None, message: str) -> bool:
    return code == -32005 or bool(_TOO_MUCH.search(message or ""))


class _KeepAlivePost:
    """POSTs over keep-alive ``http.client`` connections, one per thread.

    For :meth:`RpcClient.call_raw`'s large results: reading a 1 MB body costs http.client about
    a sixth of the CPU httpx spends (which parses the stream in Python, 64 KB at a time)."""

    def __init__(self, url: str, timeout_s: float, connect_s: float, max_connections: int):
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise RpcUnavailable(f"{redact_url(url)} is not an http(s) URL")
        self.cls = HTTPSConnection if u.scheme == "https" else HTTPConnection
        self.host, self.port = u.hostname, u.port
        self.path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self.headers = {"content-type": "application/json"}
        if u.username is not None:
            cred = f"{unquote(u.username)}:{unquote(u.password or '')}".encode()
            self.headers["authorization"] = "Basic " + base64.b64encode(cred).decode()
        self.timeout_s, self.connect_s = timeout_s, connect_s
        self.slots = threading.BoundedSemaphore(max_connections)
        self._local = threading.local()
        self._all: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> HTTPConnection:
        conn: HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.cls(self.host, self.port, timeout=self.connect_s)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)

    def post(self, body: bytes) -> tuple[int, str | None, bytes]:
        """(status, Retry-After, body); transport failures raise _Transient."""
        with self.slots:
            conn = self._conn()
            try:
                if conn.sock is None:
                    conn.connect()
                    conn.sock.settimeout(self.timeout_s)  # type: ignore[attr-defined]
                conn.request("POST", self.path, body=body, headers=self.headers)
                resp = conn.getresponse()
                content = resp.read()
                out = (resp.status, resp.getheader("retry-after"), content)
                if resp.will_close:
                    self._drop()
                return out
            except TimeoutError as exc:
                self._drop()
                raise _Transient(f"timeout ({type(exc).__name__})", timeout=True) from None
            except (OSError, HTTPException) as exc:
                self._drop()
                raise _Transient(f"transport error ({type(exc).__name__}: {exc})") from None

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


_RESULT_KEY = b'"result":'


def _result_text(content: bytes) -> memoryview | None:
    """The text of an array result, sliced out of ``{"jsonrpc":..,"id":..,"result":[..]}``
    without parsing it; None for anything else (errors, objects, nulls, odd shapes)."""
    i = content.find(_RESULT_KEY, 0, 96)
    if i < 0 or b'"error"' in content[:i]:
        return None
    end = len(content.rstrip())
    if end == 0 or content[end - 1] != ord("}"):
        return None
    view = memoryview(content)[i + len(_RESULT_KEY) : end - 1]
    text = bytes(view[:1]), bytes(view[-1:])
    if text != (b"[", b"]"):
        return None
    return view


@dataclass
class RetryPolicy:
    timeout_s: float = 10.0  # one HTTP attempt
    deadline_s: float = 120.0  # all attempts of one call
    base_backoff_s: float = 0.05
    max_backoff_s: float = 5.0


class RpcClient:
    """One node endpoint; thread-safe; a small connection pool for a few requests in flight."""

    def __init__(self, url: str, policy: RetryPolicy | None = None, max_connections: int = 4):
        self.url = url
        self.policy = policy or RetryPolicy()
        self._id = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout_s, connect=min(5.0, self.policy.timeout_s)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"content-type": "application/json"},
        )
        self.stats = {"requests": 0, "retries": 0, "too_much": 0, "bytes": 0}
        self._fast = _KeepAlivePost(
            url, self.policy.timeout_s, min(5.0, self.policy.timeout_s), max_connections
        )

    def close(self) -> None:
        self._client.close()
        self._fast.close()

    def _reserve_ids(self, n: int = 1) -> int:
        with self._lock:
            first = self._id + 1
            self._id += n
            return first

    def _post(self, body: bytes, raw: bool = False) -> Any:
        if raw:
            status, retry_after, content = self._fast.post(body)
        else:
            try:
                resp = self._client.post(self.url, content=body)
            except httpx.TimeoutException as exc:
                raise _Transient(f"timeout ({type(exc).__name__})", timeout=True) from None
            except httpx.TransportError as exc:
                raise _Transient(f"transport error ({type(exc).__name__}: {exc})") from None
            status, retry_after, content = (
                resp.status_code,
                resp.headers.get("retry-after"),
                resp.content,
            )
        self.stats["requests"] += 1
        self.stats["bytes"] += len(content)
        if status == 429:
            try:
                wait = float(retry_after) if retry_after is not None else None
            except ValueError:
                wait = None
            raise _Transient("HTTP 429 rate limited", wait)
        if status == 413:
            raise TooMuchError("HTTP 413 payload too large")
        if status >= 500:
            # Some providers answer an over-large query with a 5xx and a JSON-RPC error body.
            try:
                err = orjson.loads(content).get("error") or {}
                if is_too_much(err.get("code"), str(err.get("message", ""))):
                    raise TooMuchError(str(err.get("message")))
            except (orjson.JSONDecodeError, AttributeError):
                pass
            raise _Transient(f"HTTP {status}")
        if status != 200:
            raise RpcUnavailable(
                f"{redact_url(self.url)} answered HTTP {status}: not a JSON-RPC "
                "endpoint? Check the RPC URL."
            )
        if raw:
            return content
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            raise _Transient(f"malformed or truncated JSON ({len(content)} bytes)") from None

    def _unwrap(self, method: str, msg: Any) -> Any:
        if not isinstance(msg, dict):
            raise _Transient("response is not a JSON-RPC object")
        err = msg.get("error")
        if err is not None:
            code = err.get("code") if isinstance(err, dict) else None
            text = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            if is_too_much(code, text):
                raise TooMuchError(text)
            if code in _TRANSIENT_CODES:
                raise _Transient(f"JSON-RPC error {code}: {text}")
            raise RpcError(method, code, text)
        if "result" not in msg:
            raise _Transient("JSON-RPC response without result")
        return msg["result"]

    def _with_retries(
        self,
        what: str,
        attempt: Any,
        deadline_s: float | None = None,
        timeout_is_too_much: bool = False,
    ) -> Any:
        deadline = time.monotonic() + (deadline_s or self.policy.deadline_s)
        n = 0
        last = ""
        while True:
            try:
                return attempt()
            except TooMuchError as exc:
                if timeout_is_too_much:
                    raise
                # only eth_getLogs can ask for less; elsewhere this wording means rate limits
                err: _Transient = _Transient(f"too much: {exc}")
                last = err.reason
                n += 1
                self.stats["retries"] += 1
                if time.monotonic() + 0.1 > deadline:
                    raise RpcUnavailable(
                        f"{what} against {redact_url(self.url)} kept failing ({last})"
                    ) from None
                time.sleep(random.uniform(0.02, 0.1) * min(n, 10))
            except _Transient as exc:
                if exc.timeout and timeout_is_too_much:
                    self.stats["too_much"] += 1
                    raise TooMuchError(exc.reason) from None
                last = exc.reason
                n += 1
                self.stats["retries"] += 1
                backoff = min(
                    self.policy.max_backoff_s, self.policy.base_backoff_s * 2 ** min(n, 10)
                )
                sleep = random.uniform(backoff / 2, backoff)
                if exc.retry_after is not None:
                    sleep = max(sleep, min(exc.retry_after, self.policy.max_backoff_s * 4))
                if time.monotonic() + sleep > deadline:
                    raise RpcUnavailable(
                        f"{what} against {redact_url(self.url)} kept failing for "
                        f"{deadline_s or self.policy.deadline_s:.0f}s after {n} attempts "
                        f"(last: {last}); is the node up and the URL right?"
                    ) from None
                time.sleep(sleep)

    def call(
        self,
        method: str,
        params: list[Any],
        *,
        what: str | None = None,
        deadline_s: float | None = None,
        timeout_is_too_much: bool = False,
    ) -> Any:
        """One call with retries; raises TooMuchError for the caller to split the request."""

        def attempt() -> Any:
            body = orjson.dumps(
                {"jsonrpc": "2.0", "id": self._reserve_ids(), "method": method, "params": params}
            )
            return self._unwrap(method, self._post(body))

        return self._with_retries(what or method, attempt, deadline_s, timeout_is_too_much)

    def call_raw(
        self,
        method: str,
        params: list[Any],
        parse: Callable[[memoryview], T],
        *,
        what: str | None = None,
        deadline_s: float | None = None,
        timeout_is_too_much: bool = False,
    ) -> T:
        """One call whose result is handed to ``parse`` as raw JSON text, never as Python objects.

        For large array results (eth_getLogs, eth_getBlockReceipts) that a columnar parser reads
        faster than orjson builds dicts. ``parse`` runs inside the retry loop: if it rejects the
        text (raises :class:`MalformedResult`), the call is retried like a truncated response.
        """

        def attempt() -> T:
            body = orjson.dumps(
                {"jsonrpc": "2.0", "id": self._reserve_ids(), "method": method, "params": params}
            )
            content = self._post(body, raw=True)
            text = _result_text(content)
            if text is None:  # an error, or a shape we do not slice: the careful way
                try:
                    msg = orjson.loads(content)
                except orjson.JSONDecodeError:
                    raise _Transient(
                        f"malformed or truncated JSON ({len(content)} bytes)"
                    ) from None
                text = memoryview(orjson.dumps(self._unwrap(method, msg)))
            try:
                return parse(text)
            except MalformedResult as exc:
                raise _Transient(f"malformed result ({exc})") from None

        return self._with_retries(what or method, attempt, deadline_s, timeout_is_too_much)

    def batch(
        self,
        calls: list[tuple[str, list[Any]]],
        *,
        what: str = "batch",
        check: Callable[[list[Any]], None] | None = None,
    ) -> list[Any]:
        """Several calls in one HTTP request (cheap for many tiny calls); results in order.

        ``check`` sees the results inside the retry loop: if it rejects them (raises
        :class:`MalformedResult`), the batch is asked again, like a truncated response."""
        if not calls:
            return []

        def attempt() -> list[Any]:
            first = self._reserve_ids(len(calls))
            body = orjson.dumps(
                [
                    {"jsonrpc": "2.0", "id": first + i, "method": m, "params": p}
                    for i, (m, p) in enumerate(calls)
                ]
            )
            msgs = self._post(body)
            if not isinstance(msgs, list) or len(msgs) != len(calls):
                raise _Transient("batch response has the wrong shape")
            by_id = {m.get("id"): m for m in msgs if isinstance(m, dict)}
            out = []
            for i, (m, _) in enumerate(calls):
                msg = by_id.get(first + i)
                if msg is None:
                    raise _Transient("batch response misses an id")
                out.append(self._unwrap(m, msg))
            if check is not None:
                try:
                    check(out)
                except MalformedResult as exc:
                    raise _Transient(f"malformed result ({exc})") from None
            return out

        return self._with_retries(what, attempt)
