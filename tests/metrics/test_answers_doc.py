"""The example queries of the README run and return rows."""

from __future__ import annotations

import re

from pipelines.config import REPO_ROOT


def _queries() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def test_answers_doc_has_five_queries_that_run(synth_store):
    conn, _ = synth_store
    queries = _queries()
    assert len(queries) >= 5
    for q in queries:
        rows = conn.execute(q).fetchall()
        assert rows, q
