"""Score the metrics marts against the devnet simulator's ground truth (pipelines/devnet/simulate.py
docstring has the format)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

REAL_LABELS = {"organic", "dapp_user"}


@dataclass
class Score:
    scenario: str
    seed: int
    precision: float
    recall: float
    volume_precision: float
    volume_recall: float
    real_mainnet_truth: int
    real_mainnet_measured: int
    callers: int
    misses: list[tuple[str, str, str]]

    @property
    def real_volume_error(self) -> float:
        return abs(self.real_mainnet_measured - self.real_mainnet_truth) / max(
            self.real_mainnet_truth, 1
        )

    def line(self) -> str:
        return (
            f"{self.scenario} seed {self.seed}: noise precision {self.precision:.3f} recall "
            f"{self.recall:.3f} (callers {self.callers}); by inference volume precision "
            f"{self.volume_precision:.3f} recall {self.volume_recall:.3f}; real mainnet "
            f"inferences {self.real_mainnet_measured:,} vs truth {self.real_mainnet_truth:,} "
            f"({100 * self.real_volume_error:.2f} % off)"
        )


def score(conn: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> Score:
    measured = {
        (int(c), a): lbl
        for c, a, lbl in conn.execute(
            "select chain_id, caller_address, label from metrics.callers"
        ).fetchall()
    }
    tp = fp = fn = 0
    vtp = vfp = vfn = 0
    real_truth = 0
    misses = []
    for net in truth["networks"].values():
        chain = int(net["chain_id"])
        testnet = chain == 161201
        for addr, actor in net["actors"].items():
            n = int(actor["inferences"])
            if n == 0:
                continue
            is_noise = testnet or actor["label"] not in REAL_LABELS
            if not is_noise:
                real_truth += n
            got = measured.get((chain, addr.lower()))
            flagged = got == "noise"
            if flagged and is_noise:
                tp += 1
                vtp += n
            elif flagged:
                fp += 1
                vfp += n
                misses.append((addr, actor["label"], "flagged as noise"))
            elif is_noise:
                fn += 1
                vfn += n
                misses.append((addr, actor["label"], f"measured {got}"))
    real_measured = conn.execute(
        """select coalesce(sum(inference_count), 0) from metrics.inference_daily
           where traffic_class = 'real' and chain_id <> 161201"""
    ).fetchall()[0][0]
    return Score(
        scenario=str(truth.get("scenario")),
        seed=int(truth.get("seed", 0)),
        precision=tp / max(tp + fp, 1),
        recall=tp / max(tp + fn, 1),
        volume_precision=vtp / max(vtp + vfp, 1),
        volume_recall=vtp / max(vtp + vfn, 1),
        real_mainnet_truth=real_truth,
        real_mainnet_measured=int(real_measured),
        callers=len(measured),
        misses=misses,
    )
