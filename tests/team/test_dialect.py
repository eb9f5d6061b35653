"""Each construct the translation rewrites, run on both engines over the same rows."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from jupyter_lineage.store import dialect
from jupyter_lineage.store.postgres import PostgresStore

from .test_team_store import rows

SETUP = """
CREATE TABLE t (g VARCHAR, k TIMESTAMPTZ, v VARCHAR, n BIGINT, tags VARCHAR[]);
INSERT INTO t VALUES
    ('a', '2026-01-01 00:00:00+00', 'first', 1, ['x', 'y']),
    ('a', '2026-01-02 00:00:00+00', NULL, NULL, NULL),
    ('a', '2026-01-03 00:00:00+00', 'third', 3, ['z']),
    ('b', NULL, 'no key', 4, []),
    ('b', '2026-01-01 00:00:00+00', 'only', 5, ['x']);
"""

CASES = [
    ("SELECT g, arg_max(v, k) AS a, arg_min(v, k) AS b FROM t GROUP BY g", None),
    ("SELECT g, arg_max(v, k) FILTER (WHERE n > 1) AS a FROM t GROUP BY g", None),
    ("SELECT g, any_value(v) IS NOT NULL AS a, count(*) AS c FROM t GROUP BY ALL", None),
    (
        "SELECT v, last_value(v IGNORE NULLS) OVER (PARTITION BY g ORDER BY k) AS l "
        "FROM t WHERE k IS NOT NULL",
        None,
    ),
    ("SELECT g, last(v ORDER BY k) FILTER (WHERE v IS NOT NULL) AS l FROM t GROUP BY g", None),
    ("SELECT v FROM t WHERE list_contains($ids, v)", {"ids": ["first", "only"]}),
    ("SELECT v FROM t WHERE v IN (SELECT unnest($ids))", {"ids": ["third"]}),
    ("SELECT v FROM t WHERE ($x IS NULL OR g = $x) AND n > ?", None),
    ("SELECT g, list({'v': v, 'n': n} ORDER BY n) AS s FROM t WHERE n < 4 GROUP BY g", None),
    ("SELECT g, coalesce(tags, []) AS tags FROM t WHERE g = 'a'", None),
    ("SELECT count(*) AS c FROM (SELECT g FROM t)", None),
    ("SELECT g FROM t QUALIFY row_number() OVER (PARTITION BY g ORDER BY n DESC) = 1", None),
    ("SELECT contains(v, 'ir') AS c, ends_with(v, 'st') AS e FROM t WHERE v IS NOT NULL", None),
]


@pytest.fixture(scope="module")
def engines(pg_server):  # type: ignore[no-untyped-def]
    url = pg_server.create_database()
    PostgresStore(url, ".").migrate()  # the compatibility functions
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(dialect.to_postgres(SETUP))
    local = duckdb.connect()
    local.execute(SETUP)
    yield local, url
    local.close()


@pytest.mark.parametrize(("sql", "params"), CASES)
def test_same_rows_on_both_engines(engines, sql: str, params) -> None:  # type: ignore[no-untyped-def]
    local, url = engines
    if params is None and "?" in sql:
        params = [None, 2] if "$x" not in sql else None
    if "$x" in sql:
        sql_local, values = sql.replace("?", "$n"), {"x": "a", "n": 2}
    else:
        sql_local, values = sql, params
    expected = local.execute(sql_local, values).df() if values else local.execute(sql_local).df()
    text, bound = dialect.bind(sql_local, values)
    with psycopg.connect(url) as con:
        cur = psycopg.RawCursor(con)
        cur.execute(text, bound or None)
        import pandas as pd

        got = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description or ()])
    assert len(expected) > 0
    assert rows(expected) == rows(got), text
