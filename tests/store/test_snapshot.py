"""Readers never hold up a writer for long: a long query moves to a private snapshot, snapshots
of killed readers are swept, and a writer that has to wait says so."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.query_cli import run_query
from pipelines.store import connect, db


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select range as i from range(1000)")
    con.close()
    return path


def _spin(seconds: float) -> str:
    con = duckdb.connect()
    n = 10_000_000
    t0 = time.monotonic()
    con.execute(f"select count(*) from range({n}) r(i) where hash(i) % 3 = 0").fetchall()
    rows = int(n / max(1e-3, time.monotonic() - t0) * seconds)
    con.close()
    return (
        f"select (select count(*) from t), count(*) from range({rows}) r(i) where hash(i) % 3 = 0"
    )


def test_a_writer_commits_while_a_long_query_runs(wh: Path) -> None:
    out: dict[str, Any] = {}
    notes: list[str] = []

    def reader() -> None:
        out["rows"] = run_query(_spin(4), wh, live_s=0.3, on_note=notes.append)[1]

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    con = connect(wh, wait_s=3)  # the reader moved to its snapshot: the file is free
    con.execute("insert into t values (-1)")
    con.close()
    waited = time.monotonic() - t0
    assert t.is_alive(), "the query ended before the writer came: the test proves nothing"
    t.join()
    assert waited < 1.0, f"the writer waited {waited:.1f} s for a reader"
    assert out["rows"][0][0] == 1000  # one snapshot: the state when the query started
    assert any("snapshot" in n for n in notes)
    assert not list(wh.parent.glob(".w.duckdb.snapshot-*")), "the snapshot was not removed"
    assert run_query("select count(*) from t", wh)[1] == [(1001,)]


def test_snapshot_is_the_committed_state_and_killed_readers_are_swept(wh: Path) -> None:
    stale = wh.parent / ".w.duckdb.snapshot-999999999-abc"  # a pid that cannot exist
    stale.mkdir()
    (stale / "w.duckdb").write_bytes(b"x" * 1000)
    mine = wh.parent / f".w.duckdb.snapshot-{os.getpid()}-live"
    mine.mkdir()  # a live reader's snapshot stays
    snap = db.snapshot(wh)
    try:
        assert not stale.exists() and mine.exists()
        con = duckdb.connect(str(snap), read_only=True)
        assert con.execute("select count(*), sum(i) from t").fetchall() == [(1000, 499500)]
        con.close()
    finally:
        import shutil

        shutil.rmtree(snap.parent)
        shutil.rmtree(mine)


def test_a_waiting_writer_says_so(
    wh: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(db, "NOTE_EVERY_S", 0.3)
    reader = duckdb.connect(str(wh), read_only=True)  # holds the file for the whole wait
    try:
        with (
            caplog.at_level(logging.WARNING, logger="pipelines.store"),
            pytest.raises(db.WarehouseLocked, match="waited 1s"),
        ):
            connect(wh, wait_s=1.0)
    finally:
        reader.close()
    assert any("waiting for the warehouse" in r.getMessage() for r in caplog.records)
