"""Run a list of GX expectations over a pandas frame and summarise what failed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

# No usage statistics leave this machine (GX makes no calls itself, but be explicit).
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class Failure:
    """One failing expectation: what was expected, on which column(s), and sample bad rows."""

    expectation: str
    columns: tuple[str, ...]
    kwargs: dict[str, Any]
    unexpected_count: int | None
    element_count: int | None
    samples: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        cols = ", ".join(self.columns) or "(table)"
        args = ", ".join(
            f"{k}={v}" for k, v in self.kwargs.items() if k not in ("column", "column_list")
        )
        count = (
            f"{self.unexpected_count} of {self.element_count} rows"
            if self.unexpected_count is not None
            else "the table"
        )
        sample = f"; sample: {self.samples}" if self.samples else ""
        return f"{self.expectation}({args}) on {cols} failed for {count}{sample}"


@dataclass
class SuiteResult:
    suite: str
    table: str
    rows: int
    evaluated: int
    failures: list[Failure]

    @property
    def success(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        if self.success:
            return (
                f"{self.suite}: {self.evaluated} expectations passed "
                f"on {self.rows} rows of {self.table}"
            )
        lines = [
            f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed "
            f"on {self.table}"
        ]
        lines += [f"- {f.describe()}" for f in self.failures]
        return "\n".join(lines)


@lru_cache(maxsize=1)
def _context() -> Any:
    # Imported here: great_expectations takes ~10 s to import, which Dagster's code server
    # should not pay for just to list the checks.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def validate(
    name: str,
    table: str,
    df: pd.DataFrame,
    expectations: list[Any],
    id_columns: list[str] | None = None,
    samples: int = 5,
) -> SuiteResult:
    """Validate ``df`` against ``expectations`` (GX Expectation objects) as suite ``name``."""
    import great_expectations as gx

    ctx = _context()
    source = ctx.data_sources.add_or_update_pandas(name)
    asset_name = "frame"
    asset = next((a for a in source.assets if a.name == asset_name), None)
    if asset is None:
        asset = source.add_dataframe_asset(asset_name)
    batch_def = next((b for b in asset.batch_definitions if b.name == "all"), None)
    if batch_def is None:
        batch_def = asset.add_batch_definition_whole_dataframe("all")
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=name, expectations=list(expectations))
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": samples,
    }
    if id_columns:
        result_format["unexpected_index_column_names"] = id_columns
    res = batch.validate(suite, result_format=result_format)
    failures = []
    for r in res.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = {k: _jsonable(v) for k, v in dict(cfg.kwargs).items() if k != "batch_id"}
        cols = kwargs.get("column_list") or ([kwargs["column"]] if "column" in kwargs else [])
        if "column_A" in kwargs:
            cols = [kwargs["column_A"], kwargs["column_B"]]
        result = r.result or {}
        sample = (
            result.get("partial_unexpected_index_list")
            or result.get("partial_unexpected_list")
            or []
        )
        if not sample and "observed_value" in result:
            sample = [{"observed_value": result["observed_value"]}]
        failures.append(
            Failure(
                expectation=cfg.type,
                columns=tuple(cols),
                kwargs=kwargs,
                unexpected_count=result.get("unexpected_count"),
                element_count=result.get("element_count"),
                samples=_jsonable(list(sample)[:samples]),
            )
        )
    return SuiteResult(name, table, len(df), len(res.results), failures)
