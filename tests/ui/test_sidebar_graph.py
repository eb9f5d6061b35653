"""The sidebar at its default width, in windows 1280 and 800 pixels wide: a notebook run in
two kernel sessions shows as two groups of runs under session headers, and the graph of a
run has no two labels overlapping, fits its panel, merges the other session's identical
run and hides transient values until asked. Real JupyterLab, real Chromium, real kernels;
screenshots in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_lineage.graph.drawing import TIMES
from jupyter_lineage.server.service import cards_available

from .lab import lab_page, open_sidebar, running_lab
from .test_sidebar_workflow import run_all_cells, shot, timeline, wait_for_idle_kernel

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name prepare --tag data\n"
    "rows = [3, 1, 2]\n"
    "for value in rows:\n"
    "    pass\n"
    "with open('rows.csv', 'w') as f:\n"
    "    f.write('\\n'.join(map(str, rows)))",
    "%%lineage --name train --tag model --model demo-model\n"
    "weights = sorted(int(x) for x in open('rows.csv').read().split())\n"
    "low, high = weights[0], weights[-1]",
    "%%lineage --name evaluate --tag model\nscore = weights[0] / 0",
]
NO_POLLING = {"refreshInterval": 0}

# Label boxes (in page pixels) that overlap, the target's ring against its label, and HTML
# elements of the panel wider than their parent.
LAYOUT_PROBLEMS = """
(panel) => {
  const boxes = [...panel.querySelectorAll('.jp-Lineage-nodeLabel')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
          a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
        overlaps.push(a.text + ' / ' + b.text);
      }
    }
  }
  const ring = panel.querySelector('.jp-Lineage-startRing');
  const ringLabel = ring && ring.parentNode.querySelector('.jp-Lineage-nodeLabel');
  const ringCovers = !!ring && !!ringLabel &&
    ringLabel.getBoundingClientRect().top < ring.getBoundingClientRect().bottom - 0.5;
  const wide = [];
  for (const el of panel.querySelectorAll('*')) {
    if (el.ownerSVGElement || !el.parentElement) continue;
    const own = el.getBoundingClientRect(), parent = el.parentElement.getBoundingClientRect();
    if (own.width > 0 && own.width > parent.width + 1) {
      wide.push(el.tagName + '.' + el.className + ' in ' + el.parentElement.tagName + '.' +
                el.parentElement.className + ' ' + Math.round(own.width) + ' > ' +
                Math.round(parent.width));
    }
  }
  return {labels: boxes.length, overlaps, ringCovers, wide};
}
"""


def restart_and_run_all(page: Page) -> None:
    """Kernel > Restart Kernel and Run All Cells, confirmed: a second kernel session."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Kernel$")).click()
    page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel and Run All Cells")
    ).click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()


def layout_problems(panel: Locator) -> dict[str, Any]:
    return dict(panel.evaluate(LAYOUT_PROBLEMS))


def check_graph(page: Page, panel: Locator, width: int) -> None:
    from playwright.sync_api import expect

    svg = panel.locator(".jp-Lineage-svgGraph svg")
    expect(svg).to_be_visible()
    nodes = svg.locator(".jp-Lineage-node")
    expect(svg.locator(".jp-Lineage-node.jp-mod-start")).to_have_count(1)
    # the other session's identical prepare run is the same node, counted
    expect(
        svg.locator(".jp-Lineage-node.jp-mod-execution", has_text=f"prepare {TIMES}2")
    ).to_have_count(1)
    expect(svg.locator(".jp-Lineage-node.jp-mod-model")).to_have_count(1)

    # transient values (low, high) are hidden and counted
    toggle = panel.locator(".jp-Lineage-transient")
    expect(toggle).to_contain_text("2 transient values hidden")
    expect(svg.locator(".jp-Lineage-node.jp-mod-transient")).to_have_count(0)
    drawn = nodes.count()
    problems = layout_problems(panel)
    assert problems["labels"] == drawn >= 5
    assert problems["overlaps"] == [], problems
    assert not problems["ringCovers"]
    assert problems["wide"] == [], problems
    shot(page, f"graph-{width}-hidden")

    toggle.locator(".jp-Lineage-transientToggle").click()
    transient = svg.locator(".jp-Lineage-node.jp-mod-transient")
    expect(transient).to_have_count(2)
    expect(nodes).to_have_count(drawn + 2)
    expect(toggle).to_contain_text("2 transient values shown")
    assert sorted(transient.locator(".jp-Lineage-nodeLabel").all_text_contents()) == ["high", "low"]
    problems = layout_problems(panel)
    assert problems["overlaps"] == [] and problems["wide"] == [], problems
    shot(page, f"graph-{width}-shown")
    toggle.locator(".jp-Lineage-transientToggle").click()
    expect(transient).to_have_count(0)


def test_sessions_graph_and_card_at_default_width(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with (
        running_lab(tmp_path, cells=CELLS, lineage_settings=NO_POLLING) as server,
        lab_page(server, "sessions-final") as page,
    ):
        panel = open_sidebar(page)
        run_all_cells(page)
        expect(timeline(panel)).to_have_count(3)
        wait_for_idle_kernel(page)
        restart_and_run_all(page)
        expect(timeline(panel)).to_have_count(6)

        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 800})
            # 1. The timeline: two sessions, each under its header with its counts.
            groups = panel.locator(".jp-Lineage-sessionGroup")
            expect(groups).to_have_count(2)
            newest, oldest = groups.nth(0), groups.nth(1)
            expect(newest.locator(".jp-Lineage-sessionHeader")).to_contain_text("Session 2")
            expect(oldest.locator(".jp-Lineage-sessionHeader")).to_contain_text("Session 1")
            for group in (newest, oldest):
                expect(group.locator(".jp-Lineage-run")).to_have_count(3)
                expect(group.locator(".jp-Lineage-sessionRuns")).to_have_text("3 runs")
                expect(group.locator(".jp-Lineage-sessionFailed")).to_contain_text(
                    "1 did not succeed"
                )
            expect(newest.locator(".jp-Lineage-sessionEnv")).to_have_text("environment unchanged")
            expect(oldest.locator(".jp-Lineage-sessionEnv")).to_have_text(
                "the notebook's first session"
            )
            expect(panel.locator(".jp-Lineage-summary")).to_contain_text(
                "6 captured runs in 2 kernel sessions"
            )
            shot(page, f"sessions-{width}-timeline")
            assert layout_problems(panel)["wide"] == []

            # 2. The newest training run in detail, then its graph.
            newest.locator(".jp-Lineage-run", has_text="train").locator(
                ".jp-Lineage-runButton"
            ).click()
            detail = panel.locator(".jp-Lineage-run-detail")
            expect(detail).to_be_visible()
            expect(detail).to_contain_text("weights")
            shot(page, f"sessions-{width}-detail")
            panel.locator(".jp-Lineage-showGraph").click()
            check_graph(page, panel, width)
            panel.locator(".jp-Lineage-back").click()

            # 3. The model card, previewed.
            panel.locator(".jp-Lineage-tab", has_text="Models").click()
            model = panel.locator('.jp-Lineage-modelItem[data-model="demo-model"]')
            expect(model).to_be_visible()
            if cards_available():
                model.locator(".jp-Lineage-modelButton").click()
                card = page.frame_locator(".jp-Lineage-cardFrame")
                expect(card.locator("h1")).to_contain_text("demo-model")
                assert layout_problems(panel)["wide"] == []
                shot(page, f"sessions-{width}-card")
            panel.locator(".jp-Lineage-tab", has_text="Runs").click()
