"""``%lineage_card`` and ``%lineage_graph`` output in a real JupyterLab, trusted and untrusted.

The quickstart notebook, with a model card cell at its end, is opened twice at 1280 and
800 px wide: run in the browser (outputs JupyterLab made itself are trusted), and executed
headless beforehand and opened as a file (outputs JupyterLab did not make and no signature
vouches for are untrusted, which is how a notebook from someone else arrives). Both times
the outputs must be drawn by the extension's renderers, not by the HTML fallback, with the
extension's styles applied, nothing wider than the output area and no two graph labels on
top of each other. Screenshots of each output go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .lab import ARTIFACTS, NOTEBOOK, LabServer, lab_page, running_lab

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = REPO_ROOT / "notebooks" / "quickstart.ipynb"
EXECUTED = "experiments/executed.ipynb"
GRAPH_MIME = "application/vnd.jupyter-lineage.graph+json"
CARD_MIME = "application/vnd.jupyter-lineage.card+json"
MODEL = "churn-logreg"
WIDTHS = (1280, 800)
RUN_TIMEOUT_MS = 240_000

CARD_CELL = f"%lineage_card {MODEL}@1.0.0"  # a line no quickstart cell has
GRAPH_CELL = f"%lineage_graph model:{MODEL} --upstream"

# Measured in the page: what the renderer drew, which styles apply, what sticks out,
# which graph labels overlap.
MEASURE = """
(area) => {
  const output = area;
  const box = area.getBoundingClientRect();
  const inline = area.querySelector('.jp-Lineage-inline');
  const tooWide = [];
  for (const el of area.querySelectorAll('.jp-Lineage-inline, .jp-Lineage-inline *')) {
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > box.right + 0.5 || r.left < box.left - 0.5)) {
      tooWide.push(`${el.tagName}.${el.className.baseVal ?? el.className} ${Math.round(r.left)}..${Math.round(r.right)} in ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  const labels = [...output.querySelectorAll('.jp-Lineage-node text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  const overlaps = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i], b = labels[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
        overlaps.push(`${a.text} / ${b.text}`);
      }
    }
  }
  const styleOf = (selector) => {
    const el = output.querySelector(selector);
    if (!el) return null;
    const s = getComputedStyle(el);
    return {display: s.display, background: s.backgroundColor, textAlign: s.textAlign};
  };
  return {
    inline: !!inline,
    fallbackHtml: !!output.querySelector('.jp-RenderedHTMLCommon'),
    plotly: !!output.querySelector('.jp-RenderedPlotly'),
    outputs: output.querySelectorAll('.jp-OutputArea-output').length,
    graph: !!output.querySelector('.jp-Lineage-inline .jp-Lineage-inlineGraph'),
    card: !!output.querySelector('.jp-Lineage-inline .jp-Lineage-inlineCard'),
    width: box.width,
    tooWide,
    labels: labels.length,
    overlaps,
    badge: styleOf('.jp-Lineage-badge'),
    cell: styleOf('.jp-Lineage-cardTable td'),
    header: styleOf('.jp-Lineage-cardTable th'),
    text: inline ? inline.textContent : '',
  };
}
"""


def _quickstart_with_card() -> dict[str, Any]:
    """The quickstart notebook without its outputs, with a model card cell after the graph."""
    notebook = json.loads(QUICKSTART.read_text())
    for cell in notebook["cells"]:
        cell["source"] = "".join(cell["source"])
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    sources = [c["source"] for c in notebook["cells"]]
    assert GRAPH_CELL in sources, f"the quickstart no longer draws {GRAPH_CELL!r}"
    notebook["cells"].append(
        {"cell_type": "code", "execution_count": None, "id": "inline-card", "metadata": {},
         "outputs": [], "source": CARD_CELL}
    )  # fmt: skip
    return notebook


def _execute_headless(notebook: dict[str, Any], path: Path) -> None:
    """Run ``notebook`` with nbclient and write it with its outputs, unsigned."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.from_dict(notebook)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    path.write_text(nbformat.writes(nb))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    tmp = tmp_path_factory.mktemp("inline")
    root = tmp / "root"
    (root / "experiments").mkdir(parents=True)
    notebook = _quickstart_with_card()
    (root / NOTEBOOK).write_text(json.dumps(notebook))
    _execute_headless(notebook, root / EXECUTED)
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    with running_lab(tmp, root_dir=root, env=env) as server:
        yield server


def _cell_trust(server: LabServer, path: str) -> list[bool]:
    """What the server tells JupyterLab about each code cell's outputs: trusted or not."""
    request = urllib.request.Request(
        f"{server.url}/api/contents/{path}?content=1",
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        model = json.load(response)
    return [
        bool(cell["metadata"].get("trusted"))
        for cell in model["content"]["cells"]
        if cell["cell_type"] == "code" and cell["outputs"]
    ]


def _run_all_cells(page: Page) -> None:
    """Run > Run All Cells once the kernel is connected and idle; again if the first cell was
    sent before the kernel was really there (it is then dropped, unnumbered)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    first_prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first
    for attempt in range(2):
        idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
        idle.first.wait_for()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[[0-9*]+\]"), timeout=30_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == 1:
                raise


def _output(page: Page, source: str) -> Locator:
    """The output area of the code cell whose source holds ``source``, in the notebook shown."""
    editor = page.locator(".jp-InputArea-editor", has_text=source)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    return panel.locator(".jp-CodeCell", has=editor).locator(".jp-OutputArea")


# A line of each cell that only that cell has.
GRAPH_LINE = GRAPH_CELL
CARD_LINE = CARD_CELL


def _check_outputs(page: Page, name: str) -> None:
    from playwright.sync_api import expect

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1200})
        for line, kind in ((GRAPH_LINE, "graph"), (CARD_LINE, "card")):
            output = _output(page, line)
            expect(output).to_have_count(1)
            output.scroll_into_view_if_needed()
            # Let the graph measure its new width and fit itself to it.
            page.wait_for_timeout(300)
            m = output.evaluate(MEASURE)
            where = f"{name} {kind} at {width} px"
            assert m["inline"] and m[kind] and m["outputs"] == 1, (where, m)
            assert not m["fallbackHtml"] and not m["plotly"], where
            assert m["tooWide"] == [], f"{where}: wider than the output: {m['tooWide'][:5]}"
            if kind == "graph":
                assert m["labels"] >= 8, where
                assert m["overlaps"] == [], f"{where}: labels overlap: {m['overlaps']}"
                assert f"Lineage of model:{MODEL}" in m["text"], where
            else:
                badge, cell, header = m["badge"], m["cell"], m["header"]
                assert badge["display"] == "inline-block", where
                assert badge["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), where
                assert cell["textAlign"] == "left" and header["textAlign"] == "left", where
                text = m["text"]
                for words in (MODEL, "approved staging", "HIGH risk", "accuracy", ">= 0.7",
                              "data/customers.csv", "Failed attempts", "ValueError"):  # fmt: skip
                    assert words in text, f"{where}: {words!r} missing from the card"
                # Hashes are short on screen, whole in their tooltips.
                hashes = output.locator(".jp-Lineage-hash")
                first = hashes.first
                assert len(first.inner_text()) == 12
                assert len(first.get_attribute("title") or "") > 12
            output.screenshot(path=str(ARTIFACTS / f"inline-{name}-{kind}-{width}.png"))


def test_outputs_run_in_the_browser_are_drawn_by_the_extension(lab: LabServer) -> None:
    from playwright.sync_api import expect

    with lab_page(lab, "inline-trusted") as page:
        _run_all_cells(page)
        card = _output(page, CARD_LINE).locator(".jp-Lineage-inlineCard")
        expect(card).to_have_count(1, timeout=RUN_TIMEOUT_MS)
        expect(_output(page, GRAPH_LINE).locator(".jp-Lineage-inlineGraph")).to_have_count(1)
        # The notebook's outputs are trusted: JupyterLab ran them in this page.
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")
        for _ in range(20):
            trust = _cell_trust(lab, NOTEBOOK)
            if trust and all(trust):
                break
            page.wait_for_timeout(500)
        assert trust and all(trust), trust
        _check_outputs(page, "trusted")


def test_outputs_of_an_untrusted_notebook_are_drawn_by_the_extension(lab: LabServer) -> None:
    with lab_page(lab, "inline-untrusted") as page:
        trust = _cell_trust(lab, EXECUTED)
        assert trust and not any(trust), "the headless run's outputs should not be trusted"
        page.goto(f"{lab.url}/lab/tree/{EXECUTED}?token={lab.token}")
        page.locator(".jp-NotebookPanel").first.wait_for(state="visible")
        _check_outputs(page, "untrusted")


def test_the_fallback_html_holds_no_style_block(lab: LabServer) -> None:
    """Front ends without the extension show the HTML; it must not depend on a <style> block."""
    notebook = json.loads((lab.root_dir / EXECUTED).read_text())
    graph_cell = next(c for c in notebook["cells"] if "".join(c["source"]) == GRAPH_CELL)
    (bundle,) = [o["data"] for o in graph_cell["outputs"] if GRAPH_MIME in o.get("data", {})]
    assert "application/vnd.plotly.v1+json" in bundle
    html = "".join(bundle["text/html"])
    assert "<style" not in html and "class=" not in html
    shown = {n["node_id"] for n in bundle[GRAPH_MIME]["nodes"]}
    assert bundle[GRAPH_MIME]["start"][0] in shown
    for node in bundle[GRAPH_MIME]["nodes"]:
        if node["kind"] == "execution" and node["name"]:
            assert node["name"] in html
