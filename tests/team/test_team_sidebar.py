"""The sidebar of a notebook two people ran, each in a checkout of their own, on one team store.

Alice and Bob clone one git repository into different directories and run its notebook
in real kernels (``JUPYTER_LINEAGE_AUTHOR`` says who they are) that ship to one
PostgreSQL database; Bob also registers the model his run trained. A real Jupyter
server rooted in Alice's checkout, with the team store configured, serves every
endpoint the sidebar calls: each answers with both people's rows, the same rows that
``jupyter-lineage sql`` and ``%lineage_sql`` in a kernel give for the same question.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import psycopg
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

from bench.pgserver import PostgresServer

from .checkouts import clone, execute, repository_with_notebook
from .conftest import cli

NOTEBOOK = "experiments/demo.ipynb"
KEY = "git:experiments/demo.ipynb"
ALICE = "alice@example.com"
BOB = "bob@example.com"
DATA = "a\n1\n"
CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name load --tag data\n"
    "rows = [3, 1, 2]\n"
    "with open('data.csv', 'w') as f:\n"
    f"    f.write({DATA!r})",
    "%%lineage --name train --tag model --model churn\nweights = sorted(rows)",
    "%lineage_note --kind rationale --on LAST Sorting is the whole model",
]
# The timeline's question in SQL: the notebook's runs, newest first.
RUNS_SQL = (
    f"SELECT execution_id, author, status, name FROM runs WHERE notebook_key = '{KEY}' "
    "ORDER BY started_at DESC, execution_id DESC"
)
MODELS_SQL = "SELECT name, owners, risk_tier FROM model_registry ORDER BY name"


@dataclass
class Team:
    url: str
    alice: Path
    bob: Path
    kernel_answers: dict[str, list[dict[str, Any]]]
    """What ``%lineage_sql`` in a kernel of Alice's checkout answered (``RUNS_SQL``, ``MODELS_SQL``)."""

    def store(self, checkout: Path) -> Path:
        """Where the kernels of the notebook in ``checkout`` keep their journals."""
        return checkout / "experiments" / ".lineage"

    def env(self, author: str) -> dict[str, str]:
        return {"JUPYTER_LINEAGE_STORE": self.url, "JUPYTER_LINEAGE_AUTHOR": author}

    def sql(self, query: str) -> list[dict[str, Any]]:
        """``jupyter-lineage sql --format json`` from Alice's store directory."""
        done = cli(
            "--store", str(self.store(self.alice)), "sql", "--format", "json", query,
            env=self.env(ALICE),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout))

    def runs(self, author: str, name: str) -> str:
        """The execution id of ``author``'s run of the cell ``name``."""
        rows = [r for r in self.sql(RUNS_SQL) if r["author"] == author and r["name"] == name]
        assert len(rows) == 1, rows
        return str(rows[0]["execution_id"])


def _outputs(nb: Any) -> str:
    return json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer) -> Team:
    base = tmp_path_factory.mktemp("team-sidebar")
    origin = repository_with_notebook(base / "origin", NOTEBOOK, CELLS)
    # Two checkouts at different absolute paths, as on two machines.
    alice = clone(origin, base / "home" / "alice" / "project")
    bob = clone(origin, base / "laptops" / "bob" / "src" / "churn")
    team = Team(pg_server.create_database(), alice, bob, {})
    migrated = cli("--store", str(team.store(alice)), "migrate", env=team.env(ALICE))
    assert migrated.returncode == 0, migrated.stderr

    for checkout, author in ((alice, ALICE), (bob, BOB)):
        ran = execute(checkout / NOTEBOOK, team.env(author))
        assert "Error" not in _outputs(ran), _outputs(ran)
        # What the kernel's shipping thread had not shipped when it exited.
        synced = cli("--store", str(team.store(checkout)), "sync", env=team.env(author))
        assert synced.returncode == 0, synced.stderr

    bob_train = team.runs(BOB, "train")
    for args in (
        ("model", "register", "churn", "--owner", BOB, "--risk-tier", "LOW"),
        ("model", "version", "churn", "1.0.0", "--execution", bob_train, "--framework", "python"),
    ):
        done = cli("--store", str(team.store(bob)), *args, env=team.env(BOB))
        assert done.returncode == 0, done.stdout + done.stderr

    # The same questions through %lineage_sql, in a kernel of another notebook of Alice's.
    query = alice / "experiments" / "query.ipynb"
    qnb = nbformat.v4.new_notebook()
    qnb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_lineage")] + [
        nbformat.v4.new_code_cell(f"_df = %lineage_sql {sql}\nprint(_df.to_json(orient='records'))")
        for sql in (RUNS_SQL, MODELS_SQL)
    ]
    nbformat.write(qnb, query)
    ran = execute(query, team.env(ALICE))
    printed = [c.outputs[0]["text"] for c in ran.cells[1:]]
    team.kernel_answers = {
        RUNS_SQL: json.loads(printed[0]),
        MODELS_SQL: json.loads(printed[1]),
    }
    return team


@pytest.fixture
def jp_root_dir(team: Team, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Serve Alice's checkout, with the team store configured, as Alice runs the server."""
    monkeypatch.delenv("JUPYTER_LINEAGE_DIR", raising=False)
    for name, value in team.env(ALICE).items():
        monkeypatch.setenv(name, value)
    yield team.alice


def body(response: Any) -> Any:
    return json.loads(response.body.decode("utf-8"))


async def get(jp_fetch: Any, *parts: str, **params: str) -> Any:
    return body(await jp_fetch("lineage", "api", *parts, params={"path": NOTEBOOK, **params}))


async def post_annotation(jp_fetch: Any, text: str, execution_id: str) -> Any:
    payload = {
        "kind": "review",
        "text": text,
        "targets": [{"type": "execution", "ref": execution_id}],
    }
    response = await jp_fetch(
        "lineage", "api", "annotations", method="POST", body=json.dumps(payload),
        params={"path": NOTEBOOK},
    )  # fmt: skip
    assert response.code == 201
    return body(response)["annotation"]


def stored_annotation(team: Team, annotation_id: str) -> tuple[str, str]:
    """The author and text of an annotation as the team store's view has it."""
    with psycopg.connect(team.url) as con:
        row = con.execute(
            "SELECT author, text FROM annotations WHERE annotation_id = %s", [annotation_id]
        ).fetchone()
    assert row is not None, f"annotation {annotation_id} is not in the team store"
    return str(row[0]), str(row[1])


# -- the timeline ---------------------------------------------------------------------------


async def test_the_timeline_holds_both_people_s_runs(jp_fetch: Any, team: Team) -> None:
    answer = await get(jp_fetch, "executions")

    fields = ("execution_id", "author", "status", "name")
    shown = [{k: run[k] for k in fields} for run in answer["executions"]]
    assert sorted((r["author"], r["name"]) for r in shown) == [
        (ALICE, "load"),
        (ALICE, "train"),
        (BOB, "load"),
        (BOB, "train"),
    ]
    # The rows SQL gives for the same question, from the CLI and from a kernel.
    assert shown == team.sql(RUNS_SQL) == team.kernel_answers[RUNS_SQL]
    assert answer["notebook_key"] == KEY
    assert answer["recorded_paths"] == [str((team.alice / NOTEBOOK).resolve())]
    assert answer["total"] == 4 and answer["failed"] == 0
    assert answer["authors"] == [ALICE, BOB]
    assert answer["tags"] == ["data", "model"]


async def test_the_author_filter(jp_fetch: Any, team: Team) -> None:
    bobs = await get(jp_fetch, "executions", author=BOB)
    bob_models = await get(jp_fetch, "executions", author=BOB, tag="model")
    nobody = await get(jp_fetch, "executions", author="carol@example.com")

    expected = [r["execution_id"] for r in team.sql(RUNS_SQL) if r["author"] == BOB]
    assert [r["execution_id"] for r in bobs["executions"]] == expected
    assert {r["author"] for r in bobs["executions"]} == {BOB}
    assert [r["name"] for r in bob_models["executions"]] == ["train"]
    assert nobody["executions"] == []
    # The counts and the author list are the notebook's, whatever the filter.
    assert bobs["total"] == nobody["total"] == 4
    assert nobody["authors"] == [ALICE, BOB]


async def test_a_bad_author_is_refused(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("lineage", "api", "executions", params={"path": NOTEBOOK, "author": "bob\0"})
    assert caught.value.code == 400
    assert caught.value.response is not None
    assert "author" in body(caught.value.response)["message"]


async def test_a_teammate_s_run_in_full(jp_fetch: Any, team: Team) -> None:
    bob_train = team.runs(BOB, "train")

    detail = await get(jp_fetch, "executions", bob_train)

    run = detail["execution"]
    assert run["author"] == BOB and run["notebook_key"] == KEY
    # Recorded where Bob ran it, which is not where this server is.
    assert run["notebook_path"] == str(team.bob / NOTEBOOK)
    inputs = team.sql(
        f"SELECT name, fingerprint FROM cell_inputs WHERE execution_id = '{bob_train}' "
        "ORDER BY name"
    )
    assert [{k: v[k] for k in ("name", "fingerprint")} for v in detail["inputs"]] == inputs
    assert [v["name"] for v in detail["inputs"]] == ["rows"]
    assert [a["author"] for a in detail["annotations"]] == [BOB]


# -- annotations -----------------------------------------------------------------------------


async def test_the_notebook_s_annotations_are_both_people_s(jp_fetch: Any, team: Team) -> None:
    answer = await get(jp_fetch, "annotations")

    shown = {(a["annotation_id"], a["author"], a["text"]) for a in answer["annotations"]}
    in_sql = team.sql(
        "SELECT a.annotation_id, a.author, a.text FROM annotations a "
        "WHERE a.annotation_id IN (SELECT l.annotation_id FROM annotation_links l "
        "JOIN runs r ON r.execution_id = l.target "
        f"WHERE l.target_type = 'execution' AND r.notebook_key = '{KEY}')"
    )
    assert shown == {(r["annotation_id"], r["author"], r["text"]) for r in in_sql}
    notes = {(author, text) for _, author, text in shown if text == "Sorting is the whole model"}
    assert notes == {(ALICE, "Sorting is the whole model"), (BOB, "Sorting is the whole model")}


async def test_a_note_on_a_teammate_s_run_reaches_the_team_store(jp_fetch: Any, team: Team) -> None:
    bob_load = team.runs(BOB, "load")

    written = await post_annotation(jp_fetch, "Checked Bob's rows by hand.", bob_load)

    # Behind the shared token the author is the server session's: Alice, who runs it.
    assert written["author"] == ALICE
    assert stored_annotation(team, written["annotation_id"]) == (
        ALICE,
        "Checked Bob's rows by hand.",
    )
    on_run = await get(jp_fetch, "annotations", execution=bob_load)
    assert written["annotation_id"] in {a["annotation_id"] for a in on_run["annotations"]}


class NamedUser(IdentityProvider):
    """Names the user the token signs in, as JupyterHub's identity provider does."""

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await super().get_user(handler)  # type: ignore[misc]
        return None if user is None else User("grace", name="Grace Hopper", display_name="G.")


class TestSignedInUser:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {
            "ServerApp": {**jp_server_config["ServerApp"], "identity_provider_class": NamedUser}
        }

    async def test_a_note_carries_the_signed_in_user(self, jp_fetch: Any, team: Team) -> None:
        written = await post_annotation(
            jp_fetch, "Reviewed on the team server.", team.runs(BOB, "train")
        )

        assert written["author"] == "Grace Hopper"
        assert stored_annotation(team, written["annotation_id"]) == (
            "Grace Hopper",
            "Reviewed on the team server.",
        )


# -- graph, models, card -----------------------------------------------------------------------


async def test_the_graph_joins_both_people_s_runs_through_a_file(jp_fetch: Any, team: Team) -> None:
    # Both wrote the same bytes to data.csv: one content-addressed file node.
    node = "file:" + hashlib.sha256(DATA.encode()).hexdigest()

    answer = await get(jp_fetch, "graph", node=node, direction="upstream", depth="1")

    writers = {e["src"] for e in answer["edges"] if e["dst"] == node}
    in_sql = team.sql(f"SELECT DISTINCT src FROM lineage_edges WHERE dst = '{node}'")
    assert writers == {r["src"] for r in in_sql}
    assert writers == {f"exec:{team.runs(ALICE, 'load')}", f"exec:{team.runs(BOB, 'load')}"}


async def test_a_teammate_s_model_and_its_card(jp_fetch: Any, team: Team) -> None:
    answer = await get(jp_fetch, "models")

    registered = [m for m in answer["models"] if m["registered"]]
    assert (
        [
            {"name": m["name"], "owners": m["owners"], "risk_tier": m["risk_tier"]}
            for m in registered
        ]
        == team.sql(MODELS_SQL)
        == team.kernel_answers[MODELS_SQL]
    )
    assert [v["version"] for v in registered[0]["versions"]] == ["1.0.0"]

    response = await jp_fetch(
        "lineage", "api", "models", "churn", "card", params={"path": NOTEBOOK}
    )
    html = response.body.decode("utf-8")
    assert response.headers["Content-Type"].startswith("text/html")
    assert BOB in html and "1.0.0" in html
    assert team.runs(BOB, "train")[:12] in html  # the training run is Bob's


# -- a team store from before keys ---------------------------------------------------------


def test_a_team_store_from_before_keys_is_migrated(tmp_path: Path, team_url: str) -> None:
    from jupyter_lineage.journal import JournalWriter
    from jupyter_lineage.store.duckdb import SCHEMA_VERSION
    from jupyter_lineage.store.notebook import notebook_counts, notebook_executions
    from jupyter_lineage.store.postgres import PostgresStore

    root = tmp_path / ".lineage"
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    old = JournalWriter(root / "journal", "old")
    old.append("session_start", {"user": "olduser", "notebook_path": "/laptop/r/a.ipynb"})
    old.append(
        "cell_start",
        {"execution_id": "a" * 32, "source": "x = 1", "notebook_path": "/laptop/r/a.ipynb"},
    )
    old.append("cell_end", {"execution_id": "a" * 32, "status": "ok"})
    old.close()
    for command in ("migrate", "sync"):
        done = cli("--store", str(root), command, env=env)
        assert done.returncode == 0, done.stderr
    # Back to schema 5: sessions without the two columns (and the views that read them).
    with psycopg.connect(team_url, autocommit=True) as con:
        for column in ("author", "notebook_key"):
            con.execute(f"ALTER TABLE sessions DROP COLUMN {column} CASCADE")
        con.execute("UPDATE schema_info SET value = '5' WHERE key = 'schema_version'")

    refused = cli("--store", str(root), "sync", env=env)
    assert refused.returncode == 2
    assert f"needs version {SCHEMA_VERSION}: run `jupyter-lineage migrate`" in refused.stderr
    assert cli("--store", str(root), "migrate", env=env).returncode == 0

    new = JournalWriter(root / "journal", "new")
    new.append(
        "session_start",
        {
            "user": "bob",
            "author": BOB,
            "notebook_path": "/b/a.ipynb",
            "notebook_key": "git:a.ipynb",
        },
    )
    new.append(
        "cell_start",
        {"execution_id": "b" * 32, "source": "y = 2", "notebook_path": "/b/a.ipynb"},
    )
    new.append("cell_end", {"execution_id": "b" * 32, "status": "ok"})
    new.close()
    store = PostgresStore(team_url, root)

    found = notebook_executions(store, ["/laptop/r/a.ipynb"], notebook_key="git:a.ipynb")
    assert sorted((r["execution_id"], r["author"]) for r in found) == [
        ("a" * 32, "olduser"),  # by its path; the OS user stands in for the author
        ("b" * 32, BOB),  # by its key
    ]
    counts = notebook_counts(store, ["/laptop/r/a.ipynb"], notebook_key="git:a.ipynb")
    assert counts["total"] == 2 and counts["authors"] == [BOB, "olduser"]
