"""What the JupyterLab sidebar shows of a notebook, read in SQL over the documented views.

A notebook's runs are those kernels recorded under one of its absolute paths
(``runs.notebook_path``: usually one; two when the server root is reached through a
symbolic link) and those of kernel sessions that recorded its key
(``runs.notebook_key``, ``config.notebook_key``: the same for every checkout of a
repository, so a team store finds teammates' runs of it on other machines). Sessions
recorded before keys were match by path only. Every statement is a constant with
parameters. Results are plain
Python records (lists for list columns, ``None`` for missing values); the first
query of a request ingests new journal lines, the rest read what it ingested.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .rows import records

if TYPE_CHECKING:
    from . import Store

RUN_STATUSES = ("ok", "failed", "interrupted", "incomplete")

# Whether run {r} is one of the notebook's: by its path on this machine, or by the
# notebook's key (its session's, which `runs` reads from the run's own row).
_OF_NOTEBOOK = """(list_contains($paths::VARCHAR[], {r}notebook_path) OR {r}notebook_key = $key)"""

# One timeline entry: what a list of runs needs, without the source or traceback.
_TIMELINE_SQL = f"""
WITH cursor AS (
    SELECT started_at, execution_id FROM runs WHERE execution_id = $before
)
SELECT
    r.execution_id, r.session_id, r.cell_id, r.execution_count, r.name, r.tags, r.model,
    r.status, r.started_at, r.ended_at, r.duration_ms, r.error_type, r.error_message,
    r.experiment_id, r.mode, r.author,
    left(split_part(trim(r.source, chr(10) || ' '), chr(10), 1), 200) AS first_line,
    (SELECT count(DISTINCT l.annotation_id) FROM annotation_links l
     WHERE l.target_type = 'execution' AND l.target = r.execution_id) AS annotation_count
FROM runs r
WHERE {_OF_NOTEBOOK.format(r="r.")}
  AND ($status IS NULL OR r.status = $status)
  AND ($author IS NULL OR r.author = $author)
  AND ($tag IS NULL OR list_contains(r.tags, $tag))
  AND ($before IS NULL OR EXISTS (
      SELECT 1 FROM cursor c
      WHERE r.started_at < c.started_at
         OR (r.started_at = c.started_at AND r.execution_id < c.execution_id)))
ORDER BY r.started_at DESC, r.execution_id DESC
LIMIT $limit
"""

_NOTEBOOK_COUNTS_SQL = f"""
SELECT
    count(*) AS total,
    count(*) FILTER (WHERE status IN ('failed', 'interrupted')) AS failed,
    max(started_at) AS last_started_at
FROM runs WHERE {_OF_NOTEBOOK.format(r="")}
"""

_NOTEBOOK_TAGS_SQL = f"""
SELECT DISTINCT tag FROM (
    SELECT unnest(tags) AS tag FROM runs WHERE {_OF_NOTEBOOK.format(r="")}
) ORDER BY tag
"""

_NOTEBOOK_AUTHORS_SQL = f"""
SELECT DISTINCT author FROM runs
WHERE {_OF_NOTEBOOK.format(r="")} AND author IS NOT NULL
ORDER BY author
"""

# The notebook's kernel sessions among ``$sessions``: when each started, where and on which
# Python it ran, its runs and failures (all of them, whatever the timeline's filters), and
# what changed in its environment since the notebook's previous session (its last
# environment against this one's first): Python, git commit and packages, by name.
# Environment ids are content hashes, so equal ids mean nothing changed.
_NOTEBOOK_SESSIONS_SQL = f"""
WITH per_session AS (
    SELECT
        session_id,
        min(started_at) AS first_run_at,
        max(started_at) AS last_run_at,
        count(*) AS runs,
        count(*) FILTER (WHERE status IN ('failed', 'interrupted')) AS failed,
        arg_min(environment_id, started_at) FILTER (WHERE environment_id IS NOT NULL)
            AS first_environment,
        arg_max(environment_id, started_at) FILTER (WHERE environment_id IS NOT NULL)
            AS last_environment
    FROM runs
    WHERE {_OF_NOTEBOOK.format(r="")}
    GROUP BY session_id
),
ordered AS (
    SELECT
        p.*,
        coalesce(s.started_at, p.first_run_at) AS started_at,
        s.hostname,
        s.ipython_version,
        s.author,
        row_number() OVER w AS number,
        lag(p.session_id) OVER w AS previous_session,
        lag(p.last_environment) OVER w AS previous_environment
    FROM per_session p
    LEFT JOIN sessions s USING (session_id)
    WINDOW w AS (ORDER BY coalesce(s.started_at, p.first_run_at), p.session_id)
),
shown AS (
    SELECT * FROM ordered WHERE list_contains($sessions::VARCHAR[], session_id)
),
compared AS (
    SELECT session_id, previous_environment AS before_env, first_environment AS after_env
    FROM shown
    WHERE previous_environment IS NOT NULL AND first_environment IS NOT NULL
      AND previous_environment <> first_environment
),
package_changes AS (
    SELECT
        coalesce(b.session_id, a.session_id) AS session_id,
        coalesce(b.name, a.name) AS name,
        b.version AS before,
        a.version AS after
    FROM (SELECT c.session_id, k.name, k.version
          FROM compared c JOIN packages k ON k.environment_id = c.before_env) b
    FULL JOIN (SELECT c.session_id, k.name, k.version
               FROM compared c JOIN packages k ON k.environment_id = c.after_env) a
        ON a.session_id = b.session_id AND a.name = b.name
    WHERE b.version IS DISTINCT FROM a.version
),
package_lists AS (
    SELECT
        session_id,
        count(*) AS package_change_count,
        list({{'name': name, 'before': before, 'after': after}} ORDER BY name) AS packages
    FROM package_changes
    GROUP BY session_id
)
SELECT
    o.session_id, o.number, o.started_at, o.first_run_at, o.last_run_at, o.runs, o.failed,
    o.hostname, o.ipython_version, o.author, o.previous_session,
    e.python_version,
    o.first_environment AS environment_id,
    CASE
        WHEN o.previous_session IS NULL THEN NULL
        WHEN o.previous_environment IS NULL OR o.first_environment IS NULL THEN NULL
        ELSE o.previous_environment <> o.first_environment
    END AS environment_changed,
    CASE WHEN pe.python_version IS DISTINCT FROM e.python_version THEN pe.python_version END
        AS previous_python_version,
    CASE WHEN pe.git_commit IS DISTINCT FROM e.git_commit THEN pe.git_commit END
        AS previous_git_commit,
    CASE WHEN pe.environment_id IS NOT NULL AND pe.git_commit IS DISTINCT FROM e.git_commit
         THEN e.git_commit END AS git_commit,
    coalesce(l.package_change_count, 0) AS package_change_count,
    coalesce(l.packages[1:$most_packages], []) AS package_changes
FROM shown o
LEFT JOIN environments e ON e.environment_id = o.first_environment
LEFT JOIN environments pe
    ON pe.environment_id = o.previous_environment AND o.previous_environment <> o.first_environment
LEFT JOIN package_lists l USING (session_id)
ORDER BY o.started_at DESC, o.session_id DESC
"""

_ANNOTATION_COLUMNS = """
a.annotation_id, a.thread_id, a.revises, a.revision, a.kind, a.text, a.author, a.created_at,
a.experiment_id, a.question, a.template, a.session_id, a.targets
"""

_EXECUTION_ANNOTATIONS_SQL = f"""
SELECT {_ANNOTATION_COLUMNS}
FROM annotations a
WHERE a.annotation_id IN (
    SELECT annotation_id FROM annotation_links
    WHERE target_type = 'execution' AND target = $execution)
ORDER BY a.created_at DESC, a.annotation_id
"""

_NOTEBOOK_ANNOTATIONS_SQL = f"""
SELECT {_ANNOTATION_COLUMNS}
FROM annotations a
WHERE a.annotation_id IN (
        SELECT l.annotation_id FROM annotation_links l JOIN runs r ON l.target = r.execution_id
        WHERE l.target_type = 'execution' AND {_OF_NOTEBOOK.format(r="r.")})
   OR a.session_id IN (
        SELECT session_id FROM sessions
        WHERE list_contains($paths::VARCHAR[], notebook_path) OR notebook_key = $key)
ORDER BY a.created_at DESC, a.annotation_id
LIMIT $limit
"""


def notebook_executions(
    store: Store,
    notebook_paths: Sequence[str],
    *,
    notebook_key: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """A page of a notebook's captured executions, newest first.

    Args:
        notebook_paths: the notebook's absolute paths as recorded.
        notebook_key: its key (``config.notebook_key``), or None to match by path only.
        status: only runs with this status (``ok``, ``failed``, ``interrupted``, ``incomplete``).
        tag: only runs with this ``--tag``.
        author: only runs of sessions with this author (``runs.author``).
        limit: at most this many rows.
        before: an execution id: only runs that started before it (the next page).
    """
    return records(
        store.query(
            _TIMELINE_SQL,
            {
                "paths": list(notebook_paths),
                "key": notebook_key,
                "status": status,
                "tag": tag,
                "author": author,
                "limit": limit,
                "before": before,
            },
        )
    )


def notebook_counts(
    store: Store, notebook_paths: Sequence[str], *, notebook_key: str | None = None
) -> dict[str, Any]:
    """How many runs a notebook has, how many did not succeed, the latest start, its tags
    and the authors of its runs."""
    params = {"paths": list(notebook_paths), "key": notebook_key}
    counts = records(store.query(_NOTEBOOK_COUNTS_SQL, params, ingest=False))[0]
    tags = store.query(_NOTEBOOK_TAGS_SQL, params, ingest=False)
    counts["tags"] = [str(t) for t in tags["tag"]]
    authors = store.query(_NOTEBOOK_AUTHORS_SQL, params, ingest=False)
    counts["authors"] = [str(a) for a in authors["author"]]
    return counts


def notebook_sessions(
    store: Store,
    notebook_paths: Sequence[str],
    session_ids: Sequence[str],
    *,
    notebook_key: str | None = None,
    most_packages: int = 8,
) -> list[dict[str, Any]]:
    """The notebook's kernel sessions among ``session_ids``, newest first: ``number`` (1 for
    the notebook's first session), when it started, its host, Python and IPython, ``runs``
    and ``failed`` (all its runs of the notebook), and what changed since the notebook's
    previous session: ``environment_changed`` (None for the first session, or when an
    environment was not recorded), ``previous_python_version``, ``previous_git_commit`` and
    ``git_commit`` when they changed, and up to ``most_packages`` of the
    ``package_change_count`` packages whose version changed (``name``, ``before``,
    ``after``; None where the package was not installed)."""
    return records(
        store.query(
            _NOTEBOOK_SESSIONS_SQL,
            {
                "paths": list(notebook_paths),
                "key": notebook_key,
                "sessions": list(session_ids),
                "most_packages": most_packages,
            },
            ingest=False,
        )
    )


def execution_exists(store: Store, execution_id: str, *, ingest: bool = True) -> bool:
    """Whether an execution with exactly this id was captured."""
    df = store.query(
        "SELECT 1 FROM runs WHERE execution_id = ? LIMIT 1", [execution_id], ingest=ingest
    )
    return not df.empty


def execution(store: Store, execution_id: str) -> dict[str, Any] | None:
    """The ``runs`` row of one execution, or ``None``."""
    rows = records(store.query("SELECT * FROM runs WHERE execution_id = ?", [execution_id]))
    return rows[0] if rows else None


def execution_values(store: Store, execution_id: str) -> dict[str, list[dict[str, Any]]]:
    """The values an execution read (``inputs``) and wrote (``outputs``), by name."""
    inputs = store.query(
        "SELECT name, type_name, fingerprint, fingerprint_kind, shape, length, summary, note "
        "FROM cell_inputs WHERE execution_id = ? ORDER BY name",
        [execution_id],
        ingest=False,
    )
    outputs = store.query(
        "SELECT name, action, type_name, fingerprint, fingerprint_kind, shape, length, summary, "
        "note FROM cell_outputs WHERE execution_id = ? ORDER BY name",
        [execution_id],
        ingest=False,
    )
    return {"inputs": records(inputs), "outputs": records(outputs)}


def execution_files(store: Store, execution_id: str) -> list[dict[str, Any]]:
    """The files an execution read and wrote."""
    return records(
        store.query(
            "SELECT path, access, size, sha256, note FROM files WHERE execution_id = ? "
            "ORDER BY path",
            [execution_id],
            ingest=False,
        )
    )


def execution_measurements(store: Store, execution_id: str) -> dict[str, list[dict[str, Any]]]:
    """The metrics and parameters logged on an execution."""
    metrics = store.query(
        "SELECT name, value, step, logged_at FROM metrics WHERE execution_id = ? "
        "ORDER BY logged_at, name",
        [execution_id],
        ingest=False,
    )
    params = store.query(
        "SELECT name, value, logged_at FROM params WHERE execution_id = ? ORDER BY logged_at, name",
        [execution_id],
        ingest=False,
    )
    return {"metrics": records(metrics), "params": records(params)}


def environment_summary(store: Store, environment_id: str) -> dict[str, Any] | None:
    """The environment an execution ran in, without its package list (``package_count`` says
    how long it is)."""
    rows = records(
        store.query(
            """
            SELECT environment_id, captured_at, python_version, python_implementation,
                   python_executable, platform, os_name, os_release, machine, hostname, cpu_model,
                   cpu_count, ram_bytes, git_commit, git_branch, git_dirty, git_diff_sha256,
                   git_remote,
                   package_count
            FROM environments WHERE environment_id = ?
            """,
            [environment_id],
            ingest=False,
        )
    )
    return rows[0] if rows else None


def execution_annotations(
    store: Store, execution_id: str, *, ingest: bool = False
) -> list[dict[str, Any]]:
    """The current annotations linked to an execution, newest first."""
    return records(
        store.query(_EXECUTION_ANNOTATIONS_SQL, {"execution": execution_id}, ingest=ingest)
    )


def notebook_annotations(
    store: Store,
    notebook_paths: Sequence[str],
    *,
    notebook_key: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The current annotations about a notebook, newest first: those linked to one of its
    executions and those written in one of its kernel sessions."""
    return records(
        store.query(
            _NOTEBOOK_ANNOTATIONS_SQL,
            {"paths": list(notebook_paths), "key": notebook_key, "limit": limit},
        )
    )


def annotation(store: Store, annotation_id: str) -> dict[str, Any] | None:
    """One revision of an annotation, current or not, with ``is_current``."""
    rows = records(
        store.query(
            f"SELECT {_ANNOTATION_COLUMNS}, a.superseded_by, a.is_current "
            "FROM annotation_history a WHERE a.annotation_id = ?",
            [annotation_id],
        )
    )
    return rows[0] if rows else None


def repeated_annotation(store: Store, annotation_id: str) -> dict[str, Any] | None:
    """The visible annotation that a stored repeat (same kind, text, author and targets) repeats."""
    rows = records(
        store.query(
            f"""
            WITH r AS (
                SELECT a.annotation_id, a.kind, a.text, a.author, a.question, a.template,
                       coalesce((SELECT list(t.target_type || ':' || t.target ORDER BY t.ordinal)
                                 FROM annotation_targets t
                                 WHERE t.annotation_id = a.annotation_id), []) AS target_keys
                FROM annotation_records a WHERE a.annotation_id = ?
            )
            SELECT {_ANNOTATION_COLUMNS}, a.superseded_by, a.is_current
            FROM annotation_history a, r
            WHERE a.is_current AND a.kind = r.kind AND a.text = r.text
              AND a.author IS NOT DISTINCT FROM r.author
              AND a.question IS NOT DISTINCT FROM r.question
              AND a.template IS NOT DISTINCT FROM r.template
              AND coalesce((SELECT list(t.target_type || ':' || t.target ORDER BY t.ordinal)
                             FROM annotation_targets t
                             WHERE t.annotation_id = a.annotation_id), []) = r.target_keys
            ORDER BY a.created_at DESC
            LIMIT 1
            """,
            [annotation_id],
        )
    )
    return rows[0] if rows else None


def model_overview(store: Store) -> list[dict[str, Any]]:
    """Every model a card can be made for: the registered ones (``model_registry`` with their
    versions, oldest first) and the ``--model`` names of captured cells not registered yet."""
    registered = records(
        store.query(
            """
            SELECT m.model_id, m.name, m.group_name, m.description, m.owners, m.risk_tier, m.tags,
                   m.retired, m.created_at, m.updated_at, m.version_count,
                   coalesce((SELECT list({'version': v.version, 'state': v.state,
                                          'created_at': v.created_at} ORDER BY v.created_at)
                             FROM model_versions v WHERE v.model_id = m.model_id), [])
                       AS versions
            FROM model_registry m
            ORDER BY m.name, m.group_name
            """
        )
    )
    for model in registered:
        model["registered"] = True
    captured = records(
        store.query(
            """
            SELECT model AS name, count(*) AS run_count, max(started_at) AS last_run_at
            FROM runs
            WHERE model IS NOT NULL AND model NOT IN (SELECT name FROM model_registry)
            GROUP BY model ORDER BY model
            """,
            ingest=False,
        )
    )
    for model in captured:
        model.update(registered=False, versions=[])
    return registered + captured
