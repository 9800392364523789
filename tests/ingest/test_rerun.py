"""Re-running is safe (issue 9): the Dagster tail-ingest job, what `olw demo` and the schedules
run for ingestion, run again on the same warehouse after blocks without any of our logs or
transactions succeeds. Before the fix in
``pipelines.ingest._catch_up_receipts`` the second run failed with "0 receipts for N
transactions in blocks 0..M" (and so did every later run, and a second `olw demo`)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.ingest.sparse import MAINNET, SparseChain, cursors, mine_empty, unmatched_receipts


def test_tail_job_twice_across_empty_blocks(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    sparse_chain.apply(monkeypatch, wh)
    monkeypatch.setenv("OLW_AUTOMATION", "off")
    from pipelines.definitions import defs
    from pipelines.defs.chain.jobs import tail_job_name

    job = defs.resolve_job_def(tail_job_name(MAINNET))
    node = sparse_chain.node
    with dg.instance_for_test() as instance:
        for run in range(2):
            if run == 1:
                mine_empty(node, 5)  # blocks without a transaction of ours
            res = job.execute_in_process(instance=instance, raise_on_error=False)
            failures = [
                str(e.dagster_event.step_failure_data.error)
                for e in instance.all_logs(res.run_id)
                if e.dagster_event and e.dagster_event.is_step_failure
            ]
            assert res.success, f"run {run + 1} failed: {failures}"
            head = node.head()
            got = cursors(wh)
            # both cursors at the head the run saw (nothing is mined while it runs)
            assert got["logs"][0] == got["receipts"][0] == head, (run, got, head)
    assert unmatched_receipts(wh) == 0
