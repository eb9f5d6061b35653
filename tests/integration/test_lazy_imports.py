"""Loading the extension stays light: heavy libraries are imported only when used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["pandas", "numpy", "plotly", "networkx", "duckdb", "pyarrow", "nbclient", "nbformat"]


def test_load_ext_imports_no_heavy_library() -> None:
    code = (
        "import sys, json\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "before = set(sys.modules)\n"
        "shell.run_line_magic('load_ext', 'jupyter_lineage')\n"
        "shell.run_cell('%%lineage\\nx = 1')\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
