"""`olw verify`: a sound warehouse passes every check; each kind of damage fails the check that
looks for it, with a non-zero exit and no traceback."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import _register, app
from pipelines.quality.sample import build_sample_warehouse
from pipelines.store.verify import verify

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_warehouse(tmp_path_factory.mktemp("verify") / "w.duckdb")


@pytest.fixture
def copy(sample: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "w.duckdb"
    shutil.copy(sample, dst)
    return dst


def _sql(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for st in statements:
            con.execute(st)
    finally:
        con.close()


def test_a_sound_warehouse_passes(copy: Path) -> None:
    checks = verify(copy)
    assert all(c.ok for c in checks), checks
    res = runner.invoke(app, ["verify", "--warehouse", str(copy)])
    assert res.exit_code == 0, res.output
    assert "FAILED" not in res.output and "parent-hash chain" in res.output


DAMAGE: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "a log deleted": (
        lambda p: _sql(p, "delete from raw.logs where log_index = 0 and block_number = 1"),
        {"journal row counts", "decoded = logs − dead letters"},
    ),
    "a log stored twice": (
        lambda p: _sql(p, "insert into raw.logs select * from raw.logs limit 1"),
        {"each log once", "journal row counts"},
    ),
    "a wrong parent hash": (
        lambda p: _sql(p, "update raw.blocks set parent_hash = '0xbad' where block_number = 5"),
        {"parent-hash chain"},
    ),
    "a cursor above the stored head": (
        lambda p: _sql(p, "update raw.cursors set block_number = block_number + 7"),
        {"cursors"},
    ),
    "a decoded row lost": (
        lambda p: _sql(p, "delete from decoded.open_token__transfer where log_index = 0"),
        {"decoded = logs − dead letters"},
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damage_fails_its_check(copy: Path, damage: str) -> None:
    harm, expected = DAMAGE[damage]
    harm(copy)
    failed = {c.name for c in verify(copy) if not c.ok}
    assert expected <= failed, (damage, failed)
    res = runner.invoke(app, ["verify", "--warehouse", str(copy)])
    assert res.exit_code == 1 and "FAILED" in res.output and "check(s) failed" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def _data_offset(path: Path) -> int:
    """A byte of stored raw.logs data: its first segment's block and offset (DuckDB's file has
    a 3 × 4 KiB header, then 256 KiB blocks that begin with an 8-byte checksum)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block, offset = con.execute(
            "select block_id, block_offset from pragma_storage_info('raw.logs') "
            "where block_id >= 0 and column_name = 'block_hash' limit 1"
        ).fetchone()  # type: ignore[misc]
        size = int(con.execute("select block_size from pragma_database_size()").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()
    return 3 * 4096 + int(block) * size + 8 + int(offset) + 16


def test_flipped_bytes_are_found(copy: Path, sample: Path) -> None:
    """Bytes flipped in the middle of the file where data lives: `olw verify` finds them
    (non-zero exit, the table named); once the file is restored, it passes again. (Bytes
    flipped in a block's free space change no data, and no check can see them.)"""
    pos = _data_offset(copy)
    assert copy.stat().st_size * 0.2 < pos < copy.stat().st_size * 0.95  # in the middle
    with open(copy, "r+b") as f:
        f.seek(pos)
        raw = f.read(32)
        f.seek(pos)
        f.write(bytes(b ^ 0xFF for b in raw))
    res = runner.invoke(app, ["verify", "--warehouse", str(copy)])
    assert res.exit_code == 1, res.output
    assert "every table reads back" in res.output and "raw" in res.output
    assert "Corrupt database file" in res.output and "Traceback" not in res.output
    shutil.copy(sample, copy)  # the cause removed: a restored file
    assert runner.invoke(app, ["verify", "--warehouse", str(copy)]).exit_code == 0


def test_an_unopenable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "w.duckdb"
    bad.write_bytes(b"\0" * 100_000)
    res = runner.invoke(app, ["verify", "--warehouse", str(bad)])
    assert res.exit_code == 2 and "cannot open warehouse" in res.output
    res = runner.invoke(app, ["verify", "--warehouse", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 2 and "does not exist" in res.output
