"""The quickstart notebook run through the CLI into a store of its own, as a reviewer's card is
made: shared by the card tests (integration) and the card's layout test in Chromium (ui)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "churn-logreg"
# An annotation that tries to inject markup: every rendering must show it as text.
XSS = ['<script>alert("card")</script>', '"><img src=x onerror=alert(2)>']


def run_quickstart(work: Path) -> Path:
    """Run the quickstart in ``work`` (its store is ``work/.lineage``), then add a human
    addition to a section and a review note carrying markup. Returns ``work``."""
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", work / "quickstart.ipynb")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_lineage.cli",
            "run",
            str(work / "quickstart.ipynb"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from jupyter_lineage import cards
    from jupyter_lineage.annotations import note
    from jupyter_lineage.session import use_store

    use_store(str(work / ".lineage"))
    cards.add_text(MODEL, "license", "Apache-2.0")
    note(f"Reviewer comment {XSS[0]} and {XSS[1]}", kind="review", on=f"model:{MODEL}")
    return work
