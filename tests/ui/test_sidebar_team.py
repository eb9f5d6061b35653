"""The sidebar on a team store, in a real JupyterLab and Chromium.

Alice and Bob each ran the notebook of one git repository in a checkout of their own
(real kernels, shipping to one PostgreSQL database). JupyterLab runs in Alice's checkout
with the team store configured and signs its user in by name, as JupyterHub does: the
timeline shows both people's runs with who ran each, the author filter narrows it to
one person's, and a note written in the form is stored under the signed-in user's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.pgserver import PostgresServer, PostgresUnavailable
from tests.team.checkouts import clone, execute, lineage_cli, repository_with_notebook

from .lab import ARTIFACTS, NOTEBOOK, lab_page, named_users, open_sidebar, running_lab

ALICE = "alice@example.com"
BOB = "bob@example.com"
SIGNED_IN = "Grace Hopper"
CELLS = [
    "%load_ext jupyter_lineage",
    "%%lineage --name prepare --tag data\nrows = [3, 1, 2]",
    "%%lineage --name train --tag model\nweights = sorted(rows)",
]
NOTE = "Bob's weights match mine."
NO_POLLING = {"refreshInterval": 0}


@pytest.fixture(scope="module")
def team_url() -> Iterator[str]:
    """A database on a real PostgreSQL server of this module's own."""
    try:
        server = PostgresServer.create()
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (.ci/run installs it)")
    try:
        yield server.create_database()
    finally:
        server.destroy()


def team_env(url: str, author: str) -> dict[str, str]:
    return {"JUPYTER_LINEAGE_STORE": url, "JUPYTER_LINEAGE_AUTHOR": author}


def test_two_people_s_runs_their_authors_and_a_signed_in_note(
    tmp_path: Path, team_url: str
) -> None:
    from playwright.sync_api import expect

    origin = repository_with_notebook(tmp_path / "origin", NOTEBOOK, CELLS)
    alice = clone(origin, tmp_path / "alice" / "work" / "project")
    bob = clone(origin, tmp_path / "bob" / "checkouts" / "project")
    migrated = lineage_cli("migrate", env=team_env(team_url, ALICE))
    assert migrated.returncode == 0, migrated.stderr
    # Alice ran it first, then Bob: Bob's runs are the newest.
    for checkout, author in ((alice, ALICE), (bob, BOB)):
        execute(checkout / NOTEBOOK, team_env(team_url, author))
        store = checkout / Path(NOTEBOOK).parent / ".lineage"
        synced = lineage_cli("--store", str(store), "sync", env=team_env(team_url, author))
        assert synced.returncode == 0, synced.stderr

    identity_env, identity_args = named_users(tmp_path / "identity", "grace", SIGNED_IN)
    with (
        running_lab(
            tmp_path,
            root_dir=alice,
            env={**team_env(team_url, ALICE), **identity_env},
            extra_args=identity_args,
            lineage_settings=NO_POLLING,
        ) as server,
        lab_page(server, "team-3-signed-in-note") as page,
    ):
        panel = open_sidebar(page)
        runs = panel.locator(".jp-Lineage-run")
        authors = runs.locator(".jp-Lineage-runAuthor")

        # Both people's runs of the notebook, newest first, with who ran each.
        expect(runs).to_have_count(4)
        expect(authors).to_have_text([BOB, BOB, ALICE, ALICE])
        expect(runs.nth(0)).to_contain_text("train")
        expect(panel.locator(".jp-Lineage-summary")).to_contain_text("4 captured runs")
        author_filter = panel.locator(".jp-Lineage-authorFilter")
        expect(author_filter.locator("option")).to_have_text(["all", ALICE, BOB])
        page.screenshot(path=str(ARTIFACTS / "team-1-both-authors.png"))

        # Choosing an author shows only theirs; "all" shows everyone's again.
        author_filter.select_option(ALICE)
        expect(authors).to_have_text([ALICE, ALICE])
        expect(runs.nth(0)).to_contain_text("train")
        page.screenshot(path=str(ARTIFACTS / "team-2-alice-only.png"))
        author_filter.select_option(BOB)
        expect(authors).to_have_text([BOB, BOB])

        # A note on Bob's training run, from the form, under the signed-in user's name.
        runs.filter(has_text="train").locator(".jp-Lineage-runButton").click()
        detail = panel.locator(".jp-Lineage-run-detail")
        expect(detail.locator(".jp-Lineage-runAuthor")).to_have_text(BOB)
        detail.locator(".jp-Lineage-textarea").fill(NOTE)
        detail.locator(".jp-Lineage-save").click()
        note = detail.locator(".jp-Lineage-annotation")
        expect(note).to_have_count(1)
        expect(note).to_contain_text(SIGNED_IN)
        expect(note).to_contain_text(NOTE)

    with psycopg.connect(team_url) as con:
        stored = con.execute(
            "SELECT a.author, r.author AS ran_by FROM annotations a "
            "JOIN annotation_links l USING (annotation_id) JOIN runs r ON r.execution_id = l.target "
            "WHERE a.text = %s",
            [NOTE],
        ).fetchall()
    assert stored == [(SIGNED_IN, BOB)]
