"""DuckDB event store: raw tables, ingest journal, cursors, dead letters (see schemas/ddl/)."""

from pipelines.store.db import WarehouseError, WarehouseLocked, connect, migrate
from pipelines.store.events import (
    Batch,
    ChainMismatch,
    Cursor,
    DeepReorg,
    Lease,
    append_batch,
    bind_network,
    get_cursor,
    rebuild_decoded,
    retract_above,
)

__all__ = [
    "Batch",
    "ChainMismatch",
    "Cursor",
    "DeepReorg",
    "Lease",
    "WarehouseError",
    "WarehouseLocked",
    "append_batch",
    "bind_network",
    "connect",
    "get_cursor",
    "migrate",
    "rebuild_decoded",
    "retract_above",
]
