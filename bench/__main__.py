"""``python -m bench``: run every benchmark, print the table, write ``bench/results.json``."""

from __future__ import annotations

import sys

from bench.suite import main

if __name__ == "__main__":
    sys.exit(main())
