"""Same seed → same logical events; the plan alone and on fresh chains."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipelines.devnet.deploy import Deployment, load_deployment
from pipelines.devnet.harness import running_devnet
from pipelines.devnet.simulate import plan
from tests.devnet.helpers import all_logs, kind, topic_addr


def _fingerprint(url: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    logs = all_logs(url)
    per_kind = Counter(kind(log) for log in logs)
    per_caller = Counter(topic_addr(log, 3) for log in logs if kind(log) == "InferenceRequested")
    per_model = Counter(log["topics"][2] for log in logs if kind(log) == "InferenceRequested")
    return per_kind, per_caller, per_model


def _deps(devnet_nodes) -> dict[str, Deployment]:  # type: ignore[no-untyped-def]
    import os

    old = os.environ.get("OLW_HOME")
    os.environ["OLW_HOME"] = str(devnet_nodes.home)
    try:
        deps = {n: load_deployment(n) for n in devnet_nodes.networks}
    finally:
        if old is None:
            del os.environ["OLW_HOME"]
        else:
            os.environ["OLW_HOME"] = old
    assert all(d is not None for d in deps.values())
    return deps  # type: ignore[return-value]


def test_plan_is_deterministic_and_seed_sensitive(devnet_nodes) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(devnet_nodes)
    nonces = {n: 17 for n in deps}
    a = plan("default", 7, 1.0, deps, nonces)
    b = plan("default", 7, 1.0, deps, nonces)
    c = plan("default", 8, 1.0, deps, nonces)
    for net in deps:
        assert a[net].counts == b[net].counts
        assert a[net].actor_inf == b[net].actor_inf
        assert [len(x.txs) for x in a[net].blocks] == [len(x.txs) for x in b[net].blocks]
        assert a[net].actor_inf != c[net].actor_inf


@pytest.mark.slow
def test_same_seed_same_events_on_fresh_chains(tmp_path: Path) -> None:
    prints = []
    for run in ("a", "b"):
        with running_devnet(tmp_path / run, scenario="smoke", seed=3) as dn:
            prints.append({n: _fingerprint(u) for n, u in dn.urls.items()})
            truth = dn.truth()
            assert truth["networks"]["devnet-mainnet"]["counts"] == dict(
                prints[-1]["devnet-mainnet"][0]
            )
    assert prints[0] == prints[1]
    assert prints[0]["devnet-mainnet"][1]  # there were callers to compare
