"""The lineage REST API, served by a real Jupyter server with the extension enabled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

import jupyter_lineage


def body(response: Any) -> dict[str, Any]:
    return json.loads(response.body.decode("utf-8"))


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> HTTPClientError:
    """Make a request that must fail and return the error, response included."""
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*parts, **kwargs)
    return caught.value


async def test_status_describes_the_root_store(jp_fetch: Any, jp_root_dir: Path) -> None:
    response = await jp_fetch("lineage", "api", "status")

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert body(response) == {
        "version": jupyter_lineage.__version__,
        "store_dir": str((jp_root_dir / ".lineage").resolve()),
        "store_exists": False,
    }


async def test_status_sees_an_existing_store(jp_fetch: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / ".lineage").mkdir()

    response = await jp_fetch("lineage", "api", "status")

    assert body(response)["store_exists"] is True


async def test_status_for_a_notebook_in_a_subdirectory(jp_fetch: Any, jp_root_dir: Path) -> None:
    notebook_dir = jp_root_dir / "experiments" / "run 1"
    notebook_dir.mkdir(parents=True)
    (notebook_dir / ".lineage").mkdir()

    response = await jp_fetch(
        "lineage", "api", "status", params={"path": "experiments/run 1/train.ipynb"}
    )

    assert body(response) == {
        "version": jupyter_lineage.__version__,
        "store_dir": str((notebook_dir / ".lineage").resolve()),
        "store_exists": True,
    }


async def test_dotdot_that_stays_inside_the_root_is_accepted(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    response = await jp_fetch("lineage", "api", "status", params={"path": "a/../b/nb.ipynb"})

    assert body(response)["store_dir"] == str((jp_root_dir / "b" / ".lineage").resolve())


async def test_absolute_lineage_dir_overrides_the_notebook_directory(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "shared-store"
    store.mkdir()
    monkeypatch.setenv("JUPYTER_LINEAGE_DIR", str(store))

    response = await jp_fetch("lineage", "api", "status", params={"path": "sub/nb.ipynb"})

    assert body(response)["store_dir"] == str(store.resolve())
    assert body(response)["store_exists"] is True


async def test_relative_lineage_dir_is_taken_from_the_notebook_directory(
    jp_fetch: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_LINEAGE_DIR", "lineage-store")

    response = await jp_fetch("lineage", "api", "status", params={"path": "sub/nb.ipynb"})

    assert body(response)["store_dir"] == str((jp_root_dir / "sub" / "lineage-store").resolve())


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        ("../x.ipynb", "leaves the server root"),
        ("sub/../../x.ipynb", "leaves the server root"),
        (".", "leaves the server root"),
        ("/etc/passwd", "is absolute"),
        ("nb\0.ipynb", "NUL byte"),
    ],
)
async def test_bad_paths_are_refused_with_a_json_message(
    jp_fetch: Any, path: str, complaint: str
) -> None:
    error = await fetch_error(jp_fetch, "lineage", "api", "status", params={"path": path})

    assert error.code == 400
    assert error.response is not None
    assert error.response.headers["Content-Type"].startswith("application/json")
    message = body(error.response)["message"]
    assert complaint in message
    assert repr(path) in message


async def test_request_without_a_token_is_refused(jp_fetch: Any) -> None:
    # jp_fetch adds "Authorization: token <token>" unless the header is given.
    error = await fetch_error(jp_fetch, "lineage", "api", "status", headers={"Authorization": ""})

    assert error.code == 403
    assert error.response is not None
    sent = error.response.request
    assert sent.headers.get("Authorization") == ""
    assert "token=" not in sent.url


async def test_request_with_a_wrong_token_is_refused(jp_fetch: Any) -> None:
    error = await fetch_error(
        jp_fetch, "lineage", "api", "status", headers={"Authorization": "token not-the-token"}
    )

    assert error.code == 403


class DenyLineage(Authorizer):
    """Allows everything except the "lineage" resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "lineage"


class TestAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {"ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": DenyLineage}}

    async def test_authorizer_can_deny_the_lineage_resource(self, jp_fetch: Any) -> None:
        error = await fetch_error(jp_fetch, "lineage", "api", "status")

        assert error.code == 403
        assert "resource: lineage" in body(error.response)["message"]

    async def test_other_resources_stay_allowed(self, jp_fetch: Any) -> None:
        response = await jp_fetch("api", "contents")

        assert response.code == 200
