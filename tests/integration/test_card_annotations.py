"""What a model card says about the reasoning and the failures behind a model, when the
annotating notebook is run more than once and when notes are linked to any part of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage import cards
from jupyter_lineage.session import use_store
from jupyter_lineage.store import DuckDBStore

from .conftest import NotebookRun, execute_notebook

REPO = Path(__file__).parents[2]

DESIGN = """
## Why this model type?
{model_choice}

## Which alternatives were considered, and why were they not taken?
A deep network: far too little data for it.

## How did data quality influence the choice?
Rows with gaps are dropped before training.
"""
# One failed_attempt note per way of linking it to the model, and one on another model.
LINKED = {
    "training run": "FA-training: a first fit on the raw counts diverged",
    "model": "FA-model: tried class weights, recall fell",
    "version": "FA-version: 1.0.0 was first trained without the holdout",
    "upstream run": "FA-upstream: the first cleaning kept duplicate rows",
    "experiment": "FA-experiment: a wider search found nothing better",
}
UNRELATED = "FA-other: this belongs to another model"


def annotating_notebook(model_choice: str) -> list[str]:
    """Data preparation and training in an experiment, a registered version, the design
    template answered on the model, and failed_attempt notes linked to each part of it.

    The notes are written after the experiment ended, so none is linked to it by being
    written while it was open: each reaches the card through its own link or not at all.
    """
    return [
        "%load_ext jupyter_lineage\nimport jupyter_lineage as jl\n"
        "from jupyter_lineage.annotations import note_template\n"
        "from jupyter_lineage.session import current_session",
        "%lineage_experiment start scoring --hypothesis 'two features suffice'",
        "%%lineage --name prepare\nrows = [(i, i % 3, i % 2) for i in range(40)]",
        "prepare_id = current_session().recent[-1].execution_id",
        "%%lineage --name train --model scorer\n"
        "weights = [sum(r[1] for r in rows) / len(rows), sum(r[2] for r in rows) / len(rows)]",
        "%lineage_experiment end --outcome success",
        "%lineage_model register scorer --exist-ok --owner team@example.com\n"
        "%lineage_model version scorer patch",
        f"note_template('''{DESIGN.format(model_choice=model_choice)}''', 'design', on='model:scorer')",
        f"%lineage_note --kind failed_attempt --on LAST {LINKED['training run']}",
        f"jl.note({LINKED['upstream run']!r}, kind='failed_attempt', on=prepare_id)",
        f"%lineage_note --kind failed_attempt --on model:scorer {LINKED['model']}",
        f"%lineage_note --kind failed_attempt --on model:scorer@1.0.0 {LINKED['version']}",
        f"%lineage_note --kind failed_attempt --on experiment:scoring {LINKED['experiment']}",
        "%%lineage --name other --model other-model\nx = 1",
        f"%lineage_note --kind failed_attempt --on model:other-model {UNRELATED}",
    ]


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    """The annotating notebook, run twice into one store (as re-running the quickstart does)."""
    work = tmp_path_factory.mktemp("annotated-twice")
    cells = annotating_notebook("A linear score: reviewers must read the weights.")
    execute_notebook(cells, work, allow_errors=False)
    return execute_notebook(cells, work, allow_errors=False)


def card_of(run: NotebookRun, spec: str = "scorer") -> dict:
    use_store(str(run.store.root))
    return cards.card_data(spec)


def test_a_rerun_shows_each_answer_once(twice: NotebookRun) -> None:
    # Both runs wrote every answer: the record keeps both events ...
    written = twice.sql(
        "SELECT question, count(*) AS n FROM annotation_records WHERE template = 'design' "
        "GROUP BY question ORDER BY question"
    )
    assert dict(zip(written["question"], written["n"], strict=True)) == {
        "alternatives": 2,
        "data_quality": 2,
        "model_choice": 2,
    }
    # ... and the second, identical one is no revision.
    card = card_of(twice)
    assert card["model_details"]["version"] == "1.0.1"
    answers = [a["question"] for a in card["rationale"] if a.get("template") == "design"]
    assert sorted(answers) == ["alternatives", "data_quality", "model_choice"]
    assert all(a["revision"] == 1 for a in card["rationale"])
    history = twice.sql("SELECT count(*) FROM annotation_history WHERE template = 'design'")
    assert history.iloc[0, 0] == 3


def test_each_linked_failed_attempt_is_on_the_card_once(twice: NotebookRun) -> None:
    card = card_of(twice)
    explanations = [f["explanation"] or "" for f in card["failed_attempts"]]
    for link, text in LINKED.items():
        assert sum(text in e for e in explanations) == 1, (link, explanations)
    assert not any(UNRELATED in e for e in explanations)
    # none was a captured failing cell: each is a note, written down after the fact, and
    # none belongs to the experiment by having been written while it was open
    assert {f["origin"] for f in card["failed_attempts"]} == {"note"}
    implicit = twice.sql(
        "SELECT count(*) FROM annotation_records "
        "WHERE kind = 'failed_attempt' AND experiment_id IS NOT NULL"
    )
    assert implicit.iloc[0, 0] == 0
    # and the other model's card has its own note and none of these
    other = [f["explanation"] for f in card_of(twice, "other-model")["failed_attempts"]]
    assert other == [UNRELATED]


def test_the_first_version_card_has_its_own_run_and_the_shared_notes(twice: NotebookRun) -> None:
    card = card_of(twice, "scorer@1.0.0")
    explanations = [f["explanation"] for f in card["failed_attempts"]]
    # the notes on the model and on 1.0.0 are shared by every version's card; the notes on
    # the first run's training, upstream cell and experiment are on that run's version
    assert sorted(explanations) == sorted(LINKED.values())
    training = card["lineage"]["training_execution"]
    sessions = twice.sql("SELECT session_id FROM runs WHERE execution_id = ?", [training]).iloc[
        0, 0
    ]
    first = twice.sql("SELECT session_id FROM runs ORDER BY started_at LIMIT 1").iloc[0, 0]
    assert sessions == first


def test_a_changed_answer_is_a_revision_and_the_card_shows_the_latest(
    twice: NotebookRun, tmp_path: Path
) -> None:
    # on a copy of the store, so that the other tests see the two runs only
    shutil.copytree(twice.store.root, tmp_path / ".lineage")
    changed = "A linear score, and a monotone constraint on support calls."
    revised = execute_notebook(
        [
            "%load_ext jupyter_lineage\nfrom jupyter_lineage.annotations import note_template",
            f"note_template('''{DESIGN.format(model_choice=changed)}''', 'design', on='model:scorer')",
        ],
        tmp_path,
        name="revise.ipynb",
        allow_errors=False,
    )
    card = card_of(revised)
    choice = [a for a in card["rationale"] if a.get("question") == "model_choice"]
    assert [(a["text"], a["revision"]) for a in choice] == [(changed, 2)]
    others = sorted(a["question"] for a in card["rationale"] if a.get("template") == "design")
    assert others == ["alternatives", "data_quality", "model_choice"]  # unchanged: not revised
    history = revised.sql(
        "SELECT text, revision, is_current, superseded_by, annotation_id FROM annotation_history "
        "WHERE question = 'model_choice' ORDER BY revision"
    ).to_dict("records")
    assert [(h["text"], h["revision"], h["is_current"]) for h in history] == [
        ("A linear score: reviewers must read the weights.", 1, False),
        (changed, 2, True),
    ]
    assert history[0]["superseded_by"] == history[1]["annotation_id"]
    thread = revised.sql(
        "SELECT count(DISTINCT thread_id) FROM annotation_history WHERE question = 'model_choice'"
    )
    assert thread.iloc[0, 0] == 1


def test_an_unknown_version_target_is_one_clear_line(twice: NotebookRun, tmp_path: Path) -> None:
    shutil.copytree(twice.store.root, tmp_path / ".lineage")
    run = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%lineage_note --kind note --on model:scorer@9.9.9 about a version that never was",
            "%lineage_note --kind note --on model:scorer@ nothing after the at",
        ],
        tmp_path,
        name="bad-target.ipynb",
    )
    assert "has no version '9.9.9'" in run.text(1)
    assert "Traceback" not in run.text(1)
    assert "bad model version 'scorer@'" in run.text(2)


def test_the_quickstart_run_twice_has_each_answer_once(tmp_path: Path) -> None:
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", tmp_path / "quickstart.ipynb")
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_lineage.cli", "run", "quickstart.ipynb", "--quiet"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    use_store(str(tmp_path / ".lineage"))
    card = cards.card_data("churn-logreg")
    assert card["model_details"]["version"] == "1.0.1"
    answers = sorted(a["question"] for a in card["rationale"] if a.get("template") == "design")
    assert answers == ["alternatives", "data_quality", "model_choice", "risks", "success"]
    # the second run's failed first try, with its explanation, and not the first run's
    (failed,) = card["failed_attempts"]
    assert failed["origin"] == "captured" and "intercept" in failed["explanation"]
    of_this_run = DuckDBStore(tmp_path / ".lineage").query(
        "SELECT execution_id FROM runs WHERE experiment_id = ?",
        [card["experiment"]["experiment_id"]],
    )
    assert failed["execution_id"] in set(of_this_run["execution_id"])
