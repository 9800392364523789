"""Finalized history as Apache Iceberg tables (pyiceberg, SQL catalog), beside the local store.

History is cut into fixed block-range partitions (:mod:`pipelines.lake.partitions`), each
sealed independently (:func:`seal_partition`: fetch, decode, one overwrite per table, then a
marker row). The gap-free prefix of markers is the sealed watermark; the local DuckDB store
holds the tail above it (and its reorgs). :func:`open_with_history` shows both as one set of
views. No Dagster here: pipelines/defs/lake runs partitions in parallel.
"""

from pipelines.lake.partitions import Watermark, keys_between, parse_key, partition_key, watermark
from pipelines.lake.seal import SealResult, seal_partition
from pipelines.lake.settings import LakeError, LakeSettings, open_catalog
from pipelines.lake.views import open_with_history, tail_start, watermarks

__all__ = [
    "LakeError",
    "LakeSettings",
    "SealResult",
    "Watermark",
    "keys_between",
    "open_catalog",
    "open_with_history",
    "parse_key",
    "partition_key",
    "seal_partition",
    "tail_start",
    "watermark",
    "watermarks",
]
