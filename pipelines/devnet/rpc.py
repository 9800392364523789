"""A small, fast JSON-RPC client (httpx + orjson) for anvil: single calls and batches.

web3.py costs about a millisecond per call in Python; the simulator sends hundreds of thousands
of requests, so the hot path speaks JSON-RPC directly.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from pipelines.config import redact_url
from pipelines.devnet.errors import DevnetError


class RpcError(DevnetError):
    """The node answered with a JSON-RPC error."""


class Rpc:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"content-type": "application/json"})
        self._id = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Rpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, payload: Any) -> Any:
        try:
            resp = self._client.post(self.url, content=orjson.dumps(payload))
        except httpx.HTTPError as exc:
            raise DevnetError(
                f"node at {redact_url(self.url)} did not answer ({type(exc).__name__}); "
                "is the devnet up? (olw devnet status)"
            ) from None
        if resp.status_code != 200:
            raise RpcError(f"node at {redact_url(self.url)} answered HTTP {resp.status_code}")
        return orjson.loads(resp.content)

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        out = self._post(
            {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
        )
        if "error" in out:
            raise RpcError(f"{method} failed: {out['error'].get('message', out['error'])}")
        return out["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Send many calls in one HTTP request; results in call order; any error raises."""
        if not calls:
            return []
        base = self._id
        payload = [
            {"jsonrpc": "2.0", "id": base + i, "method": m, "params": p}
            for i, (m, p) in enumerate(calls)
        ]
        self._id += len(calls)
        out = self._post(payload)
        by_id = {r["id"]: r for r in out}
        results = []
        for i, (m, _) in enumerate(calls):
            r = by_id.get(base + i)
            if r is None:
                raise RpcError(f"batch: no answer to {m}")
            if "error" in r:
                raise RpcError(f"{m} failed: {r['error'].get('message', r['error'])}")
            results.append(r["result"])
        return results


def chain_id(url: str, timeout: float = 2.0) -> int | None:
    """The node's chain id, or None if nothing answers at ``url``."""
    try:
        resp = httpx.post(
            url,
            content=orjson.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            ),
            headers={"content-type": "application/json"},
            timeout=timeout,
        )
        return int(orjson.loads(resp.content)["result"], 16)
    except (httpx.HTTPError, KeyError, ValueError, TypeError, orjson.JSONDecodeError):
        return None
