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
        # The cell's own code: the plain CPU time, and 1 ms less than the captured one
        # (the capture's hooks); 2 ms of collections in each run, one full one if captured.
        own = (cpu[0], [c - 0.001 for c in cpu[1]])
        gc = ([0.002] * len(cpu[0]), [0.002] * len(cpu[1]))
        return {"wall": wall, "cpu": cpu, "own": own, "gc": gc,
                "full": ([0] * len(cpu[0]), [1] * len(cpu[1]))}  # fmt: skip

    samples = {
        "a": {
            "x": cell(([1.2, 1.0], [1.01, 1.3]), ([0.8, 0.9], [0.81, 0.85])),
            "y": cell(([0.010, 0.012], [0.040, 0.035]), ([0.009, 0.010], [0.012, 0.011])),
        },
        "b": {"z": cell(([0.5, 0.5], [0.5, 0.5]), ([0.4, 0.4], [0.4, 0.4]))},
    }
    rows = corpus.rows_from(samples)
    total, worst, typical, cpu_total, cpu_worst, cpu_typical, each, hooks, own, *rest = rows
    most_hooks, without_gc, gc, *per_notebook = rest
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
    # Each repetition's own ratio: (0.81 + 0.012 + 0.4) / (0.8 + 0.009 + 0.4) and
    # (0.85 + 0.011 + 0.4) / (0.9 + 0.010 + 0.4), lowest first; the higher is the median.
    assert each["figure"].endswith(": 0.963, 1.011") and each["value"] == 1.011
    # Where the CPU time went: 1 ms of hooks in each of the 3 cells, the rest in the cells.
    assert (hooks["value"], hooks["baseline"]) == (0.003, 1.209)
    assert (own["value"], own["baseline"]) == (1.218, 1.209)
    # Each cell's hooks took 1 ms (the first such cell is named); leaving out the 2 ms of
    # collections, cell x's best CPU time is 10 ms more with capture.
    assert most_hooks["value"] == 1.0 and "(a, cell x)" in most_hooks["figure"]
    assert without_gc["value"] == 10.0 and "(a, cell x)" in without_gc["figure"]
    assert without_gc["baseline"] == 798.0
    assert "3 full ones vs 0" in gc["figure"] and gc["ratio"] == 1.0
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


def test_a_partial_run_replaces_its_modules_rows() -> None:
    full = {
        "generated_at": "2026-01-01T00:00:00+00:00",
        "mode": "full",
        "duration_s": 600.0,
        "modules": ["bench_capture", "bench_team"],
        "load_average": {"bench_capture": [1.0, 1.0], "bench_team": [1.0, 2.0]},
        "summary": {"met": 2, "missed": []},
        "figures": [
            {"figure": "capture", "pass": True, "module": "bench_capture"},
            {"figure": "team", "pass": True, "module": "bench_team"},
        ],
    }
    partial = {
        "generated_at": "2026-02-01T00:00:00+00:00",
        "duration_s": 60.0,
        "modules": ["bench_card"],
        "load_average": {"bench_card": [2.0, 3.5]},
        "figures": [{"figure": "card size", "pass": False, "module": "bench_card"}],
    }
    merged = suite.merge_results(full, partial)
    # In the suite's order: the card's rows before the team store's.
    assert [r["figure"] for r in merged["figures"]] == ["capture", "card size", "team"]
    assert merged["modules"] == ["bench_capture", "bench_card", "bench_team"]
    assert merged["summary"] == {"met": 2, "missed": ["card size"]}
    assert merged["generated_at"] == full["generated_at"]
    (run,) = merged["partial_runs"]
    assert run["modules"] == ["bench_card"] and run["load"] == [2.0, 3.5]
    # Measured again: the rows and the note are replaced, not repeated.
    again = suite.merge_results(
        merged, {**partial, "figures": [{"figure": "card", "pass": True, "module": "bench_card"}]}
    )
    assert [r["figure"] for r in again["figures"]] == ["capture", "card", "team"]
    assert len(again["partial_runs"]) == 1
    # The table says when the module was measured again, and under what load; the full
    # run's load range stays its own.
    machine = {
        "usable_cpus": 2,
        "cpu_model": "CPU",
        "ram_gb": 24.0,
        "python": "3.11.7",
        "numpy_version": "2",
        "pandas_version": "3",
        "duckdb_version": "2",
        "mlflow_version": "3",
        "blas_note": "unset",
    }
    first = suite.format_markdown({**again, "machine": machine}).splitlines()[0]
    assert "load average 1.0 to 2.0 during the run" in first
    assert "Measured again 2026-02-01 with `python -m bench --only bench_card` (60 s" in first
    assert "load average 2.0 to 3.5)" in first


def test_card_rows_from_both_versions() -> None:
    card = pytest.importorskip("bench.bench_card")

    def warm(seconds: float, connections: int, size: int) -> dict:
        one = {"s": seconds, "connections": connections, "bytes": size}
        return {"json": dict(one), "html": dict(one)}

    rows = card.rows_from(
        {
            "current": [warm(0.25, 1, 200 * 1024), warm(0.2, 1, 200 * 1024)],
            "baseline": [warm(1.0, 20, 4 * 2**20), warm(0.9, 20, 4 * 2**20)],
        },
        {
            ("current", "html"): [1.0, 0.8],
            ("baseline", "html"): [2.0],
            ("current", "json"): [0.5],
            ("baseline", "json"): [1.0],
        },
    )
    size, warm_html, warm_json, conn_html, _, cold_html, _ = rows
    assert (size["value"], size["baseline"], size["pass"]) == (200.0, 4096.0, True)
    assert (warm_html["value"], warm_html["baseline"], warm_html["ratio"]) == (0.2, 0.9, 0.222)
    assert warm_html["pass"] is True and warm_json["pass"] is True
    assert (conn_html["value"], conn_html["baseline"], conn_html["pass"]) == (1, 20, True)
    assert cold_html["value"] == 0.8 and cold_html["pass"] is None
    slow = card.rows_from(
        {"current": [warm(0.4, 2, 400 * 1024)], "baseline": [warm(1.0, 20, 4 * 2**20)]},
        {k: [1.0] for k in [(v, f) for v in ("current", "baseline") for f in ("html", "json")]},
    )
    assert [r["pass"] for r in slow[:5]] == [False, False, False, False, False]
