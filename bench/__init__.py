"""jupyter-lineage's benchmarks, each against a baseline measured in the same run on the same data.

``python -m bench [--quick] [--strict] [--only NAME...]`` runs every module, prints one
table and writes ``bench/results.json`` (a full run) with the machine it ran on. Each
module also runs alone (``python bench/bench_fingerprint.py --quick``) and exposes
``run(quick) -> list[dict]`` with one row per figure: ``figure``, ``value``, ``baseline``,
``ratio``, ``target``, ``pass``, ``unit``.
"""
