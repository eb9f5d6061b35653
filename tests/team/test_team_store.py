"""The team store on a real PostgreSQL server: shipping, idempotence, outages, and the same
answers as the local DuckDB store holding the same events."""

from __future__ import annotations

import datetime
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import psycopg
import pytest

from bench.pgserver import PostgresServer
from jupyter_lineage.errors import QueryError, SchemaVersionError, StoreError
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.duckdb import SCHEMA_VERSION, VIEWS
from jupyter_lineage.store.postgres import PostgresStore

from .conftest import cli

ROOT = Path(__file__).resolve().parents[2]
MODEL = "churn-logreg"


# -- helpers ------------------------------------------------------------------


def _norm(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp | datetime.datetime):
        return pd.Timestamp(v).tz_convert("UTC").isoformat()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return round(float(v), 9)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def rows(df: pd.DataFrame) -> list[str]:
    """A frame's rows as sorted JSON lines: equal exactly when the two stores agree."""
    return sorted(
        json.dumps([_norm(x) for x in r], default=str, sort_keys=True)
        for r in df.itertuples(index=False)
    )


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of ``cells``; a cell that raises is tagged as expected to."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            c, metadata={"tags": ["raises-exception"]} if "raise " in c else {}
        )
        for c in cells
    ]
    nbformat.write(nb, path)
    return path


def _run_notebook(
    path: Path, store: Path, env: dict[str, str], *, wait: bool = True
) -> subprocess.Popen[str]:
    import os

    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter_lineage.cli", "--store", str(store), "run",
            str(path), "-o", str(path.with_suffix(".out.ipynb")), "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=path.parent,
        env={**os.environ, **env},
    )  # fmt: skip
    if wait:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, out + err
    return proc


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart notebook run once into a local store; returns its store directory."""
    work = tmp_path_factory.mktemp("quickstart")
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    done = cli("run", "quickstart.ipynb", "-o", "out.ipynb", "--quiet", cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    return work / ".lineage"


# -- schema and shipping --------------------------------------------------------


def test_sync_needs_migrate_and_migrate_is_safe_twice(quickstart: Path, team_url: str) -> None:
    store = PostgresStore(team_url, quickstart)
    with pytest.raises(SchemaVersionError, match="run `jupyter-lineage migrate`"):
        store.sync()
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    for _ in range(2):
        done = cli("--store", str(quickstart), "migrate", env=env)
        assert done.returncode == 0, done.stderr
        assert "schema version" in done.stdout
    assert store.schema_version() == SCHEMA_VERSION


def test_duplicate_sync_adds_nothing(quickstart: Path, team_url: str) -> None:
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    assert cli("--store", str(quickstart), "migrate", env=env).returncode == 0
    first = cli("--store", str(quickstart), "sync", env=env)
    assert first.returncode == 0, first.stderr
    events = _count(team_url, "SELECT count(*) FROM events")
    runs = _count(team_url, "SELECT count(*) FROM runs")
    assert events > 0 and runs > 0
    assert f"shipped {events} new event(s)" in first.stdout

    again = cli("--store", str(quickstart), "sync", env=env)
    assert "shipped 0 new event(s)" in again.stdout
    # Another copy of the same journals (a second clone, a restored backup) ships from
    # offset 0: every event is already there, by id.
    with psycopg.connect(team_url) as con:
        con.execute("DELETE FROM shipped_journals")
    copy = PostgresStore(team_url, quickstart)
    assert copy.sync().events == 0
    assert _count(team_url, "SELECT count(*) FROM events") == events
    assert _count(team_url, "SELECT count(*) FROM runs") == runs
    assert _count(team_url, "SELECT count(*) FROM environment_records") == 1
    who = _count(
        team_url, "SELECT count(*) FROM events WHERE user_name IS NULL OR hostname IS NULL"
    )
    assert who == 0, "every event carries the user and host that shipped it"


def test_views_give_the_same_answers_on_both_engines(quickstart: Path, team_url: str) -> None:
    team = PostgresStore(team_url, quickstart)
    team.migrate()
    team.sync()
    local = DuckDBStore(quickstart)
    for view in VIEWS:
        a = local.query(f"SELECT * FROM {view}")
        b = team.query(f"SELECT * FROM {view}", ingest=False)
        assert list(a.columns) == list(b.columns), view
        assert rows(a) == rows(b), view
    # Parameters, both styles, through the translation.
    with pytest.raises(QueryError, match="no value given for the query's parameter 'missing'"):
        team.query("SELECT * FROM runs WHERE status = $missing", {"s": "ok"}, ingest=False)
    q = "SELECT name, value FROM metrics WHERE name LIKE 'acc%' AND value > $v ORDER BY name"
    assert rows(local.query(q, {"v": 0.5})) == rows(team.query(q, {"v": 0.5}, ingest=False))


def test_cli_graph_card_and_search_agree(quickstart: Path, team_url: str) -> None:
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    assert cli("--store", str(quickstart), "migrate", env=env).returncode == 0

    def both(*args: str) -> tuple[str, str]:
        local = cli("--store", str(quickstart), *args, env={"JUPYTER_LINEAGE_STORE": ""})
        team = cli("--store", str(quickstart), *args, env=env)
        assert local.returncode == 0, local.stderr
        assert team.returncode == 0, team.stderr
        return local.stdout, team.stdout

    local, team = both("graph", "upstream", f"model:{MODEL}", "--format", "json")
    assert json.loads(local) and _sorted_json(local) == _sorted_json(team)
    local, team = both("graph", "impact", "file:data/customers.csv", "--format", "json")
    assert _sorted_json(local) == _sorted_json(team)

    local, team = both("model", "search", "name:churn*")
    assert MODEL in local and local == team

    local_card = quickstart.parent / "local.json"
    team_card = quickstart.parent / "team.json"
    assert cli("--store", str(quickstart), "card", MODEL, "-o", str(local_card),
               env={"JUPYTER_LINEAGE_STORE": ""}).returncode == 0  # fmt: skip
    done = cli("--store", str(quickstart), "card", MODEL, "-o", str(team_card), env=env)
    assert done.returncode == 0, done.stderr
    a, b = json.loads(local_card.read_text()), json.loads(team_card.read_text())
    for card in (a, b):
        card.pop("generated_at", None)
    assert a == b


def _sorted_json(text: str) -> list[str]:
    data = json.loads(text)
    items = data if isinstance(data, list) else data.get("rows", data.get("nodes", [data]))
    return sorted(json.dumps(x, sort_keys=True, default=str) for x in items)


# -- kernels --------------------------------------------------------------------

CELLS = 250


@pytest.mark.heavy
def test_four_kernels_ship_1000_cells_once(tmp_path: Path, team_url: str) -> None:
    store = tmp_path / "shared"
    assert (
        cli("--store", str(store), "migrate", env={"JUPYTER_LINEAGE_STORE": team_url}).returncode
        == 0
    )
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    procs = []
    for k in range(4):
        cells = ["%load_ext jupyter_lineage", "acc = 0"]
        cells += [
            f"%%lineage --tag k{k}\nacc += {i}\nv_{i % 7} = [{i}] * {i % 9}" for i in range(CELLS)
        ]
        procs.append(
            _run_notebook(_notebook(tmp_path / f"k{k}.ipynb", cells), store, env, wait=False)
        )
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, out + err
    # Nothing synced from this process: the kernels shipped everything themselves.
    assert _count(team_url, "SELECT count(*) FROM runs") == 4 * CELLS
    assert _count(team_url, "SELECT count(DISTINCT execution_id) FROM runs") == 4 * CELLS
    for k in range(4):
        assert _count(team_url, f"SELECT count(*) FROM runs WHERE 'k{k}' = ANY(tags)") == CELLS
    assert _count(team_url, "SELECT count(*) FROM events") == _count(
        team_url, "SELECT count(DISTINCT event_id) FROM events"
    )
    # The local journals hold exactly what the server holds.
    local = DuckDBStore(store)
    local.ingest()
    assert int(local.query("SELECT count(*) FROM events").iloc[0, 0]) == _count(
        team_url, "SELECT count(*) FROM events"
    )


def test_capture_while_the_server_is_down_then_sync(
    tmp_path: Path, pg_server: PostgresServer, team_url: str
) -> None:
    store = tmp_path / "offline"
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    assert cli("--store", str(store), "migrate", env=env).returncode == 0
    cells = ["%load_ext jupyter_lineage"] + [
        f"%%lineage\nx_{i} = {i} * 2\nx_{i}" for i in range(20)
    ]
    nb = _notebook(tmp_path / "offline.ipynb", cells)
    pg_server.stop()
    try:
        _run_notebook(nb, store, env)
    finally:
        pg_server.start()
    out = nbformat.read(nb.with_suffix(".out.ipynb"), as_version=4)
    # Every cell ran and returned its value; the outage was reported once, not per cell.
    texts = [json.dumps(c.get("outputs", [])) for c in out.cells]
    for i in range(20):
        assert f'"text/plain": "{i * 2}"' in texts[i + 1]
    reports = sum(t.count("cannot reach the team store") for t in texts)
    assert reports <= 1
    assert _count(team_url, "SELECT count(*) FROM runs") == 0

    done = cli("--store", str(store), "sync", env=env)
    assert done.returncode == 0, done.stderr
    assert _count(team_url, "SELECT count(*) FROM runs") == 20
    assert _count(team_url, "SELECT count(*) FROM runs WHERE status = 'ok'") == 20
    again = cli("--store", str(store), "sync", env=env)
    assert "shipped 0 new event(s)" in again.stdout


def test_unreachable_store_is_one_clear_line(tmp_path: Path) -> None:
    env = {"JUPYTER_LINEAGE_STORE": "postgresql://nobody@127.0.0.1:1/none"}
    (tmp_path / "s" / "journal").mkdir(parents=True)
    done = cli("--store", str(tmp_path / "s"), "sync", env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot reach the team store" in done.stderr
    bad = cli("--store", str(tmp_path / "s"), "sync", env={"JUPYTER_LINEAGE_STORE": "mysql://x"})
    assert bad.returncode == 2 and "PostgreSQL URL" in bad.stderr
    assert "Traceback" not in done.stderr + bad.stderr


def test_roles_bound_to_team_store_users(quickstart: Path, team_url: str) -> None:
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    base = ("--store", str(quickstart))
    assert cli(*base, "migrate", env=env).returncode == 0
    listed = cli(*base, "roles", "list", env=env)
    assert "no roles bound" in listed.stdout
    assert cli(*base, "roles", "grant", "lineage", "reviewer", env=env).returncode == 0
    assert "lineage" in cli(*base, "roles", "list", env=env).stdout
    bad = cli(*base, "roles", "grant", "lineage", "wizard", env=env)
    assert bad.returncode == 2 and "unknown role 'wizard'" in bad.stderr

    def move(actor: str, role: str) -> subprocess.CompletedProcess[str]:
        return cli(*base, "model", "promote", MODEL, "STAGING", "--actor", actor,
                   "--role", role, "--justification", "replaced", env=env)  # fmt: skip

    refused = move("alice", "sre")
    assert refused.returncode == 2 and "act as 'lineage'" in refused.stderr, refused.stderr
    refused = move("lineage", "sre")
    assert refused.returncode == 2 and "does not hold the role 'sre'" in refused.stderr
    assert cli(*base, "roles", "revoke", "lineage", "reviewer", env=env).returncode == 0
    assert "no roles bound" in cli(*base, "roles", "list", env=env).stdout
    assert cli(*base, "roles", "grant", "lineage", "sre", env=env).returncode == 0
    moved = move("lineage", "sre")
    assert moved.returncode == 0, moved.stderr
    state = cli(*base, "sql", f"SELECT state FROM model_versions WHERE model = '{MODEL}'", env=env)
    assert "STAGING" in state.stdout and "APPROVED" not in state.stdout


def test_connection_errors_name_the_store_without_password() -> None:
    store = PostgresStore("postgresql://u:s3cret@127.0.0.1:1/db", ".")
    with pytest.raises(StoreError) as err:
        store.schema_version()
    assert "s3cret" not in str(err.value) and "***" in str(err.value)


def test_lineage_config_sends_a_kernel_to_the_team_store(tmp_path: Path, team_url: str) -> None:
    store = tmp_path / "configured"
    assert (
        cli("--store", str(store), "migrate", env={"JUPYTER_LINEAGE_STORE": team_url}).returncode
        == 0
    )
    cells = [
        "%load_ext jupyter_lineage",
        f"%lineage_config store={team_url}",
        "%%lineage --name first\na = 1",
        "%%lineage --name second\nb = a + 1",
        "%%lineage\nraise ValueError('a NUL' + chr(0) + 'in the message')",
        "%lineage_sql SELECT name FROM runs ORDER BY started_at",
        "%lineage_sql SELECT count(*) AS shipped FROM shipped_journals",
        "%lineage_config store=local",
        "%%lineage --name third\nc = 3",
    ]
    nb = _notebook(tmp_path / "configured.ipynb", cells)
    _run_notebook(nb, store, {"JUPYTER_LINEAGE_STORE": ""})
    out = nbformat.read(nb.with_suffix(".out.ipynb"), as_version=4)
    assert "team_store=postgresql://lineage@" in json.dumps(out.cells[1].outputs)
    # %lineage_sql answered from the team store, which has both runs.
    shown = json.dumps(out.cells[5].outputs)
    assert "first" in shown and "second" in shown
    # ... a table only the team store has.
    assert "shipped" in json.dumps(out.cells[6].outputs)
    assert "team_store" not in json.dumps(out.cells[7].outputs)
    assert _count(team_url, "SELECT count(*) FROM runs WHERE name IN ('first', 'second')") == 2
    assert _count(team_url, "SELECT count(*) FROM runs WHERE name = 'third'") == 0
    # Text PostgreSQL cannot hold (NUL) arrives escaped, and nothing else is lost.
    with psycopg.connect(team_url) as con:
        row = con.execute("SELECT error_message FROM runs WHERE status = 'failed'").fetchone()
    assert row is not None and row[0] == "a NUL\\u0000in the message"


def test_migrate_upgrades_an_older_team_store(quickstart: Path, team_url: str) -> None:
    store = PostgresStore(team_url, quickstart)
    store.migrate()
    store.sync()
    runs = _count(team_url, "SELECT count(*) FROM runs")
    with psycopg.connect(team_url, autocommit=True) as con:
        # As a version 1 server was: no redactions columns (their views go with them).
        for table in ("events", "executions", "execution_results"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN redactions CASCADE")
        con.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="has schema version 1"):
        store.sync()
    store.migrate()
    assert store.schema_version() == SCHEMA_VERSION
    assert _count(team_url, "SELECT count(*) FROM runs") == runs
    assert _count(team_url, "SELECT count(*) FROM runs WHERE redactions IS NOT NULL") == runs


def test_forgotten_execution_is_blank_on_the_team_store(tmp_path: Path, team_url: str) -> None:
    store = tmp_path / "forget"
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    assert cli("--store", str(store), "migrate", env=env).returncode == 0
    cells = [
        "%load_ext jupyter_lineage",
        "%%lineage --name leaky\ntoken = 'not-a-real-secret-value'\nraise RuntimeError('leaked ' + token)",
        "%%lineage --name fine\nx = 1",
        "%lineage_forget LAST --reason 'pasted a token'",
    ]
    # Forget the failed run, not the last one: name it by its execution id.
    nb = _notebook(tmp_path / "forget.ipynb", cells[:3])
    _run_notebook(nb, store, env)
    local = DuckDBStore(store)
    leaky = str(local.query("SELECT execution_id FROM runs WHERE name = 'leaky'").iloc[0, 0])
    done = cli("--store", str(store), "forget", leaky, "--reason", "pasted a token", env=env)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert cli("--store", str(store), "sync", env=env).returncode == 0
    with psycopg.connect(team_url) as con:
        source, message, traceback = con.execute(
            "SELECT source, error_message, traceback FROM runs WHERE name = 'leaky'"
        ).fetchone()
        kept = con.execute("SELECT source FROM runs WHERE name = 'fine'").fetchone()
    assert (source, message, traceback) == ("[forgotten]", "[forgotten]", "[forgotten]")
    assert kept == ("x = 1",)
