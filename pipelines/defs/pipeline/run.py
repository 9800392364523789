"""Run the whole pipeline as one Dagster run recorded in the dagster_home instance."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.config import REPO_ROOT
from pipelines.resources import WRITER_TAGS


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str
    description: str


@dataclass
class PipelineSummary:
    run_id: str
    success: bool
    dagster_home: Path
    materialized: dict[str, int | None] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]

    def describe(self) -> str:
        state = "succeeded" if self.success else "FAILED"
        port = os.environ.get("OLW_DEV_PORT", "3000")
        n_pass = sum(c.passed for c in self.checks)
        lines = [
            f"Dagster run {self.run_id} {state}: {len(self.materialized)} assets materialized, "
            f"{n_pass}/{len(self.checks)} checks passed.",
        ]
        for key, rows in sorted(self.materialized.items()):
            if key.startswith(("duckdb/raw/", "duckdb/marts/")) or "metrics" in key:
                lines.append(f"  {key}: {rows if rows is not None else '?'} rows")
        for c in self.failed_checks:
            lines.append(f"  check {c.name} on {c.asset} failed ({c.severity}): {c.description}")
        for s in self.failed_steps:
            lines.append(f"  step failed: {s}")
        lines += [
            "Look next:",
            f"  make dev PORT={port}  → http://127.0.0.1:{port}/runs/{self.run_id}",
            f"  (instance: DAGSTER_HOME={self.dagster_home})",
            '  olw query "select * from marts.fct_model_payouts order by fee_wei desc limit 10"',
        ]
        return "\n".join(lines)


def run_full_pipeline(
    dagster_home: str | Path | None = None, echo: bool = True, log_level: str = "INFO"
) -> PipelineSummary:
    """Execute the ``full_pipeline`` job in this process against the instance in
    ``dagster_home`` (default: $DAGSTER_HOME, else the repo's dagster_home/), so the run, its
    materializations and check results show up in `make dev`. Returns (and prints) a summary."""
    home = Path(dagster_home or os.environ.get("DAGSTER_HOME") or REPO_ROOT / "dagster_home")
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("full_pipeline")
    # The console logger only: the run's full event log is in the instance either way.
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    result = job.execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False, tags=WRITER_TAGS
    )
    summary = PipelineSummary(result.run_id, result.success, home)
    for ev in result.all_events:
        if ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = ev.step_materialization_data.materialization
            rows = mat.metadata.get("dagster/row_count")
            summary.materialized[mat.asset_key.to_user_string()] = (
                int(rows.value) if rows is not None else None  # type: ignore[arg-type]
            )
        elif ev.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = ev.event_specific_data
            summary.checks.append(
                CheckOutcome(
                    asset=data.asset_key.to_user_string(),  # type: ignore[union-attr]
                    name=data.check_name,  # type: ignore[union-attr]
                    passed=data.passed,  # type: ignore[union-attr]
                    severity=data.severity.value,  # type: ignore[union-attr]
                    description=data.description or "",  # type: ignore[union-attr]
                )
            )
        elif ev.event_type == dg.DagsterEventType.STEP_FAILURE:
            err = ev.step_failure_data.error  # type: ignore[union-attr]
            msg = err.message.strip().splitlines()[0] if err else ""
            summary.failed_steps.append(f"{ev.step_key}: {msg}")
    _count_unreported_rows(summary)
    if echo:
        print(summary.describe())
    return summary


def _count_unreported_rows(summary: PipelineSummary) -> None:
    """dbt materializations carry no row count: count those tables once the run has let go of
    the warehouse (read-only, so a concurrent writer is never blocked for long)."""
    missing = [k for k, v in summary.materialized.items() if v is None and k.startswith("duckdb/")]
    if not missing:
        return
    from pipelines.config import warehouse_path
    from pipelines.store import connect

    try:
        conn = connect(warehouse_path(), read_only=True, wait_s=10)
    except Exception:
        return  # the counts are a courtesy; the run's outcome stands without them
    try:
        for key in missing:
            _, schema, table = key.split("/", 2)
            try:
                row = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
            except Exception:
                continue
            summary.materialized[key] = int(row[0][0])
    finally:
        conn.close()
