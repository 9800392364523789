"""Dagster retries only where a retry can help (issue 9): a deterministic ingest error fails
the step at once (no 30 + 60 + 90 s of retries holding the writer slot), with the fix in its
description; a locked warehouse or an unreachable node is still retried."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.chain import RpcUnavailable
from pipelines.config import get_network
from pipelines.defs.chain.assets import only_transient_retries
from pipelines.store import WarehouseLocked
from tests.ingest.sparse import MAINNET, TESTNET, SparseChain


def test_deterministic_errors_are_not_retried() -> None:
    net = get_network(MAINNET)
    for transient in (WarehouseLocked("busy"), RpcUnavailable("down")):
        with pytest.raises(type(transient)), only_transient_retries(net):
            raise transient
    with pytest.raises(dg.Failure) as err, only_transient_retries(net):
        raise ValueError("0 receipts for 45 transactions")
    assert err.value.allow_retries is False
    assert "olw ingest --network devnet-mainnet" in (err.value.description or "")


def test_tail_run_with_a_deterministic_error_fails_at_once(
    sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sparse_chain.apply(monkeypatch, tmp_path / "w.duckdb")
    monkeypatch.setenv("OLW_AUTOMATION", "off")
    # the mainnet variable points at the testnet node: a wrong chain, no retry can fix it
    monkeypatch.setenv("OLW_RPC_DEVNET_MAINNET", sparse_chain.handle.urls[TESTNET])
    from pipelines.definitions import defs
    from pipelines.defs.chain.jobs import tail_job_name

    job = defs.resolve_job_def(tail_job_name(MAINNET))
    t0 = time.monotonic()
    with dg.instance_for_test() as instance:
        res = job.execute_in_process(instance=instance, raise_on_error=False)
        events = instance.all_logs(res.run_id)
    assert not res.success
    assert time.monotonic() - t0 < 25, "the step waited for retries"
    kinds = [e.dagster_event.event_type_value for e in events if e.dagster_event]
    assert "STEP_UP_FOR_RETRY" not in kinds and "STEP_FAILURE" in kinds
    failure = next(
        e.dagster_event for e in events if e.dagster_event and e.dagster_event.is_step_failure
    )
    text = str(failure.step_failure_data.error)
    assert "ChainMismatch" in text and "Fix: point OLW_RPC_DEVNET_MAINNET" in text, text
