"""A notebook's lineage in the sidebar, end to end in a real JupyterLab and Chromium.

The notebook runs its captured cells (the last one fails), the timeline shows them
with the failure marked and grows when another cell runs, an annotation written in
the form lands in the store, and the graph and the model card show. Each step leaves
a screenshot in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_lineage.server.service import cards_available
from jupyter_lineage.store import DuckDBStore

from .lab import ARTIFACTS, lab_page, open_sidebar, running_lab, widen_left_area

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name prepare --tag data\n"
    "rows = [3, 1, 2]\n"
    "with open('rows.csv', 'w') as f:\n"
    "    f.write('\\n'.join(map(str, rows)))",
    "%%lineage --name train --tag model --model demo-model\nweights = sorted(rows)",
    "%%lineage --name evaluate --tag model\nscore = weights[0] / 0",
]
# Only the executed signal can refresh the panel: no polling.
NO_POLLING = {"refreshInterval": 0}
ANNOTATION = "Divided by **zero**: the evaluation set was empty."


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells once the kernel is ready, then wait for the last (failing) cell's
    error."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    wait_for_idle_kernel(page)
    first_prompt = page.locator(".jp-Notebook .jp-InputPrompt").first
    for attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            # Cells sent before the kernel is really there are dropped, unnumbered.
            expect(first_prompt).to_have_text(re.compile(r"\[[0-9*]+\]"), timeout=30_000)
            break
        except (AssertionError, PlaywrightTimeout):
            if attempt == 1:
                raise
            wait_for_idle_kernel(page)
    page.locator(".jp-OutputArea-output", has_text="ZeroDivisionError").first.wait_for()


def wait_for_idle_kernel(page: Page) -> None:
    """Until the notebook's kernel is connected and idle, as the status bar says."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first.wait_for()


def run_new_cell(page: Page, source: str) -> None:
    """Add a cell at the end of the notebook, type ``source`` and run it with Shift+Enter."""
    last = page.locator(".jp-Notebook .jp-Cell").last
    last.click()
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("b")  # a new cell below, in edit mode
    editor = page.locator(".jp-Notebook .jp-Cell").last.locator(".cm-content")
    editor.click()
    for index, line in enumerate(source.split("\n")):
        if index:
            page.keyboard.press("Enter")
            page.keyboard.press("Home")  # no auto-indent carried over
        page.keyboard.type(line)
    page.keyboard.press("Shift+Enter")


def timeline(panel: Locator) -> Locator:
    return panel.locator(".jp-Lineage-run")


def test_runs_annotation_graph_and_card(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with (
        running_lab(tmp_path, cells=CELLS, lineage_settings=NO_POLLING) as server,
        lab_page(server, "workflow-6-final") as page,
    ):
        store_dir = server.root_dir / "experiments" / ".lineage"
        widen_left_area(page, 430)
        panel = open_sidebar(page)
        expect(panel).to_contain_text("No captured runs yet")

        # 1. Run the notebook: three captured cells, the last fails.
        run_all_cells(page)
        runs = timeline(panel)
        expect(runs).to_have_count(3)
        expect(runs.nth(0)).to_contain_text("evaluate")
        expect(runs.nth(1)).to_contain_text("train")
        expect(runs.nth(2)).to_contain_text("prepare")
        failed = panel.locator(".jp-Lineage-run.jp-mod-failed")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("ZeroDivisionError: division by zero")
        expect(panel.locator(".jp-Lineage-summary")).to_contain_text("3 captured runs")
        expect(panel.locator(".jp-Lineage-summary")).to_contain_text("1 did not succeed")
        shot(page, "workflow-1-timeline")

        # 2. Another run appears without a reload (no polling: the executed signal).
        run_new_cell(page, "%%lineage --name report\nprint(len(rows))")
        expect(runs).to_have_count(4)
        expect(runs.nth(0)).to_contain_text("report")

        # The status filter.
        panel.locator(".jp-Lineage-statusFilter").select_option("failed")
        expect(runs).to_have_count(1)
        panel.locator(".jp-Lineage-statusFilter").select_option("")
        expect(runs).to_have_count(4)

        # 3. The failed run in detail.
        failed.locator(".jp-Lineage-runButton").click()
        detail = panel.locator(".jp-Lineage-run-detail")
        expect(detail).to_be_visible()
        expect(detail.locator(".jp-Lineage-failure")).to_contain_text(
            "ZeroDivisionError: division by zero"
        )
        expect(detail.locator(".jp-Lineage-source")).to_have_text("score = weights[0] / 0")
        expect(detail).to_contain_text("weights")  # its input
        shot(page, "workflow-2-failed-run")

        # 4. Annotate it through the form; it lands in the store.
        expect(detail.locator(".jp-Lineage-kind")).to_have_value("failed_attempt")
        detail.locator(".jp-Lineage-textarea").fill(ANNOTATION)
        detail.locator(".jp-Lineage-save").click()
        note = detail.locator(".jp-Lineage-annotation")
        expect(note).to_have_count(1)
        expect(note.locator("strong")).to_have_text("zero")  # rendered Markdown
        expect(detail.locator(".jp-Lineage-saved")).to_be_visible()
        rows = DuckDBStore(store_dir).query(
            "SELECT a.kind, a.text, l.target FROM annotations a "
            "JOIN annotation_links l USING (annotation_id) WHERE l.target_type = 'execution'"
        )
        evaluate = DuckDBStore(store_dir).query(
            "SELECT execution_id FROM runs WHERE name = 'evaluate'"
        )["execution_id"][0]
        assert rows.to_dict("records") == [
            {"kind": "failed_attempt", "text": ANNOTATION, "target": evaluate}
        ]
        shot(page, "workflow-3-annotated")

        # 5. The lineage graph of the training run.
        panel.locator(".jp-Lineage-back").click()
        timeline(panel).filter(has_text="train").locator(".jp-Lineage-runButton").click()
        panel.locator(".jp-Lineage-showGraph").click()
        # the sidebar draws SVG (its labels measured to fit); the tab draws plotly's figure
        graph = panel.locator(".jp-Lineage-svgGraph")
        expect(graph.locator("svg")).to_be_visible()
        expect(graph).to_contain_text("prepare")  # upstream: it bound rows
        expect(graph).to_contain_text("demo-model")  # downstream: the model
        shot(page, "workflow-4-graph")
        panel.locator(".jp-Lineage-graphControls button", has_text="Open in tab").click()
        tab = page.locator(".jp-MainAreaWidget .jp-Lineage-graphTab")
        expect(tab.locator(".main-svg").first).to_be_visible()
        shot(page, "workflow-4-graph-tab")
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="demo.ipynb").click()

        # 6. The model card, previewed and exported.
        panel.locator(".jp-Lineage-tab", has_text="Models").click()
        model = panel.locator('.jp-Lineage-modelItem[data-model="demo-model"]')
        expect(model).to_contain_text("not registered")
        if not cards_available():
            expect(panel).to_contain_text("Model cards are not available in this installation")
            return
        model.locator(".jp-Lineage-modelButton").click()
        card = page.frame_locator(".jp-Lineage-cardFrame")
        expect(card.locator("h1")).to_contain_text("demo-model")
        shot(page, "workflow-5-card")
        with page.expect_download() as download:
            panel.locator(".jp-Lineage-exportCard").click()
        assert download.value.suggested_filename == "model-card-demo-model.html"
        saved = tmp_path / "card.html"
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_dark_theme_and_the_svg_graph_without_plotly(tmp_path: Path) -> None:
    """With the plotly MIME extension disabled the graph is drawn as SVG; dark theme."""
    from playwright.sync_api import expect

    with (
        running_lab(
            tmp_path,
            theme="JupyterLab Dark",
            cells=CELLS,
            # The plotly MIME renderer's plugin id (not its package name).
            disabled_labextensions=["@jupyterlab/plotly-extension:factory"],
        ) as server,
        lab_page(server, "workflow-dark-svg-graph") as page,
    ):
        widen_left_area(page, 430)
        panel = open_sidebar(page)
        run_all_cells(page)
        expect(timeline(panel)).to_have_count(3)
        shot(page, "workflow-dark-timeline")

        timeline(panel).filter(has_text="train").locator(".jp-Lineage-runButton").click()
        panel.locator(".jp-Lineage-showGraph").click()
        svg = panel.locator(".jp-Lineage-svgGraph svg")
        expect(svg).to_be_visible()
        nodes = svg.locator(".jp-Lineage-node")
        expect(svg.locator(".jp-Lineage-node.jp-mod-start")).to_have_count(1)
        expect(svg).to_contain_text("[2] prepare")
        expect(svg.locator(".jp-Lineage-node.jp-mod-model")).to_have_count(1)
        assert nodes.count() >= 4
        shot(page, "workflow-dark-svg-graph-of-train")

        # Clicking a node draws the graph around it.
        svg.locator(".jp-Lineage-node.jp-mod-model").click()
        expect(svg.locator(".jp-Lineage-node.jp-mod-model.jp-mod-start")).to_have_count(1)
