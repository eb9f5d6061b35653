"""Annotations written again by re-runs, revisions and linked failed attempts give the same
rows and the same card on the team store as on the local DuckDB store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.postgres import PostgresStore
from tests.integration.conftest import execute_notebook
from tests.integration.test_card_annotations import LINKED, UNRELATED, annotating_notebook

from .conftest import cli
from .test_team_store import rows


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The annotating notebook run twice, then once with a changed answer; its store."""
    work = tmp_path_factory.mktemp("team-cards")
    execute_notebook(annotating_notebook("first answer"), work, allow_errors=False)
    execute_notebook(annotating_notebook("first answer"), work, allow_errors=False)
    execute_notebook(annotating_notebook("second answer"), work, allow_errors=False)
    return work / ".lineage"


def test_annotation_views_agree(rerun: Path, team_url: str) -> None:
    team = PostgresStore(team_url, rerun)
    team.migrate()
    team.sync()
    local = DuckDBStore(rerun)
    for view in ("annotation_history", "annotations", "annotation_links", "failed_attempts"):
        a = local.query(f"SELECT * FROM {view}")
        b = team.query(f"SELECT * FROM {view}", ingest=False)
        assert list(a.columns) == list(b.columns), view
        assert rows(a) == rows(b), view
    answers = local.query(
        "SELECT text, revision, is_current FROM annotation_history "
        "WHERE question = 'model_choice' ORDER BY revision"
    )
    assert answers.to_dict("records") == [
        {"text": "first answer", "revision": 1, "is_current": False},
        {"text": "second answer", "revision": 2, "is_current": True},
    ]


def test_the_card_is_the_same_from_the_team_store(rerun: Path, team_url: str) -> None:
    env = {"JUPYTER_LINEAGE_STORE": team_url}
    assert cli("--store", str(rerun), "migrate", env=env).returncode == 0
    local_card, team_card = rerun.parent / "local.json", rerun.parent / "team.json"
    done = cli(
        "--store", str(rerun), "card", "scorer", "-o", str(local_card),
        env={"JUPYTER_LINEAGE_STORE": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = cli("--store", str(rerun), "card", "scorer", "-o", str(team_card), env=env)
    assert done.returncode == 0, done.stderr
    a, b = json.loads(local_card.read_text()), json.loads(team_card.read_text())
    assert a == b
    explanations = [f["explanation"] for f in a["failed_attempts"]]
    assert sorted(explanations) == sorted(LINKED.values()) and UNRELATED not in explanations
    choice = [r["text"] for r in a["rationale"] if r.get("question") == "model_choice"]
    assert choice == ["second answer"]


def test_a_card_from_the_team_store_reads_through_one_connection(
    rerun: Path, team_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_lineage import cards
    from jupyter_lineage.session import current_store, use_store

    monkeypatch.setenv("JUPYTER_LINEAGE_STORE", team_url)
    use_store(str(rerun))
    store = current_store()
    assert isinstance(store, PostgresStore)
    store.migrate()
    store.sync()  # what the notebooks wrote, so the count is the card's own
    before = store.connections_opened
    card = cards.card_data("scorer")
    # The unit syncs once (nothing new, so no connection) and reads over one connection.
    assert store.connections_opened - before == 1
    assert store.unit.reader is None
    assert [f["explanation"] for f in card["failed_attempts"]]
    before = store.connections_opened
    cards.render_json("scorer")
    cards.render_json("scorer")
    assert store.connections_opened - before == 2
