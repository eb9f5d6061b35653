"""The ``jupyter-lineage`` command (also ``jupyter lineage``): the library's operations, documented."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import __version__
from .errors import LineageError, UsageError

EPILOG = """examples:
  jupyter-lineage run notebooks/quickstart.ipynb
  jupyter-lineage info
  jupyter-lineage sql "SELECT execution_count, status, duration_ms FROM runs ORDER BY started_at"
  jupyter-lineage sql --format csv "SELECT * FROM failed_attempts" > failures.csv
  jupyter-lineage --store path/to/.lineage verify
"""


def _store(args: argparse.Namespace) -> Any:
    from .store import open_store

    return open_store(args.store)


def cmd_sql(args: argparse.Namespace) -> int:
    """Run a read-only SQL query over the store's views and print the result."""
    sql = " ".join(args.query).strip()
    if sql == "-":
        sql = sys.stdin.read()
    if not sql:
        raise UsageError('sql needs a query, e.g. jupyter-lineage sql "SELECT * FROM runs LIMIT 5"')
    df = _store(args).query(sql)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        sys.stdout.write(df.to_json(orient="records", date_format="iso", default_handler=str))
        sys.stdout.write("\n")
    else:
        import pandas as pd

        with pd.option_context(
            "display.max_rows",
            args.max_rows,
            "display.max_columns",
            None,
            "display.width",
            200,
            "display.max_colwidth",
            60,
        ):
            print(df.to_string(index=False) if len(df) else "(no rows)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Print the store's location, schema version and row counts."""
    store = _store(args)
    if not store.root.exists():
        raise UsageError(
            f"no store at {store.root}; run a notebook with %load_ext jupyter_lineage first, or pass --store DIR"
        )
    info = store.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"store:          {info['store_dir']}")
    print(f"database:       {info['database']} ({info['database_bytes']:,} bytes)")
    print(f"journals:       {info['journals']} ({info['journal_bytes']:,} bytes)")
    print(f"schema version: {info['schema_version']}")
    print(f"sessions:       {info['sessions']}")
    print(f"events:         {info['events']}")
    for view, n in info["counts"].items():
        print(f"{view + ':':<16}{n}")
    if info["ingest_problems"]:
        print(f"ingest problems: {info['ingest_problems']} (see SELECT * FROM ingest_problems)")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Bring new journal events into the DuckDB file now."""
    report = _store(args).ingest()
    print(f"ingested {report.events} new event(s) from {report.journals} journal(s)")
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Recreate the DuckDB file from the journals (the old file is kept beside it)."""
    report = _store(args).rebuild()
    print(f"rebuilt from {report.journals} journal(s): {report.events} event(s)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every journal's hash chain."""
    from .journal import journal_files, verify_chain

    store = _store(args)
    problems = []
    journals = journal_files(store.journal_dir)
    for path in journals:
        problems.extend(verify_chain(path))
    if args.json:
        print(json.dumps({"journals": len(journals), "problems": [asdict(p) for p in problems]}))
    else:
        for p in problems:
            print(f"{p.journal} at byte {p.offset}: {p.problem}")
        print(f"{len(journals)} journal(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    """Execute a notebook headless with capture, then print what was captured."""
    from .runner import run_notebook

    path = Path(args.notebook)
    if not path.is_file():
        raise UsageError(f"no notebook at {path}; give the path of an .ipynb file")
    result = run_notebook(
        path,
        output=Path(args.output) if args.output else None,
        store_dir=args.store,
        capture_all=args.all_cells,
        timeout=args.timeout,
        progress=not args.quiet,
    )
    print(result.summary())
    return 0 if result.ok else 1


def cmd_model(args: argparse.Namespace) -> int:
    """The model registry (see ``jupyter-lineage model --help``)."""
    from .registry.commands import run
    from .sessions import use_store

    use_store(args.store)
    message, result = run(args)
    _print_result(result)
    print(message)
    if args.model_command == "verify" and any(r["ok"] is False for r in result):
        return 1
    return 0


def _print_result(result: Any) -> None:
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        with pd.option_context(
            "display.max_rows",
            500,
            "display.max_columns",
            None,
            "display.width",
            200,
            "display.max_colwidth",
            60,
        ):
            print(result.to_string(index=False) if len(result) else "(none)")
    elif isinstance(result, list):
        for item in result:
            print(json.dumps(item, default=str))
    elif isinstance(result, dict) and "versions" in result:
        for v in result["versions"]:
            nexts = ", ".join(f"{to} ({'/'.join(roles)})" for to, roles in v["next"].items()) or "-"
            print(f"{v['version']:<12} {v['state']:<18} created {v['created_at']}  next: {nexts}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-lineage",
        description="Query and manage a jupyter-lineage store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jupyter-lineage {__version__}")
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="store directory (default: $JUPYTER_LINEAGE_DIR or ./.lineage)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "sql",
        help="run a read-only SQL query and print the result",
        description=cmd_sql.__doc__,
        epilog='example: jupyter-lineage sql "SELECT status, count(*) FROM runs GROUP BY status"',
    )
    p.add_argument("query", nargs="+", help="the SQL (quote it), or - to read it from stdin")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--max-rows", type=int, default=200, help="rows shown in table format")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser(
        "info",
        help="store location, schema version and counts",
        description=cmd_info.__doc__,
        epilog="example: jupyter-lineage info --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "ingest",
        help="ingest new journal events into DuckDB",
        description=cmd_ingest.__doc__,
        epilog="example: jupyter-lineage ingest",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "rebuild",
        help="recreate the DuckDB file from the journals",
        description=cmd_rebuild.__doc__,
        epilog="example: jupyter-lineage rebuild",
    )
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser(
        "verify",
        help="check the journals' hash chains",
        description=cmd_verify.__doc__,
        epilog="example: jupyter-lineage verify --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "run",
        help="execute a notebook headless with capture and summarise it",
        description=cmd_run.__doc__,
        epilog="example: jupyter-lineage run notebooks/quickstart.ipynb -o executed.ipynb",
    )
    p.add_argument("notebook", help="path of the .ipynb to run")
    p.add_argument("-o", "--output", metavar="FILE", help="write the executed notebook here")
    p.add_argument(
        "--all-cells", action="store_true", help="capture every cell (as with %%lineage on)"
    )
    p.add_argument(
        "--timeout", type=int, default=600, help="seconds allowed per cell (default 600)"
    )
    p.add_argument("--quiet", action="store_true", help="no per-cell progress")
    p.set_defaults(func=cmd_run)

    from .registry.commands import add_model_commands

    add_model_commands(sub)
    sub.choices["model"].set_defaults(func=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LineageError as exc:
        print(f"jupyter-lineage: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
