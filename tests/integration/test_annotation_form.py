"""The ipywidgets annotation form, driven from Python in a real kernel."""

from __future__ import annotations


def test_form_saves_what_its_widgets_say(run_cells) -> None:
    run = run_cells(
        [
            "%load_ext jupyter_lineage\nimport jupyter_lineage as jl",
            "%%lineage --name fit --model tiny\nweights = [1, 2]\nopen('out.txt', 'w').write('x')",
            # 2: the picker lists recent executions and the artifacts they produced
            "form = jl.annotate()\nlabels = [label for label, _ in form.target.options]\nvalues = [v for _, v in form.target.options]\n"
            "(any(l.startswith('cell [2] fit (ok)') for l in labels), 'var:weights' in values, 'model:tiny' in values, "
            "any(v and v.startswith('file:') and v.endswith('out.txt') for v in values))",
            # 3: set the widgets and click Save
            "form.kind.value = 'decision'\nform.target.value = 'var:weights'\nform.text.value = 'Keep the weights *small*.'\n"
            "form.save.click()\nform.status.value",
            # 4: the template form pre-fills the questions; answers become one annotation each
            "t = jl.annotate(template='design', on='model:tiny')\n"
            "t.text.value = t.text.value.replace('## Why this model type?\\n', '## Why this model type?\\nIt is tiny.\\n')\n"
            "t.save.click()\n(t.kind.disabled, len(t.saved))",
            # 5: a bad submission shows the one-line error in the form and stores nothing
            "e = jl.annotate()\ne.text.value = '   '\ne.save.click()\n(e.status.value, e.saved)",
            "%lineage_annotate --template design",
        ]
    )
    assert run.text(2) == "(True, True, True, True)"
    assert "saved 1 annotation(s)" in run.text(3)
    assert run.text(4) == "(True, 1)"
    assert "annotation text is empty" in run.text(5) and "[]" in run.text(5)
    widget_out = run.outputs(6)[0]
    assert "application/vnd.jupyter.widget-view+json" in widget_out.data

    rows = run.sql(
        "SELECT kind, text, targets, question, template FROM annotations ORDER BY created_at"
    )
    records = rows.to_dict("records")
    assert len(records) == 2
    decision, answer = records
    assert decision["kind"] == "decision" and decision["text"] == "Keep the weights *small*."
    assert (
        decision["targets"][0]["type"] == "value" and decision["targets"][0]["target"] == "weights"
    )
    assert answer["question"] == "model_choice" and answer["text"] == "It is tiny."
    assert answer["targets"][0] == {
        "type": "model",
        "target": "tiny",
        "fingerprint": None,
        "sha256": None,
    }
