"""Capture keeps no reference to user objects: a captured frame is freed when the user deletes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import gc, json, weakref
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "jupyter_lineage")
cells = [
    "import numpy as np, pandas as pd, jupyter_lineage as jl",
    "%lineage on",
    "df = pd.DataFrame({'a': np.arange(100_000), 'b': np.random.default_rng(0).random(100_000)})",
    "total = df['a'].sum()",                     # read: fingerprinted before and after
    "df.dropna(inplace=True)",                   # in-place: checked for mutation
    "df['c'] = df['a'] * 2",                     # mutated
    "%%lineage --name train --model m\nmean = df['b'].mean()",
    "jl.log_dataset(df, 'frame');",
    "%lineage_note --on var:df the frame as it was",
    "import weakref\nref = weakref.ref(df)",
]
for cell in cells:
    result = shell.run_cell(cell, store_history=True)
    assert result.success, (cell, result.error_before_exec or result.error_in_exec)
ref = shell.user_ns["ref"]
alive_before = ref() is not None
shell.run_cell("del df", store_history=True)
shell.run_cell("x = 1", store_history=True)     # one more captured cell after the delete
gc.collect()
recorder = shell._jupyter_lineage_recorder
print(json.dumps({
    "alive_before": alive_before,
    "alive_after": ref() is not None,
    "captured": recorder.captured_count,
}))
"""


def test_a_captured_frame_is_freed_when_deleted(tmp_path: Path) -> None:
    env = {**os.environ, "JUPYTER_LINEAGE_DIR": str(tmp_path / "store")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["alive_before"] is True
    assert result["captured"] >= 7, out.stderr
    assert result["alive_after"] is False, "capture kept a reference to the deleted DataFrame"
