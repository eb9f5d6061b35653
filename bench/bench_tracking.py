"""Logging parameters, metrics and datasets against MLflow doing the same, in the same process.

jupyter-lineage's Python API (``log_param``, ``log_metric``, ``log_dataset``: each call
appends one journal event) against MLflow's (``mlflow-skinny``, installed with
``pip install ".[bench]"``) with its file store and its SQLite store, each in a
temporary directory. A run is opened and closed on both sides (an experiment here,
``start_run``/``end_run`` there). The dataset figure logs the same mixed-dtype frame
(``mlflow.data.from_pandas`` + ``log_input`` against ``log_dataset``) and checks whose
digest notices a change in the frame's last row. Without MLflow the rows say so and
carry no baseline. Run as ``python bench/bench_tracking.py [--quick]``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

MIN_LOG_SPEEDUP = 10.0
MIN_DATASET_SPEEDUP = 5.0


def _best(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _ours_params_metrics(params: int, metrics: int) -> Callable[[], None]:
    import jupyter_lineage as jl

    def run() -> None:
        jl.start_experiment("bench-run")
        for i in range(params):
            jl.log_param(f"param_{i}", i * 0.5)
        for step in range(metrics):
            jl.log_metric("loss", 1.0 / (step + 1), step=step)
        jl.end_experiment()

    return run


def _mlflow_params_metrics(mlflow: Any, params: int, metrics: int) -> Callable[[], None]:
    def run() -> None:
        with mlflow.start_run():
            for i in range(params):
                mlflow.log_param(f"param_{i}", i * 0.5)
            for step in range(metrics):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)

    return run


def _import_mlflow() -> Any:
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses it otherwise
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    try:
        import mlflow
        import mlflow.data
    except ImportError:
        return None
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    return mlflow


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every figure; one row per figure."""
    import pandas as pd

    from bench.bench_fingerprint import make_frame

    params, metrics = 10, (100 if quick else 1_000)
    rows_in_frame = 100_000 if quick else 1_000_000
    ours_repeats, mlflow_repeats = (3, 1) if quick else (7, 2)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="lineage-bench-tracking-") as tmp:
        os.environ["JUPYTER_LINEAGE_DIR"] = str(Path(tmp) / "lineage")
        ours = _ours_params_metrics(params, metrics)
        ours()  # opens the session's journal
        t_ours = _best(ours, ours_repeats)
        mlflow = _import_mlflow()
        stores = {
            "file store": f"file://{tmp}/mlruns",
            "SQLite store": f"sqlite:///{tmp}/mlflow.db",
        }
        if quick:
            del stores["SQLite store"]  # creating its tables alone takes seconds
        label = f"log {params} params + {metrics:,} metrics in one run"
        for store, uri in stores.items():
            t_mlflow = None
            if mlflow is not None:
                mlflow.set_tracking_uri(uri)
                mlflow.set_experiment("bench")
                mlflow_run = _mlflow_params_metrics(mlflow, params, metrics)
                _mlflow_params_metrics(mlflow, 1, 1)()  # creates the store's tables and folders
                # SQLite commits every call (tens of ms each): one run is already a long sample.
                t_mlflow = _best(mlflow_run, 1 if store == "SQLite store" else mlflow_repeats)
            out.append(
                _speedup_row(f"{label} vs MLflow {store}", t_ours, t_mlflow, MIN_LOG_SPEEDUP)
            )

        frame = make_frame(rows_in_frame)
        import jupyter_lineage as jl

        jl.log_dataset(frame.head(10), "warm-up")
        t_ours = _best(lambda: jl.log_dataset(frame, "customers", context="training"), ours_repeats)
        changed = frame.copy()
        changed.iloc[-1, changed.columns.get_loc("value")] = -1.0
        ours_sees = jl.log_dataset(frame, "a").digest != jl.log_dataset(changed, "b").digest
        label = f"log a {rows_in_frame:,}-row x 5-column dataset as an input"
        t_mlflow_input, mlflow_sees = None, None
        if mlflow is not None:
            # The file store, the faster of the two: the digest, schema and profile that
            # from_pandas computes are most of the time, whichever store records them.
            mlflow.set_tracking_uri(stores["file store"])
            mlflow.set_experiment("bench")

            def log_input(df: pd.DataFrame = frame) -> Any:
                dataset = mlflow.data.from_pandas(df, name="customers")
                mlflow.log_input(dataset, context="training")
                return dataset

            with mlflow.start_run():
                t_mlflow_input = _best(log_input, mlflow_repeats)
                mlflow_sees = log_input(frame).digest != log_input(changed).digest
        row = _speedup_row(
            f"{label} (full-content digest) vs MLflow from_pandas + log_input (file store)",
            t_ours,
            t_mlflow_input,
            MIN_DATASET_SPEEDUP,
        )
        out.append(row)
        out.append(
            {
                "figure": "dataset digest changes when only the last row changes "
                "(jupyter-lineage vs MLflow)",
                "value": ours_sees,
                "baseline": mlflow_sees,
                "ratio": None,
                "unit": "",
                "target": "jupyter-lineage: True",
                "pass": ours_sees is True,
            }
        )
    return out


def _speedup_row(
    figure: str, ours: float, baseline: float | None, minimum: float
) -> dict[str, Any]:
    speedup = None if baseline is None else baseline / ours
    return {
        "figure": figure if baseline is not None else f"{figure} (MLflow not installed)",
        "value": round(ours * 1e3, 2),
        "baseline": None if baseline is None else round(baseline * 1e3, 1),
        "ratio": None if speedup is None else round(speedup, 1),
        "unit": "ms",
        "target": f">= {minimum:g}x faster",
        "pass": None if speedup is None else speedup >= minimum,
    }


def main(argv: list[str] | None = None) -> int:
    from bench.suite import module_main

    return module_main(__doc__ or "", run, "100 metrics, a 100k-row frame", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
