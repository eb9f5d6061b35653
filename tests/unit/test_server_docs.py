"""The docs document every endpoint of the lineage API and every setting of the sidebar."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jupyter_lineage.server.handlers import ROUTES

ROOT = Path(__file__).parents[2]
SECTION = "\n".join(
    (ROOT / "docs" / page).read_text(encoding="utf-8")
    for page in ("guide/jupyterlab.md", "reference/rest-api.md")
)
SETTINGS = json.loads((ROOT / "js" / "schema" / "plugin.json").read_text(encoding="utf-8"))


def documented_endpoints() -> set[str]:
    """``executions/ID`` for a row starting ``| `GET executions/ID[?path=NB]` |``."""
    rows = re.findall(r"^\| `(?:GET|POST) ([a-z_/A-Z]+)", SECTION, flags=re.MULTILINE)
    return {re.sub(r"/[A-Z]+", "/{}", row) for row in rows}


@pytest.mark.parametrize(("route", "handler"), ROUTES)
def test_every_endpoint_documented(route: str, handler: type) -> None:
    assert route.replace("([^/]+)", "{}") in documented_endpoints()
    for method in ("get", "post"):
        if method in vars(handler):
            assert re.search(rf"^\| `{method.upper()} {route.split('/')[0]}", SECTION, re.M)


@pytest.mark.parametrize("setting", sorted(SETTINGS["properties"]))
def test_every_setting_documented(setting: str) -> None:
    default = SETTINGS["properties"][setting]["default"]
    assert f"| `{setting}` | `{default}` |" in SECTION
