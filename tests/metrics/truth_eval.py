"""Score the metrics marts against the devnet simulator's ground truth (pipelines/devnet/simulate.py
docstring has the format): noise precision and recall by caller and by inference volume, overall
and per population (the simulator's intent labels)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines.devnet.simulate import REAL_LABELS


@dataclass
class Population:
    """One population's callers and inferences, by what the classifier said."""

    label: str
    is_noise: bool
    callers: int = 0
    inferences: int = 0
    flagged: int = 0  # labelled noise
    flagged_volume: int = 0
    review: int = 0
    review_volume: int = 0

    def row(self) -> str:
        c = self.flagged / max(self.callers, 1)
        v = self.flagged_volume / max(self.inferences, 1)
        rv = self.review / max(self.callers, 1)
        kind = "noise" if self.is_noise else "real "
        what = "recall" if self.is_noise else "false-positive rate"
        return (
            f"{self.label:<22} {kind} callers {self.callers:>4} inferences {self.inferences:>6}: "
            f"flagged {c:.3f} by caller, {v:.3f} by volume ({what}); review {rv:.3f}"
        )


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
    review_mainnet: int = 0
    populations: dict[str, Population] = field(default_factory=dict)

    @property
    def real_volume_error(self) -> float:
        """Real (labelled real or review: not noise) mainnet volume against the truth."""
        measured = self.real_mainnet_measured + self.review_mainnet
        return abs(measured - self.real_mainnet_truth) / max(self.real_mainnet_truth, 1)

    def line(self) -> str:
        return (
            f"{self.scenario} seed {self.seed}: noise precision {self.precision:.3f} recall "
            f"{self.recall:.3f} (callers {self.callers}); by inference volume precision "
            f"{self.volume_precision:.3f} recall {self.volume_recall:.3f}; real mainnet "
            f"inferences {self.real_mainnet_measured:,} real + {self.review_mainnet:,} review "
            f"vs truth {self.real_mainnet_truth:,} ({100 * self.real_volume_error:.2f} % off)"
        )

    def table(self) -> list[str]:
        return [f"  {p.row()}" for _, p in sorted(self.populations.items())]


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
    pops: dict[str, Population] = {}
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
            key = ("testnet:" if testnet else "") + actor["label"]
            pop = pops.setdefault(key, Population(key, is_noise))
            pop.callers += 1
            pop.inferences += n
            got = measured.get((chain, addr.lower()))
            flagged = got == "noise"
            if flagged:
                pop.flagged += 1
                pop.flagged_volume += n
            elif got == "review":
                pop.review += 1
                pop.review_volume += n
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
    by_class: defaultdict[str, int] = defaultdict(int)
    for cls, n in conn.execute(
        """select traffic_class, coalesce(sum(inference_count), 0) from metrics.inference_daily
           where chain_id <> 161201 group by 1"""
    ).fetchall():
        by_class[str(cls)] = int(n)
    return Score(
        scenario=str(truth.get("scenario")),
        seed=int(truth.get("seed", 0)),
        precision=tp / max(tp + fp, 1),
        recall=tp / max(tp + fn, 1),
        volume_precision=vtp / max(vtp + vfp, 1),
        volume_recall=vtp / max(vtp + vfn, 1),
        real_mainnet_truth=real_truth,
        real_mainnet_measured=by_class["real"],
        callers=len(measured),
        misses=misses,
        review_mainnet=by_class["review"],
        populations=pops,
    )
