"""Open the DuckDB warehouse (with lock-conflict retries) and apply versioned migrations."""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.config import schemas_dir


class WarehouseError(Exception):
    """The warehouse cannot be used as asked; the message says why and what to do."""


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse file (DuckDB allows one writer or many readers)."""


_PID = re.compile(r"PID (\d+)")


def connect(
    path: str | os.PathLike[str],
    read_only: bool = False,
    wait_s: float = 30.0,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, retrying with backoff while another process holds its lock.

    The writer holds the file only for a commit (a lock lease), so readers get in between
    batches and a writer gets in between queries; after ``wait_s`` this gives up with the pid.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet; run `olw ingest` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            return _open(path, read_only)
        except (
            duckdb.IOException,
            duckdb.ConnectionException,
            duckdb.ResourceInUseException,
        ) as exc:
            msg = str(exc)
            # In one process DuckDB refuses a read-only and a read-write handle on one file at
            # once ("different configuration", or "file handle conflict" for an attached one):
            # the same conflict as a lock held by another.
            if "lock" not in msg.lower() and not any(m in msg for m in _IN_PROCESS):
                raise WarehouseError(f"cannot open warehouse {path}: {msg}") from None
            now = time.monotonic()
            if now >= deadline:
                m = _PID.search(msg)
                who = f"pid {m.group(1)}" if m else f"pid {os.getpid()}, this process"
                raise WarehouseLocked(
                    f"warehouse {path} is locked by another process ({who}); waited "
                    f"{wait_s:.0f}s. Stop that process or wait for it to release the file."
                ) from None
            # wait out the whole wait_s (the last sleep is cut to the deadline), never less
            time.sleep(min(random.uniform(delay / 2, delay), max(0.0, deadline - now)))
            delay = min(delay * 2, 0.25)


_IN_PROCESS = ("different configuration", "file handle conflict", "already attached")
# DuckDB names a database file's catalog after its stem: a file called metrics.duckdb makes
# "metrics.x" ambiguous (catalog or schema?). Such files are attached under this name instead.
ATTACHED_AS = "olw_warehouse"
_TAKEN = {"raw", "decoded", "metrics", "staging", "intermediate", "marts", "reference", "main"}
_TAKEN |= {"memory", "system", "temp", "information_schema", "pg_catalog", ATTACHED_AS}


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if path.stem.lower() not in _TAKEN:
        return duckdb.connect(str(path), read_only=read_only)
    con = duckdb.connect()
    try:
        mode = " (read_only)" if read_only else ""
        con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {ATTACHED_AS}{mode}")
        con.execute(f"use {ATTACHED_AS}")
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``begin`` … ``commit``; ``rollback`` on any exception (a Ctrl-C included), re-raised."""
    con.execute("begin")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def ddl_dir() -> Path:
    return schemas_dir() / "ddl"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every schemas/ddl/NNN_name.sql, in order."""
    out = []
    for f in sorted(ddl_dir().glob("*.sql")):
        m = re.match(r"^(\d+)_(.+)\.sql$", f.name)
        if not m:
            raise WarehouseError(f"{f}: DDL files must be named NNN_name.sql")
        out.append((int(m.group(1)), m.group(2), f.read_text()))
    return out


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded in schema_migrations; returns versions applied."""
    con.execute(
        "create table if not exists schema_migrations (version integer not null, "
        "name varchar not null, checksum varchar not null, applied_at timestamp not null)"
    )
    done = {
        v: c for v, c in con.execute("select version, checksum from schema_migrations").fetchall()
    }
    applied = []
    for version, name, sql in migrations():
        checksum = hashlib.sha256(sql.encode()).hexdigest()[:16]
        if version in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute(
                "insert into schema_migrations values (?, ?, ?, now()::timestamp)",
                [version, name, checksum],
            )
        applied.append(version)
    return applied
