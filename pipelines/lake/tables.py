"""The lake's Iceberg tables: created on first write, widened when the store gains a column,
and written one partition at a time by an idempotent overwrite."""

from __future__ import annotations

import random
import time
from typing import Any

import pyarrow as pa

from pipelines.lake.schema import PARTITION_COLUMN

MARKERS = ("lake", "partitions")  # one row per sealed partition
COMMIT_ATTEMPTS = 12


def identifier(schema: str, table: str) -> tuple[str, str]:
    return (schema, table)


def partition_filter(chain_id: int, partition_start: int) -> Any:
    from pyiceberg.expressions import And, EqualTo

    chain: Any = EqualTo("chain_id", int(chain_id))  # type: ignore[call-arg, arg-type, misc]
    start: Any = EqualTo(PARTITION_COLUMN, int(partition_start))  # type: ignore[call-arg, arg-type, misc]
    return And(chain, start)


def ensure_table(catalog: Any, ident: tuple[str, str], schema: pa.Schema) -> Any:
    """The table, created (partitioned by chain and partition start) if it is missing, with
    any column of ``schema`` it lacks added. Safe against writers creating it at once."""
    from pyiceberg.catalog import Catalog
    from pyiceberg.exceptions import (
        CommitFailedException,
        NamespaceAlreadyExistsError,
        NoSuchTableError,
        TableAlreadyExistsError,
    )
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import assign_fresh_schema_ids
    from pyiceberg.transforms import IdentityTransform

    try:
        catalog.create_namespace_if_not_exists(ident[0])
    except (NamespaceAlreadyExistsError, Exception):
        # two writers creating it at once: the loser sees a unique-key violation
        if not catalog.namespace_exists(ident[0]):
            raise
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            table = catalog.load_table(ident)
        except NoSuchTableError:
            ice = assign_fresh_schema_ids(Catalog._convert_schema_if_needed(schema))
            fields = [
                PartitionField(
                    source_id=ice.find_field(name).field_id,
                    field_id=1000 + i,
                    transform=IdentityTransform(),
                    name=name,
                )
                for i, name in enumerate(("chain_id", PARTITION_COLUMN))
                if name in schema.names
            ]
            try:
                return catalog.create_table(
                    ident, schema=ice, partition_spec=PartitionSpec(*fields)
                )
            except (TableAlreadyExistsError, CommitFailedException):
                _backoff(attempt)
                continue
            except Exception as exc:  # SQLite/PostgreSQL unique violation of a racing create
                if "unique" not in str(exc).lower() and "integrity" not in str(exc).lower():
                    raise
                _backoff(attempt)
                continue
        missing = [f for f in schema if f.name not in table.schema().column_names]
        if not missing:
            return table
        try:
            with table.update_schema() as update:
                update.union_by_name(pa.schema(missing))
            return catalog.load_table(ident)
        except CommitFailedException:
            _backoff(attempt)
    raise RuntimeError(f"could not create or widen lake table {'.'.join(ident)}")


def conform(rows: pa.Table, table: Any) -> pa.Table:
    """``rows`` in the table's column order and Arrow types; its columns ``rows`` lacks null."""
    target = table.schema().as_arrow()
    cols = []
    for field in target:
        if field.name in rows.column_names:
            cols.append(rows.column(field.name).cast(field.type))
        else:
            cols.append(pa.nulls(rows.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=target)


def overwrite_partition(table: Any, rows: pa.Table, chain_id: int, partition_start: int) -> int:
    """Replace the partition's rows with ``rows`` in one commit (a re-run writes the same
    rows again); retried against the latest snapshot when another writer committed first.
    Returns the commits made (0 when there was nothing to write or replace)."""
    from pyiceberg.exceptions import CommitFailedException

    where = partition_filter(chain_id, partition_start)
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            if rows.num_rows == 0:
                if not any(True for _ in table.scan(row_filter=where).plan_files()):
                    return 0  # nothing there to replace: spare the catalog a commit
                table.delete(where)
            else:
                table.overwrite(conform(rows, table), overwrite_filter=where)
            return 1
        except CommitFailedException:
            _backoff(attempt)
            table.refresh()
    raise RuntimeError(
        f"lake table {table.name()}: {COMMIT_ATTEMPTS} commits of partition {partition_start} "
        "lost to concurrent writers"
    )


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
