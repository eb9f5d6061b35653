"""The lineage graph of real notebooks run in real kernels (nbclient), over a real DuckDB store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jupyter_lineage import graph
from jupyter_lineage.cli import main
from jupyter_lineage.graph.drawing import FAILED, TIMES
from jupyter_lineage.store import DuckDBStore

from .conftest import NotebookRun, execute_notebook

PIPELINE = [
    "%load_ext jupyter_lineage",
    "%%lineage --name load --tag data\nimport pandas as pd\nraw = pd.read_csv('raw.csv')",
    "%%lineage --name clean\nclean = raw.dropna().reset_index(drop=True)",
    "%%lineage --name split\n"
    "train = clean.sample(frac=0.75, random_state=0)\n"
    "test = clean.drop(train.index)",
    # a failed attempt, kept in the record
    "%%lineage --name train --tag attempt-1\ncoef = train['missing'].mean()",
    "%%lineage --name train --model reg\n"
    "import numpy as np\n"
    "coef = np.polyfit(train['x'], train['y'], 1)\n"
    "model = {'coef': coef}",
    "%%lineage --name evaluate --model reg\n"
    "pred = np.polyval(model['coef'], test['x'])\n"
    "metrics = {'mae': float(abs(pred - test['y']).mean())}",
    "%%lineage --name save --model reg\n"
    "import pickle\n"
    "with open('reg.pkl', 'wb') as f:\n"
    "    pickle.dump(model, f)",
]


def _write_csv(path: Path, rows: int) -> str:
    lines = ["x,y"] + [f"{i},{2 * i + 1 if i % 7 else ''}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edges(store: DuckDBStore) -> set[tuple[str, str, str]]:
    df = store.query("SELECT src, dst, kind FROM lineage_edges")
    return set(zip(df["src"], df["dst"], df["kind"], strict=True))


def _runs(store: DuckDBStore, session: str | None = None) -> dict[tuple[str, str], str]:
    """``(name, status) -> execution node id`` of the latest session's runs."""
    df = store.query(
        "SELECT execution_id, name, status FROM runs "
        "WHERE session_id = (SELECT arg_max(session_id, started_at) FROM runs) ORDER BY started_at"
    )
    return {
        (n, s): "exec:" + e
        for e, n, s in zip(df["execution_id"], df["name"], df["status"], strict=True)
    }


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The pipeline run twice: on a CSV, then in a new kernel on a changed CSV."""
    directory = tmp_path_factory.mktemp("pipeline")
    old_sha = _write_csv(directory / "raw.csv", 40)
    first = execute_notebook(PIPELINE, directory, name="pipeline.ipynb")
    first_runs = _runs(first.store)
    new_sha = _write_csv(directory / "raw.csv", 60)
    second = execute_notebook(PIPELINE, directory, name="pipeline.ipynb")
    return {
        "dir": directory,
        "store": second.store,
        "first": first,
        "second": second,
        "old_sha": old_sha,
        "new_sha": new_sha,
        "first_runs": first_runs,
        "second_runs": _runs(second.store),
    }


def test_pipeline_yields_the_expected_edges(pipeline: dict) -> None:
    store, r = pipeline["store"], pipeline["first_runs"]
    edges = _edges(store)
    nodes = store.query("SELECT * FROM lineage_nodes")
    by_id = nodes.set_index("node_id")

    def produced(execution: str, name: str) -> str:
        (node,) = [
            d for s, d, k in edges if s == execution and k == "generated" and f":{name}@" in d
        ]
        return node

    load, clean, split = r[("load", "ok")], r[("clean", "ok")], r[("split", "ok")]
    failed, train = r[("train", "failed")], r[("train", "ok")]
    evaluate, save = r[("evaluate", "ok")], r[("save", "ok")]
    raw_csv = "file:" + pipeline["old_sha"]
    assert (raw_csv, load, "used") in edges
    raw = produced(load, "raw")
    assert (raw, clean, "used") in edges
    cleaned = produced(clean, "clean")
    assert (cleaned, split, "used") in edges
    train_frame, test_frame = produced(split, "train"), produced(split, "test")
    assert (train_frame, train, "used") in edges
    assert (train_frame, failed, "used") in edges  # the failed attempt read it too
    model = "model:reg@" + train[5:]
    assert (train, model, "generated") in edges
    assert (model, evaluate, "used") in edges and (test_frame, evaluate, "used") in edges
    metrics = produced(evaluate, "metrics")
    assert by_id.loc[metrics, "type_name"] == "dict"
    assert (model, save, "used") in edges
    pkl = [d for s, d, k in edges if s == save and k == "generated" and d.startswith("file:")]
    assert len(pkl) == 1 and by_id.loc[pkl[0], "path"].endswith("reg.pkl")
    # evaluating and saving a model does not make new versions of it
    models = nodes[nodes["kind"] == "model"]["node_id"]
    assert sorted(models) == sorted(
        [
            "model:reg@" + pipeline["first_runs"][("train", "ok")][5:],
            "model:reg@" + pipeline["second_runs"][("train", "ok")][5:],
        ]
    )
    # the failure is a node, marked as such; every execution ran in an environment
    assert by_id.loc[failed, "status"] == "failed"
    assert all(any(k == "ran_in" and d == e for _, d, k in edges) for e in r.values())
    assert by_id.loc[raw, "type_name"] == "pandas.DataFrame"
    assert by_id.loc[raw, "version"].startswith("xxh3:")
    # every edge joins two nodes
    assert {s for s, _, _ in edges} | {d for _, d, _ in edges} <= set(nodes["node_id"])


def test_changed_csv_is_a_new_version_and_impact_lists_the_model(pipeline: dict) -> None:
    store = pipeline["store"]
    old_file, new_file = "file:" + pipeline["old_sha"], "file:" + pipeline["new_sha"]
    old_model = "model:reg@" + pipeline["first_runs"][("train", "ok")][5:]
    new_model = "model:reg@" + pipeline["second_runs"][("train", "ok")][5:]
    assert old_file != new_file and old_model != new_model

    # both versions are kept; the old one is still what it was
    files = graph.downstream("file:raw.csv", depth=1, store=store)
    assert {old_file, new_file} <= set(files["node_id"])
    assert set(files.loc[files["kind"] == "file", "path"]) == {str(pipeline["dir"] / "raw.csv")}

    old_impact = graph.impact(old_file, store=store)
    assert old_model in set(old_impact["node_id"])
    assert new_model not in set(old_impact["node_id"])
    assert set(pipeline["first_runs"].values()) - {pipeline["first_runs"][("load", "ok")]} <= (
        set(old_impact["node_id"]) | {pipeline["first_runs"][("train", "failed")]}
    )
    assert not set(pipeline["second_runs"].values()) & set(old_impact["node_id"])
    both = graph.impact("file:raw.csv", store=store)
    assert {old_model, new_model} <= set(both["node_id"])

    # "which dataset version trained model reg" in one call: the new CSV and its frames
    data = graph.training_data("reg", store=store)
    assert data.loc[0, "model_version"] == new_model
    assert list(data.loc[data["kind"] == "file", "node_id"]) == [new_file]
    frames = data[data["type_name"] == "pandas.DataFrame"]
    assert set(frames["name"]) == {"raw", "clean", "train"}
    old_data = graph.training_data(old_model, store=store)
    assert list(old_data.loc[old_data["kind"] == "file", "node_id"]) == [old_file]

    up = graph.upstream("model:reg", store=store)
    assert new_file in set(up["node_id"]) and old_file not in set(up["node_id"])
    steps = graph.path("file:" + pipeline["new_sha"], "model:reg", store=store)
    assert steps["node_id"].iloc[0] == new_file and steps["node_id"].iloc[-1] == new_model
    assert list(steps["kind"]) == ["file"] + ["execution", "value"] * 3 + ["execution", "model"]


def test_networkx_export_agrees_with_the_walks(pipeline: dict) -> None:
    import networkx as nx

    store = pipeline["store"]
    g = graph.to_networkx(store=store)
    model = "model:reg@" + pipeline["second_runs"][("train", "ok")][5:]
    up = graph.upstream(model, store=store)
    assert nx.ancestors(g, model) | {model} == set(up["node_id"])
    assert g.nodes[model]["kind"] == "model"
    assert {d["kind"] for _, _, d in g.edges(data=True)} == {"used", "generated", "ran_in"}


def test_figure_as_data_and_rendered(pipeline: dict, tmp_path: Path) -> None:
    store = pipeline["store"]
    fig = graph.figure("model:reg", direction="upstream", store=store)
    labels = [label for t in fig.data if t.meta["role"] == "node" for label in t.text]
    # the latest model version and its upstream: the file, four runs, three frames
    model_label = "reg@" + pipeline["second_runs"][("train", "ok")][5:13]
    assert sorted(labels) == sorted(
        [
            "raw.csv",
            "[2] load",
            "raw",
            "[3] clean",
            "clean",
            "[4] split",
            "train",
            "[6] train",
            model_label,
        ]
    )
    assert not any(t.meta.get("kind") == FAILED for t in fig.data)
    # the failed attempt read the training frame but made nothing used later: --failed adds it
    fig = graph.figure("model:reg", direction="upstream", failed=True, store=store)
    traces = {t.meta["role"] + ":" + t.meta.get("kind", ""): t for t in fig.data}
    nodes = [t for t in fig.data if t.meta["role"] == "node"]
    assert list(traces["node:" + FAILED].text) == ["[5] train"]
    assert traces["node:" + FAILED].marker.symbol == "square-x"
    assert sum(len(t.x) for t in nodes) == 10
    assert traces["edge:used"].meta["count"] == 5 and traces["edge:generated"].meta["count"] == 4
    assert traces["target:"].meta["count"] == 1
    hover = traces["node:model"].hovertext[0]
    assert "trained" in hover and "version" in hover
    assert "raw.csv" in traces["node:file"].hovertext[0]
    assert "fingerprint xxh3:" in traces["node:value"].hovertext[0]
    assert "status <b>failed</b>" in traces["node:" + FAILED].hovertext[0]
    page = tmp_path / "graph.html"
    page.write_text(fig.to_html(include_plotlyjs=True))
    assert page.stat().st_size > 1_000_000
    assert json.loads(fig.to_json())["layout"]["title"]["text"].startswith("Lineage of model:reg")

    # the whole store: the second run collapses into nothing new (its inputs differ),
    # with --failed the same; all runs drawn separately otherwise
    whole = graph.figure(store=store)
    every = graph.figure(store=store, all_runs=True)
    count = lambda f: sum(len(t.x) for t in f.data if t.meta["role"] == "node")  # noqa: E731
    assert count(whole) <= count(every)


def test_identical_reruns_collapse(tmp_path: Path) -> None:
    (tmp_path / "raw.csv").write_text("x,y\n1,2\n3,4\n")
    cells = (
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name load\nimport pandas as pd\nraw = pd.read_csv('raw.csv')",
            "%%lineage --name stats --model m\nm = raw.mean()",
        ]
        + ["%%lineage --name load\nimport pandas as pd\nraw = pd.read_csv('raw.csv')"] * 2
        + [
            "%%lineage --name stats --model m\nm = raw.mean()",
        ]
    )
    run = execute_notebook(cells, tmp_path)
    fig = graph.figure(store=run.store)
    labels = sorted(label for t in fig.data if t.meta["role"] == "node" for label in t.text)
    # three loads of the same bytes, and two identical fits on them: one node each; the
    # value m is read by no other run, so it is transient and left out
    assert labels == [
        f"[5] load {TIMES}3",
        f"[6] stats {TIMES}2",
        "m@" + _latest(run, "stats")[:8],
        "raw",
        "raw.csv",
    ]
    assert "1 transient values hidden" in fig.layout.title.text
    shown = graph.figure(store=run.store, transient=True)
    assert "m" in [label for t in shown.data if t.meta["role"] == "node" for label in t.text]
    every = graph.figure(store=run.store, all_runs=True)
    labels = sorted(
        label for t in every.data if t.meta.get("kind") == "execution" for label in t.text
    )
    assert labels == ["[2] load", "[3] stats", "[4] load", "[5] load", "[6] stats"]


def _latest(run: NotebookRun, name: str) -> str:
    return str(
        run.sql(
            "SELECT arg_max(execution_id, started_at) AS e FROM runs WHERE name = ?", [name]
        ).loc[0, "e"]
    )


def test_fine_tuned_model_links_to_its_base_model(tmp_path: Path) -> None:
    cells = [
        "%load_ext jupyter_lineage",
        "%%lineage --name pretrain --model base\n"
        "import pickle\n"
        "base = {'w': [1.0, 2.0]}\n"
        "with open('base.pkl', 'wb') as f:\n"
        "    pickle.dump(base, f)",
        "%%lineage --name finetune --model tuned --base-model base\n"
        "tuned = {'w': [w + 0.5 for w in base['w']]}",
        "%%lineage --name external --model classifier --base-model bert-base-uncased\n"
        "classifier = {'head': [0.1]}",
    ]
    first = execute_notebook(cells, tmp_path, name="pretrain.ipynb")
    # another kernel starts from the saved file, without saying so
    second = execute_notebook(
        [
            "%load_ext jupyter_lineage",
            "%%lineage --name transfer --model transfer\n"
            "import pickle\n"
            "with open('base.pkl', 'rb') as f:\n"
            "    start = pickle.load(f)\n"
            "transfer = {'w': start['w'][:1]}",
        ],
        tmp_path,
        name="transfer.ipynb",
    )
    store = second.store
    versions = store.query(
        "SELECT name, node_id FROM lineage_nodes WHERE kind = 'model' ORDER BY name"
    )
    version = dict(zip(versions["name"], versions["node_id"], strict=True))
    edges = _edges(store)
    derived = {(s, d) for s, d, k in edges if k == "derived_from"}
    assert (version["base"], version["tuned"]) in derived  # declared with --base-model
    assert (version["base"], version["transfer"]) in derived  # detected through base.pkl
    assert ("model:bert-base-uncased", version["classifier"]) in derived
    detail = store.query(
        "SELECT action FROM lineage_edges WHERE kind = 'derived_from' AND dst = ?",
        [version["transfer"]],
    )
    assert list(detail["action"]) == ["detected"]
    up = graph.upstream("model:tuned", store=store)
    assert version["base"] in set(up["node_id"])
    assert (
        list(graph.path("model:base", "model:tuned", store=store)["edge"])
        == [
            None,
            "derived_from",
        ]
        or graph.path("model:base", "model:tuned", store=store)["edge"].iloc[1] == "derived_from"
    )
    fig = graph.figure("model:tuned", store=store)
    assert any(t.meta.get("kind") == "derived_from" for t in fig.data)
    assert first.store.root == store.root


def test_magics_in_a_kernel(tmp_path: Path) -> None:
    _write_csv(tmp_path / "raw.csv", 30)
    cells = [
        *PIPELINE,
        "%lineage_graph model:reg --upstream --failed",
        "%lineage_upstream model:reg --depth 2",
        "%lineage_impact file:raw.csv",
        "%lineage_training_data reg",
        "%lineage_path file:raw.csv model:reg",
        "fig = %lineage_graph --failed\nlen(fig.data) > 0",
        "%lineage_graph nothing-like-this",
        "%lineage_graph model:reg --upstream --downstream",
        "%lineage_upstream model:reg --depth x",
    ]
    run: NotebookRun = execute_notebook(cells, tmp_path)
    n = len(PIPELINE)
    figure_output = run.outputs(n)
    bundles = [o for o in figure_output if o.output_type in ("display_data", "execute_result")]
    # plotly's mime bundle, which JupyterLab 4 renders inline
    spec = bundles[0]["data"]["application/vnd.plotly.v1+json"]
    kinds = {t["meta"]["kind"] for t in spec["data"] if t["meta"]["role"] == "node"}
    assert {"execution", "value", "file", "model", FAILED} <= kinds
    assert "depth" in run.text(n + 1) and "model:reg@" in run.text(n + 1)
    assert "model:reg@" in run.text(n + 2)
    assert "model:reg@" in run.text(n + 3) and " file " in run.text(n + 3)
    assert "derived_from" not in run.text(n + 4) and "generated" in run.text(n + 4)
    assert "True" in run.text(n + 5)
    for i, words in [
        (n + 6, "no lineage node matches 'nothing-like-this'"),
        (n + 7, "give --upstream or --downstream, not both"),
        (n + 8, "--depth takes a whole number of edges, not 'x'"),
    ]:
        text = run.text(i)
        assert text.startswith("UsageError: ") and words in text, text
        assert text.count("\n") == 1, text  # one line, no traceback


def test_cli_graph_commands(pipeline: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(pipeline["store"].root)
    assert main(["--store", store, "graph", "impact", "file:" + pipeline["old_sha"]]) == 0
    out = capsys.readouterr().out
    assert "model:reg@" + pipeline["first_runs"][("train", "ok")][5:] in out
    assert main(["--store", store, "graph", "training-data", "reg", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["kind"] for r in rows} == {"file", "value"}
    assert main(["--store", store, "graph", "upstream", "model:reg", "--depth", "2"]) == 0
    assert "depth" in capsys.readouterr().out
    assert main(["--store", store, "graph", "path", "file:raw.csv", "model:reg"]) == 0
    assert "generated" in capsys.readouterr().out
    page = tmp_path / "lineage.html"
    assert (
        main(["--store", store, "graph", "html", "model:reg", "--upstream", "-o", str(page)]) == 0
    )
    html = page.read_text()
    assert "<html>" in html and "Lineage of model:reg" in html and len(html) > 1_000_000
    assert main(["--store", store, "graph", "downstream", "no-such-target"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no lineage node matches 'no-such-target'" in err


def test_reviews_are_steps_in_the_graph(tmp_path: Path) -> None:
    _write_csv(tmp_path / "raw.csv", 30)
    cells = [
        "%load_ext jupyter_lineage",
        "import jupyter_lineage as jl",
        "%%lineage --name load\nimport pandas as pd\nraw = pd.read_csv('raw.csv')",
        "%%lineage --name fix\nlabels = raw.assign(y=raw['y'].fillna(0))",
        "%%lineage --name train --model reg\n"
        "import numpy as np\n"
        "model = {'coef': np.polyfit(labels['x'], labels['y'], 1)}",
        # a review of the training run and the frame it read, then a revision of it
        "first = jl.note('Spot-checked 20 labels', kind='review', on=['LAST', 'var:labels'])\n"
        "second = jl.note('Spot-checked 40 labels; fixed two by hand', kind='review',\n"
        "                 on=['LAST', 'var:labels'], revises=first)\n"
        "print(first, second)",
        "%lineage_note --kind review --on model:reg Approved for staging",
        "%lineage_note --kind note --on LAST Not a review",
        "%lineage_graph model:reg --upstream",
    ]
    run = execute_notebook(cells, tmp_path)
    first, second = run.text(5).split()
    store = run.store
    r = _runs(store)
    fix, train = r[("fix", "ok")], r[("train", "ok")]
    model = "model:reg@" + train[5:]
    approval_id = run.sql(
        "SELECT annotation_id FROM annotations WHERE text = 'Approved for staging'"
    )
    revised, approval = "review:" + second, "review:" + approval_id.iloc[0, 0]

    nodes = store.query("SELECT * FROM lineage_nodes WHERE kind = 'review'").set_index("node_id")
    assert sorted(nodes.index) == sorted([revised, approval])  # one node per review, revised
    assert "review:" + first not in nodes.index
    assert nodes.loc[revised, "detail"] == "Spot-checked 40 labels; fixed two by hand"
    assert nodes.loc[revised, "name"]  # the author
    assert nodes.loc[revised, "notebook_path"] == str(run.path)

    edges = _edges(store)
    labels = next(d for s, d, k in edges if s == fix and k == "generated" and ":labels@" in d)
    assert {e for e in edges if revised in e[:2] or approval in e[:2]} == {
        (train, revised, "used"),
        (labels, revised, "used"),
        (revised, model, "reviewed"),
        (approval, model, "reviewed"),
    }
    up = graph.upstream("model:reg", store=store)
    assert {revised, approval, labels, train} <= set(up["node_id"])
    assert revised in set(graph.impact("file:raw.csv", store=store)["node_id"])

    spec = next(
        o["data"]["application/vnd.plotly.v1+json"]
        for o in run.outputs(len(cells) - 1)
        if o.output_type in ("display_data", "execute_result")
    )
    (drawn,) = [
        t for t in spec["data"] if t["meta"] == {"role": "node", "kind": "review", "count": 2}
    ]
    assert sorted(drawn["customdata"]) == sorted([revised, approval])
    assert any("fixed two by hand" in h for h in drawn["hovertext"])
    assert drawn["marker"]["symbol"] == "pentagon"
