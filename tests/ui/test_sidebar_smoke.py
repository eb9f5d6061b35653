"""The Lineage sidebar in a real JupyterLab, driven by headless Chromium.

Starts ``jupyter lab`` from this environment (so the prebuilt labextension and the
server extension are the installed ones), opens a notebook and checks what the
panel says. A screenshot goes to ``test-artifacts/ui/``.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import jupyter_lineage

if TYPE_CHECKING:
    from playwright.sync_api import Locator

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Chromium's background connections are refused on a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
NOTEBOOK = "experiments/demo.ipynb"
SIDEBAR_TAB = '.lm-TabBar.jp-SideBar li.lm-TabBar-tab[data-id="jupyter-lineage:sidebar"]'
SIDEBAR = '[id="jupyter-lineage:sidebar"]'

# First load compiles nothing but still fetches ~100 bundles and starts a kernel
# on a 2-core machine: be generous.
SERVER_START_TIMEOUT_S = 90
PAGE_TIMEOUT_MS = 90_000


def require_chromium() -> None:
    """Skip without Chromium on a developer machine; under CI its absence is a failure."""
    reason = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is not skipped)")
        pytest.skip(reason)


@dataclass
class LabServer:
    url: str
    token: str
    root_dir: Path
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "first-cell",
                "metadata": {},
                "outputs": [],
                "source": ["x = 1 + 1"],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


def write_user_settings(settings_dir: Path, theme: str) -> None:
    """Pick the theme and keep news and update toasts out of the screenshot."""
    apputils = settings_dir / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    (apputils / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))


def wait_until_serving(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    """Poll the server's own status endpoint until it answers."""
    request = urllib.request.Request(
        f"{server.url}/api/status", headers={"Authorization": f"token {server.token}"}
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"jupyter lab exited with {process.returncode} while starting:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last_error = f"HTTP {error.code}"
        except OSError as error:
            last_error = str(error)
        time.sleep(0.5)
    pytest.fail(
        f"jupyter lab did not serve /api/status within {SERVER_START_TIMEOUT_S} s "
        f"({last_error}):\n{server.log_tail()}"
    )


@contextmanager
def running_lab(
    tmp_path: Path, *, theme: str = "JupyterLab Light", extra_args: Sequence[str] = ()
) -> Iterator[LabServer]:
    """A real ``jupyter lab`` on a free port, rooted in a temporary directory with one notebook."""
    require_chromium()
    root_dir = tmp_path / "root"
    write_notebook(root_dir / NOTEBOOK)
    settings_dir = tmp_path / "lab-settings"
    write_user_settings(settings_dir, theme)

    # Isolate user-level config, runtime files and lab state; the data path is left alone
    # so the labextension installed in this environment's share/jupyter is found.
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    env.pop("JUPYTER_LINEAGE_DIR", None)

    port = free_port()
    server = LabServer(
        url=f"http://127.0.0.1:{port}",
        token=secrets.token_hex(16),
        root_dir=root_dir.resolve(),
        log_path=tmp_path / "jupyter-lab.log",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        # CI and these machines run as root.
        "--allow-root",
        f"--IdentityProvider.token={server.token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *extra_args,
    ]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(server, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def lineage_sidebar(server: LabServer, screenshot: str) -> Iterator[Locator]:
    """Open the notebook in headless Chromium, click the Lineage tab, yield the panel.

    Screenshots the page to ``test-artifacts/ui/<screenshot>.png`` after the checks,
    or to ``<screenshot>-failure.png`` with the browser console and server log printed
    when one fails.
    """
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        expect.set_options(timeout=PAGE_TIMEOUT_MS)
        try:
            page.goto(
                f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}",
                wait_until="domcontentloaded",
            )
            # The notebook is open and current once its panel is visible.
            page.locator(".jp-NotebookPanel").first.wait_for(state="visible")
            tab = page.locator(SIDEBAR_TAB)
            tab.wait_for(state="visible")
            tab.click()
            panel = page.locator(SIDEBAR)
            expect(panel).to_be_visible()
            yield panel
            page.screenshot(path=str(ARTIFACTS / f"{screenshot}.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{screenshot}-failure.png"))
            print("browser console:\n" + "\n".join(console[-40:]))
            print("jupyter lab log:\n" + server.log_tail())
            raise
        finally:
            browser.close()


def test_sidebar_shows_status_and_how_to_start(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with running_lab(tmp_path) as server, lineage_sidebar(server, "sidebar") as panel:
        expect(panel.locator(".jp-Lineage-notebookPath")).to_have_text(NOTEBOOK)
        expect(panel.locator(".jp-Lineage-version")).to_have_text(
            f"jupyter-lineage {jupyter_lineage.__version__}"
        )
        store_dir = server.root_dir / "experiments" / ".lineage"
        expect(panel.locator(".jp-Lineage-storeDir")).to_have_text(str(store_dir))
        expect(panel).to_contain_text("not created yet")
        expect(panel).to_contain_text("%load_ext jupyter_lineage")
        expect(panel).to_contain_text("%%lineage")
        expect(panel).to_contain_text("%lineage on")
        expect(panel.locator(".jp-Lineage-problem")).to_have_count(0)

        # Collapse the panel, then bring it back from the command palette.
        page = panel.page
        page.locator(SIDEBAR_TAB).click()
        expect(panel).to_be_hidden()
        page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
        page.locator(".lm-Menu-itemLabel", has_text="Activate Command Palette").click()
        page.locator(".lm-CommandPalette-input").fill("Open Lineage panel")
        page.locator(".lm-CommandPalette-item", has_text="Open Lineage panel").click()
        expect(panel).to_be_visible()


def test_sidebar_explains_how_to_enable_a_missing_server_extension(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    disabled = "--ServerApp.jpserver_extensions={'jupyter_lineage': False}"
    with (
        running_lab(tmp_path, theme="JupyterLab Dark", extra_args=[disabled]) as server,
        lineage_sidebar(server, "sidebar-no-server-extension-dark") as panel,
    ):
        expect(panel.locator(".jp-Lineage-notebookPath")).to_have_text(NOTEBOOK)
        problem = panel.locator(".jp-Lineage-problem")
        expect(problem).to_contain_text("server extension is not enabled")
        expect(problem).to_contain_text("jupyter server extension enable jupyter_lineage")
        expect(panel.locator(".jp-Lineage-version")).to_have_count(0)
