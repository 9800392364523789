"""Where the lake lives: the Iceberg catalog, the data files, the partition size.

One machine (the default): a SQLite catalog and data files under ``$OLW_HOME/lake``. Many
machines: ``OLW_LAKE_CATALOG_URI`` names a PostgreSQL catalog every writer and reader shares,
and ``OLW_LAKE_WAREHOUSE`` an object store (``s3://bucket/prefix``) or a shared file system.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.config import state_dir
from pipelines.store.db import WarehouseError

# 10,000 blocks: about 5.5 h of OP Stack blocks (2 s); a year of mainnet is ~1,600 partitions.
# The same size as the Dagster block-range partitions of the local store's backfill job.
BLOCKS_PER_PARTITION = 10_000


class LakeError(WarehouseError):
    """The lake cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class LakeSettings:
    catalog_uri: str  # SQLAlchemy URL of the Iceberg SQL catalog
    warehouse: str  # where data files go: file:///path, s3://bucket/prefix, ...
    blocks_per_partition: int = BLOCKS_PER_PARTITION
    catalog_name: str = "olw"

    @classmethod
    def from_env(cls) -> LakeSettings:
        """OLW_LAKE_CATALOG_URI, OLW_LAKE_WAREHOUSE and OLW_LAKE_PARTITION_BLOCKS, defaulting
        to a SQLite catalog and files under $OLW_HOME/lake (OLW_LAKE_DIR moves both)."""
        base = Path(os.environ.get("OLW_LAKE_DIR") or state_dir() / "lake")
        uri = os.environ.get("OLW_LAKE_CATALOG_URI") or f"sqlite:///{base / 'catalog.db'}"
        wh = os.environ.get("OLW_LAKE_WAREHOUSE") or (base / "warehouse").as_uri()
        size = os.environ.get("OLW_LAKE_PARTITION_BLOCKS", str(BLOCKS_PER_PARTITION))
        try:
            blocks = int(size)
        except ValueError:
            raise LakeError(f"OLW_LAKE_PARTITION_BLOCKS={size!r} is not a number") from None
        if blocks < 1:
            raise LakeError("OLW_LAKE_PARTITION_BLOCKS must be at least 1")
        return cls(uri, wh, blocks)

    def local_sqlite(self) -> Path | None:
        """The SQLite catalog file, when the catalog is one."""
        if not self.catalog_uri.startswith("sqlite:///"):
            return None
        return Path(self.catalog_uri.removeprefix("sqlite:///"))

    def exists(self) -> bool:
        """Whether a lake has been set up here (cheap: no catalog is opened for SQLite)."""
        db = self.local_sqlite()
        return db.exists() if db is not None else True

    def local_warehouse(self) -> Path | None:
        """The data files' directory when they are on a local file system (else None)."""
        parts = urlsplit(self.warehouse)
        if parts.scheme in ("", "file"):
            return Path(parts.path)
        return None

    def redacted_catalog(self) -> str:
        """The catalog URL without its password (a PostgreSQL URL may carry one)."""
        parts = urlsplit(self.catalog_uri)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":…@")
            return parts._replace(netloc=netloc).geturl()
        return self.catalog_uri


def open_catalog(settings: LakeSettings | None = None, create: bool = True) -> Any:
    """The Iceberg SQL catalog (pyiceberg), its tables created on first use."""
    from pyiceberg.catalog.sql import SqlCatalog

    s = settings or LakeSettings.from_env()
    db = s.local_sqlite()
    if db is not None:
        if not create and not db.exists():
            raise LakeError(f"no lake at {db}; seal partitions first (olw backfill --parallel N)")
        db.parent.mkdir(parents=True, exist_ok=True)
    wh = s.local_warehouse()
    if wh is not None:
        wh.mkdir(parents=True, exist_ok=True)
    _quiet()
    for attempt in range(5):
        try:
            return SqlCatalog(s.catalog_name, uri=s.catalog_uri, warehouse=s.warehouse)
        except Exception as exc:  # SQLAlchemy's errors name the driver problem
            # Writers started together race to create the catalog's own tables (pyiceberg
            # checks, then creates): the loser sees "already exists", and a second try finds
            # the tables the winner made.
            if "already exists" in str(exc) and attempt < 4:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise LakeError(
                f"cannot open the lake catalog {s.redacted_catalog()}: "
                f"{str(exc).splitlines()[0]}. "
                "Check OLW_LAKE_CATALOG_URI (and that the database is up)."
            ) from None
    raise AssertionError("unreachable")


def _quiet() -> None:
    # an overwrite of a partition that holds nothing yet warns "did not match any records";
    # polars warns it plans Iceberg scans with pyiceberg. Both are expected here.
    warnings.filterwarnings("ignore", message="Delete operation did not match any records")
    warnings.filterwarnings("ignore", message=".*polars_iceberg.*")
