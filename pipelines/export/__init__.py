"""Finalized warehouse data as hive-partitioned parquet (see pipelines.export.parquet)."""

from pipelines.export.parquet import DATASETS, ExportError, ExportResult, export, finalized_before

__all__ = ["DATASETS", "ExportError", "ExportResult", "export", "finalized_before"]
