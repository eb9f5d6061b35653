"""A real JupyterLab on a free port and headless Chromium, for the sidebar's browser tests.

``running_lab`` starts ``jupyter lab`` from this environment (the server extension
of the ``jupyter_lineage`` package imported here, and the labextension built beside it,
ahead of any installed copy) in a temporary root holding one notebook, or in a root
given; ``lab_page`` opens that notebook in Chromium and screenshots the page to
``test-artifacts/ui/`` when the block ends (or fails). ``named_users`` makes the server
sign people in by name, as JupyterHub does.
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

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


def write_notebook(path: Path, cells: Sequence[str] = ("x = 1 + 1",)) -> None:
    """A notebook of code cells, with ids, never run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{index}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for index, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


def package_labextension(target: Path) -> Path | None:
    """A labextensions directory holding the labextension built in the imported
    ``jupyter_lineage`` package (what ``_jupyter_labextension_paths`` names), or None when
    none was built there. Given to ``--LabApp.extra_labextensions_path``, whose
    directories come before the installed ones, so the sidebar a test sees is the one
    built from these sources (a work tree's own build, not an older installed copy)."""
    import jupyter_lineage

    built = Path(jupyter_lineage.__file__).parent / "labextension"
    if not (built / "package.json").is_file():
        return None
    name = json.loads((built / "package.json").read_text())["name"]
    target.mkdir(parents=True, exist_ok=True)
    link = target / name
    if not link.exists():
        link.symlink_to(built.resolve(), target_is_directory=True)
    return target


NAMED_USERS = """
from jupyter_server.auth.identity import IdentityProvider, User


class NamedUsers(IdentityProvider):
    # Whoever the token signs in has a name, as under JupyterHub.

    async def get_user(self, handler):
        user = await super().get_user(handler)
        return None if user is None else User({username!r}, name={name!r}, display_name={name!r})
"""


def named_users(directory: Path, username: str, name: str) -> tuple[dict[str, str], list[str]]:
    """The environment and arguments that make a ``running_lab`` sign the token's bearer in
    as ``name``: an ``IdentityProvider`` subclass written to ``directory`` and put first on
    the server's ``PYTHONPATH``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lineage_named_users.py").write_text(
        NAMED_USERS.format(username=username, name=name)
    )
    path = [str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    return (
        {"PYTHONPATH": os.pathsep.join(path)},
        ["--ServerApp.identity_provider_class=lineage_named_users.NamedUsers"],
    )


def write_user_settings(
    settings_dir: Path, theme: str, lineage: Mapping[str, Any] | None = None
) -> None:
    """Pick the theme, keep news and update toasts out of the screenshots, set the sidebar's
    own settings."""
    apputils = settings_dir / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    (apputils / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
    if lineage is not None:
        own = settings_dir / "jupyter-lineage"
        own.mkdir(parents=True, exist_ok=True)
        (own / "plugin.jupyterlab-settings").write_text(json.dumps(dict(lineage)))


def disable_labextensions(config_dir: Path, names: Sequence[str]) -> None:
    """What ``jupyter labextension disable NAME`` writes, in this server's config directory.

    ``names`` are extension package names or plugin ids.
    """
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(names, True)})
    )


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
    tmp_path: Path,
    *,
    theme: str = "JupyterLab Light",
    extra_args: Sequence[str] = (),
    cells: Sequence[str] = ("x = 1 + 1",),
    lineage_settings: Mapping[str, Any] | None = None,
    disabled_labextensions: Sequence[str] = (),
    root_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[LabServer]:
    """A real ``jupyter lab`` on a free port, rooted in a temporary directory with one notebook
    of ``cells``, or in ``root_dir`` (which holds ``NOTEBOOK`` already); ``env`` is added to
    its environment."""
    require_chromium()
    if root_dir is None:
        root_dir = tmp_path / "root"
        write_notebook(root_dir / NOTEBOOK, cells)
    settings_dir = tmp_path / "lab-settings"
    write_user_settings(settings_dir, theme, lineage_settings)
    config_dir = tmp_path / "config"
    if disabled_labextensions:
        disable_labextensions(config_dir, disabled_labextensions)

    # Isolate user-level config, runtime files and lab state; the data path is left alone
    # so the labextension installed in this environment's share/jupyter is found.
    server_env = {
        **os.environ,
        **(env or {}),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    server_env.pop("JUPYTER_LINEAGE_DIR", None)
    labextensions = package_labextension(tmp_path / "labextensions")

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
        *([f"--LabApp.extra_labextensions_path={labextensions}"] if labextensions else []),
        *extra_args,
    ]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root_dir, env=server_env, stdout=log, stderr=subprocess.STDOUT
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
def lab_page(server: LabServer, screenshot: str) -> Iterator[Page]:
    """The notebook open in headless Chromium, once its panel is visible.

    Screenshots the page to ``test-artifacts/ui/<screenshot>.png`` after the block,
    or to ``<screenshot>-failure.png`` with the browser console and server log printed
    when it fails.
    """
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
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
            yield page
            page.screenshot(path=str(ARTIFACTS / f"{screenshot}.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{screenshot}-failure.png"))
            print("browser console:\n" + "\n".join(console[-40:]))
            print("jupyter lab log:\n" + server.log_tail())
            raise
        finally:
            browser.close()


def open_sidebar(page: Page) -> Locator:
    """Click the Lineage tab of the left sidebar and return the visible panel."""
    from playwright.sync_api import expect

    tab = page.locator(SIDEBAR_TAB)
    tab.wait_for(state="visible")
    tab.click()
    panel = page.locator(SIDEBAR)
    expect(panel).to_be_visible()
    return panel


@contextmanager
def lineage_sidebar(server: LabServer, screenshot: str) -> Iterator[Locator]:
    """``lab_page`` with the Lineage panel open."""
    with lab_page(server, screenshot) as page:
        yield open_sidebar(page)


def run_from_palette(page: Page, label: str) -> None:
    """Run a command by its label through the command palette (opened from the View menu)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    palette_input = page.locator(".lm-CommandPalette-input")
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
        page.locator(".lm-Menu-itemLabel", has_text="Activate Command Palette").click()
        try:
            palette_input.wait_for(state="visible", timeout=10_000)
            break
        except PlaywrightTimeout:
            # The menu can swallow the first click while the shell is still settling.
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    palette_input.fill(label)
    page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def widen_left_area(page: Page, width: int) -> None:
    """Drag the handle between the left area and the main area to ``width`` pixels."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box is None:
        return
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width + 33, y, steps=8)
    page.mouse.up()
