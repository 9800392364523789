"""Raw JSON-RPC over HTTP: keep-alive httpx, orjson, retries with jittered backoff.

Errors are sorted into three kinds: "too much" (the caller should ask for less: bisect a log
range), transient (retry here with backoff until the call's deadline), and fatal (raise at once).
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from pipelines.config import redact_url


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

    def close(self) -> None:
        self._client.close()

    def _reserve_ids(self, n: int = 1) -> int:
        with self._lock:
            first = self._id + 1
            self._id += n
            return first

    def _post(self, body: bytes) -> Any:
        try:
            resp = self._client.post(self.url, content=body)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout ({type(exc).__name__})", timeout=True) from None
        except httpx.TransportError as exc:
            raise _Transient(f"transport error ({type(exc).__name__}: {exc})") from None
        self.stats["requests"] += 1
        self.stats["bytes"] += len(resp.content)
        if resp.status_code == 429:
            ra = resp.headers.get("retry-after")
            try:
                retry_after = float(ra) if ra is not None else None
            except ValueError:
                retry_after = None
            raise _Transient("HTTP 429 rate limited", retry_after)
        if resp.status_code == 413:
            raise TooMuchError("HTTP 413 payload too large")
        if resp.status_code >= 500:
            # Some providers answer an over-large query with a 5xx and a JSON-RPC error body.
            try:
                err = orjson.loads(resp.content).get("error") or {}
                if is_too_much(err.get("code"), str(err.get("message", ""))):
                    raise TooMuchError(str(err.get("message")))
            except (orjson.JSONDecodeError, AttributeError):
                pass
            raise _Transient(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise RpcUnavailable(
                f"{redact_url(self.url)} answered HTTP {resp.status_code}: not a JSON-RPC "
                "endpoint? Check the RPC URL."
            )
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise _Transient(f"malformed or truncated JSON ({len(resp.content)} bytes)") from None

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

    def batch(self, calls: list[tuple[str, list[Any]]], *, what: str = "batch") -> list[Any]:
        """Several calls in one HTTP request (cheap for many tiny calls); results in order."""
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
            return out

        return self._with_retries(what, attempt)
