"""Real kernels driven cell by cell, the CLI as a subprocess, and a small tmpfs for a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from jupyter_lineage.store import DuckDBStore


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "heavy: the largest reliability runs (many kernels or kills); still run in CI"
    )


@dataclass
class CellResult:
    """What a cell sent back: its status, streams, result and error."""

    status: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: tuple[str, str] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)


class Kernel:
    """One real IPython kernel, run cell by cell (jupyter_client, as a front end does)."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env={**os.environ, **(env or {})})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> CellResult:
        res = CellResult("?")

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    res.stdout += content["text"]
                else:
                    res.stderr += content["text"]
            elif kind == "execute_result":
                res.result = content["data"].get("text/plain")
            elif kind == "error":
                res.error = (content["ename"], content["evalue"])
            if kind in ("stream", "execute_result", "display_data", "error"):
                res.outputs.append({"type": kind, **content})

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        res.status = reply["content"]["status"]
        return res

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel_factory() -> Iterator[Any]:
    """Start kernels (``start(cwd, env)``); every one is shut down after the test."""
    started: list[Kernel] = []

    def start(cwd: Path, env: dict[str, str] | None = None) -> Kernel:
        k = Kernel(cwd, env)
        started.append(k)
        return k

    yield start
    for k in started:
        try:
            k.shutdown()
        except Exception:
            pass


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_lineage.cli ARGS`` (no check: callers look at the exit code)."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_lineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, so a disk can be filled for real; skipped where mounting is refused."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def store_event_ids(store: DuckDBStore) -> list[str]:
    """Every event id in the database (duplicates kept, to count them)."""
    return list(store.query("SELECT event_id FROM events", ingest=False)["event_id"])
