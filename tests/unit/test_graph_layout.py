"""The layered layout, paths, re-run collapsing and the figure, as data (no store)."""

from __future__ import annotations

import json
import random
import time

import pytest

from jupyter_lineage.graph.drawing import (
    FAILED,
    TIMES,
    build_figure,
    collapse_reruns,
    graph_view,
    node_hover,
    node_label,
)
from jupyter_lineage.graph.layout import (
    acyclic_edges,
    components,
    layered_layout,
    longest_path_layers,
    order_layers,
)
from jupyter_lineage.graph.paths import distances, shortest_path


def _crossings(rows: list[list[str]], edges: list[tuple[str, str]]) -> int:
    place = {n: (i, r) for i, row in enumerate(rows) for r, n in enumerate(row)}
    adjacent = [(place[u][1], place[v][1]) for u, v in edges if place[v][0] == place[u][0] + 1]
    return sum(
        1
        for i, (a, b) in enumerate(adjacent)
        for c, d in adjacent[i + 1 :]
        if (a - c) * (b - d) < 0
    )


def test_cycles_are_broken_and_self_loops_dropped() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d"), ("a", "b")]
    kept = acyclic_edges(["a", "b", "c", "d"], edges)
    assert kept == [("a", "b"), ("b", "c"), ("c", "d")]


def test_longest_path_layers_put_sources_left_and_pull_late_inputs_right() -> None:
    edges = [
        ("raw", "load"),
        ("load", "df"),
        ("df", "train"),
        ("train", "model"),
        ("seed", "train"),
        ("df", "model"),
    ]
    layer = longest_path_layers(["raw", "load", "df", "train", "model", "seed"], edges)
    assert layer == {"raw": 0, "load": 1, "df": 2, "train": 3, "model": 4, "seed": 2}
    assert all(layer[v] > layer[u] for u, v in edges)


def test_barycentre_ordering_removes_crossings() -> None:
    # two chains drawn crossed at first: a1->b2, a2->b1
    layer = {"a1": 0, "a2": 0, "b2": 1, "b1": 1, "c1": 2, "c2": 2}
    edges = [("a1", "b1"), ("a2", "b2"), ("b1", "c1"), ("b2", "c2")]
    assert _crossings([["a1", "a2"], ["b2", "b1"], ["c2", "c1"]], edges) == 1
    rows = order_layers(layer, edges)
    assert _crossings(rows, edges) == 0


def test_layout_of_a_random_dag_is_layered_and_fast() -> None:
    rng = random.Random(3)
    nodes = [f"n{i}" for i in range(2000)]
    edges = [(f"n{rng.randrange(i)}", f"n{i}") for i in range(1, 2000) for _ in range(2)]
    start = time.perf_counter()
    pos = layered_layout(nodes, edges).positions
    took = time.perf_counter() - start
    assert took < 2.0, f"layout of 2,000 nodes took {took:.2f} s"
    assert set(pos) == set(nodes)
    assert all(pos[v][0] > pos[u][0] for u, v in edges)
    assert len(set(pos.values())) == len(nodes)  # no two nodes on one spot


def test_long_edges_bend_around_the_nodes_between() -> None:
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    layout = layered_layout(nodes, edges)
    pos = layout.positions
    assert [pos[n][0] for n in nodes] == [0.0, 1.0, 2.0, 3.0]
    bends = layout.routes[("a", "d")]
    assert [x for x, _ in bends] == [1.0, 2.0]
    assert all(y != pos[n][1] for (_, y), n in zip(bends, ["b", "c"], strict=True))
    assert set(layout.routes) == {("a", "d")}
    straight = layered_layout(nodes, edges, max_bends=0)
    assert straight.routes == {}


def test_components_are_stacked() -> None:
    nodes = ["a", "b", "c", "x", "y", "lonely"]
    edges = [("a", "b"), ("b", "c"), ("x", "y")]
    assert components(nodes, edges) == [["a", "b", "c"], ["x", "y"], ["lonely"]]
    pos = layered_layout(nodes, edges).positions
    assert pos["a"][1] == pos["b"][1] == pos["c"][1] == 0
    assert pos["x"][1] < 0 and pos["lonely"][1] < pos["x"][1]


def test_distances_and_shortest_path() -> None:
    edges = [
        ("f", "e1", "used"),
        ("e1", "v", "generated"),
        ("v", "e2", "used"),
        ("f", "e2", "used"),
        ("e2", "m", "generated"),
    ]
    assert distances([(s, d) for s, d, _ in edges], ["m"], upstream=True) == {
        "m": 0,
        "e2": 1,
        "v": 2,
        "f": 2,
        "e1": 3,
    }
    assert shortest_path(edges, ["f"], ["m"]) == [("f", None), ("e2", "used"), ("m", "generated")]
    assert shortest_path(edges, ["m"], ["f"]) == []
    assert shortest_path(edges, ["f"], ["f"]) == [("f", None)]


def _run(eid: str, n: int, name: str, status: str = "ok", cell: str | None = None) -> dict:
    return {
        "node_id": f"exec:{eid}",
        "kind": "execution",
        "name": name,
        "version": eid,
        "status": status,
        "created_at": f"2026-01-01 00:00:{n:02d}",
        "notebook_path": "/nb",
        "cell_key": cell or name,
        "execution_count": n,
        "source": f"x = load()\n# {eid}",
        "error_type": "ValueError" if status == "failed" else None,
        "error_message": "bad <input>" if status == "failed" else None,
        "duration_ms": 1.5,
        "execution_id": eid,
    }


def _value(name: str, fp: str, eid: str | None, n: int) -> dict:
    origin = f"exec:{eid}" if eid else "session:s"
    return {
        "node_id": f"value:{name}@{fp}/{origin}",
        "kind": "value",
        "name": name,
        "version": fp,
        "type_name": "pandas.DataFrame",
        "shape": "(3, 2)",
        "fingerprint_kind": "content",
        "execution_id": eid,
        "created_at": f"2026-01-01 00:00:{n:02d}",
    }


def _pipeline() -> tuple[list[dict], list[tuple[str, str, str]]]:
    """load twice with identical results, a failed clean, a clean, a train with a model."""
    f = {
        "node_id": "file:abc",
        "kind": "file",
        "name": "/d/raw.csv",
        "version": "abc",
        "path": "/d/raw.csv",
        "detail": "10 bytes",
        "created_at": "2026-01-01 00:00:00",
    }
    nodes = [
        f,
        _run("l1", 1, "load"),
        _value("raw", "xxh3:1", "l1", 1),
        _run("l2", 2, "load"),
        _value("raw", "xxh3:1", "l2", 2),
        _run("c1", 3, "clean", status="failed"),
        _run("c2", 4, "clean"),
        _value("clean", "xxh3:2", "c2", 4),
        _run("t1", 5, "train"),
        _value("w", "xxh3:3", "t1", 5),
        {
            "node_id": "model:m@t1",
            "kind": "model",
            "name": "m",
            "version": "t1",
            "execution_id": "t1",
            "created_at": "2026-01-01 00:00:05",
        },
        {"node_id": "code:h", "kind": "code", "name": "load", "version": "h" * 64},
    ]
    edges = [
        ("file:abc", "exec:l1", "used"),
        ("exec:l1", "value:raw@xxh3:1/exec:l1", "generated"),
        ("file:abc", "exec:l2", "used"),
        ("exec:l2", "value:raw@xxh3:1/exec:l2", "generated"),
        ("value:raw@xxh3:1/exec:l2", "exec:c1", "used"),
        ("value:raw@xxh3:1/exec:l2", "exec:c2", "used"),
        ("exec:c2", "value:clean@xxh3:2/exec:c2", "generated"),
        ("value:clean@xxh3:2/exec:c2", "exec:t1", "used"),
        ("exec:t1", "value:w@xxh3:3/exec:t1", "generated"),
        ("exec:t1", "model:m@t1", "generated"),
        ("code:h", "exec:l1", "used"),
        ("code:h", "exec:l2", "used"),
    ]
    return nodes, edges


def test_identical_reruns_collapse_with_a_count() -> None:
    nodes, edges = _pipeline()
    rows = {n["node_id"]: n for n in nodes}
    canon, counts = collapse_reruns(rows, edges)
    assert canon["exec:l2"] == "exec:l1" and counts == {"exec:l1": 2}
    assert canon["value:raw@xxh3:1/exec:l2"] == "value:raw@xxh3:1/exec:l1"
    assert canon["exec:c1"] == "exec:c1"  # a failure is never merged into a success

    view = graph_view(nodes, edges, targets=["model:m@t1"])
    by_id = {n.node_id: n for n in view.nodes}
    assert "exec:l2" not in by_id and by_id["exec:l1"].count == 2
    assert by_id["exec:l1"].label == f"[2] load {TIMES}2"
    assert by_id["exec:l1"].members == ["exec:l1", "exec:l2"]
    assert by_id["exec:c1"].failed and not by_id["exec:c2"].failed
    assert by_id["model:m@t1"].target and by_id["model:m@t1"].label == "m@t1"
    assert "code:h" not in by_id  # code versions are not drawn by default
    assert ("value:raw@xxh3:1/exec:l1", "exec:c1", "used") in view.edges
    assert len(view.edges) == 8

    every = graph_view(
        nodes, edges, collapse=False, kinds=("execution", "value", "file", "model", "code")
    )
    assert len(every.nodes) == len(nodes) and len(every.edges) == len(edges)


def test_labels_and_hover_say_what_a_node_is() -> None:
    nodes, _ = _pipeline()
    rows = {n["node_id"]: n for n in nodes}
    failed = node_hover(rows["exec:c1"])
    assert "status <b>failed</b>" in failed
    assert "ValueError: bad &lt;input&gt;" in failed  # escaped, never raw HTML
    assert "x&nbsp;=&nbsp;load()" in failed
    value = node_hover(rows["value:raw@xxh3:1/exec:l1"])
    assert "fingerprint xxh3:1" in value and "pandas.DataFrame (3, 2)" in value
    assert "2026-01-01 00:00:01" in value
    assert "sha256 abc" in node_hover(rows["file:abc"])
    assert node_label(rows["file:abc"]) == "raw.csv"
    assert node_label(rows["code:h"]) == "code hhhhhhhh"
    assert node_label(
        {"kind": "execution", "source": "df = pd.read_csv('a very long path.csv')"}
    ) == ("df = pd.read_csv('a ver…")


def test_figure_as_data_html_and_json() -> None:
    nodes, edges = _pipeline()
    view = graph_view(nodes, edges, targets=["model:m@t1"])
    fig = build_figure(view, title="Lineage of <m>")
    traces = {t.meta["role"] + ":" + t.meta.get("kind", ""): t for t in fig.data}
    node_traces = [t for t in fig.data if t.meta["role"] == "node"]
    edge_traces = [t for t in fig.data if t.meta["role"] == "edge"]
    assert sum(len(t.x) for t in node_traces) == len(view.nodes)
    # each edge is a run of points ended by a gap
    assert sum(x is None for t in edge_traces for x in t.x) == len(view.edges)
    assert traces["edge:used"].meta["count"] == 4 and traces["edge:generated"].meta["count"] == 4
    failed = traces["node:" + FAILED]
    assert list(failed.text) == ["[3] clean"] and failed.marker.symbol == "square-x"
    assert f"[2] load {TIMES}2" in traces["node:execution"].text
    assert list(traces["node:model"].customdata) == ["model:m@t1"]
    assert traces["target:"].x == (traces["node:model"].x[0],)
    assert fig.layout.title.text == "Lineage of &lt;m&gt;"
    # sources left, the model right
    x = {n: p for t in node_traces for n, p in zip(t.customdata, t.x, strict=True)}
    assert x["file:abc"] < x["exec:l1"] < x["exec:c2"] < x["exec:t1"] < x["model:m@t1"]
    page = fig.to_html(include_plotlyjs=True)
    assert "<html>" in page and "plotly" in page and len(page) > 1_000_000
    data = json.loads(fig.to_json())
    assert len(data["data"]) == len(fig.data)


def test_reviews_are_drawn_as_steps_of_their_own() -> None:
    nodes, edges = _pipeline()
    review = {
        "node_id": "review:r1",
        "kind": "review",
        "name": "ann@example.org",
        "version": "r1",
        "detail": "Labels <checked> by hand\nApproved",
        "created_at": "2026-01-01 00:00:06",
    }
    edges = [*edges, ("exec:t1", "review:r1", "used"), ("review:r1", "model:m@t1", "reviewed")]
    assert node_label(review) == "review by ann"
    hover = node_hover(review)
    assert "by ann@example.org · 2026-01-01 00:00:06" in hover
    assert "Labels &lt;checked&gt; by hand<br>Approved" in hover  # escaped, lines kept
    assert "annotation r1" in hover

    view = graph_view([*nodes, review], edges, targets=["model:m@t1"])
    assert "review:r1" in {n.node_id for n in view.nodes}  # drawn by default
    fig = build_figure(view)
    traces = {t.meta["role"] + ":" + t.meta.get("kind", ""): t for t in fig.data}
    assert list(traces["node:review"].customdata) == ["review:r1"]
    assert traces["node:review"].marker.symbol == "pentagon"
    assert traces["edge:reviewed"].meta["count"] == 1
    # between the run it judged and the model it approved
    x = {
        n: p
        for t in fig.data
        if t.meta["role"] == "node"
        for n, p in zip(t.customdata, t.x, strict=True)
    }
    assert x["exec:t1"] < x["review:r1"] < x["model:m@t1"]


def test_large_figure_opens_on_a_window_with_an_overview() -> None:
    nodes = [_run(f"e{i}", i % 60, f"cell{i}") for i in range(300)]
    edges = [(f"exec:e{i}", f"exec:e{i + 1}", "used") for i in range(299)]
    view = graph_view(nodes, edges, targets=["exec:e299"], collapse=False)
    fig = build_figure(view)
    assert fig.layout.xaxis.rangeslider.visible
    low, high = fig.layout.xaxis.range
    assert high - low == pytest.approx(16) and high == pytest.approx(299.6)
    assert fig.layout.height < 1400
