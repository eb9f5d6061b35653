"""The quickstart's model card as a reviewer receives it, in headless Chromium at 800 and 1280 px:
nothing wider than its container, no two labels of a picture on top of each other, nothing
loaded from anywhere; and the notebook's inline card after JupyterLab's own sanitiser, under
JupyterLab's own stylesheet for rendered HTML.

The pages are files (no JupyterLab server is needed); screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.quickstart import MODEL
from tests.ui.lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, require_chromium

WIDTHS = (800, 1280)
NODE_MODULES = REPO_ROOT / "js" / "node_modules"
SANITIZER = NODE_MODULES / "@jupyterlab" / "apputils" / "lib" / "sanitizer.js"
RENDERED_HTML_CSS = NODE_MODULES / "@jupyterlab" / "rendermime" / "style" / "base.css"

# Run in the page: what sticks out of its container, as readable lines.
LAYOUT_PROBLEMS = """
(root) => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.getAttribute("class") ? "." + el.getAttribute("class").split(" ").join(".") : "") +
    " '" + (el.textContent || "").trim().slice(0, 40) + "'";
  const page = document.scrollingElement;
  if (page.scrollWidth > page.clientWidth) problems.push(`the page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth}`);
  const top = document.querySelector(root);
  for (const el of [top, ...top.querySelectorAll("table, [data-figure], pre, section, header, div, p")]) {
    if (el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
  }
  for (const el of top.querySelectorAll("*")) {
    const parent = el.parentElement;
    const box = el.getBoundingClientRect();
    // what is not shown (a closed <details>' content) has a box but no place on the page
    if (!parent || (box.width === 0 && box.height === 0) || !el.checkVisibility()) continue;
    const outer = parent.getBoundingClientRect();
    if (box.left < outer.left - 1 || box.right > outer.right + 1 || box.top < outer.top - 2 || box.bottom > outer.bottom + 2) {
      problems.push(`${name(el)} [${Math.round(box.left)}..${Math.round(box.right)} x ${Math.round(box.top)}..${Math.round(box.bottom)}] leaves ${name(parent)} [${Math.round(outer.left)}..${Math.round(outer.right)} x ${Math.round(outer.top)}..${Math.round(outer.bottom)}]`);
    }
  }
  return problems;
}
"""
# Run in the page: pairs of elements (by two selectors) whose boxes overlap.
OVERLAPS = """
([first, second]) => {
  const boxes = (sel) => [...document.querySelectorAll(sel)].map((el) => [el.textContent.trim(), el.getBoundingClientRect()]);
  const a = boxes(first), b = first === second ? a : boxes(second);
  const hits = [];
  a.forEach(([ta, ra], i) => b.forEach(([tb, rb], j) => {
    if (first === second && j <= i) return;
    if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) hits.push(`${ta} / ${tb}`);
  }));
  return [a.length, b.length, hits];
}
"""


@pytest.fixture(scope="module")
def card(quickstart_store: Path) -> dict[str, Any]:
    from jupyter_lineage import cards
    from jupyter_lineage.session import use_store

    use_store(str(quickstart_store / ".lineage"))
    return cards.card_data(MODEL)


@pytest.fixture(scope="module")
def card_page(card: dict[str, Any]) -> Path:
    from jupyter_lineage.cards.render import render_html

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "card.html"
    path.write_text(render_html(card), encoding="utf-8")
    return path


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A browser per test: playwright's sync API runs a loop of its own while it is open."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_the_card_is_small_and_embeds_no_plotly(card_page: Path) -> None:
    text = card_page.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 300_000
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, flags=re.S)
    assert len(scripts) == 1  # the copy buttons' few lines
    assert all("plotly" not in body.lower() and "src" not in attrs for attrs, body in scripts)
    assert "Plotly" not in text and "<svg" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_the_card_fits_the_page(chromium: Any, card_page: Path, width: int) -> None:
    context = chromium.new_context(offline=True, viewport={"width": width, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(card_page.as_uri())
        page.screenshot(path=str(ARTIFACTS / f"card-{width}.png"), full_page=True)
        assert page.evaluate(LAYOUT_PROBLEMS, "main") == []

        labels, _, hits = page.evaluate(OVERLAPS, ["svg.lineage text.node-label"] * 2)
        assert labels >= 10 and hits == []
        for chart in ("metrics", "groups"):
            values, gates, hits = page.evaluate(
                OVERLAPS, [f"svg.{chart} text.value", f"svg.{chart} g.gate"]
            )
            assert values >= 3 and gates >= 1 and hits == [], chart
        # one history point per metric: no chart of it
        assert page.locator('[data-figure="history"]').count() == 0

        # hashes are shortened, whole on hover, and the copy buttons show with script
        csv = page.locator("#training_data tr", has_text="customers.csv")
        assert csv.count() == 1
        assert csv.inner_text().count("customers.csv") == 1  # the path is shown once
        hash_cell = csv.locator("code")
        assert len(hash_cell.inner_text()) < 25
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_cell.get_attribute("title") or "")
        assert csv.locator("button.copy").is_visible()

        details = page.locator("#model_details").inner_text()
        assert details.index("Created") < details.index("Registered")
    finally:
        context.close()
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests


def _sanitise(html: str) -> str:
    """``html`` as JupyterLab shows an untrusted output: through its own sanitiser, run by Node."""
    if not (shutil.which("node") and SANITIZER.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"Node and {SANITIZER} are required on CI")
        pytest.skip("Node or the JupyterLab packages in js/node_modules are missing (npm ci)")
    script = (
        f"import {{ Sanitizer }} from {json.dumps(SANITIZER.as_uri())};"
        "let input = ''; process.stdin.on('data', (d) => (input += d));"
        "process.stdin.on('end', () => process.stdout.write(new Sanitizer().sanitize(input)));"
    )
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=html,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT / "js",
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _declarations(html: str) -> list[str]:
    return sorted(
        d.strip().replace(" ", "")
        for style in re.findall(r'style="([^"]*)"', html)
        for d in style.replace("&quot;", '"').split(";")
        if d.strip()
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_inline_card_keeps_its_look_when_untrusted(
    chromium: Any, card: dict[str, Any], width: int
) -> None:
    from jupyter_lineage.cards.render import inline_html

    html = inline_html(card)
    assert "<style" not in html and "<script" not in html and "<svg" not in html
    shown = _sanitise(html)
    # the sanitiser keeps every declaration but the better values it does not know
    kept = _declarations(shown)
    dropped = [d for d in _declarations(html) if d not in kept]
    assert set(dropped) <= {"overflow-wrap:anywhere"}, set(dropped)
    assert shown.count("<img") == html.count("<img") >= 3  # the pictures survive as images

    page_html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<style>{RENDERED_HTML_CSS.read_text(encoding='utf-8')}</style></head><body>"
        f"<div class='jp-RenderedHTMLCommon jp-RenderedHTML' style='padding:0 16px'>{shown}</div>"
        "</body></html>"
    )
    path = ARTIFACTS / f"card-inline-{width}.html"
    path.write_text(page_html, encoding="utf-8")
    context = chromium.new_context(offline=True, viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        page.screenshot(path=str(ARTIFACTS / f"card-inline-{width}.png"), full_page=True)
        assert page.evaluate(LAYOUT_PROBLEMS, ".jp-RenderedHTML") == []
        aligned = page.evaluate(
            "[...document.querySelectorAll('td, th')].map((c) => getComputedStyle(c).textAlign)"
        )
        assert len(aligned) > 20 and set(aligned) == {"left"}
        badges = page.evaluate(
            "[...document.querySelectorAll('header span')].map((s) => s.getBoundingClientRect())"
        )
        for a, b in pairwise(badges):  # badges apart, not run together
            assert b["left"] >= a["right"] + 4 or b["top"] >= a["bottom"]
    finally:
        context.close()
