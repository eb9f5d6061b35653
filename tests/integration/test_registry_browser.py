"""The ipywidgets registry browser, driven from Python in a real kernel."""

from __future__ import annotations


def test_browser_searches_shows_state_and_applies_a_transition(run_cells) -> None:
    run = run_cells(
        [
            "%load_ext jupyter_lineage\nfrom jupyter_lineage import registry as reg",
            "reg.register_model('alpha', ['o@example.com'], tags=['nlp'])\nreg.register_model('beta', ['o@example.com'])\n"
            "reg.create_version('alpha', '1.0.0')\nreg.create_version('alpha', '1.1.0')\nNone",
            "b = %lineage_model browse tag:nlp\n[label for label, _ in b.results.options]",
            "b.results.value = 'default/alpha'\n[label for label, _ in b.versions.options]",
            "b.versions.value = 'default/alpha@1.1.0'\n('DRAFT' in b.detail.value, list(b.target.options))",
            "b.target.value = 'SUBMITTED'\nb.role.value = 'reviewer'\nb.actor.value = 'r@example.com'\n"
            "b.justification.value = 'ready'\nb.apply.click()\nb.status.value",
            "b.role.value = 'owner'\nb.actor.value = 'o@example.com'\nb.apply.click()\n(b.status.value, list(b.target.options))",
            "b.query.value = 'tag:nlp AND'\nb.search_button.click()\nb.status.value",
        ]
    )
    assert run.text(2) == "['default/alpha [MEDIUM] 1.0.0:DRAFT, 1.1.0:DRAFT']"
    assert run.text(3) == "['1.1.0  DRAFT', '1.0.0  DRAFT']"
    assert run.text(4) == "(True, ['SUBMITTED', 'RETIRED'])"
    assert "role &#x27;reviewer&#x27; may not move a version from DRAFT to SUBMITTED" in run.text(5)
    assert "alpha 1.1.0 is now SUBMITTED" in run.text(6)
    assert "CHANGES_REQUESTED" in run.text(6)
    assert "AND needs something on its right" in run.text(7)
    states = run.sql("SELECT version, state FROM model_versions ORDER BY version")
    assert states.to_dict("records") == [
        {"version": "1.0.0", "state": "DRAFT"},
        {"version": "1.1.0", "state": "SUBMITTED"},
    ]
