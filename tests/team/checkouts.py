"""Teammates' checkouts of one git repository, and notebooks run in them by real kernels.

Used by the team sidebar tests and the browser test of the sidebar on a team store: a
repository made with git and cloned to directories that differ as two machines' do, and
a notebook of a checkout executed by nbclient with what Jupyter gives its kernel (the
notebook's absolute path; the store beside it, where the server looks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient


def git(*args: str, cwd: Path) -> None:
    """Run git with a fixed identity and none of the user's configuration."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def repository_with_notebook(origin: Path, notebook: str, cells: Sequence[str]) -> Path:
    """A git repository at ``origin`` whose one commit holds ``notebook`` (of ``cells``)."""
    path = origin / notebook
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    # Its kernel named, as a saved notebook has it, so JupyterLab starts it without asking.
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(nb, path)
    (origin / ".gitignore").write_text(".lineage/\n")
    git("init", "-q", cwd=origin)
    git("add", ".", cwd=origin)
    git("commit", "-q", "-m", "the notebook", cwd=origin)
    return origin


def clone(origin: Path, checkout: Path) -> Path:
    checkout.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", str(origin), str(checkout), cwd=checkout.parent)
    return checkout


def execute(notebook: Path, env: Mapping[str, str], *, timeout: int = 180) -> Any:
    """Run ``notebook`` in a real kernel started in its directory, as Jupyter starts one.

    The kernel's environment is this process's with ``env`` added, the notebook's absolute
    path in ``JPY_SESSION_NAME`` and no ``JUPYTER_LINEAGE_DIR``, so it captures into the
    store beside the notebook. Returns the executed notebook.
    """
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        coalesce_streams=True,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    kernel_env = {k: v for k, v in os.environ.items() if k != "JUPYTER_LINEAGE_DIR"}
    client.execute(env={**kernel_env, "JPY_SESSION_NAME": str(notebook), **env})
    return nb


def lineage_cli(
    *args: str, env: Mapping[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_lineage.cli ARGS`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )
