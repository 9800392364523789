"""JSON-RPC access to a network's node: fetch, adaptive log ranges, finality, reorg checks."""

from pipelines.chain.fetch import AdaptiveRange, ChainMoved, ChainReader, Chunk
from pipelines.chain.rpc import RetryPolicy, RpcClient, RpcError, RpcUnavailable, TooMuchError

__all__ = [
    "AdaptiveRange",
    "ChainMoved",
    "ChainReader",
    "Chunk",
    "RetryPolicy",
    "RpcClient",
    "RpcError",
    "RpcUnavailable",
    "TooMuchError",
]
