"""One notebook run in two kernel sessions, as the sidebar shows it: transient values left
out of the graph (and counted), identical re-runs of the other session merged, and the
timeline's sessions with their counts and what changed in the environment between them.

Real kernels (nbclient), a real DuckDB store and a real Jupyter server. Between the two
sessions a package's version changes: the second kernel finds another version's metadata
on its ``sys.path``, as after a ``pip install --upgrade``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_lineage import graph
from jupyter_lineage.graph.drawing import TIMES
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.lineage import open_queries

from .conftest import NotebookRun, execute_notebook

NOTEBOOK = "work/sessions.ipynb"
PACKAGE = "lineage-sessions-probe"

CELLS = [
    "%load_ext jupyter_lineage",
    # `value` and `out` (an open file) are loop and temporary variables: read by no other run
    "%%lineage --name make\n"
    "data = [3, 1, 2]\n"
    "for value in data:\n"
    "    pass\n"
    "with open('data.txt', 'w') as out:\n"
    "    out.write(str(data))",
    "%%lineage --name fit --model probe\ntotal = sum(data)\nhigh = max(data)",
    "%%lineage --name report\nprint(total)",
    "%%lineage --name broken\ntotal / 0",
]
TRANSIENT = {"value", "out", "high"}


def _package(directory: Path, version: str) -> Path:
    """A directory holding one distribution's metadata, to put on a kernel's ``sys.path``."""
    dist = directory / f"{PACKAGE.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n", encoding="utf-8"
    )
    return directory


def _run(directory: Path, site: Path) -> NotebookRun:
    import os

    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(site)]))
    return execute_notebook(CELLS, directory, name="sessions.ipynb", env={"PYTHONPATH": path})


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sessions-root")
    sites = tmp_path_factory.mktemp("sites")
    first = _run(root / "work", _package(sites / "one", "1.0"))
    first_session = _latest_session(first)
    second = _run(root / "work", _package(sites / "two", "2.0"))
    return {
        "root": root,
        "second": second,
        "store": second.store,
        "sessions": (first_session, _latest_session(second)),
    }


def test_transient_values_are_those_no_other_run_read(two_sessions: dict[str, Any]) -> None:
    store: DuckDBStore = two_sessions["store"]
    values = store.query("SELECT node_id, name FROM lineage_nodes WHERE kind = 'value'")
    # The rule over the documented views: bound by a captured run, no edge out of it.
    reference = store.query(
        "SELECT n.node_id FROM lineage_nodes n WHERE n.kind = 'value' "
        "AND n.execution_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM lineage_edges e WHERE e.src = n.node_id)"
    )
    with open_queries(store) as q:
        found = set(q.transient_values(list(values["node_id"])))
    assert found == set(reference["node_id"])
    names = dict(zip(values["node_id"], values["name"], strict=True))
    # both sessions' loop variable, open file and unread maximum
    assert sorted(names[n] for n in found) == sorted([*TRANSIENT, *TRANSIENT])


def test_the_graph_hides_transient_values_and_merges_the_other_session(
    two_sessions: dict[str, Any],
) -> None:
    store: DuckDBStore = two_sessions["store"]
    notebook = str(two_sessions["second"].path)
    drawn = graph.drawing_of(notebook=notebook, store=store)
    labels = sorted(n.label for n in drawn.view.nodes)
    # each cell once, with the runs of both sessions counted; the failure too
    assert labels == sorted(
        [
            f"[2] make {TIMES}2",
            f"[3] fit {TIMES}2",
            f"[4] report {TIMES}2",
            f"[5] broken {TIMES}2",
            "data",
            "data.txt",
            "total",
            "probe@" + _latest(store, "fit")[:8],
        ]
    )
    assert drawn.view.hidden == len(TRANSIENT)
    assert not any(n.transient for n in drawn.view.nodes)

    shown = graph.drawing_of(notebook=notebook, store=store, transient=True)
    assert shown.view.hidden == 0
    assert sorted(n.label for n in shown.view.nodes if n.transient) == sorted(TRANSIENT)
    assert len(shown.view.nodes) == len(drawn.view.nodes) + drawn.view.hidden

    every = graph.drawing_of(notebook=notebook, store=store, all_runs=True, transient=True)
    makes = [n for n in every.view.nodes if n.label.startswith("[2] make")]
    assert len(makes) == 2 and all(n.count == 1 for n in makes)


def test_a_target_is_drawn_even_when_transient(two_sessions: dict[str, Any]) -> None:
    store: DuckDBStore = two_sessions["store"]
    drawn = graph.drawing_of("var:high", store=store)
    (target,) = [n for n in drawn.view.nodes if n.target]
    assert target.label == "high" and not target.transient


def _latest(store: DuckDBStore, name: str) -> str:
    return str(
        store.query(
            "SELECT arg_max(execution_id, started_at) AS e FROM runs WHERE name = ?", [name]
        ).loc[0, "e"]
    )


# -- through the server ------------------------------------------------------------


@pytest.fixture
def jp_root_dir(two_sessions: dict[str, Any]) -> Path:
    return Path(two_sessions["root"])


async def _get(jp_fetch: Any, *parts: str, **params: str) -> Any:
    response = await jp_fetch("lineage", "api", *parts, params=params)
    return json.loads(response.body.decode("utf-8"))


async def test_runs_endpoint_groups_by_session(jp_fetch: Any, two_sessions: dict[str, Any]) -> None:
    page = await _get(jp_fetch, "executions", path=NOTEBOOK)
    first_id, second_id = two_sessions["sessions"]
    sessions = page["sessions"]
    assert [s["session_id"] for s in sessions] == [second_id, first_id]  # newest first
    newest, oldest = sessions
    assert (newest["number"], oldest["number"]) == (2, 1)
    assert (newest["runs"], newest["failed"]) == (4, 1)
    assert (oldest["runs"], oldest["failed"]) == (4, 1)
    assert page["total"] == 8 and page["failed"] == 2
    # every run of the page names its session, runs of one session together
    assert [r["session_id"] for r in page["executions"]] == [second_id] * 4 + [first_id] * 4
    # the first session has nothing to compare with; the second saw the package upgraded
    assert oldest["previous_session"] is None and oldest["environment_changed"] is None
    assert newest["previous_session"] == first_id
    assert newest["environment_changed"] is True
    assert {"name": PACKAGE, "before": "1.0", "after": "2.0"} in newest["package_changes"]
    assert newest["package_change_count"] == 1
    assert newest["python_version"] and newest["hostname"]

    # a page holding only the newest session's runs describes only that session
    page = await _get(jp_fetch, "executions", path=NOTEBOOK, limit="2")
    assert [s["session_id"] for s in page["sessions"]] == [second_id]
    assert page["sessions"][0]["runs"] == 4  # the session's count, not the page's


async def test_graph_endpoint_hides_transient_values_until_asked(
    jp_fetch: Any, two_sessions: dict[str, Any]
) -> None:
    fit = _latest(two_sessions["store"], "fit")
    hidden = await _get(jp_fetch, "graph", path=NOTEBOOK, node=fit, depth="2")
    names = {n["label"] for n in hidden["nodes"]}
    assert "high" not in names and hidden["hidden"] == 1
    # the walk from this session's run reaches this session's runs only
    assert "total" in names and "[3] fit" in names
    shown = await _get(jp_fetch, "graph", path=NOTEBOOK, node=fit, depth="2", transient="1")
    assert shown["hidden"] == 0
    assert [n["label"] for n in shown["nodes"] if n["transient"]] == ["high"]
    # every node is placed, every edge joins two drawn nodes
    ids = {n["node_id"] for n in shown["nodes"]}
    assert all(
        isinstance(n["layer"], float) and isinstance(n["row"], float) for n in shown["nodes"]
    )
    assert all(e["src"] in ids and e["dst"] in ids for e in shown["edges"])
    (target,) = [n for n in shown["nodes"] if n["target"]]
    assert target["kind"] == "execution" and target["node_id"] == "exec:" + fit


async def test_a_bad_transient_flag_is_400(jp_fetch: Any, two_sessions: dict[str, Any]) -> None:
    from tornado.httpclient import HTTPClientError

    fit = _latest(two_sessions["store"], "fit")
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(
            "lineage", "api", "graph", params={"path": NOTEBOOK, "node": fit, "transient": "yes"}
        )
    assert caught.value.code == 400
    assert "transient must be 1 or 0" in caught.value.response.body.decode()


def _latest_session(run: NotebookRun) -> str:
    df = run.sql("SELECT arg_max(session_id, started_at) AS s FROM runs")
    return str(df.loc[0, "s"])
