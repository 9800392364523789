"""Raw ingestion per network and the decoded event tables, as Dagster assets over
pipelines.ingest (which fetches, stores and decodes in one transaction per batch)."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import dagster as dg

from pipelines.config import NetworkConfig, schemas_dir
from pipelines.resources import BUSY_RETRY, WarehouseResource, rpc_resource_key, snake


def raw_key(network: str) -> dg.AssetKey:
    return dg.AssetKey(["duckdb", "raw", f"logs__{snake(network)}"])


def decoded_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["duckdb", "decoded", table])


def decoded_events() -> list[Any]:
    """Every event of every ABI in schemas/abis (the table set is configuration: a new ABI adds
    its tables without code changes)."""
    from pipelines.decode.abi import load_abi_events

    return [
        ev
        for abi in sorted((schemas_dir() / "abis").glob("*.json"))
        for ev in load_abi_events(f"abis/{abi.name}")
    ]


@lru_cache(maxsize=1)
def decoded_tables() -> dict[str, str]:
    """decoded.<table> → one-sentence description of a row."""
    out: dict[str, str] = {}
    for ev in decoded_events():
        params = ", ".join(p.column for p in ev.params)
        out[ev.table] = (
            f"One row per {ev.name} event emitted by a {ev.abi_name} contract on an indexed "
            f"chain (canonical blocks only), with its parameters {params}."
        )
    return out


@contextmanager
def only_transient_retries(net: NetworkConfig) -> Iterator[None]:
    """Let the step's RetryPolicy (BUSY_RETRY) retry only what a retry can fix: a warehouse
    held by another process, a node that did not answer. Any other error is deterministic (a
    wrong chain, a bad config, a store that refuses the data): the step fails at once, with
    what fixes it, and the run gives up the writer slot instead of sleeping in it."""
    from pipelines.chain import RpcUnavailable
    from pipelines.ingest import fix_for
    from pipelines.store import WarehouseLocked

    try:
        yield
    except (WarehouseLocked, RpcUnavailable):
        raise
    except Exception as exc:
        raise dg.Failure(
            description=f"{type(exc).__name__}: {exc}. Fix: {fix_for(net, exc)}",
            allow_retries=False,
        ) from exc


def ingest_to_head(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
    net: NetworkConfig,
    warehouse: WarehouseResource,
    rpc_url: str,
    end: int | None = None,
) -> dict[str, Any]:
    """Run the domain ingest for one network up to ``end`` (default: the head); metadata out."""
    from pipelines.config import get_network, redact_url
    from pipelines.ingest import ingest_range

    # Contracts are re-read now, not at definition load: a redeployed devnet (or a test's
    # OLW_CONTRACTS_DIR) must not need a code-server reload.
    net = get_network(net.name)

    context.log.info(f"ingesting {net.name} from {redact_url(rpc_url)} up to {end or 'the head'}")
    with only_transient_retries(net):
        s = ingest_range(
            net,
            end=end,
            warehouse=warehouse.resolved_path(),
            rpc_url=rpc_url,
            lock_wait_s=warehouse.lock_wait_s,
        )
    with warehouse.connect(read_only=False) as con:
        row = con.execute(
            "select count(*), max(block_number) from raw.logs where chain_id = ?", [net.chain_id]
        ).fetchone()
    total_logs, max_block = row or (0, None)
    context.log.info(
        f"{net.name}: +{s.blocks} blocks, +{s.logs} logs, {s.decoded} decoded, "
        f"{s.dead_letters} dead letters, {s.reorgs} reorgs; cursor {s.cursor}, head {s.head}"
    )
    return {
        "dagster/row_count": int(total_logs),
        "network": net.name,
        "chain_id": net.chain_id,
        "rpc": redact_url(rpc_url),
        "blocks_added": s.blocks,
        "logs_added": s.logs,
        "decoded_added": s.decoded,
        "dead_letters_added": s.dead_letters,
        "reorgs": s.reorgs,
        "retracted_blocks": s.retracted_blocks,
        "cursor_block": s.cursor if s.cursor is not None else -1,
        "head_block": s.head,
        "finalized_block": s.finalized,
        "max_log_block": int(max_block) if max_block is not None else -1,
        "logs_per_s": round(s.logs_per_s, 1),
    }


def build_raw_asset(net: NetworkConfig) -> dg.AssetsDefinition:
    rpc_key = rpc_resource_key(net.name)

    @dg.asset(
        key=raw_key(net.name),
        group_name="raw",
        description=(
            f"One row per log a configured contract emitted on {net.name} (chain {net.chain_id}), "
            "kept exactly as served in raw.logs, with block headers in raw.blocks and "
            "transaction receipts in raw.receipts."
        ),
        required_resource_keys={"warehouse", rpc_key},
        retry_policy=BUSY_RETRY,
        kinds={"duckdb"},
        metadata={"network": net.name, "chain_id": net.chain_id, "rpc_url_env": net.rpc_url_env},
    )
    def _raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        rpc = getattr(context.resources, rpc_key)
        meta = ingest_to_head(context, net, context.resources.warehouse, rpc.resolved_url())
        return dg.MaterializeResult(metadata=meta)

    return _raw


class DecodedConfig(dg.Config):
    rebuild: bool = (
        False  # replay every decoded table from the raw tables (olw ingest --rebuild-decoded)
    )


def build_decoded_assets(networks: list[NetworkConfig]) -> dg.AssetsDefinition:
    tables = decoded_tables()
    specs = [
        dg.AssetSpec(
            decoded_key(t),
            description=d,
            group_name="decoded",
            deps=[raw_key(n.name) for n in networks],
            kinds={"duckdb"},
            skippable=True,
        )
        for t, d in tables.items()
    ]

    @dg.multi_asset(
        specs=specs,
        name="decoded_events",
        required_resource_keys={"warehouse"},
        retry_policy=BUSY_RETRY,
        can_subset=True,
    )
    def _decoded(context: dg.AssetExecutionContext, config: DecodedConfig) -> Any:
        # The ingest decodes each batch in the transaction that stores it, so this step only
        # makes sure every table exists (dbt reads all of them) and reports their row counts;
        # with rebuild it replays them from raw.
        from pipelines.store import migrate

        warehouse: WarehouseResource = context.resources.warehouse
        if config.rebuild:
            from pipelines.ingest import rebuild_decoded

            context.log.info(
                f"rebuilt decoded tables: {rebuild_decoded(warehouse.resolved_path())}"
            )
        with warehouse.connect() as con:
            migrate(con)
            for ev in decoded_events():
                con.execute(ev.ddl())  # create if not exists: dbt reads every table
            dead = con.execute("select count(*) from raw.dead_letters").fetchone()
            for key in context.selected_asset_keys:
                table = key.path[-1]
                exists = con.execute(
                    "select count(*) from duckdb_tables() "
                    "where schema_name = 'decoded' and table_name = ?",
                    [table],
                ).fetchone()
                n = 0
                if exists and exists[0]:
                    row = con.execute(f'select count(*) from decoded."{table}"').fetchone()
                    n = int(row[0]) if row else 0
                yield dg.MaterializeResult(
                    asset_key=key,
                    metadata={
                        "dagster/row_count": n,
                        "dead_letters_total": int(dead[0]) if dead else 0,
                    },
                )

    return _decoded
