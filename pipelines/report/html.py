"""The report: one self-contained HTML file (plotly.js inlined, no network) answering the three
questions with charts and the key numbers as text.

Every real-demand figure (a chart or a key number marked ``data-demand``) is mainnet only: testnet
traffic gets a chart of its own and is never stacked into, or summed with, demand. When the
warehouse was filled from a network whose ``kind`` in schemas/networks.yaml is not a real chain
(the embedded devnet), a notice says so above everything else.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipelines.metrics.common import load_metrics_config, table_exists

E18 = 1e18
BUILD_STEPS = (
    "source and models",
    "volume charts",
    "payout and economics charts",
    "supply chart",
    "dApp chart",
    "key numbers",
)
OnStep = Callable[[str, int, int], None]
REAL_KINDS = ("mainnet", "testnet")  # network kinds that are real chains (not simulated)
CLASS_COLORS = {
    "real": "#2a9d8f",
    "self_dealing": "#e76f51",
    "sybil_cluster": "#f4a261",
    "fixed_cadence": "#6c757d",
    "round_trip": "#e9c46a",
    "testnet": "#7b2cbf",
}
CLASS_LABELS = {
    "real": "real demand",
    "self_dealing": "noise: self-dealing",
    "sybil_cluster": "noise: sybil cluster",
    "fixed_cadence": "noise: fixed-cadence bot",
    "round_trip": "noise: round trip",
    "testnet": "testnet",
}
COVERS = "#2a9d8f"
DOES_NOT_COVER = "#d62828"
COST = "#6c757d"


class ReportError(Exception):
    """The report cannot be built; the message says what to run first."""


@dataclass
class ModelRow:
    """One model's economics as the report shows it (OPEN, per month unless lifetime)."""

    name: str
    real_per_month: float
    revenue_per_month: float  # real volume x the developer's share of one inference at its fee
    cost_per_month: float  # on-chain gas only (registration amortized, updates, own calls)
    break_even: int | None
    net_lifetime: float  # developer income - owner's gas - fees the owner paid on own calls
    covers: bool
    developer_per_inference: float


@dataclass
class Report:
    charts: dict[str, go.Figure] = field(default_factory=dict)
    numbers: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notice: str | None = None  # shown first: where the data comes from when it is not real
    chart_notes: dict[str, str] = field(default_factory=dict)
    demand_charts: set[str] = field(default_factory=set)  # real-demand figures: mainnet only
    demand_numbers: set[str] = field(default_factory=set)
    models: list[ModelRow] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # markdown lines for Dagster metadata


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
    return _fmt_o(float(wei) / E18)


def _fmt_o(v: float) -> str:
    if v and abs(v) < 0.001:
        return f"{v:.2g} OPEN"  # gas per month: four decimals would print 0.0000
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:,.2f}{unit} OPEN"
    return f"{v:,.4f} OPEN"


def source_notice(conn: duckdb.DuckDBPyConnection) -> str | None:
    """A notice when the data does not come from a real chain, from each ingested network's
    ``kind`` in schemas/networks.yaml (raw.networks records the networks ingested)."""
    from pipelines.config import ConfigError, load_networks

    if not table_exists(conn, "raw.networks"):
        return (
            "Not real chain data: this warehouse records no ingested network (raw.networks is "
            "missing), so its figures come from a synthetic or hand-built store."
        )
    ingested = _rows(conn, "select network, chain_id from raw.networks order by network")
    try:
        known = load_networks()
    except ConfigError:
        known = {}
    simulated = []
    for name, cid in ingested:
        kind = known[name].kind if name in known else "unknown"
        if kind not in REAL_KINDS:
            simulated.append(f"{name} (chain id {cid}, kind: {kind})")
    if not ingested:
        return "Not real chain data: no network has been ingested into this warehouse."
    if not simulated:
        return None
    return (
        "Simulated data, not the real OpenLedger chain: this warehouse was filled from "
        + ", ".join(simulated)
        + " (schemas/networks.yaml). Every figure below describes simulated traffic."
    )


def volume_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    """Mainnet only: real demand first, then noise by reason. Testnet has its own chart.
    Per week when the history is longer than four months (daily bars get too thin to read)."""
    unit = _period(conn)
    rows = _rows(
        conn,
        f"""select date_trunc('{unit}', day)::DATE, traffic_class, sum(inference_count)
           from metrics.inference_daily
           where chain_id = ? and traffic_class <> 'testnet' group by all order by 1""",
        [chain_id],
    )
    fig = go.Figure()
    by: dict[str, tuple[list, list]] = {}
    for day, cls, n in rows:
        by.setdefault(cls, ([], []))
        by[cls][0].append(day)
        by[cls][1].append(int(n))
    for cls in sorted(by, key=lambda c: (c != "real", c)):
        xs, ys = by[cls]
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=CLASS_LABELS.get(cls, cls),
                marker_color=CLASS_COLORS.get(cls, "#666"),
            )
        )
    fig.update_layout(
        barmode="stack",
        title=f"Mainnet (chain {chain_id}) inferences per {unit}: real demand vs noise by reason",
        yaxis_title=f"inferences per {unit}",
        legend_title="traffic class",
    )
    return fig


def _period(conn: duckdb.DuckDBPyConnection) -> str:
    span = _rows(conn, "select max(day) - min(day) from metrics.inference_daily")[0][0]
    days = span.days if hasattr(span, "days") else int(span or 0)
    return "week" if days > 120 else "day"


def testnet_chart(conn: duckdb.DuckDBPyConnection, testnets: tuple[int, ...]) -> go.Figure:
    unit = _period(conn)
    rows = _rows(
        conn,
        f"""select date_trunc('{unit}', day)::DATE, chain_id, sum(inference_count)
           from metrics.inference_daily
           where chain_id in (select unnest(?::UINTEGER[])) group by all order by 1""",
        [list(testnets)],
    )
    fig = go.Figure()
    for cid in sorted({r[1] for r in rows}):
        pts = [r for r in rows if r[1] == cid]
        fig.add_trace(
            go.Bar(
                x=[r[0] for r in pts],
                y=[int(r[2]) for r in pts],
                name=f"testnet (chain {cid})",
                marker_color=CLASS_COLORS["testnet"],
            )
        )
    fig.update_layout(
        title=f"Testnet inferences per {unit}: never counted as demand",
        yaxis_title=f"inferences per {unit}",
        height=300,
        showlegend=True,
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
        title="Top models by lifetime fee income, and where it went (OPEN, all traffic)",
        xaxis_title="OPEN",
        height=max(360, 32 * len(rows) + 140),
    )
    return fig


def model_rows(conn: duckdb.DuckDBPyConnection, chain_id: int) -> list[ModelRow]:
    rows = _rows(
        conn,
        """select coalesce(model_name, 'model ' || model_id) || ' (#' || model_id || ')',
               real_inferences_per_month, developer_per_inference_wei::DOUBLE / 1e18,
               monthly_cost_wei::DOUBLE / 1e18, break_even_inferences_per_month,
               net_earnings_wei::DOUBLE / 1e18, coalesce(covers_costs, false)
           from metrics.model_economics where chain_id = ? order by model_id""",
        [chain_id],
    )
    out = []
    for name, per_month, dev_per, cost, be, net, covers in rows:
        per_month = float(per_month or 0)
        dev_per = float(dev_per or 0)
        out.append(
            ModelRow(
                name=name,
                real_per_month=per_month,
                revenue_per_month=per_month * dev_per,
                cost_per_month=float(cost or 0),
                break_even=None if be is None else int(be),
                net_lifetime=float(net or 0),
                covers=bool(covers),
                developer_per_inference=dev_per,
            )
        )
    return out


def economics_chart(models: list[ModelRow]) -> go.Figure:
    """Per model: monthly revenue at its fee and real volume next to its monthly on-chain cost,
    coloured by the verdict (a model with a negative lifetime net never covers its costs)."""
    ms = sorted(models, key=lambda m: m.revenue_per_month)
    floor = 1e-6  # log axis: a zero would vanish
    fig = go.Figure()
    for covers, label, color in (
        (True, "revenue / month: covers its costs", COVERS),
        (False, "revenue / month: does NOT cover its costs", DOES_NOT_COVER),
    ):
        pts = [m for m in ms if m.covers == covers]
        if not pts:
            continue  # the legend only promises colours that appear
        fig.add_trace(
            go.Bar(
                y=[m.name for m in pts],
                x=[max(m.revenue_per_month, floor) for m in pts],
                name=label,
                orientation="h",
                marker_color=color,
                customdata=[[m.real_per_month, m.net_lifetime] for m in pts],
                hovertemplate="%{y}: %{x:.4f} OPEN/month from %{customdata[0]:.0f} real "
                "inferences; lifetime net %{customdata[1]:.4f} OPEN<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            y=[m.name for m in ms],
            x=[max(m.cost_per_month, floor) for m in ms],
            name="on-chain gas cost / month",
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 16, "color": COST, "line": {"width": 3}},
        )
    )
    fig.update_layout(
        title="Does each model pay? Monthly revenue at its fee and real volume vs its gas cost",
        xaxis_type="log",
        xaxis_title="OPEN per month (log scale)",
        yaxis={"categoryorder": "array", "categoryarray": [m.name for m in ms]},
        barmode="overlay",
        height=max(420, 24 * len(ms) + 160),
        legend={"orientation": "h", "y": -0.12, "x": 0, "yanchor": "top"},
    )
    return fig


def niche_chart(m: ModelRow) -> go.Figure:
    """What-if for one model: revenue per month as a function of real queries per month."""
    top = max(10.0, 3 * m.real_per_month, 2 * float(m.break_even or 0))
    xs = [top * i / 50 for i in range(51)]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[x * m.developer_per_inference for x in xs],
            name="revenue / month at its fee",
            mode="lines",
            line={"color": COVERS},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[m.cost_per_month, m.cost_per_month],
            name="on-chain gas cost / month",
            mode="lines",
            line={"color": COST, "dash": "dash"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[m.real_per_month],
            y=[m.revenue_per_month],
            name=f"today: {m.real_per_month:.0f} real inferences / month",
            mode="markers",
            marker={"size": 12, "color": COVERS if m.covers else DOES_NOT_COVER},
        )
    )
    fig.update_layout(
        title=f"What if: {m.name}, revenue vs real queries per month",
        xaxis_title="real inferences per month",
        yaxis_title="OPEN per month",
        height=380,
    )
    return fig


def _supply_gap(conn: duckdb.DuckDBPyConnection, chain_id: int) -> str | None:
    """Why on-chain circulating runs far below the schedule's unlocked line, in numbers."""
    rows = _rows(
        conn,
        """select day, scheduled_unlocked_wei::DOUBLE, released_onchain_wei::DOUBLE,
               treasury_wei::DOUBLE, staking_pool_wei::DOUBLE, bridge_escrow_wei::DOUBLE,
               distributor_wei::DOUBLE, circulating_wei::DOUBLE
           from metrics.supply_daily where chain_id = ? order by day desc limit 1""",
        [chain_id],
    )
    if not rows:
        return None
    d, sched, released, treasury, staking, bridge, distributor, circ = (
        v if i == 0 else float(v or 0) for i, v in enumerate(rows[0])
    )
    held = [
        (k, v)
        for k, v in (
            ("treasury wallets", treasury),
            ("the staking pool", staking),
            ("bridge escrow", bridge),
            ("distributor wallets", distributor),
        )
        if v > 0
    ]
    ratio = f" ({sched / circ:.1f}× circulating)" if circ > 0 else ""
    return (
        f"Why circulating runs below the schedule (on {d}): the schedule has unlocked "
        f"{_fmt_open(sched)}{ratio}, of which {_fmt_open(released)} has actually been released "
        "from vesting on chain. Released tokens that still sit in "
        + ", ".join(f"{k} ({_fmt_open(v)})" for k, v in held)
        + f" do not circulate by CoinGecko's method, which leaves {_fmt_open(circ)} circulating."
    )


def supply_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    hist = _rows(
        conn,
        """select day, circulating_wei::DOUBLE / 1e18, scheduled_unlocked_wei::DOUBLE / 1e18,
               released_onchain_wei::DOUBLE / 1e18
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
        vertical_spacing=0.1,
        subplot_titles=(
            "Circulating on chain vs the schedule, to the end of the schedule (OPEN)",
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
            y=[r[3] for r in hist],
            name="released from vesting (on chain)",
            line={"color": "#2a9d8f", "dash": "dot"},
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
    # The schedule forward from the last observed day, so the top panel spans the calendar.
    cum = _rows(
        conn,
        """with m as (select date_trunc('month', unlock_date)::DATE as month,
                           sum(unlock_wei::DOUBLE) / 1e18 as open from metrics.unlock_calendar
                    group by 1)
           select month, sum(open) over (order by month) from m order by month""",
    )
    last_day = hist[-1][0] if hist else None
    fwd = [r for r in cum if last_day is None or r[0] > _as_date(last_day)]
    if fwd:
        fig.add_trace(
            go.Scatter(
                x=[r[0] for r in fwd],
                y=[r[1] for r in fwd],
                name="unlocked per schedule (forward)",
                line={"dash": "dash", "color": "#e76f51", "width": 1},
                opacity=0.6,
                line_shape="hv",
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
    # The last cliff of the schedule is the big one (team and investors, Sept 2026). Its label
    # sits inside the lower panel, clear of both subplot titles.
    cliffs = _rows(conn, "select max(unlock_date) from metrics.unlock_calendar where is_cliff_end")
    if cliffs and cliffs[0][0] is not None:
        fig.add_vline(x=cliffs[0][0], line_dash="dot", line_color="#e76f51")
        fig.add_annotation(
            x=cliffs[0][0],
            y=0.97,
            xref="x2",
            yref="y2 domain",
            xanchor="left",
            yanchor="top",
            text=" team/investor cliff",
            showarrow=False,
            font={"color": "#e76f51"},
        )
    fig.update_layout(
        barmode="stack", height=760, title="Circulating supply and the forward unlock calendar"
    )
    return fig


def _as_date(v: Any) -> date:
    return v.date() if isinstance(v, datetime) else v


def _short_dapp(name: str | None, address: str) -> str:
    """A person's name for a dApp: the label's last part ("DAppRouter.chatbox" -> "chatbox")."""
    if not name:
        return f"{address[:6]}…{address[-4:]}"
    return name.rsplit(".", 1)[-1]


def dapp_chart(conn: duckdb.DuckDBPyConnection, chain_id: int) -> go.Figure:
    """Mainnet inferences per dApp and class, sorted by real demand, with the calls that came
    through no dApp (where most noise lives) as their own column."""
    rows = _rows(
        conn,
        """select dapp_name, dapp_address, traffic_class, sum(inference_count)
           from metrics.dapp_daily where chain_id = ? group by all""",
        [chain_id],
    )
    totals = dict(
        _rows(
            conn,
            """select traffic_class, sum(inference_count) from metrics.inference_daily
               where chain_id = ? and traffic_class <> 'testnet' group by 1""",
            [chain_id],
        )
    )
    counts: dict[str, dict[str, int]] = {}
    via: dict[str, int] = {}
    for name, address, cls, n in rows:
        label = _short_dapp(name, address)
        counts.setdefault(label, {})
        counts[label][cls] = counts[label].get(cls, 0) + int(n)
        via[cls] = via.get(cls, 0) + int(n)
    direct = "direct calls (no dApp)"
    counts[direct] = {c: max(int(n) - via.get(c, 0), 0) for c, n in totals.items()}
    dapps = sorted((k for k in counts if k != direct), key=lambda k: (-counts[k].get("real", 0), k))
    order = [*dapps, direct]
    classes = sorted({c for v in counts.values() for c, n in v.items() if n}, key=_class_order)
    fig = go.Figure()
    for cls in classes:
        fig.add_trace(
            go.Bar(
                x=order,
                y=[counts[k].get(cls, 0) for k in order],
                name=CLASS_LABELS.get(cls, cls),
                marker_color=CLASS_COLORS.get(cls, "#666"),
            )
        )
    fig.update_layout(
        barmode="stack",
        title="Which dApps bring real demand (mainnet inferences, sorted by real demand)",
        yaxis_title="inferences (mainnet, lifetime)",
        xaxis_title="dApp",
        legend_title="traffic class",
    )
    return fig


def _class_order(c: str) -> tuple[bool, str]:
    return (c != "real", c)


def build(conn: duckdb.DuckDBPyConnection, on_step: OnStep | None = None) -> Report:
    """Charts and key numbers from the metrics marts; ``on_step(step, done, total)`` reports
    progress (the CLI draws it)."""
    steps = iter(BUILD_STEPS)

    def step() -> None:
        if on_step is not None:
            done = BUILD_STEPS.index(name := next(steps))
            on_step(name, done, len(BUILD_STEPS) + 2)

    for t in ("inference_daily", "model_economics", "supply_daily", "unlock_calendar"):
        if not table_exists(conn, f"metrics.{t}"):
            raise ReportError(
                f"metrics.{t} is missing: build the metrics first (olw metrics), after ingesting"
            )
    cfg = load_metrics_config()
    testnets = tuple(cfg.testnet_chain_ids)
    chain = _mainnet_chain(conn, testnets)
    if chain is None:
        raise ReportError("no mainnet data in the warehouse: ingest a mainnet network first")
    step()
    rep = Report(notice=source_notice(conn))
    rep.models = model_rows(conn, chain)
    step()
    rep.charts["volume"] = volume_chart(conn, chain)
    rep.demand_charts.add("volume")
    rep.charts["testnet"] = testnet_chart(conn, testnets)
    step()
    rep.charts["payouts"] = payouts_chart(conn, chain)
    rep.charts["economics"] = economics_chart(rep.models)
    rep.demand_charts.add("economics")
    amort = int(getattr(cfg, "registration_amortization_months", 0) or 0)
    trailing = int(getattr(cfg, "trailing_days", 0) or 0)
    cost_rule = (
        "Only on-chain gas counts as a cost: the owner's registration gas"
        + (f" spread over {amort} months" if amort else "")
        + ", plus model updates and own calls"
        + (f" over the last {trailing} days" if trailing else "")
        + ". Serving the model off chain (GPUs, hosting) is invisible on chain and not included, "
        "so the break-even is a handful of inferences a month for nearly every model: read it "
        "as 'pays its gas', not 'pays for itself'. Revenue per month is the real (organic, "
        "mainnet) volume of the trailing window times the developer's share of one inference "
        "at the model's current fee. A model whose lifetime net is negative (it paid more in "
        "fees on its own calls and gas than it earned) never counts as covering its costs."
    )
    rep.chart_notes["economics"] = cost_rule
    niche = _niche(conn, chain, rep.models)
    if niche is not None:
        rep.charts["niche"] = niche_chart(niche)
        rep.demand_charts.add("niche")
        rep.chart_notes["niche"] = (
            f"{niche.name} earns {_fmt_o(niche.developer_per_inference)} per real inference "
            f"(the developer's share at its fee), and its on-chain gas costs "
            f"{_fmt_o(niche.cost_per_month)} a month: {niche.break_even or 0} real inference(s) "
            "a month pay the gas. Any off-chain serving cost would be a higher flat line the "
            "chain cannot show; read off the volume where the green line crosses it."
        )
    step()
    rep.charts["supply"] = supply_chart(conn, chain)
    gap = _supply_gap(conn, chain)
    if gap:
        rep.chart_notes["supply"] = gap
    step()
    rep.charts["dapps"] = dapp_chart(conn, chain)
    rep.demand_charts.add("dapps")
    rep.chart_notes["testnet"] = (
        "Testnet traffic is shown here only: it is never added to the real-demand charts or "
        "numbers above and below."
    )

    step()

    def demand(key: str, value: str) -> None:
        rep.numbers.append((key, value))
        rep.demand_numbers.add(key)

    vol = _rows(
        conn,
        """select sum(inference_count) filter (where traffic_class = 'real'),
               sum(inference_count), sum(fee_wei::DOUBLE) filter (where traffic_class = 'real'),
               sum(fee_wei::DOUBLE)
           from metrics.inference_daily where chain_id = ? and traffic_class <> 'testnet'""",
        [chain],
    )[0]
    real_n, all_n, real_fee, all_fee = (v or 0 for v in vol)
    demand(
        "Real mainnet inferences",
        f"{int(real_n):,} of {int(all_n):,} ({100 * real_n / all_n if all_n else 0:.1f} %)",
    )
    demand("Real mainnet fees", f"{_fmt_open(real_fee)} of {_fmt_open(all_fee)}")
    reasons = _rows(
        conn,
        "select traffic_class, sum(inference_count) from metrics.inference_daily "
        "where chain_id = ? and traffic_class not in ('real', 'testnet') group by 1 "
        "order by 2 desc",
        [chain],
    )
    demand(
        "Mainnet noise by reason",
        ", ".join(
            f"{CLASS_LABELS.get(r, r).removeprefix('noise: ')}: {int(n):,}" for r, n in reasons
        )
        or "none",
    )
    test_n = _rows(
        conn,
        "select coalesce(sum(inference_count), 0) from metrics.inference_daily "
        "where chain_id in (select unnest(?::UINTEGER[]))",
        [list(testnets)],
    )[0][0]
    rep.numbers.append(
        ("Testnet inferences (not demand, counted nowhere else)", f"{int(test_n):,}")
    )
    if table_exists(conn, "metrics.callers"):
        callers = _rows(
            conn,
            "select label, count(*) from metrics.callers where chain_id = ? group by 1 order by 1",
            [chain],
        )
        demand(
            "Mainnet callers by label", ", ".join(f"{lbl}: {n:,}" for lbl, n in callers) or "none"
        )
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
    judged = [m for m in rep.models if m.break_even is not None]
    losing = [m for m in judged if m.net_lifetime < 0]
    demand(
        "Models covering their owner's on-chain gas at current real volume",
        f"{sum(m.covers for m in judged)} of {len(judged)}"
        + (f" ({len(losing)} with a negative lifetime net do not)" if losing else ""),
    )
    rep.numbers.append(("What counts as a model's cost", "on-chain gas only (see the chart note)"))
    if niche is not None:
        verdict = "covers" if niche.covers else "does NOT cover"
        demand(
            "Niche model (or the smallest by real volume)",
            f"{niche.name}: {niche.real_per_month:.0f} real inferences/month earn "
            f"{_fmt_o(niche.revenue_per_month)}/month at its fee vs "
            f"{_fmt_o(niche.cost_per_month)}/month of gas (break-even "
            f"{niche.break_even}/month): {verdict} its costs; lifetime net "
            f"{_fmt_o(niche.net_lifetime)}",
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
            ("Circulating supply", f"{_fmt_open(circ)} of {_fmt_open(total)} on {_as_date(d)}")
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
    rep.summary = _summary(rep)
    return rep


def _niche(
    conn: duckdb.DuckDBPyConnection, chain_id: int, models: list[ModelRow]
) -> ModelRow | None:
    rows = _rows(
        conn,
        """select coalesce(model_name, 'model ' || model_id) || ' (#' || model_id || ')'
           from metrics.model_economics
           where chain_id = ? and real_inference_count > 0
           order by model_name ilike '%niche%' desc, real_inference_count asc limit 1""",
        [chain_id],
    )
    if not rows:
        return None
    return next((m for m in models if m.name == rows[0][0]), None)


def _summary(rep: Report) -> list[str]:
    lines = []
    if rep.notice:
        lines.append(f"> **{rep.notice}**")
        lines.append("")
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rep.numbers]
    return lines


def _models_table(models: list[ModelRow]) -> str:
    rows = []
    for m in sorted(models, key=lambda m: (m.covers, m.net_lifetime)):
        be = "n/a" if m.break_even is None else f"{m.break_even:,}"
        rows.append(
            f'<tr data-net="{m.net_lifetime:.9f}" data-covers="{"yes" if m.covers else "no"}">'
            f"<td>{html.escape(m.name)}</td><td>{m.real_per_month:,.0f}</td>"
            f"<td>{m.revenue_per_month:,.4f}</td><td>{m.cost_per_month:.2g}</td><td>{be}</td>"
            f"<td>{m.net_lifetime:,.4f}</td>"
            f'<td class="verdict">{"yes" if m.covers else "no"}</td></tr>'
        )
    return (
        f"<details><summary>Every model's economics ({len(models)} models; mainnet)</summary>"
        '<table id="model-economics" class="models"><thead><tr><th>model</th>'
        "<th>real inferences / month</th><th>revenue / month (OPEN)</th>"
        "<th>on-chain gas / month (OPEN)</th><th>break-even / month</th>"
        "<th>lifetime net (OPEN)</th><th>covers its costs</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></details>"
    )


def render(rep: Report, title: str = "OpenLedger: real demand, model payouts, supply") -> str:
    parts = []
    first = True
    for name, fig in rep.charts.items():
        fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 70, "b": 50})
        note = rep.chart_notes.get(name)
        attr = ' data-demand="1"' if name in rep.demand_charts else ""
        parts.append(
            f'<section class="chart" id="chart-{name}"{attr}>'
            + fig.to_html(
                full_html=False,
                include_plotlyjs=first,
                div_id=f"plot-{name}",
                config={"displaylogo": False, "responsive": True},
            )
            + (f'<p class="note">{html.escape(note)}</p>' if note else "")
            + (_models_table(rep.models) if name == "economics" else "")
            + "</section>"
        )
        first = False
    demand_attr = ' data-demand="1"'
    numbers = "\n".join(
        f"<tr{demand_attr if k in rep.demand_numbers else ''}>"
        f"<th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rep.numbers
    )
    notice = (
        f'<div id="data-notice" role="alert">{html.escape(rep.notice)}</div>' if rep.notice else ""
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0 2em; }}
th, td {{ text-align: left; padding: .35em .8em; border-bottom: 1px solid #ddd; }}
#key-numbers th {{ font-weight: 600; width: 40%; }}
table.models {{ font-size: .85em; }}
table.models td:not(:first-child) {{ text-align: right; }}
tr[data-covers="no"] td.verdict {{ color: #d62828; font-weight: 600; }}
section.chart {{ margin: 2em 0; }}
p.note {{ color: #444; font-size: .92em; max-width: 70em; }}
#data-notice {{ background: #fff3cd; border: 2px solid #e0a800; padding: .8em 1em;
  margin: 1em 0; font-weight: 600; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{notice}
<p>Three questions: how much inference is real, what each model earns (and whether that covers
its owner's gas), and how heavy supply pressure is. Built {stamp} from the warehouse marts in
schema <code>metrics</code>; see README.md ("The three answers") for the tables and the methods.
Real-demand figures count mainnet only; testnet has a chart of its own.</p>
<h2>Key numbers</h2>
<table id="key-numbers">{numbers}</table>
{"".join(parts)}
</body></html>
"""


def write_report(conn: duckdb.DuckDBPyConnection, out: Path, on_step: OnStep | None = None) -> Path:
    """Build and write the report; temp file then rename."""
    rep = build(conn, on_step)
    n = len(BUILD_STEPS) + 2
    if on_step is not None:
        on_step("rendering HTML (plotly.js inlined)", n - 2, n)
    text = render(rep)
    if on_step is not None:
        on_step(f"writing {out.name}", n - 1, n)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def chart_metadata(rep: Report) -> dict[str, Any]:
    """Plotly JSON of every chart, for Dagster metadata."""
    return {name: fig.to_plotly_json() for name, fig in rep.charts.items()}
