"""Small reads the Dagster layer needs from the chain and the store (no Dagster here)."""

from collections.abc import Callable

import duckdb

from pipelines.chain import RpcClient


def block_timestamp_reader(rpc: RpcClient) -> Callable[[int], int]:
    cache: dict[int, int] = {}

    def ts(n: int) -> int:
        if n not in cache:
            block = rpc.call("eth_getBlockByNumber", [hex(n), False])
            if block is None:
                raise ValueError(f"the node has no block {n}")
            cache[n] = int(block["timestamp"], 16)
        return cache[n]

    return ts


def head_block(rpc: RpcClient) -> int:
    return int(rpc.call("eth_blockNumber", []), 16)


def finalized_ingested(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per network, the highest block that is both committed and final: the lower of the
    stream cursors (logs, receipts), capped by the finalized height the node reported at the
    last append."""
    rows = con.execute(
        """
        select c.network, least(min(c.block_number), max(j.finalized_block))
        from raw.cursors c
        join raw.ingest_journal j on j.network = c.network and j.action = 'append'
        where j.finalized_block is not null
        group by c.network
        """
    ).fetchall()
    return {str(n): int(b) for n, b in rows if b is not None}


def deep_reorgs(
    con: duckdb.DuckDBPyConnection, network: str, depth_bound: int | None, since_hours: int = 24
) -> list[dict[str, object]]:
    """Retractions recorded in the last ``since_hours`` that reached below the finality bound:
    deeper than ``depth_bound`` blocks (depth finality), or into blocks an earlier append had
    already reported final (tag finality)."""
    rows = con.execute(
        """
        with j as (
            select *, max(finalized_block) filter (where action = 'append') over (
                order by journal_id rows between unbounded preceding and 1 preceding
            ) as finalized_before
            from raw.ingest_journal where network = $network
        )
        select journal_id, from_block, to_block, block_count, finalized_before, detail,
            recorded_at
        from j
        where action = 'retract'
          and recorded_at >= now()::timestamp - to_hours($hours)
          and (($depth is not null and block_count > $depth)
               or (finalized_before is not null and from_block <= finalized_before))
        order by journal_id
        """,
        {"network": network, "depth": depth_bound, "hours": since_hours},
    ).fetchall()
    cols = [
        "journal_id",
        "from_block",
        "to_block",
        "block_count",
        "finalized_before",
        "detail",
        "recorded_at",
    ]
    return [dict(zip(cols, r, strict=True)) for r in rows]
