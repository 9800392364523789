"""`olw verify`: check what can be checked of a warehouse without the node.

- every table reads back whole (each row hashed, so DuckDB checks every block's checksum: a
  flipped byte in stored data fails here instead of passing silently);
- the journal's row counts: each append / receipts entry's blocks, logs and receipts are in
  the store (live or orphaned) under its journal id, each retraction's in the orphaned tables;
- no log twice: (chain_id, block_hash, log_index) is unique;
- the parent-hash chain: where two consecutive heights are stored, the upper one's parent hash
  is the lower one's hash, and no height holds two blocks;
- cursors: the logs cursor's block is stored with the cursor's hash and nothing is stored above
  it; the receipts cursor is not ahead of the logs cursor;
- decoded rows (every decoded.* table) = logs − dead letters, per chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.store.db import WarehouseError, connect


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> list:  # type: ignore[type-arg]
    return con.execute(sql, params or []).fetchall()


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f'"{s}"."{t}"'
        for s, t in _q(
            con,
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2",
        )
    ]


def check_readable(con: duckdb.DuckDBPyConnection) -> Check:
    rows = 0
    for t in _tables(con):
        try:
            rows += int(_q(con, f"select count(*), sum(hash(x)) from {t} x")[0][0])
        except duckdb.Error as exc:
            return Check("every table reads back", False, f"{t}: {str(exc).splitlines()[0]}")
    return Check("every table reads back", True, f"{rows:,} rows hashed")


def check_journal(con: duckdb.DuckDBPyConnection) -> Check:
    bad = []
    for kind in ("blocks", "logs", "receipts"):
        field = {"blocks": "block_count", "logs": "log_count", "receipts": "receipt_count"}[kind]
        bad += _q(
            con,
            f"""
            with stored as (
                select journal_id, count(*) n from (
                    select journal_id from raw.{kind}
                    union all select journal_id from raw.orphaned_{kind})
                group by 1),
            retracted as (
                select retracted_by as journal_id, count(*) n from raw.orphaned_{kind} group by 1)
            select j.journal_id, j.action, '{kind}', j.{field},
                   coalesce(case when j.action = 'retract' then r.n else s.n end, 0)
            from raw.ingest_journal j
            left join stored s using (journal_id) left join retracted r using (journal_id)
            where j.{field} <> coalesce(case when j.action = 'retract' then r.n else s.n end, 0)
            order by 1 limit 5""",
        )
    dup = _q(con, "select journal_id from raw.ingest_journal group by 1 having count(*) > 1")
    n = _q(con, "select count(*) from raw.ingest_journal")[0][0]
    if bad or dup:
        parts = [f"entry {j} ({a}): journal says {w} {k}, store holds {h}" for j, a, k, w, h in bad]
        parts += [f"journal id {j} used twice" for (j,) in dup[:3]]
        return Check("journal row counts", False, "; ".join(parts))
    return Check("journal row counts", True, f"{n:,} entries match the stored rows")


def check_unique_logs(con: duckdb.DuckDBPyConnection) -> Check:
    dup = _q(
        con,
        "select chain_id, block_number, block_hash, log_index, count(*) from raw.logs "
        "group by 1, 2, 3, 4 having count(*) > 1 limit 3",
    )
    if dup:
        txt = "; ".join(f"chain {c} block {n} log {i}: {k} copies" for c, n, _, i, k in dup)
        return Check("each log once", False, txt)
    return Check("each log once", True, "(chain_id, block_hash, log_index) is unique")


def check_parent_chain(con: duckdb.DuckDBPyConnection) -> Check:
    twice = _q(
        con,
        "select chain_id, block_number, count(*) from raw.blocks group by 1, 2 "
        "having count(*) > 1 order by 1, 2 limit 3",
    )
    broken = _q(
        con,
        """
        select b.chain_id, b.block_number, b.parent_hash, p.block_hash
        from raw.blocks b join raw.blocks p
          on p.chain_id = b.chain_id and p.block_number + 1 = b.block_number
        where b.parent_hash <> p.block_hash order by 1, 2 limit 3""",
    )
    pairs = _q(
        con,
        "select count(*) from raw.blocks b join raw.blocks p on p.chain_id = b.chain_id "
        "and p.block_number + 1 = b.block_number",
    )[0][0]
    if twice or broken:
        parts = [f"chain {c} height {n} holds {k} blocks" for c, n, k in twice]
        parts += [
            f"chain {c} block {n}: parent {ph[:12]}… but block {n - 1} is {h[:12]}…"
            for c, n, ph, h in broken
        ]
        return Check("parent-hash chain", False, "; ".join(parts))
    return Check("parent-hash chain", True, f"{pairs:,} adjacent pairs link up")


def check_cursors(con: duckdb.DuckDBPyConnection) -> Check:
    problems = []
    rows = _q(
        con,
        """
        select c.network, c.chain_id, c.block_number, c.block_hash,
               (select block_hash from raw.blocks b where b.chain_id = c.chain_id
                and b.block_number = c.block_number limit 1),
               (select max(block_number) from raw.blocks b where b.chain_id = c.chain_id),
               (select block_number from raw.cursors r where r.network = c.network
                and r.stream = 'receipts')
        from raw.cursors c where c.stream = 'logs' order by 1""",
    )
    for net, _cid, cur, h, stored_h, top, rcur in rows:
        if top is not None and top > cur:
            problems.append(f"{net}: blocks stored up to {top}, above the cursor {cur}")
        if stored_h is None:
            problems.append(f"{net}: the cursor's block {cur} is not stored")
        elif stored_h != h:
            problems.append(f"{net}: cursor {cur} says {h[:12]}…, stored {stored_h[:12]}…")
        if rcur is not None and rcur > cur:
            problems.append(f"{net}: receipts cursor {rcur} is ahead of the logs cursor {cur}")
    if problems:
        return Check("cursors", False, "; ".join(problems))
    return Check("cursors", True, f"{len(rows)} logs cursor(s) at a stored block, nothing above")


def check_decoded(con: duckdb.DuckDBPyConnection) -> Check:
    decoded = [t for t in _tables(con) if t.startswith('"decoded".')]
    union = " union all ".join(f"select chain_id from {t}" for t in decoded) or (
        "select null::uinteger as chain_id where false"
    )
    rows = _q(
        con,
        f"""
        with l as (select chain_id, count(*) n from raw.logs group by 1),
             d as (select chain_id, count(*) n from raw.dead_letters group by 1),
             x as (select chain_id, count(*) n from ({union}) group by 1)
        select coalesce(l.chain_id, d.chain_id, x.chain_id), coalesce(l.n, 0),
               coalesce(d.n, 0), coalesce(x.n, 0)
        from l full join d using (chain_id) full join x using (chain_id) order by 1""",
    )
    bad = [(c, n, dd, x) for c, n, dd, x in rows if x != n - dd]
    if bad:
        txt = "; ".join(
            f"chain {c}: {x:,} decoded rows, but {n:,} logs − {dd:,} dead letters = {n - dd:,}"
            for c, n, dd, x in bad
        )
        return Check("decoded = logs − dead letters", False, txt)
    total = sum(x for *_, x in rows)
    return Check("decoded = logs − dead letters", True, f"{total:,} decoded rows")


CHECKS: list[Callable[[duckdb.DuckDBPyConnection], Check]] = [
    check_readable,
    check_journal,
    check_unique_logs,
    check_parent_chain,
    check_cursors,
    check_decoded,
]


def verify(path: str | Path, wait_s: float = 30.0) -> list[Check]:
    """Every check, in order; a check that cannot run (a corrupt table, say) fails with the
    error. WarehouseError when the file cannot be opened at all."""
    try:
        con = connect(path, read_only=True, wait_s=wait_s)
    except WarehouseError:
        raise
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot open warehouse {path}: {str(exc).splitlines()[0]} (the file is damaged: "
            "restore it from a backup, or move it aside and re-ingest)"
        ) from None
    try:
        out = []
        for check in CHECKS:
            try:
                out.append(check(con))
            except duckdb.Error as exc:
                name = check.__name__.removeprefix("check_").replace("_", " ")
                out.append(Check(name, False, str(exc).splitlines()[0]))
        return out
    finally:
        con.close()
