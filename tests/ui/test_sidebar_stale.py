"""Out-of-date cells in a real JupyterLab and Chromium: marked in the notebook and the sidebar.

The notebook reads ``data.csv`` in one cell and uses what it read in the next; a third
cell reads neither. After the file changes on disk, the two downstream cells are marked
in their prompts, badged in the timeline, counted in the sidebar's header and kept by
its Stale filter, with no reload and no sidebar polling; the header selects them in the
notebook, and re-running them (confirmed in a dialog) clears it all. Each step leaves a
screenshot in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_lineage.store import DuckDBStore

from .lab import ARTIFACTS, NOTEBOOK, lab_page, open_sidebar, running_lab, widen_left_area
from .test_sidebar_workflow import wait_for_idle_kernel

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name load\nvalues = open('data.csv').read().split()[1:]",
    "%%lineage --name count\nn = len(values)",
    "%%lineage --name apart\nz = 42",
]
# The sidebar's own polling is off: what changes comes from the stale check.
NO_POLLING = {"refreshInterval": 0}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells once the kernel is idle, until the last cell has its number."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    prompts = page.locator(".jp-Notebook .jp-InputPrompt")
    for attempt in range(2):
        wait_for_idle_kernel(page)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            # Cells sent before the kernel is really there are dropped, unnumbered.
            expect(prompts.last).to_have_text(re.compile(r"\[[0-9]+\]"), timeout=30_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == 1:
                raise


def run_named(runs: Locator, name: str) -> Locator:
    return runs.filter(
        has=runs.page.locator(".jp-Lineage-runName", has_text=re.compile(f"^{name}$"))
    )


def test_stale_cells_are_marked_filtered_selected_and_rerun(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with (
        running_lab(tmp_path, cells=CELLS, lineage_settings=NO_POLLING) as server,
        lab_page(server, "stale-5-final") as page,
    ):
        work = (server.root_dir / NOTEBOOK).parent
        data = work / "data.csv"
        data.write_text("a\n1\n2\n")
        widen_left_area(page, 430)
        panel = open_sidebar(page)
        cells = page.locator(".jp-Notebook .jp-Cell")
        marked = page.locator(".jp-Notebook .jp-Cell.jp-Lineage-staleCell")
        runs = panel.locator(".jp-Lineage-run")
        header = panel.locator(".jp-Lineage-staleHeader")
        badges = panel.locator(".jp-Lineage-staleBadge")

        run_all_cells(page)
        expect(runs).to_have_count(3)
        # Fresh: nothing is marked.
        expect(header).to_have_count(0)
        expect(badges).to_have_count(0)
        expect(marked).to_have_count(0)

        # 1. The file changes on disk: the cells downstream of it are marked, the other not.
        data.write_text("a\n1\n2\n3\n")
        expect(header).to_contain_text("2 cells out of date: data.csv changed")
        expect(marked).to_have_count(2)
        for index, name in ((1, "load"), (2, "count")):
            expect(cells.nth(index)).to_have_class(re.compile(r"\bjp-Lineage-staleCell\b"))
            mark = cells.nth(index).locator(".jp-InputPrompt .jp-Lineage-staleMark")
            expect(mark).to_have_attribute("title", re.compile(rf"^Out of date: {name} "))
            expect(mark).to_have_attribute("title", re.compile("data.csv"))
        expect(cells.nth(3)).not_to_have_class(re.compile(r"\bjp-Lineage-staleCell\b"))
        expect(cells.nth(3).locator(".jp-Lineage-staleMark")).to_have_count(0)

        load_run = run_named(runs, "load")
        expect(load_run.locator(".jp-Lineage-staleBadge")).to_have_text("stale: data.csv changed")
        expect(load_run.locator(".jp-Lineage-staleBadge")).to_have_attribute(
            "title", re.compile("file data.csv changed since this run read it")
        )
        count_badge = run_named(runs, "count").locator(".jp-Lineage-staleBadge")
        expect(count_badge).to_have_text("stale: upstream load")
        expect(count_badge).to_have_attribute(
            "title", re.compile(r"upstream load .* is out of date: file data.csv changed")
        )
        expect(run_named(runs, "apart").locator(".jp-Lineage-staleBadge")).to_have_count(0)
        shot(page, "stale-1-marked")

        # 2. The Stale filter keeps the runs of the two stale cells.
        panel.locator(".jp-Lineage-staleFilter").check()
        expect(runs).to_have_count(2)
        expect(run_named(runs, "apart")).to_have_count(0)
        shot(page, "stale-2-filter")
        panel.locator(".jp-Lineage-staleFilter").uncheck()
        expect(runs).to_have_count(3)

        # 3. One click selects them in the notebook.
        header.locator(".jp-Lineage-staleHeadline").click()
        selected = page.locator(".jp-Notebook .jp-Cell.jp-mod-selected")
        expect(selected).to_have_count(2)
        expect(selected.nth(0)).to_have_class(re.compile(r"\bjp-Lineage-staleCell\b"))
        expect(selected.nth(1)).to_have_class(re.compile(r"\bjp-Lineage-staleCell\b"))
        expect(cells.nth(1)).to_have_class(re.compile(r"\bjp-mod-active\b"))
        shot(page, "stale-3-selected")

        # 4. Re-run them, after confirming what will run.
        header.locator(".jp-Lineage-rerunStale").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Re-run 2 stale cells?")
        expect(dialog.locator("li")).to_have_count(2)
        expect(dialog.locator("li").nth(0)).to_contain_text("load")
        expect(dialog.locator("li").nth(1)).to_contain_text("count")
        shot(page, "stale-4-confirm")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

        expect(header).to_have_count(0)
        expect(marked).to_have_count(0)
        expect(page.locator(".jp-Lineage-staleMark")).to_have_count(0)
        # The sidebar shows the new runs by itself (its polling is off).
        expect(runs).to_have_count(5)
        expect(badges).to_have_count(0)

        # The new runs are the cells', under their own ids, and read the new file.
        rows = DuckDBStore(work / ".lineage").query(
            "SELECT name, cell_id, status FROM runs ORDER BY started_at"
        )
        assert rows.to_dict("records")[3:] == [
            {"name": "load", "cell_id": "cell-1", "status": "ok"},
            {"name": "count", "cell_id": "cell-2", "status": "ok"},
        ]


def test_packages_changed_since_the_runs_show_at_the_environment_level(tmp_path: Path) -> None:
    """A package the notebook imports is reinstalled at another version: nothing any cell
    read changed, so no cell is stale, but the sidebar says which cells ran with other
    packages, and which."""
    import os
    import shutil
    import subprocess
    import sys

    from playwright.sync_api import expect

    from ..integration.test_stale import tiny_wheel

    site = tmp_path / "site"
    old, new = tiny_wheel(tmp_path, "1.0"), tiny_wheel(tmp_path, "2.0")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(site), str(old)], check=True)
    cells = [
        "%load_ext jupyter_lineage",
        "%%lineage --name use\nimport tinypkg\nv = tinypkg.VALUE",
        "%%lineage --name plain\nq = 1 + 1",
    ]
    # The server and its kernels import from the same directory, as from one environment.
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    with (
        running_lab(
            tmp_path, cells=cells, lineage_settings=NO_POLLING, env={"PYTHONPATH": path}
        ) as server,
        lab_page(server, "stale-environment-final") as page,
    ):
        widen_left_area(page, 430)
        panel = open_sidebar(page)
        runs = panel.locator(".jp-Lineage-run")
        stale = panel.locator(".jp-Lineage-staleHeader")
        moved = panel.locator(".jp-Lineage-environmentHeader")
        run_all_cells(page)
        expect(runs).to_have_count(2)
        expect(stale).to_have_count(0)
        expect(moved).to_have_count(0)

        shutil.rmtree(site)
        subprocess.run([*pip, "--target", str(site), str(new)], check=True)
        # Both cells: the notebook imports tinypkg, whichever cell does.
        expect(moved).to_have_text("2 cells ran with other packages: tinypkg 1.0 → 2.0")
        headline = moved.locator(".jp-Lineage-environmentHeadline")
        expect(headline).to_have_attribute("title", re.compile(r"^Packages changed: use "))
        expect(stale).to_have_count(0)
        expect(panel.locator(".jp-Lineage-staleBadge")).to_have_count(0)
        expect(page.locator(".jp-Notebook .jp-Cell.jp-Lineage-staleCell")).to_have_count(0)
        shot(page, "stale-environment")

        headline.click()
        selected = page.locator(".jp-Notebook .jp-Cell.jp-mod-selected")
        expect(selected).to_have_count(2)
