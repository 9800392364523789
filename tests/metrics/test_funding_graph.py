"""One test per real-vs-noise signal, on small hand-built stores (no devnet): the funding graph
(multi-hop farms, dust, intermediary self-dealing, relay round trips, exchange bursts, hubs)
and behaviour (outage cron, random-sleep bot, a regular paying customer)."""

from __future__ import annotations

import random
from typing import Any

import duckdb

from pipelines.metrics import incremental
from pipelines.metrics.common import Labels, MetricsConfig
from pipelines.metrics.synthetic import RECEIPTS_DDL, ensure_tables

E18 = 10**18
T0 = 1_760_000_000  # 2025-10-09
EXCHANGE = "0xexchange"
FEE = 10**16


class Store:
    """A DuckDB store written row by row: transfers, models and inferences in time order."""

    def __init__(self) -> None:
        self.conn = duckdb.connect()
        ensure_tables(self.conn)
        self.conn.execute(RECEIPTS_DDL)
        self.n = 0
        self.labels = Labels()
        self.labels.add(1612, EXCHANGE, "exchange", "exchange")
        self.rows: dict[str, list[tuple[Any, ...]]] = {"t": [], "i": [], "m": []}

    def _common(self, t: int, sender: str) -> tuple[Any, ...]:
        self.n += 1
        return (1612, t // 2 * 10 + self.n % 10, f"0xb{t}", t, f"0xtx{self.n}", 0, 0, "0xc", sender)

    def transfer(self, frm: str, to: str, amount: int, t: int) -> None:
        self.rows["t"].append((*self._common(t, frm), frm, to, amount))

    def model(self, mid: int, owner: str) -> None:
        c = self._common(T0 - 86400, owner)
        self.rows["m"].append((*c, mid, owner, f"m{mid}", [1], "0xh", FEE))

    def infer(self, caller: str, mid: int, t: int, tin: int = 300, tout: int = 600) -> None:
        c = self._common(t, caller)
        self.rows["i"].append((*c, f"r{self.n}", mid, caller, FEE, tin, tout))

    def run(self, cfg: MetricsConfig | None = None) -> dict[str, dict[str, Any]]:
        ts = "make_timestamp(?::BIGINT * 1000000)"
        common = f"?, ?, ?, {ts}, ?, ?, ?, ?, ?"
        for key, table, extra in (
            ("t", "decoded.open_token__transfer", 3),
            ("i", "decoded.inference_market__inference_requested", 6),
            ("m", "decoded.model_registry__model_registered", 6),
        ):
            if self.rows[key]:
                marks = ", ".join(["?"] * extra)
                self.conn.executemany(
                    f"insert into {table} values ({common}, {marks})", self.rows[key]
                )
            self.rows[key] = []
        incremental.update(
            self.conn, full=True, cfg=cfg or MetricsConfig(), labels=self.labels, buckets=[]
        )
        cur = self.conn.execute("select * from metrics.callers")
        names = [d[0] for d in cur.description]
        return {r[0 + 1]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _organic(s: Store, rng: random.Random, who: str, models: list[int]) -> None:
    """An exchange-funded person: own amount, own time, Poisson-ish calls, varied requests."""
    t = T0 + rng.randint(0, 60) * 86400 + rng.randint(0, 86399)
    s.transfer(EXCHANGE, who, rng.randint(5, 500) * E18 // 10, t)
    for _ in range(rng.randint(3, 15)):
        t += int(rng.expovariate(1 / 86400)) + 60
        s.infer(who, rng.choice(models), t, rng.randint(50, 3000), rng.randint(20, 4000))


def test_multi_hop_farm_is_one_cluster_and_dust_does_not_capture_the_funder():
    s = Store()
    s.model(1, "0xdev")
    s.transfer(EXCHANGE, "0xop", 1000 * E18, T0)
    members = []
    for k in range(2):
        s.transfer("0xop", f"0xmid{k}", 300 * E18, T0 + 3600)
        for j in range(3):
            m = f"0xm{k}{j}"
            members.append(m)
            s.transfer("0xstranger", m, 10**12, T0 + 100)  # dust first: not the funder
            s.transfer(f"0xmid{k}", m, 50 * E18 + j * E18, T0 + 7200)
    rng = random.Random(1)
    for m in members:
        t = T0 + 10_000
        for _ in range(10):
            t += int(rng.expovariate(1 / 40_000)) + 30
            s.infer(m, 1, t, rng.randint(50, 3000), rng.randint(20, 4000))
    for i in range(10):
        _organic(s, rng, f"0xorg{i}", [1])
    got = s.run()
    for m in members:
        c = got[m]
        assert c["funder_address"].startswith("0xmid"), c  # the first transfer was dust
        assert c["funding_root"] == "0xop" and c["funding_root_kind"] == "exchange"
        assert c["funding_hops"] == 3
        assert c["label"] == "noise" and c["noise_reason"] == "sybil_cluster", c
        assert c["cluster_kind"] == "ancestor" and c["cluster_size"] == 6
    assert all(got[f"0xorg{i}"]["label"] == "real" for i in range(10))


def test_self_dealing_through_an_intermediary_is_attributed_to_the_owner():
    s = Store()
    s.model(1, "0xowner")
    s.model(2, "0xdev")
    s.transfer(EXCHANGE, "0xowner", 100 * E18, T0)
    s.transfer("0xowner", "0xproxy", 50 * E18, T0 + 60)
    rng = random.Random(2)
    for w in ("0xw1", "0xw2"):
        s.transfer("0xproxy", w, 20 * E18, T0 + 120)
        t = T0 + 1000
        for _ in range(6):
            t += rng.randint(3000, 90_000)
            s.infer(w, 1, t, rng.randint(50, 3000), rng.randint(20, 4000))
    # a stranger funded by the same proxy calling someone else's model is not self-dealing
    s.transfer("0xproxy", "0xw3", 20 * E18, T0 + 120)
    s.infer("0xw3", 2, T0 + 5000)
    got = s.run()
    for w in ("0xw1", "0xw2"):
        assert got[w]["is_self_dealing"] and got[w]["self_dealing_models"] == "1"
        assert got[w]["label"] == "noise" and got[w]["noise_reason"] == "self_dealing"
        assert '"self_dealing_hops":2' in got[w]["evidence"]
    assert not got["0xw3"]["is_self_dealing"] and got["0xw3"]["label"] == "real"


def test_round_trip_through_a_second_wallet():
    s = Store()
    s.model(1, "0xowner")
    s.transfer(EXCHANGE, "0xowner", 100 * E18, T0)
    s.transfer("0xowner", "0xwallet", 10 * E18, T0 + 60)
    for k in range(5):
        s.infer("0xwallet", 1, T0 + 1000 + k * 7777, 100 + k * 37, 200 + k * 91)
    s.transfer("0xwallet", "0xrelay", 9 * E18, T0 + 90_000)
    s.transfer("0xrelay", "0xowner", 9 * E18, T0 + 90_100)
    got = s.run()
    c = got["0xwallet"]
    assert c["is_round_trip"] and c["noise_reason"] == "round_trip"
    assert c["round_trip_path"] == "0xwallet>0xrelay>0xowner"
    assert int(c["returned_to_funder_wei"]) == 9 * E18


def test_exchange_withdrawal_burst_is_a_farm_and_ordinary_withdrawals_are_not():
    s = Store()
    for mid in (1, 2, 3):
        s.model(mid, f"0xdev{mid}")
    rng = random.Random(3)
    burst = [f"0xburst{j}" for j in range(6)]
    for j, w in enumerate(burst):
        s.transfer(EXCHANGE, w, 25 * E18, T0 + 600 + j * 40)  # one hour, one amount
        t = T0 + 2000
        for _ in range(8):
            t += int(rng.expovariate(1 / 30_000)) + 30
            s.infer(w, 3, t, rng.randint(50, 3000), rng.randint(20, 4000))
    for i in range(20):
        _organic(s, rng, f"0xorg{i}", [1, 2, 3])
    got = s.run()
    for w in burst:
        assert got[w]["label"] == "noise" and got[w]["cluster_kind"] == "burst", got[w]
        assert got[w]["funder_kind"] == "exchange"
    assert [got[f"0xorg{i}"]["label"] for i in range(20)] == ["real"] * 20


def test_hub_of_diverse_long_lived_callers_goes_to_review_not_noise():
    s = Store()
    for mid in range(1, 7):
        s.model(mid, f"0xdev{mid}")
    s.transfer(EXCHANGE, "0xonboarding", 1000 * E18, T0)
    rng = random.Random(4)
    users = [f"0xuser{i}" for i in range(8)]
    for i, u in enumerate(users):
        t = T0 + i * 9 * 86400 + rng.randint(0, 86400)  # joined over months
        s.transfer("0xonboarding", u, 10 * E18, t)
        for _ in range(rng.randint(4, 12)):
            t += int(rng.expovariate(1 / 200_000)) + 60
            s.infer(u, rng.randint(1, 6), t, rng.randint(50, 3000), rng.randint(20, 4000))
    got = s.run()
    for u in users:
        assert got[u]["label"] == "review" and got[u]["review_reason"] == "hub", got[u]
        assert got[u]["is_hub_member"] and not got[u]["is_sybil_cluster"]


def _behaviour_store(gaps: list[int], tokens: list[tuple[int, int]] | None = None) -> dict:
    s = Store()
    s.model(1, "0xdev")
    s.transfer(EXCHANGE, "0xc", 100 * E18, T0)
    t = T0 + 100
    for k, g in enumerate([0, *gaps]):
        t += g
        tin, tout = tokens[k] if tokens else (256, 512)
        s.infer("0xc", 1, t, tin, tout)
    return s.run()["0xc"]


def test_outage_cron_stays_periodic_and_is_noise_for_its_identical_requests():
    gaps = [3600 + (k % 3) for k in range(40)] + [20 * 86400] + [3600] * 40
    c = _behaviour_store(gaps)
    assert c["cadence_cv"] > 0.25  # the old CV rule saw no cadence here
    assert c["periodic_share"] >= 0.95 and c["is_fixed_cadence"]
    assert abs(c["period_s"] - 3600) / 3600 < 0.1
    assert c["is_scripted"] and c["label"] == "noise" and c["noise_reason"] == "scripted"


def test_random_sleep_bot_is_noise_though_it_has_no_period():
    rng = random.Random(5)
    c = _behaviour_store([rng.randint(2 * 3600, 10 * 3600) for _ in range(60)])
    assert c["periodic_share"] < 0.5 and not c["is_fixed_cadence"]
    assert c["is_scripted"] and c["label"] == "noise", c


def test_regular_paying_customer_is_real():
    """A clinic's nightly batch: exactly every 24 h, every request different."""
    rng = random.Random(6)
    tokens = [(rng.randint(100, 4000), rng.randint(50, 2000)) for _ in range(61)]
    c = _behaviour_store([86400] * 60, tokens)
    assert c["is_fixed_cadence"] and c["periodic_share"] == 1.0
    assert not c["is_scripted"] and c["label"] == "real", c
    assert c["noise_score"] < 0.5


def _ddl(file: str, table: str) -> str:
    from pipelines.config import REPO_ROOT

    ddl = (REPO_ROOT / "schemas" / "ddl" / file).read_text()
    start = ddl.index(f"create table {table} (")
    return ddl[start : ddl.index(";", start)]


def _write_native(s: Store, rows: list[tuple[int, str, str, int]]) -> None:
    """One block and one plain value transaction per (time, from, to, value)."""
    for k, (t, frm, to, v) in enumerate(rows):
        b = t // 2 * 10 + 5
        s.conn.execute(
            "insert into raw.blocks values (1612, ?, ?, '0xp', make_timestamp(?::BIGINT * "
            "1000000), ?, false, 1)",
            [b, f"0xnb{t}", t, t],
        )
        s.conn.execute(
            "insert into raw.transactions values (1612, ?, ?, ?, 0, ?, ?, 0, 0, ?, 21000, "
            "1, null, null, null, 1)",
            [b, f"0xnb{t}", f"0xntx{t}{k}", frm, to, v],
        )


def _farm_and_organic_traffic(s: Store, rng: random.Random, farm: str) -> None:
    """Six farm wallets (farm + 0..5) calling model 1 at organic-looking times, beside eight
    organic users: only the funding tells the farm apart."""
    for j in range(6):
        t = T0 + 500
        for _ in range(8):
            t += rng.randint(1000, 40_000)
            s.infer(f"{farm}{j}", 1, t, rng.randint(50, 3000), rng.randint(20, 4000))
    for i in range(8):
        _organic(s, rng, f"0xorg{i}", [1])


def test_native_value_feeds_the_graph_and_merges_incrementally_like_a_full_run():
    """On the real L2 funding arrives as native OPEN (transaction value): the same farm funded
    natively is found, and the incremental merge of value_edges / caller_gaps equals a full
    recompute."""
    s = Store()
    s.conn.execute(_ddl("001_event_store.sql", "raw.blocks"))
    s.conn.execute(_ddl("002_transactions_and_receipts_stream.sql", "raw.transactions"))
    s.model(1, "0xdev")
    native: list[tuple[int, str, str, int]] = [(T0, EXCHANGE, "0xop", 500 * E18)]
    native += [(T0 + 60 + j, "0xop", f"0xn{j}", 20 * E18) for j in range(6)]
    _farm_and_organic_traffic(s, random.Random(7), "0xn")

    _write_native(s, native)
    s.run()  # full: first run
    # a second batch, later in chain order than everything merged: more native funding
    _write_native(s, [(T0 + 200 * 86400 + k, "0xop", f"0xn{k}", E18) for k in range(3)])
    late = s.conn.execute(
        "select max(block_number) from decoded.inference_market__inference_requested"
    ).fetchone()[0]
    s.infer("0xn0", 1, T0 + 200 * 86400)  # later than everything before
    s.transfer(EXCHANGE, "0xorg0", E18, T0 + 200 * 86400)
    ts = "make_timestamp(?::BIGINT * 1000000)"
    for key, table, extra in (
        ("t", "decoded.open_token__transfer", 3),
        ("i", "decoded.inference_market__inference_requested", 6),
    ):
        marks = ", ".join(["?"] * extra)
        s.conn.executemany(
            f"insert into {table} values (?, ?, ?, {ts}, ?, ?, ?, ?, ?, {marks})", s.rows[key]
        )
        s.rows[key] = []
    res = incremental.update(s.conn, cfg=MetricsConfig(), labels=s.labels, buckets=[])
    assert res.mode == "incremental" and late is not None
    state = {
        t: s.conn.execute(f"select * from metrics.{t} order by all").fetchall()
        for t in (*incremental.STATE_TABLES, "callers")
    }
    incremental.update(s.conn, full=True, cfg=MetricsConfig(), labels=s.labels, buckets=[])
    for t, rows in state.items():
        assert s.conn.execute(f"select * from metrics.{t} order by all").fetchall() == rows, t
    farm = s.conn.execute(
        "select count(*) from metrics.callers where caller_address like '0xn%' "
        "and label = 'noise' and funding_root = '0xop'"
    ).fetchone()[0]
    assert farm == 6
    edges = s.conn.execute(
        "select count(*) from metrics.value_edges where from_address = '0xop'"
    ).fetchone()[0]
    assert edges == 6
    assert (
        s.conn.execute(
            "select sum(transfer_count) from metrics.value_edges where from_address = '0xop'"
        ).fetchone()[0]
        == 9
    )


def test_internal_native_transfers_from_traces_feed_the_graph():
    """A farm funded through a disperser contract: the operator's transaction sends native OPEN
    to the contract and the wallets receive it only as internal transfers (raw.traces). Without
    the traces the wallets have no funder and look organic."""
    s = Store()
    s.conn.execute(_ddl("001_event_store.sql", "raw.blocks"))
    s.conn.execute(_ddl("002_transactions_and_receipts_stream.sql", "raw.transactions"))
    s.conn.execute(_ddl("006_native_value_and_op_receipts.sql", "raw.traces"))
    s.model(1, "0xdev")
    _farm_and_organic_traffic(s, random.Random(11), "0xw")
    _write_native(
        s, [(T0, EXCHANGE, "0xop", 500 * E18), (T0 + 60, "0xop", "0xdisperse", 120 * E18)]
    )
    disperse_tx = f"0xntx{T0 + 60}1"
    b = (T0 + 60) // 2 * 10 + 5
    for j in range(6):
        s.conn.execute(
            "insert into raw.traces (chain_id, block_number, block_hash, tx_hash, tx_index, "
            "trace_address, depth, trace_type, call_type, from_address, to_address, value_wei, "
            "error, reverted, journal_id) values (1612, ?, ?, ?, 0, ?, 1, 'call', "
            "'call', '0xdisperse', ?, ?, null, false, 1)",
            [b, f"0xnb{T0 + 60}", disperse_tx, str(j), f"0xw{j}", 20 * E18],
        )
    # a reverted frame moves nothing: it must not become an edge
    s.conn.execute(
        "insert into raw.traces (chain_id, block_number, block_hash, tx_hash, tx_index, "
        "trace_address, depth, trace_type, call_type, from_address, to_address, value_wei, "
        "error, reverted, journal_id) values (1612, ?, ?, ?, 0, '9', 1, 'call', "
        "'call', '0xdisperse', '0xorg0', ?, 'execution reverted', true, 1)",
        [b, f"0xnb{T0 + 60}", disperse_tx, 20 * E18],
    )
    callers = s.run()
    farm = [callers[f"0xw{j}"] for j in range(6)]
    assert all(c["label"] == "noise" for c in farm), [c["label"] for c in farm]
    assert {c["funding_root"] for c in farm} <= {"0xop", "0xdisperse"}, farm[0]
    edges = s.conn.execute(
        "select count(*), sum(amount_wei) from metrics.value_edges "
        "where from_address = '0xdisperse'"
    ).fetchone()
    assert edges == (6, 120 * E18)
