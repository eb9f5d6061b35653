"""The ``jupyter-lineage`` command (also ``jupyter lineage``): the library's operations, documented."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from .errors import LineageError, UsageError
from .version import __version__

EPILOG = """examples:
  jupyter-lineage run notebooks/quickstart.ipynb
  jupyter-lineage info
  jupyter-lineage sql "SELECT execution_count, status, duration_ms FROM runs ORDER BY started_at"
  jupyter-lineage sql --format csv "SELECT * FROM failed_attempts" > failures.csv
  jupyter-lineage --store notebooks/.lineage verify

The store is --store DIR, else $JUPYTER_LINEAGE_DIR, else the nearest .lineage here or in a
parent directory (up to your home directory), else the only one below here. run puts it
beside the notebook, as a kernel does, and ends with the commands to type next.
"""


# Shown in the "stores below" error before "and N more".
_STORES_LISTED = 3


def _shown_path(path: Path, cwd: Path) -> str:
    """``path`` as the user would type it here: relative when it is below ``cwd``."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


# Commands that only read what was recorded: a store they are pointed at must exist.
_READING_COMMANDS = frozenset(
    {
        "sql", "info", "ingest", "rebuild", "forget", "verify", "reproduce", "diff",
        "stale", "card", "bom", "openlineage", "graph",
    }
)  # fmt: skip


def _locate_store(args: argparse.Namespace) -> None:
    """Set ``args.store`` to the store this command works on, found as git finds its directory.

    ``--store``, else ``$JUPYTER_LINEAGE_DIR``, else the nearest ``.lineage`` here or above
    (``config.find_store_dir``), else the only store below here, said on stderr. Several
    below, or none anywhere, is a one-line error saying how to pick one.
    """
    from .config import STORE_DIR_NAME, STORE_URL_ENV, find_store_dir, stores_below

    found = find_store_dir(args.store)
    if found is not None:
        if (
            args.command in _READING_COMMANDS
            and not found.path.exists()
            and not (getattr(args, "team_store", None) or os.environ.get(STORE_URL_ENV))
            and not getattr(args, "beside_notebook", False)
        ):
            # A mistyped path would otherwise become a new, empty store that answers nothing.
            raise UsageError(
                f"no store at {found.path} (from {found.found_by}): nothing was recorded there; "
                "check the path, or run a notebook with %load_ext jupyter_lineage first"
            )
        args.store = str(found.path)
        return
    cwd = Path.cwd().resolve()
    below = stores_below(cwd)
    if len(below) == 1:
        shown = _shown_path(below[0], cwd)
        print(
            f"jupyter-lineage: using {shown}, the one store below here (--store DIR picks another)",
            file=sys.stderr,
        )
        args.store = str(below[0])
        return
    team = getattr(args, "team_store", None) or os.environ.get(STORE_URL_ENV)
    if args.command == "migrate" or team:
        # A store is being made, or the team store is the one meant: here is as good as any.
        args.store = str(cwd / STORE_DIR_NAME)
        return
    if below:
        names = [_shown_path(p, cwd) for p in below]
        listed = ", ".join(names[:_STORES_LISTED])
        if len(names) > _STORES_LISTED:
            listed += f" and {len(names) - _STORES_LISTED} more"
        raise UsageError(
            f"no store in {cwd} or its parents, and {len(names)} below it: {listed}; "
            f"pick one with --store PATH (e.g. --store {shlex.quote(names[0])}) "
            "or cd into its directory"
        )
    raise UsageError(
        f"no store in {cwd}, its parents or the directories below it; run a notebook "
        "with %load_ext jupyter_lineage (or jupyter-lineage run NOTEBOOK) first, "
        "or pass --store DIR"
    )


def _store(args: argparse.Namespace) -> Any:
    """The command's store: one object for the whole command, so its reads share a connection."""
    from .store import open_store

    store = getattr(args, "_store", None)
    if store is None:
        store = _team_store(args) if getattr(args, "team_store", None) else open_store(args.store)
        args._store = store
    return store


def _session(args: argparse.Namespace) -> Any:
    """The process's session, writing to and reading from ``--store`` (one per command)."""
    from .session import use_store

    session = getattr(args, "_session", None)
    if session is None:
        session = args._session = use_store(args.store)
    return session


def _unit_of_work(args: argparse.Namespace) -> Any:
    """What the command reads through: one store connection for all its queries, closed when
    it ends (a command that runs a kernel or writes the file itself holds none)."""
    from contextlib import nullcontext

    if args.func in (cmd_sql, cmd_info, cmd_verify, cmd_diff, cmd_graph, cmd_forget):
        return _store(args).reading(ingest=False)
    if args.func in (cmd_card, cmd_bom, cmd_openlineage, cmd_model):
        return _session(args).store().reading(ingest=False)
    return nullcontext()


def _team_store(args: argparse.Namespace) -> Any:
    """The team store named by --team-store, $JUPYTER_LINEAGE_STORE or the store's config."""
    from .config import is_team_store_url, resolve_store_dir, team_store_url
    from .store.postgres import PostgresStore

    root = resolve_store_dir(args.store)
    url = getattr(args, "team_store", None) or team_store_url(root)
    if not url:
        raise UsageError(
            "no team store is configured; set JUPYTER_LINEAGE_STORE=postgresql://user@host/db "
            "or pass --team-store URL"
        )
    if not is_team_store_url(url):
        raise UsageError(
            f"--team-store takes a PostgreSQL URL (postgresql://user@host/db), not {url!r}"
        )
    return PostgresStore(url, root)


def cmd_sync(args: argparse.Namespace) -> int:
    """Ship every journal event not yet on the team store (idempotent: run it as often as you like)."""
    store = _team_store(args)
    if not store.journal_dir.is_dir():
        raise UsageError(f"no journals in {store.journal_dir}; nothing to ship")

    def progress(n: int) -> None:
        if sys.stderr.isatty():
            print(f"\rshipped {n:,} event(s)", end="", file=sys.stderr, flush=True)

    report = store.sync(progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"shipped {report.events} new event(s) from {report.journals} journal(s) to {store.location}"
    )
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the store's schema (the team store's when one is configured); safe to repeat."""
    from .config import resolve_store_dir, team_store_url

    if getattr(args, "team_store", None) or team_store_url(resolve_store_dir(args.store)):
        store = _team_store(args)
        version = store.migrate()
        print(f"{store.location}: schema version {version}")
        return 0
    store = _store(args)
    store.ingest()
    print(f"{store.db_path}: schema version {store.health()['schema_version']}")
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    """Bind registry roles to team store users: a bound store accepts a transition only from the
    database user it connects as, in a role bound to that user."""
    from .registry.lifecycle import ROLES

    store = _team_store(args)
    if args.action == "list":
        df = store.role_bindings()
        print(
            df.to_string(index=False)
            if len(df)
            else "(no roles bound: any actor may take any role)"
        )
        return 0
    if not args.user or not args.role:
        raise UsageError(
            f"roles {args.action} needs USER and ROLE, e.g. roles {args.action} alice reviewer"
        )
    if args.role not in ROLES:
        raise UsageError(f"unknown role {args.role!r}; roles are {', '.join(ROLES)}")
    if args.action == "grant":
        store.bind_role(args.user, args.role, granted_by=store.current_user())
        print(f"{args.user} may now act as {args.role}")
    elif not store.unbind_role(args.user, args.role):
        raise UsageError(f"{args.user} does not hold the role {args.role}")
    else:
        print(f"{args.user} no longer acts as {args.role}")
    return 0


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


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check a store: permissions, disk space, journals' chains and unreadable lines, whether the
    database opens, its schema version, what is not ingested yet, and who holds its lock."""
    from .checks.doctor import diagnose
    from .config import resolve_store_dir

    findings = diagnose(resolve_store_dir(args.store))
    if args.json:
        print(json.dumps([f.to_json() for f in findings]))
    else:
        for f in findings:
            print(f"{f.status:<8} {f.check}: {f.detail}")
            if f.fix and f.status != "ok":
                print(f"{'':<8} fix: {f.fix}")
    return 1 if any(f.status == "error" for f in findings) else 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Hide an execution's source, error text, value summaries and the annotations on it from every
    view and export (the journal keeps the original lines)."""
    from .session import use_store
    from .store.base import resolve_execution

    store = _store(args)
    execution_id = resolve_execution(store, args.execution_id)
    use_store(args.store).forget(execution_id, args.reason)
    store.ingest()
    print(f"forgot execution {execution_id}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check the journals' hash chains, that ingested events match their journal lines, and that
    stored artifacts and recorded files still have their SHA-256 (changed data files are listed,
    not failed)."""
    from .checks.verify import verify_store

    report = verify_store(_store(args))
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        sys.stdout.write(report.render_text())
    return 0 if report.ok else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Write a notebook that reproduces TARGET from its recorded upstream cells; with --run, execute
    it in a fresh kernel, capture the re-run, and compare every result with the original."""
    from .reproduce import reproduce

    result = reproduce(
        args.target,
        store=_store(args),
        output=args.output,
        run=args.run,
        cwd=args.cwd,
        timeout=args.timeout,
        progress=args.run and not args.quiet and not args.json,
    )
    if args.json:
        print(json.dumps(result.to_dict(), default=str, ensure_ascii=False))
    else:
        sys.stdout.write(result.render_text())
    return result.exit_code


def cmd_diff(args: argparse.Namespace) -> int:
    """What differs between two runs, and so why their results may differ: code, parameters,
    input data and environment."""
    from .reproduce import diff_targets
    from .reproduce.diff import render_html, render_json, render_text

    result = diff_targets(args.a, args.b, store=_store(args), upstream=not args.no_upstream)
    render = {"json": render_json, "html": render_html}.get(args.format, render_text)
    _emit_text(render(result), args.output)
    return 0 if result.same else 1


def cmd_run(args: argparse.Namespace) -> int:
    """Execute a notebook headless with capture, then print what was captured."""
    from .reproduce.runner import run_notebook

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
    print(_next_commands(result.store_dir, result.models))
    return 0 if result.ok else 1


def _next_commands(store_dir: Path, models: list[str]) -> str:
    """What to type next, verbatim from here: the run's store named, its models' cards."""
    import re

    store = shlex.quote(_shown_path(store_dir, Path.cwd().resolve()))
    prefix = f"jupyter-lineage --store {store}"
    lines = ["next:", f"  {prefix} info"]
    for model in models:
        page = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-") or "model"
        lines.append(f"  {prefix} card {shlex.quote(model)} -o {shlex.quote(page + '-card.html')}")
        lines.append(f"  {prefix} graph upstream {shlex.quote('model:' + model)}")
    if not models:
        lines.append(f"  {prefix} verify")
        lines.append(f"  {prefix} graph html -o lineage.html")
    return "\n".join(lines)


def cmd_stale(args: argparse.Namespace) -> int:
    """Which cells' results, and which model versions, are out of date, and why: a file they read
    changed, their code in the notebook changed, something upstream did, or (the weaker
    `environment` level) the packages the notebook imports moved. Exits 1 when something is stale."""
    from .graph.staleness import stale
    from .store.stale import recorded_notebooks

    store = _store(args)
    if args.notebook:
        notebooks = [os.path.abspath(args.notebook)]
    else:
        notebooks = [n for n in recorded_notebooks(store) if os.path.isfile(n)]
        if not notebooks:
            raise UsageError(
                "no notebook of this store is on disk here; name one: jupyter-lineage stale NOTEBOOK"
            )
    reports = [stale(n, store=store) for n in notebooks]
    if args.json:
        body: Any = reports[0].to_dict() if args.notebook else [r.to_dict() for r in reports]
        print(json.dumps(body, indent=2, default=str))
    else:
        sys.stdout.write("\n".join(r.render_text() for r in reports))
    stale_anything = any(r.stale_cells or any(v.stale for v in r.versions) for r in reports)
    return 1 if stale_anything else 0


def _emit_text(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output} ({len(text.encode()):,} bytes)", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_card(args: argparse.Namespace) -> int:
    """Generate a model card from the record: self-contained HTML (offline, printable), JSON or Markdown."""
    from .cards import card_data, missing_sections
    from .cards.render import render_html, render_markdown

    _session(args)
    card = card_data(args.model)
    if args.check:
        missing = missing_sections(card)
        for section, how in missing:
            print(f"missing {section}: {how}")
        print(
            "the card is complete" if not missing else f"{len(missing)} required section(s) empty"
        )
        return 1 if missing else 0
    fmt = args.format or {".json": "json", ".md": "md"}.get(Path(args.output or "").suffix, "html")
    if fmt == "json":
        text = json.dumps(card, indent=2, default=str)
    elif fmt == "md":
        text = render_markdown(card)
    else:
        text = render_html(card)
    _emit_text(text, args.output)
    return 0


def cmd_bom(args: argparse.Namespace) -> int:
    """Write the CycloneDX 1.6 ML-BOM of a model version: the model with its modelCard, its datasets, its packages."""
    from .cards import bom

    _session(args)
    _emit_text(json.dumps(bom(args.model), indent=2), args.output)
    return 0


def cmd_openlineage(args: argparse.Namespace) -> int:
    """Emit OpenLineage RunEvents (START, then COMPLETE/FAIL/ABORT) for captured executions, one per line."""
    from .cards import openlineage_events

    _session(args)
    events = openlineage_events(args.since)
    _emit_text("".join(json.dumps(ev, default=str) + "\n" for ev in events), args.output)
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    """The model registry (see ``jupyter-lineage model --help``)."""
    from .registry.commands import run

    _session(args)
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


STORE_HELP = (
    "store directory (default: $JUPYTER_LINEAGE_DIR, else the nearest .lineage here or in a "
    "parent directory, else the only one below here)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-lineage",
        description="Query and manage a jupyter-lineage store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jupyter-lineage {__version__}")
    parser.add_argument("--store", metavar="DIR", help=STORE_HELP)
    parser.add_argument(
        "--team-store",
        metavar="URL",
        help="PostgreSQL team store to query and ship to "
        "(default: $JUPYTER_LINEAGE_STORE, or `store` in the store's config.toml)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "sync",
        help="ship journal events to the team store",
        description=cmd_sync.__doc__,
        epilog="example: JUPYTER_LINEAGE_STORE=postgresql://me@db.example.org/lineage jupyter-lineage sync",
    )
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser(
        "migrate",
        help="create or upgrade the store's schema",
        description=cmd_migrate.__doc__,
        epilog="example: jupyter-lineage --team-store postgresql://admin@db.example.org/lineage migrate",
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "roles",
        help="bind registry roles to team store users",
        description=" ".join((cmd_roles.__doc__ or "").split()),
        epilog="example: jupyter-lineage roles grant alice reviewer",
    )
    p.add_argument("action", choices=["list", "grant", "revoke"])
    p.add_argument("user", nargs="?", help="a database user of the team store")
    p.add_argument("role", nargs="?", help="a registry role (owner, reviewer, ...)")
    p.set_defaults(func=cmd_roles)

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
        "doctor",
        help="diagnose the store: journals, database, schema, disk, lock, permissions",
        description=" ".join((cmd_doctor.__doc__ or "").split()),
        epilog="example: jupyter-lineage --store notebooks/.lineage doctor",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "forget",
        help="hide an execution's texts from every view",
        description=" ".join((cmd_forget.__doc__ or "").split()),
        epilog='example: jupyter-lineage forget 3f2a9c --reason "pasted a key"',
    )
    p.add_argument("execution_id", metavar="EXECUTION_ID", help="an execution id or unique prefix")
    p.add_argument("--reason", help="why, recorded with it")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser(
        "verify",
        help="check journals, ingested events, stored artifacts and recorded files",
        description=" ".join((cmd_verify.__doc__ or "").split()),
        epilog="example: jupyter-lineage verify --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "reproduce",
        help="write (and with --run, run and compare) a notebook reproducing a result",
        description=" ".join((cmd_reproduce.__doc__ or "").split()),
        epilog="examples:\n"
        "  jupyter-lineage reproduce model:churn --run\n"
        "  jupyter-lineage reproduce churn@1.0.0 -o churn-again.ipynb\n"
        "  jupyter-lineage reproduce churn-again.ipynb --run --cwd ../data-copy\n\n"
        "Exits 1 when the re-run differs from the original.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        help="model:NAME, NAME@VERSION, experiment:NAME, an execution id (or prefix), "
        "or a notebook reproduce wrote",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="the notebook to write")
    p.add_argument("--run", action="store_true", help="execute it with nbclient and compare")
    p.add_argument(
        "--cwd", metavar="DIR", help="run in DIR (default: the original notebook's directory)"
    )
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-cell progress")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "diff",
        help="what differs between two runs: code, parameters, input data, environment",
        description=" ".join((cmd_diff.__doc__ or "").split()),
        epilog="examples:\n"
        "  jupyter-lineage diff experiment:depth-4 experiment:depth-8\n"
        "  jupyter-lineage diff churn@1.0.0 churn@1.1.0 --format html -o churn-diff.html\n\n"
        "RUN_A and RUN_B are execution ids (or prefixes), experiment:NAME, model:NAME or "
        "NAME@VERSION. Exits 1 when they differ.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="RUN_A")
    p.add_argument("b", metavar="RUN_B")
    p.add_argument("--format", choices=["text", "json", "html"], default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--no-upstream",
        action="store_true",
        help="compare only the named executions, not the cells they depend on",
    )
    p.set_defaults(func=cmd_diff)

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

    p = sub.add_parser(
        "stale",
        help="which cells and model versions are out of date, and why",
        description=" ".join((cmd_stale.__doc__ or "").split()),
        epilog="examples:\n"
        "  jupyter-lineage stale notebooks/quickstart.ipynb\n"
        "  jupyter-lineage stale analysis.ipynb --json\n\n"
        "Without NOTEBOOK, every notebook the store has runs of that is on disk here.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("notebook", nargs="?", metavar="NOTEBOOK", help="the .ipynb to check")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stale)

    p = sub.add_parser(
        "card",
        help="a model card as HTML, JSON or Markdown; --check for CI",
        description=cmd_card.__doc__,
        epilog="example: jupyter-lineage card churn@1.0.0 -o card.html   |   jupyter-lineage card churn --check",
    )
    p.add_argument("model", help="[GROUP/]NAME[@VERSION], or a name used with %%%%lineage --model")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (format from the extension: .html .json .md)",
    )
    p.add_argument(
        "--format",
        choices=["html", "json", "md"],
        help="output format (default: from -o, else html)",
    )
    p.add_argument(
        "--check", action="store_true", help="list empty required sections; exit 1 if any"
    )
    p.set_defaults(func=cmd_card)

    p = sub.add_parser(
        "bom",
        help="the AI bill of materials (CycloneDX 1.6 JSON) of a model version",
        description=cmd_bom.__doc__,
        epilog="example: jupyter-lineage bom churn@1.0.0 -o bom.json",
    )
    p.add_argument("model", help="[GROUP/]NAME[@VERSION]")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_bom)

    p = sub.add_parser(
        "openlineage",
        help="OpenLineage run events for captured executions (JSON lines)",
        description=cmd_openlineage.__doc__,
        epilog="example: jupyter-lineage openlineage --since 2026-01-01 -o events.jsonl",
    )
    p.add_argument(
        "--since", help="only executions started at or after this time (ISO date or timestamp)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_openlineage)

    from .registry.commands import add_model_commands

    add_model_commands(sub)
    sub.choices["model"].set_defaults(func=cmd_model)
    _add_graph_commands(sub)
    _accept_store_after_command(parser)
    return parser


def _accept_store_after_command(parser: argparse.ArgumentParser) -> None:
    """Let every command take ``--store`` after its name too (``jupyter-lineage info --store X``).

    Its default is suppressed, so a command's parser leaves the global option's value alone
    unless the option is given after the command's name.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in action.choices.values():
            if not any("--store" in a.option_strings for a in command._actions):
                command.add_argument(
                    "--store", metavar="DIR", default=argparse.SUPPRESS, help=STORE_HELP
                )
            _accept_store_after_command(command)


# -- the lineage graph -------------------------------------------------------------

GRAPH_EPILOG = """examples:
  jupyter-lineage graph upstream model:churn-logreg
  jupyter-lineage graph impact file:data/customers.csv
  jupyter-lineage graph training-data churn-logreg --format json
  jupyter-lineage graph html model:churn-logreg --upstream -o churn-lineage.html

TARGET is an execution id (or a unique prefix), var:NAME, file:PATH, model:NAME[@VERSION],
a cell name from %%lineage --name, or a node id from the lineage_nodes view.
"""

# Columns shown in table format; --format json has them all.
_GRAPH_TABLE_COLUMNS = {
    "upstream": ["depth", "kind", "name", "status", "created_at", "node_id"],
    "downstream": ["depth", "kind", "name", "status", "created_at", "node_id"],
    "impact": ["created_at", "kind", "name", "status", "depth", "node_id"],
    "path": ["step", "edge", "kind", "name", "status", "node_id"],
    "training-data": ["depth", "kind", "name", "type_name", "shape", "path", "version", "node_id"],
}


def cmd_graph(args: argparse.Namespace) -> int:
    """Lineage graph queries: upstream, downstream, impact, path, training data, HTML figure."""
    from . import graph

    store = _store(args)
    command = args.graph_command
    if command == "html":
        direction = "upstream" if args.upstream else "downstream" if args.downstream else "both"
        fig = graph.figure(
            args.target,
            direction=direction,
            depth=args.depth,
            failed=args.failed,
            all_runs=args.all_runs,
            kinds=graph.KINDS if args.all_kinds else graph.DEFAULT_KINDS,
            transient=args.transient,
            store=store,
        )
        out = Path(args.output)
        out.write_text(
            fig.to_html(
                include_plotlyjs=True,
                full_html=True,
                config={"scrollZoom": True, "displaylogo": False},
            ),
            encoding="utf-8",
        )
        print(f"wrote {out} ({fig.layout.title.text})")
        return 0
    if command == "upstream":
        df = graph.upstream(args.target, args.depth, store=store)
    elif command == "downstream":
        df = graph.downstream(args.target, args.depth, store=store)
    elif command == "impact":
        df = graph.impact(args.target, store=store)
    elif command == "path":
        df = graph.path(args.a, args.b, store=store)
    else:
        df = graph.training_data(args.model, store=store)
    if args.format == "json":
        sys.stdout.write(df.to_json(orient="records", date_format="iso", default_handler=str))
        sys.stdout.write("\n")
        return 0
    if command == "training-data" and len(df):
        print(f"model version: {df['model_version'].iloc[0]}")
    if command == "path" and not len(df):
        print(f"no path between {args.a} and {args.b}")
        return 0
    import pandas as pd

    shown = df[_GRAPH_TABLE_COLUMNS[command]].astype(object)
    shown = shown.where(shown.notna(), "")
    if "created_at" in shown:
        shown["created_at"] = shown["created_at"].astype(str).str.slice(0, 19)
    with pd.option_context(
        "display.max_rows", None, "display.width", 250, "display.max_colwidth", 100
    ):
        print(shown.to_string(index=False) if len(shown) else "(none)")
    return 0


def _graph_depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--depth takes a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--depth must be 1 or more, not {value}")
    return value


def _add_graph_commands(sub: Any) -> None:
    """``jupyter-lineage graph ...``: the lineage graph queries and its HTML figure."""
    group = sub.add_parser(
        "graph",
        help="lineage graph: upstream, downstream, impact, path, training data, HTML",
        description=cmd_graph.__doc__,
        epilog=GRAPH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.set_defaults(func=cmd_graph)
    graph_sub = group.add_subparsers(dest="graph_command", metavar="QUERY", required=True)

    def query(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        p = graph_sub.add_parser(
            name, help=help_text, description=help_text, epilog=f"example: {example}"
        )
        p.add_argument("--format", choices=["table", "json"], default="table")
        return p

    for name, what in (
        ("upstream", "everything TARGET was made from, nearest first"),
        ("downstream", "everything made from TARGET, nearest first"),
    ):
        p = query(name, what, f"jupyter-lineage graph {name} model:churn-logreg --depth 4")
        p.add_argument("target", metavar="TARGET")
        p.add_argument("--depth", type=_graph_depth, metavar="N", help="stop N edges away")
    p = query(
        "impact",
        "the executions and model versions to re-run if TARGET (a file or dataset) changes",
        "jupyter-lineage graph impact file:data/customers.csv",
    )
    p.add_argument("target", metavar="TARGET")
    p = query(
        "path",
        "the shortest chain of edges between A and B (either way round)",
        "jupyter-lineage graph path file:data/customers.csv model:churn-logreg",
    )
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p = query(
        "training-data",
        "the file and data versions a model version was trained from",
        "jupyter-lineage graph training-data churn-logreg",
    )
    p.add_argument("model", metavar="MODEL", help="NAME, NAME@VERSION or any TARGET")
    p = graph_sub.add_parser(
        "html",
        help="write the interactive figure as a self-contained, offline HTML file",
        description="Write the lineage figure around TARGET (default: the whole store) "
        "as one HTML file with plotly embedded.",
        epilog="example: jupyter-lineage graph html model:churn-logreg --upstream -o lineage.html",
    )
    p.add_argument("target", metavar="TARGET", nargs="?")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--upstream", action="store_true", help="only what TARGET was made from")
    way.add_argument("--downstream", action="store_true", help="only what was made from TARGET")
    p.add_argument("--depth", type=_graph_depth, metavar="N", help="stop N edges away")
    p.add_argument("--failed", action="store_true", help="add the failed runs of the cells shown")
    p.add_argument("--all-runs", action="store_true", help="draw every re-run of a cell")
    p.add_argument(
        "--transient",
        action="store_true",
        help="also draw values no other run read (loop variables, temporaries)",
    )
    p.add_argument(
        "--all-kinds", action="store_true", help="also draw environments and code versions"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if args.command == "stale" and args.notebook and not args.store:
            # A notebook's own store, where its kernels write, as `run` puts it.
            from .config import resolve_store_dir

            args.store = str(resolve_store_dir(None, os.path.abspath(args.notebook)))
            args.beside_notebook = True  # none there yet: every cell is "never captured"
        if args.command != "run":  # run puts the store beside its notebook, as a kernel does
            _locate_store(args)
        with _unit_of_work(args):
            return int(args.func(args) or 0)
    except LineageError as exc:
        print(f"jupyter-lineage: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
