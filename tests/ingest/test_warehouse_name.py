"""A warehouse file may have any name (issue 9): DuckDB names a file's catalog after its stem,
so a file called metrics.duckdb made every "metrics.x" ambiguous. Such files are attached
under another name; ingest, metrics, status and query all work on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.ingest.sparse import MAINNET, SparseChain

runner = CliRunner()
_register()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output + (r.stderr if r.stderr_bytes is not None else "")


@pytest.mark.parametrize("name", ["metrics.duckdb", "raw.duckdb"])
def test_any_warehouse_name(
    name: str, sparse_chain: SparseChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / name
    sparse_chain.apply(monkeypatch, wh)
    s = ingest_range(MAINNET, end=sparse_chain.head, warehouse=wh)
    assert s.cursor == sparse_chain.head
    code, out = _run("metrics", "--warehouse", str(wh))
    assert code == 0 and "Ambiguous" not in out, out
    code, out = _run("status", "--warehouse", str(wh), "--offline")
    assert code == 0 and "raw.logs" in out, out
    con = connect(wh, read_only=True)
    try:
        n = con.execute("select count(*) from metrics.supply_daily").fetchall()[0][0]
        logs = con.execute("select count(*) from raw.logs").fetchall()[0][0]
    finally:
        con.close()
    assert n > 0 and logs == s.logs
