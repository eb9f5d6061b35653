"""Every face of the tool reads the configured team store: a kernel configured for it sees a
teammate's runs in ``%lineage_sql``, ``%lineage_graph``, ``%lineage_show`` and
``%lineage_card``, and so does the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from .conftest import cli
from .test_team_store import _notebook, _run_notebook

MODEL = "shared-model"


def _outputs(nb: Path) -> list[str]:
    import nbformat

    out = nbformat.read(nb.with_suffix(".out.ipynb"), as_version=4)
    return [json.dumps(c.get("outputs", [])) for c in out.cells]


def test_every_reader_of_a_kernel_reads_the_team_store(tmp_path: Path, team_url: str) -> None:
    bob_store, alice_store = tmp_path / "bob" / ".lineage", tmp_path / "alice" / ".lineage"
    for d in (bob_store, alice_store):
        d.parent.mkdir()
    assert (
        cli(
            "--store", str(bob_store), "migrate", env={"JUPYTER_LINEAGE_STORE": team_url}
        ).returncode
        == 0
    )

    # Bob works against the team store: an experiment, a trained model, a registered version.
    bob = _notebook(
        bob_store.parent / "bob.ipynb",
        [
            "%load_ext jupyter_lineage",
            "%lineage_experiment start bobs-idea --hypothesis depth four is enough",
            "%%lineage --name bob_prepare\nrows = list(range(30))",
            f"%%lineage --name bob_train --model {MODEL}\nweights = [sum(rows) / len(rows)]",
            "%lineage_metric accuracy 0.91",
            "%lineage_experiment end --outcome success",
            f"%lineage_model register {MODEL} --owner bob@example.com",
            f"%lineage_model version {MODEL} 1.0.0 --framework python",
            "%lineage_note --kind rationale --on LAST the mean is all bob's model needs",
        ],
    )
    _run_notebook(
        bob, bob_store, {"JUPYTER_LINEAGE_STORE": team_url, "JUPYTER_LINEAGE_AUTHOR": "bob"}
    )
    with psycopg.connect(team_url) as con:
        row = con.execute("SELECT execution_id FROM runs WHERE name = 'bob_train'").fetchone()
    assert row is not None
    trained = str(row[0])

    # Alice's kernel writes to its own directory and is sent to the team store by
    # %lineage_config, as a user would do it: every magic then reads what Bob shipped.
    alice = _notebook(
        alice_store.parent / "alice.ipynb",
        [
            "%load_ext jupyter_lineage",
            f"%lineage_config store={team_url}",
            "%lineage_sql SELECT name FROM runs ORDER BY name",
            f"%lineage_graph exec:{trained} --upstream",
            "%lineage_show experiment bobs-idea",
            f"%lineage_card {MODEL}@1.0.0",
            f"%lineage_forget {trained[:8]} --reason checking it resolves on the team store",
        ],
    )
    _run_notebook(
        alice, alice_store, {"JUPYTER_LINEAGE_STORE": "", "JUPYTER_LINEAGE_AUTHOR": "alice"}
    )
    sql, graph, show, card, forget = _outputs(alice)[2:7]
    assert "bob_prepare" in sql and "bob_train" in sql
    assert (
        "bob_prepare" in graph and "Error" not in graph
    )  # the upstream walk crossed to Bob's cells
    assert "depth four is enough" in show and "success" in show
    assert "1.0.0" in card and "bob@example.com" in card and "the mean is all" in card
    assert trained in forget and "Error" not in forget

    # The CLI, pointed at Alice's directory with the team store configured, reads the same rows.
    answer = cli(
        "--store", str(alice_store), "sql", "SELECT name FROM runs ORDER BY name", "--format", "csv",
        env={"JUPYTER_LINEAGE_STORE": team_url},
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "bob_prepare" in answer.stdout and "bob_train" in answer.stdout
