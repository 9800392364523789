"""Open the DuckDB warehouse (with lock-conflict retries) and apply versioned migrations."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import random
import re
import shutil
import tempfile
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


class DiskFull(WarehouseError):
    """A write failed for want of space; nothing committed is lost (the failed batch is not)."""


_PID = re.compile(r"PID (\d+)")
NOTE_EVERY_S = 10.0  # a writer waiting for the file says so this often
_NO_SPACE = re.compile(r'(?:file|directory) "([^"]+)"[^"]*No space left on device', re.I)
log = logging.getLogger("pipelines.store")


def disk_full(exc: BaseException, path: str | os.PathLike[str] | None = None) -> DiskFull | None:
    """The DiskFull error for ``exc`` if it is a failed write for want of space (DuckDB says so
    in its message; Python by errno ENOSPC / EDQUOT), naming the file it could not write."""
    msg = str(exc)
    errnos = {getattr(exc, "errno", None)} | {getattr(exc.__cause__, "errno", None)}
    if "No space left on device" not in msg and not errnos & {errno.ENOSPC, errno.EDQUOT}:
        return None
    m = _NO_SPACE.search(msg)
    where = m.group(1) if m else (getattr(exc, "filename", None) or path or "?")
    return DiskFull(
        f"disk full at {where}: the write failed and was rolled back; everything committed "
        "before it is kept. Free space on that file system, then run the command again "
        "(it resumes after the last committed batch)."
    )


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
    started = time.monotonic()
    deadline = started + wait_s
    next_note = started + NOTE_EVERY_S
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
            if now >= next_note:  # a long wait is reported, never silent
                m = _PID.search(msg)
                log.warning(
                    "waiting for the warehouse %s: held by %s for %.0fs",
                    path,
                    f"pid {m.group(1)}" if m else "another connection",
                    now - started,
                )
                next_note = now + NOTE_EVERY_S
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


def snapshot(path: str | os.PathLike[str], wait_s: float = 30.0) -> Path:
    """A private copy of the warehouse as of its last commit: ``<dir>/<name>`` in a fresh
    temporary folder beside it (the same file system, so a reflink where it can), else in the
    system temp folder. The copy is taken under a read-only connection, i.e. between two
    writer commits; the caller removes the folder. DiskFull when there is no room for it."""
    path = Path(path)
    con = connect(path, read_only=True, wait_s=wait_s)
    try:
        return copy_under_lock(path)
    finally:
        con.close()


def copy_under_lock(path: Path) -> Path:
    """Copy the warehouse (and its WAL, if a writer left one) while the caller holds a read-only
    connection on it, so no writer can change it meanwhile."""
    last: BaseException | None = None
    for parent in (path.parent, None):  # beside it (a reflink, the same disk), else in /tmp
        folder = None
        try:
            _sweep_snapshots(Path(parent or tempfile.gettempdir()), path.name)
            folder = Path(
                tempfile.mkdtemp(prefix=f".{path.name}.snapshot-{os.getpid()}-", dir=parent)
            )
            for src in (path, path.with_name(path.name + ".wal")):
                if src.exists():
                    _copy_file(src, folder / src.name)
            return folder / path.name
        except OSError as exc:
            last = exc
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    assert last is not None
    raise disk_full(last, path.parent) or WarehouseError(f"cannot snapshot {path}: {last}")


def _sweep_snapshots(folder: Path, name: str) -> None:
    """Remove the snapshot folders of reader processes that are gone (killed mid-query)."""
    for d in folder.glob(f".{name}.snapshot-*-*"):
        try:
            pid = int(d.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


_FICLONE = 0x40049409  # ioctl(dst, FICLONE, src): a copy-on-write clone (btrfs, xfs, bcachefs)


def _copy_file(src: Path, dst: Path) -> None:
    import fcntl

    with open(src, "rb") as fi, open(dst, "wb") as fo:
        try:
            fcntl.ioctl(fo.fileno(), _FICLONE, fi.fileno())
            return
        except OSError:
            pass
        size = os.fstat(fi.fileno()).st_size
        done = 0
        try:  # in-kernel copy (no round trip through user space)
            while done < size:
                n = os.copy_file_range(fi.fileno(), fo.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            fi.seek(done)
            fo.seek(done)
            shutil.copyfileobj(fi, fo, 1 << 20)


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
