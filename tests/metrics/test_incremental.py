from __future__ import annotations

import duckdb

from pipelines.metrics import incremental, synthetic
from tests.metrics.conftest import run


def _snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    out = {}
    for t in incremental.MART_TABLES:
        cols = [r[0] for r in conn.execute(f"describe metrics.{t}").fetchall()]
        order = ", ".join(f'"{c}"' for c in cols)
        out[t] = conn.execute(f"select * from metrics.{t} order by {order}").fetchall()
    return out


def test_incremental_equals_full_recompute(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    spec = synthetic.SyntheticSpec(n_inferences=8_000, days=20, n_organic=200)
    world = synthetic.generate(conn, spec)
    first = run(conn, world)
    assert first.mode == "full"  # nothing built yet: the config fingerprint forces a full run
    added = synthetic.append(conn, world, days=2, share=0.1)
    assert added > 0
    inc = run(conn, world)
    assert inc.mode == "incremental"
    # Only the two new days (plus days of callers whose class changed) were recomputed.
    assert inc.dirty_days <= 4, inc  # 2 new days, plus a sell-off 2 days after a release
    incremental_state = _snapshot(conn)
    full = run(conn, world, full=True)
    assert full.dirty_days > 20
    full_state = _snapshot(conn)
    for table in incremental.MART_TABLES:
        assert incremental_state[table] == full_state[table], f"metrics.{table} differs"
    # A no-op run touches nothing.
    assert run(conn, world).dirty_days == 0
