"""The sidebar's REST API against a real Jupyter server and a store a real kernel captured into.

One notebook runs once for the module (a data cell writing a file, a training cell
with ``--model``, an annotation, a failing cell, a registered model version); the
server's root is its parent directory, so the API finds the store beside it the
way it finds a kernel's in JupyterLab.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

from jupyter_lineage.server import service
from jupyter_lineage.store import DuckDBStore

from .conftest import NotebookRun, execute_notebook

NOTEBOOK = "work/train.ipynb"
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"

CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name load --tag data\n"
    "rows = [3, 1, 2]\n"
    "with open('data.csv', 'w') as f:\n"
    "    f.write('a\\n1\\n')",
    "%%lineage --name train --tag model --model churn\nweights = sorted(rows)",
    "%lineage_note --kind rationale --on LAST Sorting is all the model there is",
    "%%lineage --name broken --tag model\nratio = weights[0] / 0",
    "from jupyter_lineage import registry as reg\n"
    "reg.register_model('churn', ['ml@example.com'], risk_tier='LOW')\n"
    "reg.create_version('churn', '1.0.0', framework='python')",
]


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    root = tmp_path_factory.mktemp("server-root")
    return execute_notebook(CELLS, root / "work", name="train.ipynb")


@pytest.fixture
def jp_root_dir(captured: NotebookRun) -> Path:
    """Serve the directory above the captured notebook."""
    return captured.path.parent.parent


@pytest.fixture
def runs(captured: NotebookRun) -> dict[str, str]:
    """Execution id by cell name."""
    df = captured.sql("SELECT name, execution_id FROM runs")
    return dict(zip(df["name"], df["execution_id"], strict=True))


def body(response: Any) -> Any:
    return json.loads(response.body.decode("utf-8"))


async def get(jp_fetch: Any, *parts: str, **params: str) -> Any:
    return body(await jp_fetch("lineage", "api", *parts, params=params))


async def post_annotation(jp_fetch: Any, payload: Any, **kwargs: Any) -> Any:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return await jp_fetch(
        "lineage",
        "api",
        "annotations",
        method="POST",
        body=data,
        params={"path": NOTEBOOK},
        **kwargs,
    )


async def error_of(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, str]:
    """Status code and JSON message of a request that must fail."""
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("lineage", "api", *parts, **kwargs)
    response = caught.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return caught.value.code, body(response)["message"]


# -- executions -----------------------------------------------------------------


async def test_executions_newest_first_with_the_failure_marked(
    jp_fetch: Any, captured: NotebookRun
) -> None:
    answer = await get(jp_fetch, "executions", path=NOTEBOOK)

    assert [e["name"] for e in answer["executions"]] == ["broken", "train", "load"]
    broken, train, load = answer["executions"]
    assert broken["status"] == "failed"
    assert broken["error_type"] == "ZeroDivisionError"
    assert broken["error_message"] == "division by zero"
    assert train["status"] == load["status"] == "ok"
    assert train["model"] == "churn"
    assert train["annotation_count"] >= 1
    assert load["tags"] == ["data"]
    assert load["first_line"] == "rows = [3, 1, 2]"
    assert isinstance(load["execution_count"], int)
    assert load["started_at"] < train["started_at"] < broken["started_at"]
    assert answer["total"] == 3
    assert answer["failed"] == 1
    assert answer["tags"] == ["data", "model"]
    assert answer["notebook_path"] == NOTEBOOK
    assert answer["recorded_paths"][0] == str(captured.path.resolve())
    assert answer["store_dir"] == str(captured.store.root.resolve())
    assert answer["store_exists"] is True
    assert answer["next_before"] is None


async def test_executions_filter_by_status_and_tag(jp_fetch: Any) -> None:
    failed = await get(jp_fetch, "executions", path=NOTEBOOK, status="failed")
    data = await get(jp_fetch, "executions", path=NOTEBOOK, tag="data")
    model_ok = await get(jp_fetch, "executions", path=NOTEBOOK, tag="model", status="ok")

    assert [e["name"] for e in failed["executions"]] == ["broken"]
    assert [e["name"] for e in data["executions"]] == ["load"]
    assert [e["name"] for e in model_ok["executions"]] == ["train"]
    assert failed["total"] == 3  # the counts are the notebook's, whatever the filter


async def test_executions_page_with_before(jp_fetch: Any) -> None:
    names: list[str] = []
    params = {"path": NOTEBOOK, "limit": "1"}
    for _ in range(3):
        page = await get(jp_fetch, "executions", **params)
        assert len(page["executions"]) == 1
        names.append(page["executions"][0]["name"])
        if page["next_before"] is None:
            break
        assert page["next_before"] == page["executions"][0]["execution_id"]
        params["before"] = page["next_before"]

    assert names == ["broken", "train", "load"]
    assert page["next_before"] is None


async def test_a_notebook_without_a_store_has_no_executions(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    answer = await get(jp_fetch, "executions", path="elsewhere/new.ipynb")

    assert answer["executions"] == []
    assert answer["total"] == 0
    assert answer["store_exists"] is False
    assert answer["store_dir"] == str((jp_root_dir / "elsewhere" / ".lineage").resolve())
    assert not (jp_root_dir / "elsewhere").exists()


async def test_another_notebook_beside_it_has_its_own_runs(jp_fetch: Any) -> None:
    answer = await get(jp_fetch, "executions", path="work/other.ipynb")

    assert answer["executions"] == []
    assert answer["store_exists"] is True


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({}, "give the notebook"),
        ({"path": "../outside.ipynb"}, "leaves the server root"),
        ({"path": "/etc/passwd"}, "is absolute"),
        ({"path": "nb\0.ipynb"}, "NUL byte"),
        ({"path": NOTEBOOK, "status": "great"}, "unknown status 'great'"),
        ({"path": NOTEBOOK, "limit": "0"}, "limit must be a whole number"),
        ({"path": NOTEBOOK, "limit": "ten"}, "limit must be a whole number"),
        ({"path": NOTEBOOK, "limit": "501"}, "limit must be a whole number"),
        ({"path": NOTEBOOK, "before": "yesterday"}, "before 'yesterday' is not one"),
    ],
)
async def test_bad_execution_queries_are_400(
    jp_fetch: Any, params: dict[str, str], complaint: str
) -> None:
    code, message = await error_of(jp_fetch, "executions", params=params)

    assert code == 400
    assert complaint in message


async def test_paging_from_an_unknown_execution_is_404(jp_fetch: Any) -> None:
    code, message = await error_of(
        jp_fetch, "executions", params={"path": NOTEBOOK, "before": UNKNOWN_ID}
    )

    assert code == 404
    assert UNKNOWN_ID in message


# -- one execution -----------------------------------------------------------------


async def test_execution_detail(jp_fetch: Any, runs: dict[str, str], captured: NotebookRun) -> None:
    detail = await get(jp_fetch, "executions", runs["train"], path=NOTEBOOK)

    run = detail["execution"]
    assert run["execution_id"] == runs["train"]
    assert run["source"] == "weights = sorted(rows)"
    assert run["status"] == "ok"
    assert [(v["name"], v["type_name"]) for v in detail["inputs"]] == [("rows", "list")]
    assert detail["inputs"][0]["fingerprint"].startswith("xxh3:")
    assert [(v["name"], v["action"]) for v in detail["outputs"]] == [("weights", "assigned")]
    assert detail["environment"]["environment_id"] == run["environment_id"]
    assert detail["environment"]["package_count"] > 10
    assert detail["environment"]["python_version"]
    assert "packages" not in detail["environment"]
    texts = [a["text"] for a in detail["annotations"]]
    assert "Sorting is all the model there is" in texts
    assert detail["metrics"] == [] and detail["params"] == []


async def test_execution_detail_lists_files_and_the_error(
    jp_fetch: Any, runs: dict[str, str], captured: NotebookRun
) -> None:
    load = await get(jp_fetch, "executions", runs["load"], path=NOTEBOOK)
    broken = await get(jp_fetch, "executions", runs["broken"], path=NOTEBOOK)

    (written,) = load["files"]
    assert written["path"] == str(captured.path.parent / "data.csv")
    assert written["access"] == "write"
    assert len(written["sha256"]) == 64
    failure = broken["execution"]
    assert failure["status"] == "failed"
    assert failure["error_type"] == "ZeroDivisionError"
    assert "ZeroDivisionError: division by zero" in failure["traceback"]


async def test_unknown_execution_is_404_and_a_malformed_id_400(jp_fetch: Any) -> None:
    unknown = await error_of(jp_fetch, "executions", UNKNOWN_ID, params={"path": NOTEBOOK})
    malformed = await error_of(jp_fetch, "executions", "not-an-id", params={"path": NOTEBOOK})
    no_store = await error_of(
        jp_fetch, "executions", UNKNOWN_ID, params={"path": "elsewhere/nb.ipynb"}
    )

    assert unknown[0] == 404 and UNKNOWN_ID in unknown[1]
    assert malformed[0] == 400 and "'not-an-id' is not one" in malformed[1]
    assert no_store[0] == 404 and "%load_ext jupyter_lineage" in no_store[1]


# -- annotations -------------------------------------------------------------------


async def test_annotations_of_the_notebook_and_of_one_execution(
    jp_fetch: Any, runs: dict[str, str]
) -> None:
    notebook = await get(jp_fetch, "annotations", path=NOTEBOOK)
    train = await get(jp_fetch, "annotations", path=NOTEBOOK, execution=runs["train"])
    load = await get(jp_fetch, "annotations", path=NOTEBOOK, execution=runs["load"])

    rationale = next(a for a in notebook["annotations"] if a["kind"] == "rationale")
    assert rationale["text"] == "Sorting is all the model there is"
    assert rationale["targets"][0] == {
        "type": "execution",
        "target": runs["train"],
        "fingerprint": None,
        "sha256": None,
    }
    assert rationale["annotation_id"] in [a["annotation_id"] for a in train["annotations"]]
    assert load["annotations"] == []


async def test_annotations_of_an_unknown_execution_are_404(jp_fetch: Any) -> None:
    code, message = await error_of(
        jp_fetch, "annotations", params={"path": NOTEBOOK, "execution": UNKNOWN_ID}
    )

    assert code == 404
    assert UNKNOWN_ID in message


async def test_post_an_annotation_then_revise_it(
    jp_fetch: Any, runs: dict[str, str], captured: NotebookRun
) -> None:
    response = await post_annotation(
        jp_fetch,
        {
            "kind": "failed_attempt",
            "text": "Divided by **zero**: the guard was missing.",
            "targets": [{"type": "execution", "ref": runs["broken"]}],
        },
    )

    assert response.code == 201
    created = body(response)["annotation"]
    assert created["kind"] == "failed_attempt"
    assert created["revision"] == 1
    assert created["targets"][0]["target"] == runs["broken"]
    # Behind the shared token Jupyter knows no name, only "Anonymous <moon>": the
    # server's own session author is recorded instead.
    assert created["author"]
    assert not created["author"].startswith("Anonymous")

    store = DuckDBStore(captured.store.root)
    row = store.query(
        "SELECT kind, text, author FROM annotations WHERE annotation_id = ?",
        [created["annotation_id"]],
    )
    assert row.to_dict("records") == [
        {
            "kind": "failed_attempt",
            "text": "Divided by **zero**: the guard was missing.",
            "author": created["author"],
        }
    ]
    failed = store.query(
        "SELECT explanation FROM failed_attempts WHERE execution_id = ?", [runs["broken"]]
    )
    assert "the guard was missing" in failed["explanation"][0]

    revised = body(
        await post_annotation(
            jp_fetch,
            {
                "kind": "failed_attempt",
                "text": "Divided by zero: the denominator came from an empty list.",
                "targets": [{"type": "execution", "ref": runs["broken"]}],
                "revises": created["annotation_id"],
            },
        )
    )["annotation"]

    assert revised["revision"] == 2
    assert revised["revises"] == created["annotation_id"]
    assert revised["thread_id"] == created["thread_id"]
    listed = await get(jp_fetch, "annotations", path=NOTEBOOK, execution=runs["broken"])
    texts = [a["text"] for a in listed["annotations"]]
    assert "Divided by zero: the denominator came from an empty list." in texts
    assert "Divided by **zero**: the guard was missing." not in texts
    history = store.query(
        "SELECT annotation_id, is_current FROM annotation_history WHERE thread_id = ? "
        "ORDER BY revision",
        [created["thread_id"]],
    )
    assert history.values.tolist() == [
        [created["annotation_id"], False],
        [revised["annotation_id"], True],
    ]


async def test_posting_the_same_annotation_twice_adds_nothing_visible(
    jp_fetch: Any, runs: dict[str, str], captured: NotebookRun
) -> None:
    payload = {
        "kind": "rationale",
        "text": "Kept the outliers: they are real customers.",
        "targets": [{"type": "execution", "ref": runs["load"]}],
    }
    first = body(await post_annotation(jp_fetch, payload))["annotation"]
    again = await post_annotation(jp_fetch, payload)

    assert again.code == 201
    repeated = body(again)["annotation"]
    # The repeat answers with the annotation it repeats: the one the views show.
    assert repeated["annotation_id"] == first["annotation_id"]
    assert repeated["text"] == payload["text"]
    listed = await get(jp_fetch, "annotations", path=NOTEBOOK, execution=runs["load"])
    texts = [a["text"] for a in listed["annotations"]]
    assert texts.count(payload["text"]) == 1


async def test_the_server_writes_one_journal_per_store(
    jp_fetch: Any, runs: dict[str, str], captured: NotebookRun
) -> None:
    for text in ("first", "second"):
        await post_annotation(
            jp_fetch,
            {"kind": "note", "text": text, "targets": [{"type": "execution", "ref": runs["load"]}]},
        )

    sessions = captured.sql("SELECT session_id FROM annotations WHERE text IN ('first', 'second')")
    assert sessions["session_id"].nunique() == 1
    assert sessions["session_id"][0] not in set(
        captured.sql("SELECT session_id FROM runs")["session_id"]
    )


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({"kind": "gossip", "text": "x"}, "unknown annotation kind 'gossip'"),
        ({"kind": "note", "text": "   "}, "annotation text is empty"),
        ({"kind": "note"}, "text must be a string"),
        ({"kind": "note", "text": "x" * 100_001}, "at most 100000"),
        ({"kind": "note", "text": "x", "colour": "red"}, "unknown field 'colour'"),
        ({"kind": "note", "text": "x", "targets": "LAST"}, "targets must be a list"),
        (
            {"kind": "note", "text": "x", "targets": [{"type": "file", "ref": "data.csv"}]},
            "target type 'file' cannot be annotated from here",
        ),
        (
            {"kind": "note", "text": "x", "targets": [{"type": "execution", "ref": "LAST"}]},
            "execution id 'LAST' is not one",
        ),
        ({"kind": "note", "text": "x", "revises": 7}, "revises must be an annotation id"),
    ],
)
async def test_bad_annotations_are_400(jp_fetch: Any, payload: Any, complaint: str) -> None:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    code, message = await error_of(
        jp_fetch, "annotations", method="POST", body=data, params={"path": NOTEBOOK}
    )

    assert code == 400
    assert complaint in message


async def test_annotating_unknown_ids_is_404(jp_fetch: Any, runs: dict[str, str]) -> None:
    target = {"kind": "note", "text": "x", "targets": [{"type": "execution", "ref": UNKNOWN_ID}]}
    revision = {
        "kind": "note",
        "text": "x",
        "targets": [{"type": "execution", "ref": runs["load"]}],
        "revises": UNKNOWN_ID,
    }
    for payload, complaint in [(target, "to annotate"), (revision, "to revise")]:
        code, message = await error_of(
            jp_fetch,
            "annotations",
            method="POST",
            body=json.dumps(payload),
            params={"path": NOTEBOOK},
        )
        assert code == 404
        assert UNKNOWN_ID in message and complaint in message


class NamedUser(IdentityProvider):
    """Names the user the token signs in, as JupyterHub's identity provider does."""

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await super().get_user(handler)  # type: ignore[misc]
        return None if user is None else User("ada", name="Ada Lovelace", display_name="Ada L.")


class TestSignedInUser:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {
            "ServerApp": {**jp_server_config["ServerApp"], "identity_provider_class": NamedUser}
        }

    async def test_the_author_is_the_signed_in_user(
        self, jp_fetch: Any, runs: dict[str, str]
    ) -> None:
        response = await post_annotation(
            jp_fetch,
            {
                "kind": "review",
                "text": "Checked the labels by hand.",
                "targets": [{"type": "execution", "ref": runs["load"]}],
            },
        )

        assert body(response)["annotation"]["author"] == "Ada Lovelace"


# -- graph, models, cards ----------------------------------------------------------


async def test_graph_of_an_execution(jp_fetch: Any, runs: dict[str, str]) -> None:
    answer = await get(jp_fetch, "graph", node=runs["train"], path=NOTEBOOK)

    assert answer["start"] == [f"exec:{runs['train']}"]
    assert answer["direction"] == "both" and answer["depth"] is None
    ids = {n["node_id"] for n in answer["nodes"]}
    assert f"exec:{runs['load']}" in ids  # upstream: it bound ``rows``
    assert f"model:churn@{runs['train']}" in ids  # downstream: the model version
    assert {n["kind"] for n in answer["nodes"]} <= {"execution", "value", "file", "model"}
    assert {"src", "dst", "kind", "route"} == set(answer["edges"][0])
    assert all(e["src"] in ids and e["dst"] in ids for e in answer["edges"])
    figure = answer["figure"]
    assert figure["data"] and "layout" in figure
    drawn = {i for trace in figure["data"] for i in (trace.get("customdata") or [])}
    assert f"exec:{runs['train']}" in drawn


async def test_graph_upstream_only_and_depth(jp_fetch: Any, runs: dict[str, str]) -> None:
    upstream = await get(
        jp_fetch, "graph", node=runs["train"], path=NOTEBOOK, direction="upstream", depth="1"
    )

    ids = {n["node_id"] for n in upstream["nodes"]}
    assert f"model:churn@{runs['train']}" not in ids
    assert f"exec:{runs['load']}" not in ids  # two edges away
    assert any(i.startswith("value:rows@") for i in ids)
    assert upstream["direction"] == "upstream" and upstream["depth"] == 1


@pytest.mark.parametrize(
    ("params", "code", "complaint"),
    [
        ({}, 400, "give the node to draw"),
        ({"node": UNKNOWN_ID}, 404, "no lineage node matches"),
        ({"node": "var:nothing_like_this"}, 404, "no captured version of variable"),
        ({"node": "x", "direction": "sideways"}, 400, "direction must be"),
        ({"node": "x", "depth": "0"}, 400, "depth must be a whole number"),
        ({"node": "x", "depth": "deep"}, 400, "depth must be a whole number"),
    ],
)
async def test_bad_graph_requests(
    jp_fetch: Any, params: dict[str, str], code: int, complaint: str
) -> None:
    got, message = await error_of(jp_fetch, "graph", params={"path": NOTEBOOK, **params})

    assert got == code
    assert complaint in message


async def test_models(jp_fetch: Any) -> None:
    answer = await get(jp_fetch, "models", path=NOTEBOOK)

    (churn,) = answer["models"]
    assert churn["name"] == "churn"
    assert churn["registered"] is True
    assert churn["risk_tier"] == "LOW"
    assert churn["owners"] == ["ml@example.com"]
    assert [(v["version"], v["state"]) for v in churn["versions"]] == [("1.0.0", "DRAFT")]
    assert answer["cards"] is service.cards_available()


async def test_models_without_a_store(jp_fetch: Any) -> None:
    assert (await get(jp_fetch, "models", path="elsewhere/nb.ipynb"))["models"] == []


@pytest.mark.skipif(not service.cards_available(), reason="jupyter_lineage.cards is not installed")
async def test_model_card_html(jp_fetch: Any) -> None:
    response = await jp_fetch(
        "lineage", "api", "models", "churn", "card", params={"path": NOTEBOOK, "version": "1.0.0"}
    )

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.body.decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "churn" in html and "1.0.0" in html


@pytest.mark.skipif(not service.cards_available(), reason="jupyter_lineage.cards is not installed")
@pytest.mark.parametrize(
    ("name", "version", "code", "complaint"),
    [
        ("nobody", "", 404, "unknown model 'nobody'"),
        ("churn", "9.9.9", 404, "no version '9.9.9'"),
        ("bad name!", "", 400, "bad model name"),
        ("churn", "1.0 beta", 400, "bad model version"),
    ],
)
async def test_bad_card_requests(
    jp_fetch: Any, name: str, version: str, code: int, complaint: str
) -> None:
    got, message = await error_of(
        jp_fetch, "models", name, "card", params={"path": NOTEBOOK, "version": version}
    )

    assert got == code
    assert complaint in message


# -- authentication and XSRF -----------------------------------------------------------

ENDPOINTS = [
    ("GET", ("status",)),
    ("GET", ("executions",)),
    ("GET", ("executions", UNKNOWN_ID)),
    ("GET", ("annotations",)),
    ("POST", ("annotations",)),
    ("GET", ("graph",)),
    ("GET", ("models",)),
    ("GET", ("models", "churn", "card")),
]


@pytest.mark.parametrize(("method", "parts"), ENDPOINTS)
async def test_every_endpoint_refuses_a_request_without_a_token(
    jp_fetch: Any, method: str, parts: tuple[str, ...]
) -> None:
    extra = {"body": "{}"} if method == "POST" else {}
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(
            "lineage",
            "api",
            *parts,
            method=method,
            params={"path": NOTEBOOK},
            headers={"Authorization": ""},
            **extra,
        )

    assert caught.value.code == 403


class DenyLineage(Authorizer):
    """Allows everything except the "lineage" resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "lineage"


class TestAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {"ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": DenyLineage}}

    @pytest.mark.parametrize(("method", "parts"), ENDPOINTS)
    async def test_every_endpoint_asks_the_authorizer(
        self, jp_fetch: Any, method: str, parts: tuple[str, ...]
    ) -> None:
        extra = {"body": "{}"} if method == "POST" else {}
        code, message = await error_of(
            jp_fetch, *parts, method=method, params={"path": NOTEBOOK}, **extra
        )

        assert code == 403
        assert "resource: lineage" in message


@pytest.fixture
def login_cookie(jp_fetch: Any) -> Iterator[Any]:
    """A function returning the Cookie header of a browser signed in with the token."""

    async def sign_in() -> str:
        response = await jp_fetch("lineage", "api", "status")
        cookies = [c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie")]
        assert any(c.startswith("username-") for c in cookies), cookies
        return "; ".join(cookies)

    yield sign_in


async def test_cookie_authenticated_post_needs_the_xsrf_token(
    jp_fetch: Any, login_cookie: Any, runs: dict[str, str]
) -> None:
    cookie = await login_cookie()
    payload = {
        "kind": "note",
        "text": "signed in with a cookie",
        "targets": [{"type": "execution", "ref": runs["load"]}],
    }

    # A cookie alone reads, as a page of the same origin would...
    read = await jp_fetch(
        "lineage",
        "api",
        "executions",
        params={"path": NOTEBOOK},
        headers={"Authorization": "", "Cookie": cookie},
    )
    assert read.code == 200
    # ...but writes only with the XSRF token in a header matching its cookie.
    with pytest.raises(HTTPClientError) as caught:
        await post_annotation(jp_fetch, payload, headers={"Authorization": "", "Cookie": cookie})
    assert caught.value.code == 403
    assert "_xsrf" in body(caught.value.response)["message"]

    xsrf = "5f2b9c0d7e1a4b3c"
    written = await post_annotation(
        jp_fetch,
        payload,
        headers={"Authorization": "", "Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert written.code == 201


async def test_token_authenticated_post_needs_no_xsrf_token(
    jp_fetch: Any, runs: dict[str, str]
) -> None:
    # As everywhere in Jupyter Server: a token in the Authorization header is not
    # something another site can make a browser send, so it is proof enough.
    response = await post_annotation(
        jp_fetch,
        {"kind": "note", "text": "with the token", "targets": []},
    )

    assert response.code == 201


# -- connections -------------------------------------------------------------------


async def test_each_request_reads_through_one_connection(
    jp_fetch: Any, captured: NotebookRun, runs: dict[str, str]
) -> None:
    from jupyter_lineage.session import session_in

    store = session_in(captured.store.root).store()
    assert isinstance(store, DuckDBStore)
    requests: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
        "executions": (("executions",), {"path": NOTEBOOK}),
        "execution": (("executions", runs["train"]), {"path": NOTEBOOK}),
        "annotations": (("annotations",), {"path": NOTEBOOK}),
        "graph": (("graph",), {"path": NOTEBOOK, "node": runs["train"]}),
        "models": (("models",), {"path": NOTEBOOK}),
    }
    if service.cards_available():
        requests["card"] = (("models", "churn", "card"), {"path": NOTEBOOK})
    # Once each first: the first requests ingest what the kernel wrote and build the graph's index.
    for parts, params in requests.values():
        await jp_fetch("lineage", "api", *parts, params=params)
    counts = {}
    for name, (parts, params) in requests.items():
        before = store.connections_opened
        response = await jp_fetch("lineage", "api", *parts, params=params)
        assert response.code == 200
        counts[name] = store.connections_opened - before
        assert store.unit.reader is None  # closed before the answer went out
    assert counts == dict.fromkeys(requests, 1)
