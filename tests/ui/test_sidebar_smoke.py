"""The Lineage sidebar in a real JupyterLab, driven by headless Chromium: first contact.

A notebook that captured nothing yet, and a server without the lineage server
extension. Screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

from pathlib import Path

import jupyter_lineage

from .lab import NOTEBOOK, SIDEBAR_TAB, lineage_sidebar, run_from_palette, running_lab


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
        expect(panel.locator(".jp-Lineage-run")).to_have_count(0)

        # Collapse the panel, then bring it back from the command palette.
        page = panel.page
        page.locator(SIDEBAR_TAB).click()
        expect(panel).to_be_hidden()
        run_from_palette(page, "Open Lineage panel")
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
        expect(panel.locator(".jp-Lineage-tabs")).to_have_count(0)
