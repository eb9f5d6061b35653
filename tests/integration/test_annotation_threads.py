"""How annotations written again, revised and reverted read back from a real store.

No kernel is needed: a process session appends the same events a kernel does, into a real
journal, and the store ingests them into a real DuckDB file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_lineage.annotations import note, note_template
from jupyter_lineage.session import current_store, use_store


@pytest.fixture
def store(tmp_path: Path):
    use_store(str(tmp_path / ".lineage"))
    return current_store()


def answer(text: str) -> str:
    (aid,) = note_template(f"## Why this model type?\n{text}\n", "design")
    return aid


def test_a_repeat_is_no_revision_and_a_reverted_answer_is(store) -> None:
    first = answer("Trees: the features interact.")
    repeat = answer("Trees: the features interact.")  # a re-run
    answer("A linear model: it must be explained.")
    answer("Trees: the features interact.")  # back to the first answer: a new revision
    history = store.query(
        "SELECT annotation_id, text, revision, is_current FROM annotation_history "
        "WHERE question = 'model_choice' ORDER BY revision"
    ).to_dict("records")
    assert [(h["text"], h["revision"], h["is_current"]) for h in history] == [
        ("Trees: the features interact.", 1, False),
        ("A linear model: it must be explained.", 2, False),
        ("Trees: the features interact.", 3, True),
    ]
    assert history[0]["annotation_id"] == first
    assert repeat not in {h["annotation_id"] for h in history}
    # the repeat is in the record all the same
    written = store.query("SELECT count(*) FROM annotation_records WHERE question = 'model_choice'")
    assert written.iloc[0, 0] == 4

    # the id a re-run was given can be revised: the revision joins the same thread
    fix = note("Trees, with monotone constraints.", kind="rationale", revises=repeat[:8])
    current = store.query(
        "SELECT annotation_id, text, revision, thread_id FROM annotations WHERE kind = 'rationale'"
    ).to_dict("records")
    assert [(c["annotation_id"], c["revision"], c["thread_id"]) for c in current] == [
        (fix, 4, first)
    ]


def test_identical_notes_are_one_and_each_author_or_word_counts(store) -> None:
    colon, comma = (
        "Dropped the 2019 rows: the schema changed.",
        "Dropped the 2019 rows, the schema changed.",
    )
    for _ in range(3):
        note(colon, kind="decision", author="ann@example.com")
    note(colon, kind="decision", author="bo@example.com")
    note(comma, kind="decision", author="ann@example.com")
    note(colon, kind="rationale", author="ann@example.com")
    rows = store.query(
        "SELECT author, kind, text, revision FROM annotations ORDER BY created_at"
    ).to_dict("records")
    assert [(r["author"], r["kind"], r["text"], r["revision"]) for r in rows] == [
        ("ann@example.com", "decision", colon, 1),
        ("bo@example.com", "decision", colon, 1),
        ("ann@example.com", "decision", comma, 1),
        ("ann@example.com", "rationale", colon, 1),
    ]
    history = store.query("SELECT count(*) FROM annotation_history")
    assert history.iloc[0, 0] == 4
