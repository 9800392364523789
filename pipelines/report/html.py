"""The report: one self-contained HTML file (plotly.js inlined, no network) answering the three
questions with charts and the key numbers as text."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipelines.metrics.common import load_metrics_config, table_exists

E18 = 1e18
CLASS_COLORS = {
    "real": "#2a9d8f",
    "testnet": "#adb5bd",
    "self_dealing": "#e76f51",
    "sybil_cluster": "#f4a261",
    "fixed_cadence": "#8d99ae",
    "round_trip": "#e9c46a",
}


class ReportError(Exception):
    """The report cannot be built; the message says what to run first."""


@dataclass
class Report:
    charts: dict[str, go.Figure] = field(default_factory=dict)
    numbers: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return conn.execute(sql, params or []).fetchall()


def _mainnet_chain(conn: duckdb.DuckDBPyConnection, testnets: tuple[int, ...]) -> int | None:
    rows = _rows(
        conn,
        "select chain_id, sum(inference_count) from metrics.inference_daily group by 1 "
        "order by 2 desc",
    )
    for c, _ in rows:
        if c not in testnets:
            return int(c)
    rows = _rows(conn, "select distinct chain_id from metrics.supply_daily")
    for (c,) in rows:
        if c not in testnets:
            return int(c)
    return None


def _fmt_open(wei: float | int | None) -> str:
    if wei is None:
        return "n/a"
    v = float(wei) / E18
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:,.2f}{unit} OPEN"
    return f"{v:,.4f} OPEN"


def volume_chart(conn: duckdb.DuckDBPyConnection) -> go.Figure:
    rows = _rows(
        conn,
        """select day, case when chain_id in (select unnest(?::UINTEGER[])) then 'testnet'
                            else traffic_class end as cls, sum(inference_count)
           from metrics.inference_daily group by all order by 1""",
        [list(load_metrics_config().testnet_chain_ids)],
    )
    fig = go.Figure()
    by: dict[str, tuple[list, list]] = {}
    for day, cls, n in rows:
        by.setdefault(cls, ([], []))
        by[cls][0].append(day)
        by[cls][1].append(int(n))
    for cls in sorted(by, key=lambda c: (c != "real", c)):
        xs, ys = by[cls]
        fig.add_trace(go.Bar(x=xs, y=ys, name=cls, marker_color=CLASS_COLORS.get(cls, "#666")))
    fig.update_layout(
        barmode="stack",
        title="Inference volume per day: real (mainnet, organic) vs noise by reason",
        yaxis_title="inferences",
        legend_title="traffic class",
    )
    return fig


def payouts_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    rows = _rows(
        conn,
        """select coalesce(model_name, 'model ' || model_id) || ' (#' || model_id || ')',
               developer_wei::DOUBLE / 1e18, contributors_wei::DOUBLE / 1e18,
               stakers_wei::DOUBLE / 1e18, protocol_wei::DOUBLE / 1e18
           from metrics.model_economics where chain_id = ?
           order by fee_wei desc limit 12""",
        [chain_id],
    )
    rows = list(reversed(rows))
    fig = go.Figure()
    names = [r[0] for r in rows]
    for i, (part, color) in enumerate(
        (
            ("developer", "#264653"),
            ("contributors", "#2a9d8f"),
            ("stakers", "#e9c46a"),
            ("protocol", "#f4a261"),
        ),
        start=1,
    ):
        fig.add_trace(
            go.Bar(y=names, x=[r[i] for r in rows], name=part, orientation="h", marker_color=color)
        )
    fig.update_layout(
        barmode="stack",
        title="Top models by fee income, and where it went (OPEN)",
        xaxis_title="OPEN",
        height=max(360, 40 * len(rows) + 120),
    )
    return fig


def break_even_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    rows = _rows(
        conn,
        """select coalesce(model_name, 'model ' || model_id) || ' (#' || model_id || ')',
               real_inferences_per_month, break_even_inferences_per_month, covers_costs
           from metrics.model_economics
           where chain_id = ? and break_even_inferences_per_month is not null
           order by real_inferences_per_month""",
        [chain_id],
    )
    fig = go.Figure()
    names = [r[0] for r in rows]
    fig.add_trace(
        go.Bar(
            x=names,
            y=[max(r[1], 0.1) for r in rows],
            name="real inferences / month",
            marker_color=["#2a9d8f" if r[3] else "#e76f51" for r in rows],
        )
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[max(r[2], 0.1) for r in rows],
            name="break-even / month",
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 22, "color": "#111", "line": {"width": 3}},
        )
    )
    fig.update_layout(
        title="Break-even: real monthly volume vs the volume that pays the owner's gas "
        "(red: does not cover its costs)",
        yaxis_type="log",
        yaxis_title="inferences per month (log)",
    )
    return fig


def supply_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    hist = _rows(
        conn,
        """select day, circulating_wei::DOUBLE / 1e18, scheduled_unlocked_wei::DOUBLE / 1e18,
               total_supply_wei::DOUBLE / 1e18
           from metrics.supply_daily where chain_id = ? order by day""",
        [chain_id],
    )
    cal = _rows(
        conn,
        """select date_trunc('month', unlock_date)::DATE, bucket, sum(unlock_wei::DOUBLE) / 1e18
           from metrics.unlock_calendar group by all order by 1""",
    )
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.08,
        subplot_titles=(
            "Circulating supply on chain vs the schedule (OPEN)",
            "Unlock calendar per month and bucket (OPEN)",
        ),
    )
    fig.add_trace(
        go.Scatter(
            x=[r[0] for r in hist],
            y=[r[1] for r in hist],
            name="circulating (on chain)",
            line={"color": "#264653"},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[r[0] for r in hist],
            y=[r[2] for r in hist],
            name="unlocked per schedule",
            line={"dash": "dash", "color": "#e76f51"},
        ),
        row=1,
        col=1,
    )
    buckets = sorted({r[1] for r in cal})
    palette = ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8d99ae"]
    for i, b in enumerate(buckets):
        pts = [r for r in cal if r[1] == b]
        fig.add_trace(
            go.Bar(
                x=[r[0] for r in pts],
                y=[r[2] for r in pts],
                name=f"unlock: {b}",
                marker_color=palette[i % len(palette)],
            ),
            row=2,
            col=1,
        )
    # The last cliff of the schedule is the big one (team and investors, Sept 2026).
    cliffs = _rows(conn, "select max(unlock_date) from metrics.unlock_calendar where is_cliff_end")
    if cliffs and cliffs[0][0] is not None:
        fig.add_vline(x=cliffs[0][0], line_dash="dot", line_color="#e76f51")
        fig.add_annotation(
            x=cliffs[0][0], y=1.02, yref="paper", text="team/investor cliff", showarrow=False
        )
    fig.update_layout(
        barmode="stack", height=720, title="Circulating supply and the forward unlock calendar"
    )
    return fig


def dapp_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    rows = _rows(
        conn,
        """select coalesce(dapp_name, dapp_address), traffic_class, sum(inference_count)
           from metrics.dapp_daily where chain_id = ? group by all order by 1""",
        [chain_id],
    )
    fig = go.Figure()
    for cls in sorted({r[1] for r in rows}, key=lambda c: (c != "real", c)):
        pts = [r for r in rows if r[1] == cls]
        fig.add_trace(
            go.Bar(
                x=[r[0] for r in pts],
                y=[int(r[2]) for r in pts],
                name=cls,
                marker_color=CLASS_COLORS.get(cls, "#666"),
            )
        )
    fig.update_layout(barmode="stack", title="Which dApps bring real demand (inferences)")
    return fig


def build(conn: duckdb.DuckDBPyConnection) -> Report:
    """Charts and key numbers from the metrics marts."""
    for t in ("inference_daily", "model_economics", "supply_daily", "unlock_calendar"):
        if not table_exists(conn, f"metrics.{t}"):
            raise ReportError(
                f"metrics.{t} is missing: build the metrics first (olw metrics), after ingesting"
            )
    cfg = load_metrics_config()
    chain = _mainnet_chain(conn, cfg.testnet_chain_ids)
    if chain is None:
        raise ReportError("no mainnet data in the warehouse: ingest a mainnet network first")
    rep = Report()
    rep.charts["volume"] = volume_chart(conn)
    rep.charts["payouts"] = payouts_chart(conn, chain)
    rep.charts["break_even"] = break_even_chart(conn, chain)
    rep.charts["supply"] = supply_chart(conn, chain)
    rep.charts["dapps"] = dapp_chart(conn, chain)

    vol = _rows(
        conn,
        """select sum(inference_count) filter (where traffic_class = 'real'),
               sum(inference_count), sum(fee_wei::DOUBLE) filter (where traffic_class = 'real'),
               sum(fee_wei::DOUBLE)
           from metrics.inference_daily where chain_id = ?""",
        [chain],
    )[0]
    real_n, all_n, real_fee, all_fee = (v or 0 for v in vol)
    rep.numbers.append(
        (
            "Real mainnet inferences",
            f"{int(real_n):,} of {int(all_n):,} ({100 * real_n / all_n if all_n else 0:.1f} %)",
        )
    )
    rep.numbers.append(("Real mainnet fees", f"{_fmt_open(real_fee)} of {_fmt_open(all_fee)}"))
    reasons = _rows(
        conn,
        "select traffic_class, sum(inference_count) from metrics.inference_daily "
        "where traffic_class <> 'real' group by 1 order by 2 desc",
    )
    rep.numbers.append(
        (
            "Noise by reason (all networks)",
            ", ".join(f"{r}: {int(n):,}" for r, n in reasons) or "none",
        )
    )
    callers = _rows(conn, "select label, count(*) from metrics.callers group by 1 order by 1")
    rep.numbers.append(("Callers by label", ", ".join(f"{lbl}: {n:,}" for lbl, n in callers)))
    top = _rows(
        conn,
        """select coalesce(model_name, model_id::VARCHAR), fee_wei, net_earnings_wei
           from metrics.model_economics where chain_id = ? order by fee_wei desc limit 1""",
        [chain],
    )
    if top:
        rep.numbers.append(
            (
                "Top model by fee income",
                f"{top[0][0]}: {_fmt_open(top[0][1])} (owner net {_fmt_open(top[0][2])})",
            )
        )
    covers = _rows(
        conn,
        """select count(*) filter (where covers_costs), count(*)
           from metrics.model_economics
           where chain_id = ? and break_even_inferences_per_month is not null""",
        [chain],
    )[0]
    rep.numbers.append(
        ("Models covering their owner's gas at current volume", f"{covers[0]} of {covers[1]}")
    )
    niche = _rows(
        conn,
        """select coalesce(model_name, model_id::VARCHAR), real_inferences_per_month,
               break_even_inferences_per_month, covers_costs, net_earnings_wei
           from metrics.model_economics
           where chain_id = ? and real_inference_count > 0
           order by model_name ilike '%niche%' desc, real_inference_count asc limit 1""",
        [chain],
    )
    if niche:
        n = niche[0]
        verdict = "covers" if n[3] else "does NOT cover"
        rep.numbers.append(
            (
                "Niche model (or the smallest by real volume)",
                f"{n[0]}: {n[1]:.0f} real inferences/month vs break-even "
                f"{n[2]}/month — {verdict} its costs; lifetime net "
                f"{_fmt_open(n[4])}",
            )
        )
    sup = _rows(
        conn,
        """select day, circulating_wei::DOUBLE, total_supply_wei::DOUBLE,
               unlock_30d_share_of_circulating, unlock_90d_share_of_circulating,
               unlock_30d_vs_exchange_inflow, releases_deviate
           from metrics.supply_daily where chain_id = ? order by day desc limit 1""",
        [chain],
    )
    if sup:
        d, circ, total, s30, s90, vx, dev = sup[0]
        rep.numbers.append(
            ("Circulating supply", f"{_fmt_open(circ)} of {_fmt_open(total)} on {d}")
        )
        rep.numbers.append(
            (
                "Unlocks next 30 / 90 days (share of circulating)",
                f"{100 * (s30 or 0):.2f} % / {100 * (s90 or 0):.2f} %",
            )
        )
        if vx is not None:
            rep.numbers.append(("Next-30-day unlocks vs 30 days of exchange inflows", f"{vx:.2f}×"))
        rep.numbers.append(
            (
                "On-chain releases deviate from schedule",
                "yes — see metrics.vesting_release_check" if dev else "no",
            )
        )
    cliff = _rows(
        conn,
        """select unlock_date, sum(unlock_wei::DOUBLE) from metrics.unlock_calendar
           where is_cliff_end group by 1 order by 1 desc limit 1""",
    )
    if cliff:
        rep.numbers.append(
            ("Team/investor cliff", f"{cliff[0][0]}: first tranche {_fmt_open(cliff[0][1])}")
        )
    return rep


def render(rep: Report, title: str = "OpenLedger: real demand, model payouts, supply") -> str:
    parts = []
    first = True
    for name, fig in rep.charts.items():
        fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 60, "b": 40})
        parts.append(
            f'<section class="chart" id="chart-{name}">'
            + fig.to_html(
                full_html=False,
                include_plotlyjs=first,
                div_id=f"plot-{name}",
                config={"displaylogo": False, "responsive": True},
            )
            + "</section>"
        )
        first = False
    numbers = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rep.numbers
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0 2em; }}
th, td {{ text-align: left; padding: .35em .8em; border-bottom: 1px solid #ddd; }}
th {{ font-weight: 600; width: 40%; }}
section.chart {{ margin: 2em 0; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Three questions: how much inference is real, what each model earns (and whether that covers
its owner's gas), and how heavy supply pressure is. Built {stamp} from the warehouse marts in
schema <code>metrics</code>; see README.md ("The three answers") for the tables and the methods.</p>
<h2>Key numbers</h2>
<table id="key-numbers">{numbers}</table>
{"".join(parts)}
</body></html>
"""


def write_report(conn: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Build and write the report; temp file then rename."""
    rep = build(conn)
    text = render(rep)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def chart_metadata(rep: Report) -> dict[str, Any]:
    """Plotly JSON of every chart, for Dagster metadata."""
    return {name: fig.to_plotly_json() for name, fig in rep.charts.items()}
