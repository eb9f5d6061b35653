"""A team store configured where the ``team`` extra is not installed: one line naming the
install command, from the CLI, the magics and the Jupyter server, never a traceback.

Each face runs in a process of its own whose imports of psycopg (or sqlglot) fail, as
they do without the extra: a ``sitecustomize`` on its ``PYTHONPATH`` puts a finder first
on ``sys.meta_path`` that refuses them. Everything else is the real code path.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

INSTALL = 'pip install "jupyter-lineage[team]"'
# Nothing listens there: the extra's absence must be found before any connection.
URL = "postgresql://nobody@127.0.0.1:1/lineage"
BLOCKER = """
import sys


class _WithoutTheTeamExtra:
    blocked = {blocked!r}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ImportError(f"No module named {{name!r}}")
        return None


sys.meta_path.insert(0, _WithoutTheTeamExtra())
"""


def _without(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment whose Python processes cannot import ``modules``, with the team store set."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(modules)))
    paths = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_LINEAGE_DIR"}
    return {**env, "PYTHONPATH": os.pathsep.join(paths), "JUPYTER_LINEAGE_STORE": URL}


def test_the_blocker_blocks(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import psycopg"],
        env=_without(tmp_path, "psycopg"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "No module named 'psycopg'" in done.stderr


@pytest.mark.parametrize("missing", ["psycopg", "sqlglot"])
@pytest.mark.parametrize(
    "command",
    [["sql", "SELECT count(*) FROM runs"], ["sync"], ["migrate"], ["info"]],
    ids=lambda c: c[0],
)
def test_the_cli(tmp_path: Path, missing: str, command: list[str]) -> None:
    store = tmp_path / ".lineage"
    (store / "journal").mkdir(parents=True)
    (store / "journal" / "s.jsonl").write_bytes(b"")  # a store with a journal to ship

    done = subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", "--store", str(store), *command],
        env=_without(tmp_path, missing),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2
    assert done.stderr == (
        f"jupyter-lineage: a team store needs {missing}, which this Python cannot import: "
        f"{INSTALL}\n"
    )


def test_the_magics(tmp_path: Path) -> None:
    cells = [
        "%load_ext jupyter_lineage",
        "%%lineage --name work\nx = 6 * 7\nx",
        # The kernel ships after each captured cell, a moment later, on a thread: wait for
        # its first try here, so that what it says lands in this cell's output.
        "from jupyter_lineage.session import current_session\ncurrent_session().wait_shipped(60)",
        "%lineage_sql SELECT count(*) FROM runs",
        "%lineage_graph LAST",
        "%%lineage --name more\ny = x + 1\ny",
        "current_session().wait_shipped(60)",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    env = {**_without(tmp_path, "psycopg"), "JPY_SESSION_NAME": str(path)}

    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute(env=env)

    message = f"a team store needs psycopg, which this Python cannot import: {INSTALL}"
    outputs = [c.outputs for c in nb.cells]

    def stderr(index: int) -> str:
        return "".join(o["text"] for o in outputs[index] if o.get("name") == "stderr")

    # The cells ran as the user wrote them.
    assert outputs[1][-1]["data"]["text/plain"] == "42"
    assert outputs[5][-1]["data"]["text/plain"] == "43"
    # The magics that read the store: IPython's one-line usage error.
    assert stderr(3) == stderr(4) == f"UsageError: {message}\n"
    # Shipping says it once, at its first try, and not again after the next cell.
    assert stderr(2) == f"jupyter-lineage: {message}\n"
    said = "".join(stderr(i) for i in range(len(cells)))
    assert said.count(f"jupyter-lineage: {message}") == 1
    everything = json.dumps(outputs)
    assert "Traceback" not in everything and "Exception in thread" not in everything


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A real Jupyter server (a process of its own, without the extra) rooted in ``tmp_path``;
    yields its URL, token and log file."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    token = secrets.token_hex(16)
    log = tmp_path / "server.log"
    root = tmp_path / "root"
    (root / ".lineage" / "journal").mkdir(parents=True)
    (root / "nb.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    env = {
        **_without(tmp_path, "psycopg"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    command = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", "--allow-root",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions=jupyter_lineage=True",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("the Jupyter server did not start:\n" + log.read_text())
                    time.sleep(0.3)
            yield url, token, log
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.parametrize("endpoint", ["executions", "annotations", "models"])
def test_the_server(server: tuple[str, str, Path], endpoint: str) -> None:
    url, token, log = server

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(
            f"{url}/lineage/api/{endpoint}?path=nb.ipynb&token={token}", timeout=60
        )

    assert caught.value.code == 500
    answer = json.loads(caught.value.read())
    assert answer["message"] == (
        f"a team store needs psycopg, which this Python cannot import: {INSTALL}"
    )
    assert "Traceback" not in log.read_text()
