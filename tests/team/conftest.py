"""A real PostgreSQL server for the team store tests (``bench/pgserver.py``: initdb into a
temporary directory, on a free port, as ``nobody`` under root). Each test gets a database
of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.pgserver import PostgresServer, PostgresUnavailable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "heavy: many kernels or large data; minutes, not seconds")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.create()
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (.ci/run installs it)")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def team_url(pg_server: PostgresServer) -> str:
    """A new, empty database on the test server."""
    return pg_server.create_database()


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_lineage.cli ARGS`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
