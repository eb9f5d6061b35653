"""Fixtures shared by every test directory."""

from __future__ import annotations

from typing import Any

import pytest

# jp_fetch, jp_serverapp, jp_root_dir ... for tests against a real Jupyter server.
pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """Start the test servers with the lineage server extension enabled."""
    return {"ServerApp": {"jpserver_extensions": {"jupyter_lineage": True}}}
