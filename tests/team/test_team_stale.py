"""The out-of-date check reads a team store as it reads the local file: the same runs, values
and files, so the same cells are out of date for the same reasons."""

from __future__ import annotations

from pathlib import Path

from jupyter_lineage.graph import stale
from jupyter_lineage.graph.staleness import cell_matching, read_notebook
from jupyter_lineage.store import DuckDBStore, store_for
from jupyter_lineage.store.stale import stale_rows

from .conftest import cli
from .test_team_store import _notebook, _run_notebook


def _states(report) -> list[tuple[str | None, str | None, str, list[str]]]:  # type: ignore[no-untyped-def]
    return [(c.name, c.execution_id, c.state, [r.text for r in c.reasons]) for c in report.cells]


def test_the_check_answers_the_same_from_the_team_store(tmp_path: Path, team_url: str) -> None:
    store_dir = tmp_path / ".lineage"
    assert (
        cli(
            "--store", str(store_dir), "migrate", env={"JUPYTER_LINEAGE_STORE": team_url}
        ).returncode
        == 0
    )
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n2\n")
    nb = _notebook(
        tmp_path / "analysis.ipynb",
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name load\nrows = open('data.csv').read().splitlines()",
            "%%lineage --name count\nn = len(rows)",
            "%%lineage --name trim\nrows = rows[:2]",
            "%%lineage --name again\nm = len(rows)",
        ],
    )
    _run_notebook(nb, store_dir, {"JUPYTER_LINEAGE_STORE": team_url})
    local = DuckDBStore(store_dir)
    team = store_for(store_dir, url=team_url)
    assert type(team).__name__ == "PostgresStore"

    # A headless run records no cell ids: its runs are matched to the cells by their code.
    links, sources = cell_matching(read_notebook(nb))
    paths = [str(nb.resolve())]
    rows = {
        name: sorted(
            (
                r["kind"], r["execution_id"], r["cell"], r["name"], r["status"], r["source"],
                r["a"], r["b"], r["c"], r["d"],
            )
            for r in stale_rows(store, paths, links=links, sources=sources)
        )
        for name, store in (("local", local), ("team", team))
    }  # fmt: skip
    assert rows["local"] == rows["team"]
    # The value `again` read was bound last by `trim`, not `load`: the producer is per run.
    cell_of = {r[3]: r[2] for r in rows["team"] if r[0] == "run"}
    read = {(r[1], r[6]): r[9] for r in rows["team"] if r[0] == "input"}
    run_of = {r[3]: r[1] for r in rows["team"] if r[0] == "run"}
    assert read[(run_of["count"], "rows")] == cell_of["load"]
    assert read[(run_of["again"], "rows")] == cell_of["trim"]

    assert _states(stale(nb, store=local)) == _states(stale(nb, store=team))
    data.write_text("a\n9\n")
    by_team = stale(nb, store=team)
    assert _states(stale(nb, store=local)) == _states(by_team)
    assert {c.name for c in by_team.stale_cells} == {"load", "count", "trim", "again"}
