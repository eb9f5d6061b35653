"""Annotations and experiments, recorded from real kernels and read back from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory):
    """One notebook exercising every way to annotate, revisions, links and two experiments."""
    from .conftest import execute_notebook

    work = tmp_path_factory.mktemp("annotated")
    (work / "labels.csv").write_text("id,label\n1,cat\n2,dog\n")
    cells = [
        "%load_ext jupyter_lineage\nimport jupyter_lineage as jl",
        # 1: experiment that succeeds
        '%lineage_experiment start depth-8 --hypothesis "deeper trees fit better" --success "accuracy >= 0.8 and loss < 0.5"',
        "%%lineage --name train --model trees --note 'first pass at depth 8'\nweights = [0.1, 0.2]\nlabels = open('labels.csv').read()",
        "%lineage_metric accuracy 0.72 --step 1",
        "%%lineage --name retrain --model trees\nweights = [0.3, 0.4]\njl.log_metric('accuracy', 0.86, step=2)\njl.log_metric('loss', 0.31)\njl.log_param('depth', 8)",
        # 5: every way to annotate
        "%lineage_note --kind rationale --on LAST Depth 8 because the interactions are deep",
        "%%lineage_note --kind alternative --on model:trees --on var:weights\nConsidered a **linear** model:\nit underfits the interactions.",
        "%lineage_note --kind review --on file:labels.csv Fixed two mislabelled rows by hand",
        "aid = jl.note('Accuracy is the metric that matters for triage', kind='decision', on='experiment:depth-8')\nlen(aid)",
        # 9: a revision
        "rev = jl.note('Accuracy and recall matter for triage', kind='decision', revises=aid)\nrev != aid",
        "%lineage_experiment end",
        # 11: experiment that fails, with a failed cell and its explanation
        '%lineage_experiment start depth-2 --hypothesis "shallow is enough" --success "accuracy >= 0.8"',
        "%%lineage --name shallow\nraise ValueError('depth must be >= 3 for this data')",
        "%lineage_note --kind failed_attempt --on LAST Too shallow: the validation rejects depth 2",
        "jl.log_metric('accuracy', 0.61)",
        "%lineage_experiment end",
        # 16: an explicit outcome and a failed attempt written down without a failing cell
        "%lineage_experiment start eyeballed\n%lineage_experiment end --outcome inconclusive",
        "%lineage_note --kind failed_attempt Tried gradient boosting in a scratch notebook; it overfit",
        # 18: the design template, answered partly, then the completeness check
        "answers = '''## Why this model type?\nTrees handle mixed feature types.\n\n## Which alternatives were considered, and why were they not taken?\nLinear: underfits.\n\n## What are the risks, and how are they mitigated?\n'''\nfrom jupyter_lineage.annotations import note_template\nids = note_template(answers, 'design', on='model:trees')\nlen(ids)",
        "%lineage_annotate --check model:trees",
        "%lineage_show experiment depth-8",
    ]
    return execute_notebook(cells, work)


def test_experiments_record_hypothesis_criterion_outcome_and_metrics(annotated) -> None:
    df = annotated.sql("SELECT * FROM experiments ORDER BY started_at")
    rows = df.to_dict("records")
    assert [r["name"] for r in rows] == ["depth-8", "depth-2", "eyeballed"]
    ok, bad, eyeballed = rows
    assert ok["hypothesis"] == "deeper trees fit better"
    assert ok["success_criterion"] == "accuracy >= 0.8 and loss < 0.5"
    assert ok["outcome"] == "success" and ok["criterion_met"] is True
    assert dict(ok["metrics"]) == {"accuracy": 0.86, "loss": 0.31}
    assert ok["execution_count"] == 2 and ok["failed_count"] == 0
    assert bad["outcome"] == "failure" and bad["criterion_met"] is False
    assert bad["failed_count"] == 1  # a failed experiment is kept, never dropped
    assert (
        eyeballed["outcome"] == "inconclusive" and eyeballed["declared_outcome"] == "inconclusive"
    )
    assert "ended: success" in annotated.text(10)
    assert "ended: failure" in annotated.text(15)


def test_metrics_and_params_attach_to_execution_and_experiment(annotated) -> None:
    m = annotated.sql(
        "SELECT m.name, m.value, m.step, m.experiment, r.name AS cell FROM metrics m "
        "LEFT JOIN runs r USING (execution_id) ORDER BY m.logged_at"
    )
    assert m.to_dict("records")[:3] == [
        # logged from a plain cell: attached to the last captured execution
        {"name": "accuracy", "value": 0.72, "step": 1, "experiment": "depth-8", "cell": "train"},
        # logged inside a captured cell: attached to that cell
        {"name": "accuracy", "value": 0.86, "step": 2, "experiment": "depth-8", "cell": "retrain"},
        {"name": "loss", "value": 0.31, "step": None, "experiment": "depth-8", "cell": "retrain"},
    ]
    p = annotated.sql("SELECT name, value, experiment FROM params")
    assert p.to_dict("records") == [{"name": "depth", "value": "8", "experiment": "depth-8"}]


def test_every_way_to_annotate_links_its_targets(annotated, tmp_path: Path) -> None:
    notes = annotated.sql(
        "SELECT annotation_id, kind, text, author, targets, experiment_id, created_at FROM annotations ORDER BY created_at"
    )
    by_text = {r["text"]: r for r in notes.to_dict("records")}
    runs = annotated.sql("SELECT name, execution_id FROM runs")
    exec_ids = dict(zip(runs["name"], runs["execution_id"], strict=True))

    cell_note = by_text["first pass at depth 8"]  # %%lineage --note
    assert cell_note["kind"] == "note"
    assert [t["target"] for t in cell_note["targets"]] == [exec_ids["train"]]

    rationale = by_text["Depth 8 because the interactions are deep"]  # %lineage_note --on LAST
    assert rationale["kind"] == "rationale"
    assert rationale["targets"][0] == {
        "type": "execution",
        "target": exec_ids["retrain"],
        "fingerprint": None,
        "sha256": None,
    }
    assert rationale["author"]

    alternative = by_text[
        "Considered a **linear** model:\nit underfits the interactions."
    ]  # cell magic, 2 targets
    kinds = {t["type"]: t for t in alternative["targets"]}
    assert kinds["model"]["target"] == "trees"
    assert kinds["value"]["target"] == "weights"
    out = annotated.sql(
        "SELECT fingerprint FROM cell_outputs WHERE name = 'weights' ORDER BY started_at DESC LIMIT 1"
    )
    assert kinds["value"]["fingerprint"] == out.iloc[0, 0]  # the exact version annotated

    review = by_text["Fixed two mislabelled rows by hand"]  # a human-in-the-loop step on a file
    target = review["targets"][0]
    assert target["type"] == "file" and target["target"].endswith("labels.csv")
    files = annotated.sql("SELECT sha256 FROM files WHERE path LIKE '%labels.csv'")
    assert target["sha256"] == files.iloc[0, 0]

    # every annotation made while an experiment was open belongs to it
    exp = annotated.sql("SELECT experiment_id FROM experiments WHERE name = 'depth-8'").iloc[0, 0]
    assert rationale["experiment_id"] == exp


def test_revisions_supersede_and_both_remain(annotated) -> None:
    hist = annotated.sql(
        "SELECT annotation_id, thread_id, revises, superseded_by, revision, is_current, text "
        "FROM annotation_history WHERE kind = 'decision' ORDER BY revision"
    )
    first, second = hist.to_dict("records")
    assert first["text"] == "Accuracy is the metric that matters for triage"
    assert second["text"] == "Accuracy and recall matter for triage"
    assert second["revises"] == first["annotation_id"] == second["thread_id"]
    assert first["superseded_by"] == second["annotation_id"]
    assert (first["is_current"], second["is_current"]) == (False, True)
    current = annotated.sql("SELECT text FROM annotations WHERE kind = 'decision'")
    assert list(current["text"]) == ["Accuracy and recall matter for triage"]
    assert annotated.text(9) == "True"


def test_failed_attempts_join_captured_failures_with_their_notes(annotated) -> None:
    fa = annotated.sql(
        "SELECT origin, name, error_type, explanation FROM failed_attempts ORDER BY started_at"
    )
    fa = fa.astype(object).where(fa.notna(), None)
    assert fa.to_dict("records") == [
        {
            "origin": "captured",
            "name": "shallow",
            "error_type": "ValueError",
            "explanation": "Too shallow: the validation rejects depth 2",
        },
        {
            "origin": "note",
            "name": None,
            "error_type": None,
            "explanation": "Tried gradient boosting in a scratch notebook; it overfit",
        },
    ]


def test_template_answers_and_completeness_check(annotated) -> None:
    assert annotated.text(18) == "2"
    qs = annotated.sql(
        "SELECT question, kind, template FROM annotations WHERE template = 'design' ORDER BY question"
    )
    assert qs.to_dict("records") == [
        {"question": "alternatives", "kind": "alternative", "template": "design"},
        {"question": "model_choice", "kind": "rationale", "template": "design"},
    ]
    check = annotated.text(19)
    assert "3 question(s) not answered yet" in check
    assert "How did data quality influence the choice?" in check
    assert "What are the risks" in check  # an empty answer does not count
    assert "Why this model type?" not in check


def test_show_experiment_html(annotated) -> None:
    outs = annotated.outputs(20)
    html = next(o for o in outs if o.output_type in ("execute_result", "display_data")).data[
        "text/html"
    ]
    assert "Experiment depth-8" in html
    assert "deeper trees fit better" in html
    assert "accuracy" in html and "0.86" in html
    assert "Depth 8 because the interactions are deep" in html
    assert "Considered a **linear** model" in html


BAD_INPUT = [
    ("%lineage_note --kind guess something", "unknown annotation kind 'guess'"),
    (
        "%lineage_note --kind note --on exec:ffffffff text",
        "no captured execution with id 'ffffffff'",
    ),
    ("%lineage_note --on var:nope text", "no variable named 'nope'"),
    ("%lineage_note --on model:ghost text", "unknown model 'ghost'"),
    ("%lineage_note --on file:missing.csv text", "no file at"),
    ("%lineage_note --on banana text", "unknown annotation target 'banana'"),
    ("%lineage_note --kind note", "annotation text is empty"),
    (
        '%lineage_experiment start x --success "accuracy is high"',
        "malformed success criterion 'accuracy is high'",
    ),
    ("%lineage_experiment end", "no experiment is open"),
    ("%lineage_metric accuracy high", "metric 'accuracy' needs a number"),
    ("%lineage_annotate --template nonsense", "unknown template 'nonsense'"),
    ("%lineage_note --revises 0123abcd text", "no annotation with id '0123abcd'"),
]


def test_bad_input_gets_one_clear_line(run_cells) -> None:
    run = run_cells(["%load_ext jupyter_lineage", *(c for c, _ in BAD_INPUT)])
    for i, (cell, expected) in enumerate(BAD_INPUT, start=1):
        outs = run.outputs(i)
        text = run.text(i)
        assert len(outs) == 1, (cell, outs)
        assert "UsageError" in json.dumps(outs[0]) and expected in text, (cell, text)
        assert "Traceback" not in text


def test_python_api_works_in_a_plain_script(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from jupyter_lineage.store import DuckDBStore

    script = (
        "import jupyter_lineage as jl\n"
        "jl.start_experiment('script-run', hypothesis='scripts can annotate', success='auc > 0.5')\n"
        "jl.log_param('seed', 3)\n"
        "jl.log_metric('auc', 0.75)\n"
        "jl.note('Run from a scheduled job', kind='note', on='experiment:script-run')\n"
        "print(jl.end_experiment()['outcome'])\n"
    )
    env = {
        **os.environ,
        "JUPYTER_LINEAGE_DIR": str(tmp_path / "store"),
        "JUPYTER_LINEAGE_AUTHOR": "ci@example.org",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "success"
    store = DuckDBStore(tmp_path / "store")
    exp = store.query("SELECT name, outcome, metrics FROM experiments").to_dict("records")
    assert exp[0]["name"] == "script-run" and exp[0]["outcome"] == "success"
    note = store.query("SELECT text, author FROM annotations").to_dict("records")
    assert note == [{"text": "Run from a scheduled job", "author": "ci@example.org"}]
