"""Sealed history and the local tail as one set of views, for ``olw query`` and other readers.

A view per store table (``raw.logs``, ``decoded.open_token__transfer``, ...) is the lake's
rows at or below each chain's watermark, then the local store's rows above it, so a block is
counted once whether or not the local store also holds it. Every other table and view of the
local store (metrics, marts, journal, cursors) passes through unchanged.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lake.partitions import Watermark, watermark
from pipelines.lake.schema import Column, from_lake_select, q, store_columns
from pipelines.lake.settings import LakeError, LakeSettings, open_catalog
from pipelines.lake.tables import MARKERS

LOCAL = "local_store"  # the attached local DuckDB store


def read_markers(catalog: Any) -> list[dict[str, Any]]:
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        table = catalog.load_table(MARKERS)
    except (NoSuchTableError, NoSuchNamespaceError):
        return []
    rows: list[dict[str, Any]] = table.scan().to_arrow().to_pylist()
    return rows


def watermarks(catalog: Any) -> dict[int, Watermark]:
    """Per chain id, its sealed history."""
    markers = read_markers(catalog)
    out = {}
    for cid in sorted({int(m["chain_id"]) for m in markers}):
        w = watermark(cid, markers)
        if w is not None:
            out[cid] = w
    return out


def tail_start(chain_id: int, settings: LakeSettings | None = None) -> int | None:
    """The first block the local store must hold for ``chain_id`` (the block after the
    sealed watermark), or None when the lake holds nothing of that chain."""
    s = settings or LakeSettings.from_env()
    if not s.exists():
        return None
    w = watermarks(open_catalog(s, create=False)).get(chain_id)
    return None if w is None or w.partitions == 0 else w.block + 1


def lake_tables(catalog: Any) -> list[tuple[str, str]]:
    from pyiceberg.exceptions import NoSuchNamespaceError

    out: list[tuple[str, str]] = []
    for ns in ("raw", "decoded"):
        with contextlib.suppress(NoSuchNamespaceError):
            out.extend((ns, ident[-1]) for ident in catalog.list_tables(ns))
    return sorted(out)


def open_with_history(
    warehouse: str | Path | None, wait_s: float = 30.0, settings: LakeSettings | None = None
) -> duckdb.DuckDBPyConnection | None:
    """An in-memory DuckDB connection whose ``raw.*`` and ``decoded.*`` are sealed history plus
    the local store (attached read-only), or None when there is no lake to add."""
    s = settings or LakeSettings.from_env()
    if not s.exists():
        return None
    catalog = open_catalog(s, create=False)
    tables = lake_tables(catalog)
    if not tables:
        return None
    marks = watermarks(catalog)
    con = duckdb.connect()
    try:
        local = _attach_local(con, Path(warehouse) if warehouse else None, wait_s)
        types = _store_types(con, local, read_markers(catalog))
        covered = set()
        for schema, name in sorted(set(tables) | {k for k in types if k[0] in ("raw", "decoded")}):
            if (schema, name) not in types:
                continue
            has_local = local and _exists(con, LOCAL, schema, name)
            history = _history_sql(con, catalog, schema, name, types[(schema, name)], marks)
            if history is None and not has_local:
                continue
            con.execute(f"create schema if not exists {q(schema)}")
            cols = ", ".join(q(c.name) for c in types[(schema, name)])
            parts = []
            if history is not None:
                parts.append(history)
            if has_local:
                above = _bound(marks, "block_number > {w}", "true")
                parts.append(f"select {cols} from {LOCAL}.{q(schema)}.{q(name)} where {above}")
            con.execute(f"create view {q(schema)}.{q(name)} as " + " union all ".join(parts))
            covered.add((schema, name))
        if local:
            _pass_through(con, covered)
        # a reader reaches the lake's data files and nothing else on this machine
        wh = s.local_warehouse()
        dirs = ["'" + str(wh).rstrip("/").replace("'", "''") + "/'"] if wh is not None else []
        con.execute(f"set allowed_directories = [{', '.join(dirs)}]")
        con.execute("set enable_external_access = false")
    except BaseException:
        con.close()
        raise
    return con


def _bound(marks: dict[int, Watermark], cond: str, default: str) -> str:
    """A per-chain condition on block_number around each chain's watermark."""
    if not marks:
        return default
    cases = " ".join(
        f"when {int(cid)} then {cond.format(w=int(w.block))}" for cid, w in marks.items()
    )
    return f"(case chain_id {cases} else {default} end)"


def _history_sql(
    con: duckdb.DuckDBPyConnection,
    catalog: Any,
    schema: str,
    name: str,
    columns: list[Column],
    marks: dict[int, Watermark],
) -> str | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = catalog.load_table((schema, name))
    except NoSuchTableError:
        return None
    tasks = list(table.scan().plan_files())
    if not tasks:
        return None
    lake_names = set(table.schema().column_names)
    paths = [t.file.file_path for t in tasks]
    if all(p.startswith("file://") or p.startswith("/") for p in paths) and not any(
        t.delete_files for t in tasks
    ):
        files = ", ".join("'" + p.removeprefix("file://").replace("'", "''") + "'" for p in paths)
        src = f"read_parquet([{files}], union_by_name = true)"
    else:  # an object store (or delete files): pyiceberg reads it, DuckDB scans the Arrow
        src = f"_lake_{schema}__{name}"
        con.register(src, table.scan().to_arrow())
    within = _bound(marks, "block_number::ubigint <= {w}", "false")
    return f"select {from_lake_select(columns, lake_names)} from {src} where {within}"


def _store_types(
    con: duckdb.DuckDBPyConnection, local: bool, markers: list[dict[str, Any]]
) -> dict[tuple[str, str], list[Column]]:
    """Each store table's columns: the local store's where it has the table, else as the
    store's migrations and the sealed networks' decoders would create it."""
    from pipelines.config import ConfigError, get_network
    from pipelines.decode import Decoder
    from pipelines.store import migrate

    scratch = duckdb.connect()
    try:
        migrate(scratch)
        for net in sorted({str(m["network"]) for m in markers}):
            # a network this machine has no config for: its local tables still show
            with contextlib.suppress(ConfigError):
                Decoder(get_network(net).contracts).ensure_tables(scratch)
        out = {}
        for cat, ok in ((scratch, True), (con, local)):
            if not ok:
                continue
            where = LOCAL if cat is con else "memory"
            for s, t in cat.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = ? and table_schema in ('raw', 'decoded')",
                [where],
            ).fetchall():
                if cat is con:
                    out[(s, t)] = _columns(con, LOCAL, s, t)
                else:
                    out[(s, t)] = store_columns(scratch, s, t)
        return {k: v for k, v in out.items() if any(c.name == "block_number" for c in v)}
    finally:
        scratch.close()


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[Column]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return [Column(str(n), str(t).upper()) for n, t in rows]


def _exists(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select 1 from information_schema.tables where table_catalog = ? "
            "and table_schema = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchall()
    )


def _pass_through(con: duckdb.DuckDBPyConnection, covered: set[tuple[str, str]]) -> None:
    for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? order by all",
        [LOCAL],
    ).fetchall():
        if (s, t) in covered:
            continue
        con.execute(f"create schema if not exists {q(s)}")
        con.execute(f"create view {q(s)}.{q(t)} as select * from {LOCAL}.{q(s)}.{q(t)}")


def _attach_local(con: duckdb.DuckDBPyConnection, path: Path | None, wait_s: float) -> bool:
    """Attach the local store read-only, waiting while a writer holds it (as the store's own
    connect does); False when there is no local store."""
    if path is None or not path.exists():
        return False
    from pipelines.store import WarehouseLocked

    lit = "'" + str(path).replace("'", "''") + "'"
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            con.execute(f"attach {lit} as {LOCAL} (read_only)")
            return True
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise WarehouseLocked(
                        f"warehouse {path} is locked by another process; waited {wait_s:.0f}s"
                    ) from None
                raise LakeError(f"cannot open warehouse {path}: {exc}") from None
            time.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, 0.25)
