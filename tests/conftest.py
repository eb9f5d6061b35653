"""Fixtures shared by every test directory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

# jp_fetch, jp_serverapp, jp_root_dir ... for tests against a real Jupyter server.
pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
async def jp_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Run pytest-jupyter's server on the loop pytest-asyncio runs the test on.

    pytest-jupyter starts its server on ``jp_asyncio_loop`` while pytest-asyncio
    (``asyncio_mode = "auto"``) runs ``async def`` tests on a loop of its own, so a
    request from the test would never be served. An async fixture runs on
    pytest-asyncio's loop, and that loop sits idle between fixtures and the test,
    so pytest-jupyter's ``run_until_complete`` calls work on it; pytest-asyncio
    closes it after the test.
    """
    return asyncio.get_running_loop()


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """Start the test servers with the lineage server extension enabled."""
    return {"ServerApp": {"jpserver_extensions": {"jupyter_lineage": True}}}


@pytest.fixture(scope="session")
def quickstart_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The quickstart run once through the CLI (see ``tests/quickstart.py``): its directory."""
    from tests.quickstart import run_quickstart

    return run_quickstart(tmp_path_factory.mktemp("quickstart"))
