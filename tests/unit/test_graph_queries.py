"""The lineage views and recursive walks, on stores written as journals and ingested into DuckDB.

networkx, run on the same edges, is the oracle for the walks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from jupyter_lineage import graph
from jupyter_lineage.errors import UsageError
from jupyter_lineage.graph.resolve import UnknownTargetError
from jupyter_lineage.journal import JournalWriter
from jupyter_lineage.store import DuckDBStore, lineage
from jupyter_lineage.store.lineage import open_queries

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Notebook:
    """Writes one kernel session's journal: cells that read and bind values and files."""

    def __init__(self, root: Path, session: str, clock: list[int], notebook: str = "/nb.ipynb"):
        self.writer = JournalWriter(root / "journal", session)
        self.writer.append("session_start", {"notebook_path": notebook})
        self.clock = clock
        self.notebook = notebook
        self.count = 0

    def cell(
        self,
        execution_id: str,
        *,
        reads: dict[str, str] | None = None,
        binds: dict[str, str] | None = None,
        files_read: dict[str, str] | None = None,
        files_written: dict[str, str] | None = None,
        status: str = "ok",
        kind: str = "content",
        shape: str | None = "(10, 2)",
        **options: Any,
    ) -> str:
        self.clock[0] += 1
        self.count += 1
        started = (T0 + timedelta(seconds=self.clock[0])).isoformat()
        self.writer.append(
            "cell_start",
            {
                "execution_id": execution_id,
                "execution_count": self.count,
                "notebook_path": self.notebook,
                "source": options.pop("source", f"# {execution_id}"),
                "source_hash": options.pop("source_hash", f"hash-{execution_id}"),
                "mode": "magic",
                "started_at": started,
                **options,
            },
        )
        values = [
            {
                "name": n,
                "role": "input",
                "action": "read",
                "fingerprint": fp,
                "fingerprint_kind": kind,
                "type_name": "pandas.DataFrame",
                "shape": shape,
            }
            for n, fp in (reads or {}).items()
        ] + [
            {
                "name": n,
                "role": "output",
                "action": "assigned",
                "fingerprint": fp,
                "fingerprint_kind": kind,
                "type_name": "pandas.DataFrame",
                "shape": shape,
            }
            for n, fp in (binds or {}).items()
        ]
        files = [
            {"path": p, "access": "read", "sha256": sha, "size": 1}
            for p, sha in (files_read or {}).items()
        ] + [
            {"path": p, "access": "write", "sha256": sha, "size": 1}
            for p, sha in (files_written or {}).items()
        ]
        self.writer.append(
            "cell_end",
            {
                "execution_id": execution_id,
                "status": status,
                "values": values,
                "files": files,
                "environment_id": "env-1",
                "capture_errors": [],
            },
        )
        return "exec:" + execution_id

    def annotate(
        self,
        annotation_id: str,
        targets: list[dict[str, str]],
        *,
        kind: str = "review",
        text: str = "Checked by hand",
        revises: str | None = None,
    ) -> str:
        """An annotation (a review by default) on ``targets``, as ``jl.note`` records it."""
        self.clock[0] += 1
        self.writer.append(
            "annotation",
            {
                "annotation_id": annotation_id,
                "thread_id": revises or annotation_id,
                "revises": revises,
                "kind": kind,
                "text": text,
                "author": "ann@example.org",
                "targets": targets,
                "created_at": (T0 + timedelta(seconds=self.clock[0])).isoformat(),
            },
        )
        return "review:" + annotation_id

    def close(self) -> None:
        self.writer.close()


def _store(tmp_path: Path) -> DuckDBStore:
    return DuckDBStore(tmp_path / ".lineage", lock_timeout_s=5)


def _edges(store: DuckDBStore) -> list[tuple[str, str, str]]:
    df = store.query("SELECT DISTINCT src, dst, kind FROM lineage_edges")
    return list(zip(df["src"], df["dst"], df["kind"], strict=True))


def _sha(n: int) -> str:
    return f"{n:064x}"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    """Forty sessions of fifty cells; each reads values of its own session and, first, a file
    written by an earlier session; some cells fail. About 6,000 nodes and 11,000 edges."""
    root = tmp_path_factory.mktemp("synthetic")
    rng = random.Random(7)
    clock = [0]
    for s in range(40):
        nb = Notebook(root / ".lineage", f"s{s:03d}", clock, notebook=f"/nb{s % 4}.ipynb")
        bound: list[tuple[str, str]] = []
        for c in range(50):
            reads = dict(rng.sample(bound, min(3, len(bound))))
            binds = {f"v{c}_{k}": f"xxh3:{s:03d}{c:03d}{k}" for k in range(2)}
            files_read = None
            if c == 0 and s:
                earlier = rng.randrange(s)
                files_read = {f"/data/out{earlier}.csv": _sha(earlier)}
            files_written = {f"/data/out{s}.csv": _sha(s)} if c == 49 else None
            nb.cell(
                f"s{s:03d}c{c:03d}",
                reads=reads,
                binds=binds,
                files_read=files_read,
                files_written=files_written,
                status="failed" if c % 17 == 5 else "ok",
                name=f"cell{c}",
                model="m" if c == 48 else None,
            )
            bound += binds.items()
        nb.close()
    store = _store(root)
    store.ingest()
    return store


@contextmanager
def _walker(store: DuckDBStore, how: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Queries whose walks go the way ``how`` says: hop by hop while a frontier is narrow,
    then a recursive CTE ("cte after 3" hops over wider ones, "cte" at once), or over a
    table of node ids as on a team store ("ids", hop by hop; "ids cte" at once)."""
    limits = {"hops": lineage.LOOKUP_LIMIT, "cte after 3": 3, "cte": 0}
    if how in limits:
        monkeypatch.setattr(lineage, "LOOKUP_LIMIT", limits[how])
        with open_queries(store) as q:
            yield q
    else:
        with open_queries(store):  # ingested, views current
            pass
        with store.connect() as con:
            con.execute(
                "CREATE OR REPLACE TABLE lineage_walk_edges AS "
                "SELECT DISTINCT src, dst, kind FROM lineage_edges"
            )
        if how == "ids cte":
            monkeypatch.setattr(lineage, "LOOKUP_LIMIT", 0)
        with store.connect(read_only=True) as con:
            yield lineage.LineageQueries(con, indexed=False)


@pytest.mark.parametrize("how", ["hops", "cte after 3", "cte", "ids", "ids cte"])
def test_walks_match_networkx(
    synthetic: DuckDBStore, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges = _edges(synthetic)
    g = nx.DiGraph([(s, d) for s, d, _ in edges])
    assert g.number_of_nodes() > 5000 and g.number_of_edges() > 10000
    kinds = {(s, d): k for s, d, k in edges}
    rng = random.Random(1)
    starts = [*rng.sample(sorted(g.nodes), 25), "model:m@s039c048", "file:" + _sha(3), "env:env-1"]
    with _walker(synthetic, how, monkeypatch) as q:
        for node in starts:
            up = q.walk_edges([node], "upstream")
            assert set(up["src"]) | {node} == nx.ancestors(g, node) | {node}
            assert set(zip(up["src"], up["dst"], up["kind"], strict=True)) == {
                (s, d, kinds[s, d]) for s, d in g.subgraph(nx.ancestors(g, node) | {node}).edges
            }
            assert not up.duplicated().any()
            down = q.walk_edges([node], "downstream")
            assert set(down["dst"]) | {node} == nx.descendants(g, node) | {node}
            assert not down.duplicated().any()
            for depth in (1, 2, 5):
                limited = q.walk_edges([node], "upstream", depth)
                near = nx.single_source_shortest_path_length(
                    g.reverse(copy=False), node, cutoff=depth
                )
                assert set(limited["src"]) | {node} == set(near)
                limited = q.walk_edges([node], "downstream", depth)
                near = nx.single_source_shortest_path_length(g, node, cutoff=depth)
                assert set(limited["dst"]) | {node} == set(near)
        a, b = "file:" + _sha(0), "model:m@s039c048"
        between = q.connecting_edges([a], [b])
        on_paths = (nx.descendants(g, a) | {a}) & (nx.ancestors(g, b) | {b})
        assert set(zip(between["src"], between["dst"], strict=True)) == set(
            g.subgraph(on_paths).edges
        )
        assert q.walk_edges(["exec:no-such-node"], "upstream").empty


def test_depths_and_api_answers_match_networkx(synthetic: DuckDBStore) -> None:
    edges = _edges(synthetic)
    g = nx.DiGraph([(s, d) for s, d, _ in edges])
    target = "model:m@s039c048"
    up = graph.upstream("model:m", store=synthetic)
    assert up.loc[0, "node_id"] == target and up.loc[0, "depth"] == 0
    expected = nx.single_source_shortest_path_length(g.reverse(copy=False), target)
    assert dict(zip(up["node_id"], up["depth"], strict=True)) == expected
    assert list(up["depth"]) == sorted(up["depth"])
    # the whole lineage_nodes row comes along
    assert {"kind", "name", "version", "status", "created_at"} <= set(up.columns)
    assert up["kind"].notna().all()

    # impact of an early file: every execution and model downstream of it
    impacted = graph.impact("file:/data/out0.csv", store=synthetic)
    below = nx.descendants(g, "file:" + _sha(0))
    assert set(impacted["node_id"]) == {n for n in below if n.startswith(("exec:", "model:"))}
    assert set(impacted["kind"]) <= {"execution", "model"}

    # a path, the shortest one, either way round
    steps = graph.path("file:/data/out0.csv", "model:m", store=synthetic)
    expected_path = nx.shortest_path(g, "file:" + _sha(0), target)
    if nx.has_path(g, "file:" + _sha(0), target):
        assert len(steps) == len(expected_path)
        assert steps.loc[0, "node_id"] == "file:" + _sha(0)
        assert steps.iloc[-1]["node_id"] == target
        for a, b in zip(steps["node_id"], steps["node_id"][1:], strict=False):
            assert g.has_edge(a, b)
    backwards = graph.path("model:m", "file:/data/out0.csv", store=synthetic)
    assert list(backwards["node_id"]) == list(steps["node_id"])


def test_failed_runs_are_nodes_and_scope_is_a_networkx_graph(synthetic: DuckDBStore) -> None:
    g = graph.to_networkx("exec:s000c005", direction="both", store=synthetic)
    assert g.nodes["exec:s000c005"]["status"] == "failed"
    assert all("kind" in data for _, _, data in g.edges(data=True))
    full = graph.to_networkx(store=synthetic)
    assert full.number_of_edges() == len(set(_edges(synthetic)))


def test_value_versions_link_reader_to_latest_binding_in_its_session(tmp_path: Path) -> None:
    clock = [0]
    a = Notebook(tmp_path / ".lineage", "a", clock)
    a.cell("a1", binds={"df": "xxh3:1"})
    a.cell("a2", binds={"df": "xxh3:1"})  # a re-run binding identical content
    a.cell("a3", reads={"df": "xxh3:1"}, binds={"out": "xxh3:2"})
    a.cell("a4", reads={"ghost": "xxh3:9"})  # bound by a cell that was not captured
    a.cell("a5", reads={"h": "id:0x10"}, kind="identity")
    a.close()
    b = Notebook(tmp_path / ".lineage", "b", clock)
    b.cell("b1", reads={"df": "xxh3:1"})  # same content, other kernel: not a's value
    b.cell("b2", reads={"h": "id:0x10"}, kind="identity")
    b.close()
    store = _store(tmp_path)
    edges = _edges(store)
    used = {d: s for s, d, k in edges if k == "used" and s.startswith("value:")}
    assert used["exec:a3"] == "value:df@xxh3:1/exec:a2"  # the latest binding, not the first
    assert used["exec:a4"] == "value:ghost@xxh3:9/session:a"
    assert used["exec:b1"] == "value:df@xxh3:1/session:b"
    # identity fingerprints never merge objects of two sessions
    assert used["exec:a5"] != used["exec:b2"]
    assert ("exec:a1", "value:df@xxh3:1/exec:a1", "generated") in edges
    nodes = store.query("SELECT node_id, kind, version, execution_id FROM lineage_nodes")
    ids = set(nodes["node_id"])
    assert {
        "value:df@xxh3:1/exec:a1",
        "value:df@xxh3:1/exec:a2",
        "value:ghost@xxh3:9/session:a",
    } <= ids
    assert nodes["node_id"].is_unique
    # re-running makes a new version and leaves the old one as it was
    up = graph.upstream("a3", store=store)
    assert "exec:a2" in set(up["node_id"]) and "exec:a1" not in set(up["node_id"])


def test_model_versions_consumers_and_base_models(tmp_path: Path) -> None:
    clock = [0]
    nb = Notebook(tmp_path / ".lineage", "s", clock)
    nb.cell("base1", binds={"w": "xxh3:b1"}, model="base", name="pretrain")
    nb.cell(
        "save1",
        reads={"w": "xxh3:b1"},
        files_written={"/m/base.pkl": _sha(1)},
        model="base",
        name="save",
    )
    nb.cell("base2", binds={"w": "xxh3:b2"}, model="base", name="pretrain")  # a later version
    nb.cell("failed", binds={"w2": "xxh3:x"}, model="base", status="failed")
    nb.cell(
        "ft",
        reads={"w": "xxh3:b2"},
        binds={"v": "xxh3:f"},
        model="ft",
        base_model="base",
        name="finetune",
    )
    nb.cell("ft_pinned", binds={"v": "xxh3:g"}, model="ft-pinned", base_model="base@base1")
    nb.cell("ft_file", files_read={"/m/base.pkl": _sha(1)}, binds={"u": "xxh3:u"}, model="ft-file")
    nb.cell("ft_ext", binds={"z": "xxh3:z"}, model="ft-ext", base_model="bert-base-uncased")
    nb.close()
    store = _store(tmp_path)
    edges = set(_edges(store))
    # training runs generate versions; the save cell uses the version it saved
    assert ("exec:base1", "model:base@base1", "generated") in edges
    assert ("model:base@base1", "exec:save1", "used") in edges
    assert ("exec:base2", "model:base@base2", "generated") in edges
    versions = store.query(
        "SELECT node_id FROM lineage_nodes WHERE kind = 'model' ORDER BY node_id"
    )["node_id"].tolist()
    assert "model:base@failed" not in versions and "model:base@save1" not in versions
    derived = {(s, d) for s, d, k in edges if k == "derived_from"}
    # NAME means the version current when the run started
    assert ("model:base@base2", "model:ft@ft") in derived
    assert ("model:base@base1", "model:ft-pinned@ft_pinned") in derived
    # reading a file a --model run wrote links to the version it saved
    assert ("model:base@base1", "model:ft-file@ft_file") in derived
    # a base from elsewhere is a node of its own, marked as such
    assert ("model:bert-base-uncased", "model:ft-ext@ft_ext") in derived
    external = store.query("SELECT * FROM lineage_nodes WHERE node_id = 'model:bert-base-uncased'")
    assert len(external) == 1 and "not captured" in external.loc[0, "detail"]
    # the fine-tuned model's training data includes its base model's
    data = graph.training_data("ft", store=store)
    assert data.loc[0, "model_version"] == "model:ft@ft"
    assert {"value:w@xxh3:b2/exec:base2"} <= set(data["node_id"])
    assert graph.training_data("ft-file", store=store)["kind"].tolist().count("file") == 1


def test_content_cycles_terminate(tmp_path: Path) -> None:
    clock = [0]
    nb = Notebook(tmp_path / ".lineage", "s", clock)
    nb.cell("r", files_read={"/c.json": _sha(5)}, binds={"cfg": "xxh3:c"})
    nb.cell("w", reads={"cfg": "xxh3:c"}, files_written={"/c.json": _sha(5)})  # same bytes back
    nb.close()
    store = _store(tmp_path)
    up = graph.upstream("file:/c.json", store=store)
    assert {"exec:r", "exec:w", "file:" + _sha(5)} <= set(up["node_id"])
    fig = graph.figure("file:/c.json", store=store)
    assert len(fig.data) > 0


def test_targets(tmp_path: Path) -> None:
    clock = [0]
    nb = Notebook(tmp_path / ".lineage", "s", clock)
    nb.cell("abcdef0011", binds={"df": "xxh3:1"}, name="load", files_read={"/d/x.csv": _sha(1)})
    nb.cell("abcdef0022", reads={"df": "xxh3:1"}, binds={"df2": "xxh3:2"}, model="m")
    nb.cell("abcdef0033", files_read={"/e/x.csv": _sha(2)})
    nb.close()
    store = _store(tmp_path)
    with open_queries(store) as q:
        from jupyter_lineage.graph.resolve import resolve

        assert resolve(q, "abcdef0011") == ["exec:abcdef0011"]
        assert resolve(q, "load") == ["exec:abcdef0011"]
        assert resolve(q, "var:df") == ["value:df@xxh3:1/exec:abcdef0011"]
        assert resolve(q, "var:df@xxh3:1") == ["value:df@xxh3:1/exec:abcdef0011"]
        assert resolve(q, "model:m") == ["model:m@abcdef0022"]
        assert resolve(q, "model:m@abcdef00") == ["model:m@abcdef0022"]
        assert resolve(q, "file:/d/x.csv") == ["file:" + _sha(1)]
        assert resolve(q, "file:d/x.csv") == ["file:" + _sha(1)]
        assert resolve(q, "file:" + _sha(2)) == ["file:" + _sha(2)]
        assert resolve(q, "exec:abcdef0033") == ["exec:abcdef0033"]
        for bad, words in [
            ("abcdef00", "matches 3"),
            ("file:x.csv", "matches 2 paths"),
            ("nothing", "no lineage node matches 'nothing'"),
            ("var:nope", "no captured version of variable 'nope'"),
            ("model:zzz", "no trained version of model 'zzz'"),
            ("", "empty lineage target"),
        ]:
            with pytest.raises(UnknownTargetError) as err:
                resolve(q, bad)
            assert words in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UnknownTargetError, match="give an execution id"):
        graph.upstream("nothing", store=store)
    with pytest.raises(UsageError, match="depth must be"):
        graph.upstream("load", depth=0, store=store)


def test_stale_views_are_replaced(tmp_path: Path) -> None:
    clock = [0]
    nb = Notebook(tmp_path / ".lineage", "s", clock)
    nb.cell("e1", binds={"x": "xxh3:1"})
    nb.close()
    store = _store(tmp_path)
    store.ingest()
    with store.connect() as con:  # a store made before the graph views existed
        con.execute("DROP VIEW lineage_nodes")
        con.execute("CREATE OR REPLACE VIEW lineage_edges AS SELECT 1 AS stub")
    assert set(graph.downstream("e1", store=store)["node_id"]) == {
        "exec:e1",
        "value:x@xxh3:1/exec:e1",
    }


def test_reviews_are_steps_between_what_they_judged_and_the_model(tmp_path: Path) -> None:
    clock = [0]
    nb = Notebook(tmp_path / ".lineage", "s", clock)
    nb.cell("load", binds={"df": "xxh3:1"}, files_read={"/d.csv": _sha(1)})
    nb.cell("fix", reads={"df": "xxh3:1"}, binds={"df": "xxh3:2"})  # labels fixed: df again
    nb.cell("train", reads={"df": "xxh3:2"}, binds={"w": "xxh3:w1"}, model="m")
    first = nb.annotate(
        "r1",
        [
            {"type": "execution", "ref": "train"},
            {"type": "value", "ref": "df", "fingerprint": "xxh3:1"},  # the content before the fix
            {"type": "file", "ref": "/d.csv", "sha256": _sha(1)},
            {"type": "file", "ref": "/never-read.csv", "sha256": _sha(9)},
        ],
    )
    nb.annotate("r2", [{"type": "model", "ref": "m"}], text="Approved")
    approval = nb.annotate(
        "r2b", [{"type": "model", "ref": "m"}], text="Approved for staging", revises="r2"
    )
    nb.annotate("n1", [{"type": "execution", "ref": "train"}], kind="note")
    nb.cell("retrain", reads={"df": "xxh3:2"}, binds={"w": "xxh3:w2"}, model="m")  # not reviewed
    nb.close()
    store = _store(tmp_path)

    nodes = store.query("SELECT * FROM lineage_nodes WHERE kind = 'review' ORDER BY node_id")
    # one node per review, the current revision; other kinds of annotation are not steps
    assert list(nodes["node_id"]) == [first, approval]
    row = nodes.iloc[1]
    assert (row["name"], row["version"], row["detail"]) == (
        "ann@example.org",
        "r2b",
        "Approved for staging",
    )
    assert row["session_id"] == "s" and row["notebook_path"] == "/nb.ipynb"
    assert row["created_at"] is not None

    edges = set(_edges(store))
    reviews = {e for e in edges if first in e[:2] or approval in e[:2]}
    assert reviews == {
        ("exec:train", first, "used"),
        ("value:df@xxh3:1/exec:load", first, "used"),  # the binding with that content
        ("file:" + _sha(1), first, "used"),
        (first, "model:m@train", "reviewed"),  # the version its execution trained
        (approval, "model:m@train", "reviewed"),  # the version current when it was written
    }
    ids = set(store.query("SELECT node_id FROM lineage_nodes")["node_id"])
    assert {n for e in edges for n in e[:2]} <= ids  # every edge joins two nodes
    detail = store.query(
        "SELECT execution_id, via, action FROM lineage_edges WHERE src = ? AND kind = 'reviewed'",
        [approval],
    )
    assert detail.iloc[0].tolist() == ["train", "m", "review"]

    up = graph.upstream("model:m@train", store=store)
    assert {first, approval} <= set(up["node_id"])
    assert up.set_index("node_id").loc[approval, "depth"] == 1
    assert not {first, approval} & set(graph.upstream("model:m", store=store)["node_id"])
    impacted = graph.impact("file:/d.csv", store=store)
    assert first in set(impacted["node_id"]) and "review" in set(impacted["kind"])
    with open_queries(store) as q:
        from jupyter_lineage.graph.resolve import resolve

        assert resolve(q, "review:r1") == [first]
        assert resolve(q, "review:r2") == [approval]  # a unique prefix
    fig = graph.figure("model:m@train", direction="upstream", store=store)
    shown = {t.meta["kind"]: t for t in fig.data if t.meta["role"] == "node"}
    assert sorted(shown["review"].customdata) == [first, approval]
    assert any(t.meta.get("kind") == "reviewed" for t in fig.data)


def test_walk_index_follows_the_store(tmp_path: Path) -> None:
    clock = [0]
    root = tmp_path / ".lineage"
    a = Notebook(root, "a", clock)
    a.cell("a1", binds={"x": "xxh3:1"}, files_written={"/out.csv": _sha(1)})
    a.cell("a2", reads={"x": "xxh3:1"}, binds={"y": "xxh3:2"}, model="m")
    a.annotate(
        "r1",
        [
            {"type": "execution", "ref": "a2"},
            {"type": "value", "ref": "x", "fingerprint": "xxh3:1"},
        ],
    )
    store = _store(tmp_path)

    def walked(node: str) -> set[tuple[str, str, str]]:
        with open_queries(store) as q:
            up = q.walk_edges([node], "upstream")
        return set(zip(up["src"], up["dst"], up["kind"], strict=True))

    def expected(node: str) -> set[tuple[str, str, str]]:
        g = nx.DiGraph()
        for s, d, k in _edges(store):
            g.add_edge(s, d, kind=k)
        keep = nx.ancestors(g, node) | {node}
        return {(s, d, k) for s, d, k in g.subgraph(keep).edges(data="kind")}

    def numbers() -> dict[str, int]:
        rows = store.query("SELECT node_id, node_i FROM _lineage_node_index", ingest=False)
        return dict(zip(rows["node_id"], rows["node_i"], strict=True))

    assert walked("model:m@a2") == expected("model:m@a2")
    before = numbers()
    with store.connect() as con:
        assert not lineage.refresh_lineage_index(con)  # current: nothing to do
    # another kernel reads the file; the review is revised without the value
    b = Notebook(root, "b", clock)
    b.cell("b1", files_read={"/out.csv": _sha(1)}, binds={"z": "xxh3:3"}, model="n")
    b.close()
    a.annotate("r1b", [{"type": "execution", "ref": "a2"}], revises="r1")
    a.close()
    assert walked("model:n@b1") == expected("model:n@b1")
    assert ("value:x@xxh3:1/exec:a1", "review:r1b", "used") not in walked("model:m@a2")
    assert walked("model:m@a2") == expected("model:m@a2")
    after = numbers()
    # nodes keep their numbers; the index holds exactly the nodes of lineage_edges
    assert all(after[n] == i for n, i in before.items() if n in after)
    assert set(after) == {n for e in _edges(store) for n in e[:2]}
    assert "review:r1" in before and "review:r1" not in after
