"""The benchmark suite's bookkeeping: which modules it runs, the targets it applies, its tables."""

from __future__ import annotations

import pytest

suite = pytest.importorskip("bench.suite")


def test_every_module_has_a_run_function() -> None:
    import importlib

    names = suite.available_modules()
    assert {
        "bench_capture",
        "bench_fingerprint",
        "bench_store",
        "bench_tracking",
        "bench_corpus",
    } <= set(names)
    for name in names:
        assert callable(importlib.import_module(f"bench.{name}").run), name


def test_graph_closure_gets_the_stated_target() -> None:
    row = {
        "figure": "upstream closure of a deep node, 1,000,000 nodes",
        "value": 0.08,
        "ratio": 25.0,
    }
    assert suite._graph_closure_target(row)["pass"] is True
    assert suite._graph_closure_target({**row, "ratio": 19.0})["pass"] is False
    assert suite._graph_closure_target({**row, "value": 0.15})["pass"] is False
    other = {"figure": "networkx alone: DiGraph build", "value": 5.0, "pass": True}
    assert suite._graph_closure_target(other) == other


def test_corpus_figures_from_best_cell_times() -> None:
    corpus = pytest.importorskip("bench.bench_corpus")

    def cell(wall: tuple[list[float], list[float]], cpu: tuple[list[float], list[float]]) -> dict:
        return {"wall": wall, "cpu": cpu}

    samples = {
        "a": {
            "x": cell(([1.2, 1.0], [1.01, 1.3]), ([0.8, 0.9], [0.81, 0.85])),
            "y": cell(([0.010, 0.012], [0.040, 0.035]), ([0.009, 0.010], [0.012, 0.011])),
        },
        "b": {"z": cell(([0.5, 0.5], [0.5, 0.5]), ([0.4, 0.4], [0.4, 0.4]))},
    }
    rows = corpus.rows_from(samples)
    total, worst, typical, cpu_total, cpu_worst, cpu_typical, *per_notebook = rows
    assert (total["value"], total["baseline"]) == (1.545, 1.51)
    assert "best of 2" in total["figure"] and "kernel time" in total["figure"]
    assert total["pass"] is True  # 1.545 s is within 3% of 1.51 s
    assert "a, cell y" in worst["figure"] and worst["value"] == 25.0
    assert "spread over 2.0 ms" in worst["figure"]
    assert worst["pass"] is False  # 25 ms extra in one cell
    assert typical["value"] == 10.0
    # The CPU figures from the CPU times alone: best of each, 1.221 s against 1.209 s.
    assert "CPU time" in cpu_total["figure"]
    assert (cpu_total["value"], cpu_total["baseline"]) == (1.221, 1.209)
    assert "a, cell x" in cpu_worst["figure"] and cpu_worst["value"] == 10.0
    assert cpu_worst["pass"] is True and cpu_typical["value"] == 2.0
    assert [r["ratio"] for r in per_notebook] == [round(1.045 / 1.01, 3), 1.0]
    one = {"b": {"z": cell(([0.5], [0.51]), ([0.4], [0.41]))}}
    assert corpus.rows_from(one)[1]["pass"] is True


def test_tables_show_every_row_and_verdict() -> None:
    rows = [
        {
            "figure": "a | b",
            "value": 1.5,
            "baseline": 3.0,
            "ratio": 2.0,
            "unit": "ms",
            "target": ">= 2x",
            "pass": True,
        },
        {
            "figure": "c",
            "value": 12345.0,
            "baseline": None,
            "ratio": None,
            "unit": "B",
            "target": "<= 1",
            "pass": False,
        },
    ]
    text = suite.format_table(rows)
    assert "a | b" in text and "12,345" in text
    results = {
        "generated_at": "2026-01-01T00:00:00+00:00",
        "mode": "full",
        "duration_s": 600.0,
        "machine": {
            "usable_cpus": 2,
            "cpu_model": "CPU",
            "ram_gb": 24.0,
            "python": "3.11.7",
            "numpy_version": "2",
            "pandas_version": "3",
            "duckdb_version": "2",
            "mlflow_version": "3",
            "blas_note": "unset",
        },
        "figures": rows,
    }
    markdown = suite.format_markdown(results).splitlines()
    assert markdown[-2].startswith("| a / b | 1.5 | 3 | 2 | ms | >= 2x | yes |")
    assert markdown[-1].endswith("| **no** |")
