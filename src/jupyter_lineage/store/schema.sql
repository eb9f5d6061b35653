-- jupyter-lineage store schema (its version is SCHEMA_VERSION in store/duckdb.py).
-- Tables are append-only and filled only by ingesting journals; views are the
-- documented query surface (docs/reference/views.md: its column meanings are in
-- docs/reference/views.yml, and a test fails when the two disagree).

CREATE TABLE IF NOT EXISTS schema_info (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS journal_offsets (
    journal     VARCHAR PRIMARY KEY,
    byte_offset BIGINT NOT NULL,
    last_hash   VARCHAR,
    last_seq    BIGINT,
    updated_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS ingest_problems (
    journal     VARCHAR,
    byte_offset BIGINT,
    problem     VARCHAR,
    seen_at     TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS events (
    event_id    VARCHAR NOT NULL,
    journal     VARCHAR NOT NULL,
    byte_offset BIGINT NOT NULL,
    seq         BIGINT,
    ts          TIMESTAMPTZ,
    type        VARCHAR,
    session_id  VARCHAR,
    line_hash   VARCHAR,
    redactions  VARCHAR[]
);

CREATE TABLE IF NOT EXISTS sessions (
    session_id      VARCHAR,
    event_id        VARCHAR,
    started_at      TIMESTAMPTZ,
    pid             BIGINT,
    user_name       VARCHAR,
    hostname        VARCHAR,
    notebook_path   VARCHAR,
    working_dir     VARCHAR,
    lineage_version VARCHAR,
    ipython_version VARCHAR,
    -- Who ran the session (Session.author) and the notebook's name on every machine
    -- (config.notebook_key); NULL in sessions recorded before they were.
    author          VARCHAR,
    notebook_key    VARCHAR
);

CREATE TABLE IF NOT EXISTS executions (
    execution_id    VARCHAR,
    event_id        VARCHAR,
    session_id      VARCHAR,
    execution_count BIGINT,
    notebook_path   VARCHAR,
    cell_id         VARCHAR,
    source          VARCHAR,
    source_hash     VARCHAR,
    name            VARCHAR,
    tags            VARCHAR[],
    model           VARCHAR,
    base_model      VARCHAR,
    note            VARCHAR,
    mode            VARCHAR,
    capture_values  BOOLEAN,
    experiment_id   VARCHAR,
    started_at      TIMESTAMPTZ,
    redactions      VARCHAR[],
    -- The run's execution_results row, copied here by an ingest that brings a cell's
    -- start and end together (result_event_id is then set), so that most runs read
    -- without a join. A store may leave them empty: `runs` joins those rows instead.
    result_event_id        VARCHAR,
    result_execution_count BIGINT,
    result_ended_at        TIMESTAMPTZ,
    result_duration_ms     DOUBLE,
    result_status          VARCHAR,
    result_error_type      VARCHAR,
    result_error_message   VARCHAR,
    result_traceback       VARCHAR,
    result_environment_id  VARCHAR,
    result_seeds           JSON,
    result_capture_errors  VARCHAR[],
    result_redactions      VARCHAR[],
    -- Who ran the run's session and the notebook's key, copied from `sessions` with the
    -- result, so that a notebook's runs are found and filtered on this one table.
    author                 VARCHAR,
    notebook_key           VARCHAR
);

CREATE TABLE IF NOT EXISTS execution_results (
    execution_id    VARCHAR,
    event_id        VARCHAR,
    execution_count BIGINT,
    ended_at        TIMESTAMPTZ,
    duration_ms     DOUBLE,
    status          VARCHAR,
    error_type      VARCHAR,
    error_message   VARCHAR,
    traceback       VARCHAR,
    environment_id  VARCHAR,
    seeds           JSON,
    capture_errors  VARCHAR[],
    redactions      VARCHAR[],
    copied          BOOLEAN  -- true: also on its executions row (result_*)
);

-- The failed and interrupted runs among those whose result was copied onto their
-- executions row, as `runs` shows them: failed_attempts reads these few rows instead
-- of picking them out of every run.
CREATE TABLE IF NOT EXISTS failed_run_copies (
    execution_id    VARCHAR,
    session_id      VARCHAR,
    notebook_path   VARCHAR,
    cell_id         VARCHAR,
    execution_count BIGINT,
    name            VARCHAR,
    tags            VARCHAR[],
    model           VARCHAR,
    experiment_id   VARCHAR,
    source          VARCHAR,
    started_at      TIMESTAMPTZ,
    duration_ms     DOUBLE,
    status          VARCHAR,
    error_type      VARCHAR,
    error_message   VARCHAR,
    traceback       VARCHAR
);

CREATE TABLE IF NOT EXISTS value_records (
    execution_id     VARCHAR,
    event_id         VARCHAR,
    ordinal          INTEGER,
    name             VARCHAR,
    role             VARCHAR,
    action           VARCHAR,
    fingerprint      VARCHAR,
    fingerprint_kind VARCHAR,
    type_name        VARCHAR,
    shape            VARCHAR,
    length           BIGINT,
    summary          VARCHAR,
    note             VARCHAR
);

-- Shell commands a cell ran: `!cmd`, `%%bash` and the like (kind), as written.
CREATE TABLE IF NOT EXISTS command_records (
    execution_id VARCHAR,
    event_id     VARCHAR,
    ordinal      INTEGER,
    kind         VARCHAR,
    command      VARCHAR
);

CREATE TABLE IF NOT EXISTS file_records (
    execution_id VARCHAR,
    event_id     VARCHAR,
    ordinal      INTEGER,
    path         VARCHAR,
    access       VARCHAR,
    size         BIGINT,
    sha256       VARCHAR,
    note         VARCHAR,
    -- The version of the file that was hashed (NULL in records written before they were
    -- kept): whether it is still on disk is seen from these without reading it.
    mtime_ns     BIGINT,
    inode        BIGINT
);

CREATE TABLE IF NOT EXISTS environment_records (
    environment_id        VARCHAR,
    event_id              VARCHAR,
    captured_at           TIMESTAMPTZ,
    python_version        VARCHAR,
    python_implementation VARCHAR,
    python_executable     VARCHAR,
    platform              VARCHAR,
    os_name               VARCHAR,
    os_release            VARCHAR,
    machine               VARCHAR,
    hostname              VARCHAR,
    cpu_model             VARCHAR,
    cpu_count             INTEGER,
    ram_bytes             BIGINT,
    gpus                  JSON,
    git_commit            VARCHAR,
    git_branch            VARCHAR,
    git_dirty             BOOLEAN,
    git_diff_sha256       VARCHAR,
    git_remote            VARCHAR,
    container             JSON,
    env_vars              JSON,
    package_count         INTEGER
);

CREATE TABLE IF NOT EXISTS package_records (
    environment_id VARCHAR,
    name           VARCHAR,
    version        VARCHAR
);

CREATE TABLE IF NOT EXISTS annotation_records (
    annotation_id VARCHAR,
    event_id      VARCHAR,
    session_id    VARCHAR,
    thread_id     VARCHAR,
    revises       VARCHAR,
    kind          VARCHAR,
    text          VARCHAR,
    author        VARCHAR,
    created_at    TIMESTAMPTZ,
    experiment_id VARCHAR,
    question      VARCHAR,
    template      VARCHAR
);

CREATE TABLE IF NOT EXISTS annotation_targets (
    annotation_id VARCHAR,
    event_id      VARCHAR,
    ordinal       INTEGER,
    target_type   VARCHAR,
    target        VARCHAR,
    fingerprint   VARCHAR,
    sha256        VARCHAR
);

CREATE TABLE IF NOT EXISTS experiment_records (
    experiment_id     VARCHAR,
    event_id          VARCHAR,
    session_id        VARCHAR,
    name              VARCHAR,
    hypothesis        VARCHAR,
    success_criterion VARCHAR,
    notebook_path     VARCHAR,
    started_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS experiment_ends (
    experiment_id     VARCHAR,
    event_id          VARCHAR,
    ended_at          TIMESTAMPTZ,
    outcome           VARCHAR,
    declared_outcome  VARCHAR,
    evaluated_outcome VARCHAR,
    criterion_met     BOOLEAN,
    evaluation        VARCHAR,
    final_metrics     JSON
);

CREATE TABLE IF NOT EXISTS metric_records (
    event_id      VARCHAR,
    session_id    VARCHAR,
    execution_id  VARCHAR,
    experiment_id VARCHAR,
    name          VARCHAR,
    value         DOUBLE,
    step          BIGINT,
    logged_at     TIMESTAMPTZ
);

-- %lineage_forget: the execution's texts are blanked in the tables above when
-- this is ingested (and in rows ingested after it); the journals keep them.
CREATE TABLE IF NOT EXISTS forget_records (
    execution_id VARCHAR,
    event_id     VARCHAR,
    session_id   VARCHAR,
    reason       VARCHAR,
    forgotten_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS param_records (
    event_id      VARCHAR,
    session_id    VARCHAR,
    execution_id  VARCHAR,
    experiment_id VARCHAR,
    name          VARCHAR,
    value         JSON,
    logged_at     TIMESTAMPTZ
);

-- The SHA-256 of a large written file, computed after its cell: ingest completes the
-- file_records row it belongs to (whose note says it was pending) from it.
CREATE TABLE IF NOT EXISTS file_hash_records (
    event_id     VARCHAR,
    execution_id VARCHAR,
    path         VARCHAR,
    size         BIGINT,
    sha256       VARCHAR,
    note         VARCHAR,
    hashed_at    TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS dataset_records (
    event_id      VARCHAR,
    dataset_id    VARCHAR,
    execution_id  VARCHAR,
    experiment_id VARCHAR,
    name          VARCHAR,
    context       VARCHAR,
    digest        VARCHAR,
    digest_kind   VARCHAR,
    type_name     VARCHAR,
    shape         VARCHAR,
    row_count     BIGINT,
    column_count  BIGINT,
    schema        JSON,
    source        VARCHAR,
    note          VARCHAR,
    hashed_ms     DOUBLE,
    logged_at     TIMESTAMPTZ
);

-- Views: the documented, stable query surface.

-- One row per kernel session (a session reopened on the same journal starts it again):
-- who ran it, the OS user for sessions recorded before the author was, and the
-- notebook's name on every machine (README, "JupyterLab").
CREATE OR REPLACE VIEW _session_facts AS
SELECT
    session_id,
    any_value(coalesce(author, user_name)) AS author,
    any_value(notebook_key) AS notebook_key
FROM sessions
GROUP BY session_id;

-- Runs whose result ingest copied onto the executions row read that one table (with
-- the session's author and notebook key, copied with it); the others (a result that
-- came in a later ingest, or none yet) are joined. A run has one result (one cell_end
-- per execution_id) and one session: that is what makes the copies the joins.
CREATE OR REPLACE VIEW runs AS
SELECT
    e.execution_id,
    e.session_id,
    e.notebook_path,
    e.cell_id,
    coalesce(e.result_execution_count, e.execution_count) AS execution_count,
    e.name,
    e.tags,
    e.model,
    e.base_model,
    e.note,
    e.mode,
    e.experiment_id,
    e.source,
    e.source_hash,
    e.started_at,
    e.result_ended_at AS ended_at,
    e.result_duration_ms AS duration_ms,
    coalesce(e.result_status, 'incomplete') AS status,
    e.result_error_type AS error_type,
    e.result_error_message AS error_message,
    e.result_traceback AS traceback,
    e.result_environment_id AS environment_id,
    e.result_seeds AS seeds,
    e.result_capture_errors AS capture_errors,
    list_concat(coalesce(e.redactions, []), coalesce(e.result_redactions, [])) AS redactions,
    e.author,
    e.notebook_key
FROM executions e
WHERE e.result_event_id IS NOT NULL
UNION ALL
SELECT
    e.execution_id,
    e.session_id,
    e.notebook_path,
    e.cell_id,
    coalesce(r.execution_count, e.execution_count) AS execution_count,
    e.name,
    e.tags,
    e.model,
    e.base_model,
    e.note,
    e.mode,
    e.experiment_id,
    e.source,
    e.source_hash,
    e.started_at,
    r.ended_at,
    r.duration_ms,
    coalesce(r.status, 'incomplete') AS status,
    r.error_type,
    r.error_message,
    r.traceback,
    r.environment_id,
    r.seeds,
    r.capture_errors,
    list_concat(coalesce(e.redactions, []), coalesce(r.redactions, [])) AS redactions,
    s.author,
    s.notebook_key
FROM executions e
LEFT JOIN (SELECT * FROM execution_results WHERE copied IS NULL) r USING (execution_id)
LEFT JOIN _session_facts s ON s.session_id = e.session_id
WHERE e.result_event_id IS NULL;

CREATE OR REPLACE VIEW cells AS
SELECT
    notebook_path,
    coalesce(cell_id, source_hash) AS cell_key,
    any_value(cell_id) AS cell_id,
    count(*) AS run_count,
    count(*) FILTER (WHERE status = 'failed') AS failed_count,
    count(DISTINCT source_hash) AS source_versions,
    min(started_at) AS first_run_at,
    max(started_at) AS last_run_at,
    arg_max(status, started_at) AS last_status,
    arg_max(execution_id, started_at) AS last_execution_id,
    arg_max(source, started_at) AS last_source
FROM runs
GROUP BY notebook_path, coalesce(cell_id, source_hash);

-- Revisions form threads. A thread is what `revises` links, and also, so that re-running a
-- notebook neither duplicates nor forks what it writes: every answer to one template question
-- on one target (a new answer is a new revision), and every note written again word for word
-- (same kind, text and author) on the same target. A revision identical to the one before it
-- in its thread (a re-run writing the same answer) is a repeat: it stays in annotation_records
-- and the journal, but is no revision, so the views show nothing new. The target of an
-- annotation is its explicit targets (as given), or the experiment open when it was written.
-- Almost every thread has one annotation: only the others are sorted (the windows below).
CREATE OR REPLACE VIEW annotation_history AS
WITH target_keys AS (
    SELECT annotation_id, count(*) AS target_count, min(target_type || ':' || target) AS first_target
    FROM annotation_targets GROUP BY annotation_id
),
-- The few annotations with several targets, as one string in the order they were given (an
-- ordered aggregate is slow, so not for all).
several_targets AS (
    SELECT annotation_id, string_agg(target_type || ':' || target, chr(10) ORDER BY ordinal) AS target_key
    FROM annotation_targets
    WHERE annotation_id IN (SELECT annotation_id FROM target_keys WHERE target_count > 1)
    GROUP BY annotation_id
),
said AS (
    SELECT k.*,
           -- what it says, about what: equal for a repeat
           md5(concat_ws(chr(31), coalesce(kind, chr(30)), coalesce(text, chr(30)),
                         coalesce(author, chr(30)), coalesce(question, chr(30)),
                         coalesce(template, chr(30)), target_key)) AS content,
           -- the thread it joins when it revises nothing: one per question and target
           CASE WHEN revises IS NULL AND question IS NOT NULL
               THEN md5(concat_ws(chr(31), coalesce(template, chr(30)), question, target_key))
           END AS answers
    FROM (
        SELECT a.*,
               CASE WHEN tk.target_count > 1 THEN st.target_key
                    ELSE coalesce(tk.first_target, 'experiment:' || a.experiment_id, '') END
                   AS target_key
        FROM annotation_records a
        LEFT JOIN target_keys tk USING (annotation_id)
        LEFT JOIN several_targets st USING (annotation_id)
    ) k
),
firsts AS (
    SELECT thread_id, coalesce(answers, content) AS joins, created_at
    FROM said WHERE revises IS NULL
),
-- First revisions that join another's thread (its key was written more than once): the thread
-- of the earliest one.
joined AS (
    SELECT f.thread_id, min(e.earliest_thread) AS joined_thread
    FROM firsts f
    JOIN (
        SELECT f2.joins, min(f2.thread_id) AS earliest_thread
        FROM firsts f2
        JOIN (SELECT joins, min(created_at) AS first_at FROM firsts
              GROUP BY joins HAVING count(*) > 1) m
          ON m.joins = f2.joins AND m.first_at = f2.created_at
        GROUP BY f2.joins
    ) e USING (joins)
    GROUP BY f.thread_id
),
threaded AS (
    SELECT s.*, coalesce(j.joined_thread, s.thread_id) AS thread
    FROM said s LEFT JOIN joined j USING (thread_id)
),
sized AS (
    SELECT t.*, z.thread_size
    FROM threaded t JOIN (SELECT thread, count(*) AS thread_size FROM threaded GROUP BY thread) z
      USING (thread)
),
several AS (
    SELECT *
    FROM (
        SELECT s.*,
               coalesce(lag(content) OVER (PARTITION BY thread ORDER BY created_at, annotation_id)
                        = content, false) AS repeat
        FROM sized s WHERE thread_size > 1
    ) compared
    WHERE NOT repeat
)
SELECT h.*, coalesce(tg.targets, []) AS targets
FROM (
    SELECT
        annotation_id, thread AS thread_id, revises, CAST(NULL AS VARCHAR) AS superseded_by,
        CAST(1 AS BIGINT) AS revision, true AS is_current, kind, text, author, created_at,
        experiment_id, question, template, session_id
    FROM sized
    WHERE thread_size = 1
    UNION ALL
    SELECT
        annotation_id,
        thread,
        revises,
        lead(annotation_id) OVER (PARTITION BY thread ORDER BY created_at, annotation_id),
        row_number() OVER (PARTITION BY thread ORDER BY created_at, annotation_id),
        lead(annotation_id) OVER (PARTITION BY thread ORDER BY created_at, annotation_id) IS NULL,
        kind, text, author, created_at, experiment_id, question, template, session_id
    FROM several
) h
LEFT JOIN (
    SELECT annotation_id,
           list({'type': target_type, 'target': target, 'fingerprint': fingerprint, 'sha256': sha256}
                ORDER BY ordinal) AS targets
    FROM annotation_targets GROUP BY annotation_id
) tg USING (annotation_id);

CREATE OR REPLACE VIEW annotations AS
SELECT annotation_id, thread_id, revises, revision, kind, text, author, created_at, experiment_id,
       question, template, session_id, targets
FROM annotation_history WHERE is_current;

CREATE OR REPLACE VIEW annotation_links AS
SELECT a.annotation_id, a.kind, a.created_at, t.target_type, t.target, t.fingerprint, t.sha256
FROM annotations a JOIN annotation_targets t USING (annotation_id)
UNION ALL
SELECT a.annotation_id, a.kind, a.created_at, 'experiment', a.experiment_id, NULL, NULL
FROM annotations a WHERE a.experiment_id IS NOT NULL;

CREATE OR REPLACE VIEW metrics AS
SELECT m.execution_id, m.experiment_id, x.name AS experiment, m.name, m.value, m.step, m.logged_at
FROM metric_records m LEFT JOIN experiment_records x USING (experiment_id);

CREATE OR REPLACE VIEW params AS
SELECT p.execution_id, p.experiment_id, x.name AS experiment, p.name, p.value, p.logged_at
FROM param_records p LEFT JOIN experiment_records x USING (experiment_id);

CREATE OR REPLACE VIEW datasets AS
SELECT
    d.dataset_id, d.name, d.context, d.digest, d.digest_kind, d.type_name, d.shape, d.row_count,
    d.column_count, d.schema, d.source, d.note, d.hashed_ms, d.execution_id, d.experiment_id,
    x.name AS experiment, e.notebook_path, d.logged_at
FROM dataset_records d
LEFT JOIN experiment_records x USING (experiment_id)
LEFT JOIN executions e USING (execution_id);

CREATE OR REPLACE VIEW experiments AS
SELECT
    x.experiment_id,
    x.name,
    x.hypothesis,
    x.success_criterion,
    x.notebook_path,
    x.started_at,
    e.ended_at,
    CASE WHEN e.experiment_id IS NULL THEN 'open' ELSE 'ended' END AS state,
    e.outcome,
    e.declared_outcome,
    e.evaluated_outcome,
    e.criterion_met,
    e.evaluation,
    (SELECT map(list(name ORDER BY name), list(value ORDER BY name)) FROM (
        SELECT name, arg_max(value, logged_at) AS value FROM metric_records m
        WHERE m.experiment_id = x.experiment_id GROUP BY name)) AS metrics,
    (SELECT count(*) FROM executions r WHERE r.experiment_id = x.experiment_id) AS execution_count,
    (SELECT count(*) FROM runs r WHERE r.experiment_id = x.experiment_id
        AND r.status IN ('failed', 'interrupted')) AS failed_count
FROM experiment_records x
LEFT JOIN experiment_ends e USING (experiment_id);

-- The notes are read once (not once per failed run through correlated subqueries on
-- annotation_links): planning and running stay a few tens of milliseconds at 1M runs.
-- The failed runs are the copies ingest made (failed_run_copies) and, among the runs
-- whose result was not copied, the failed ones (the second half of `runs`).
CREATE OR REPLACE VIEW failed_attempts AS
WITH notes AS (
    SELECT annotation_id, session_id, experiment_id, created_at, text
    FROM annotations WHERE kind = 'failed_attempt'
),
failed AS (
    SELECT execution_id, session_id, notebook_path, cell_id, execution_count, name, tags, model,
           experiment_id, source, started_at, duration_ms, status, error_type, error_message,
           traceback
    FROM failed_run_copies
    UNION ALL
    SELECT e.execution_id, e.session_id, e.notebook_path, e.cell_id,
           coalesce(r.execution_count, e.execution_count), e.name, e.tags, e.model,
           e.experiment_id, e.source, e.started_at, r.duration_ms, r.status, r.error_type,
           r.error_message, r.traceback
    FROM executions e
    JOIN (SELECT * FROM execution_results WHERE copied IS NULL) r USING (execution_id)
    WHERE e.result_event_id IS NULL AND r.status IN ('failed', 'interrupted')
),
explained AS (
    SELECT t.target AS execution_id,
           string_agg(n.annotation_id, ',' ORDER BY n.created_at, n.annotation_id) AS annotation_ids,
           string_agg(n.text, chr(10) || chr(10) ORDER BY n.created_at) AS explanation
    FROM notes n JOIN annotation_targets t USING (annotation_id)
    WHERE t.target_type = 'execution'
    GROUP BY t.target
)
SELECT
    'captured' AS origin,
    r.execution_id, r.session_id, r.notebook_path, r.cell_id, r.execution_count, r.name, r.tags,
    r.model, r.experiment_id, r.source, r.started_at, r.duration_ms, r.status, r.error_type,
    r.error_message, r.traceback, x.annotation_ids, x.explanation
FROM failed r
LEFT JOIN explained x USING (execution_id)
UNION ALL
-- failed attempts that were written down without a captured failing cell
SELECT
    'note', NULL, n.session_id, NULL, NULL, NULL, NULL, NULL,
    NULL, n.experiment_id, NULL, n.created_at, NULL, 'failed', NULL,
    NULL, NULL, n.annotation_id, n.text
FROM notes n
WHERE NOT EXISTS (
    SELECT 1 FROM annotation_targets t JOIN failed r ON t.target = r.execution_id
    WHERE t.annotation_id = n.annotation_id AND t.target_type = 'execution');

CREATE OR REPLACE VIEW cell_inputs AS
SELECT
    v.execution_id, e.notebook_path, e.execution_count, e.started_at,
    v.name, v.type_name, v.fingerprint, v.fingerprint_kind, v.shape, v.length, v.summary, v.note
FROM value_records v
JOIN executions e USING (execution_id)
WHERE v.role = 'input';

CREATE OR REPLACE VIEW cell_outputs AS
SELECT
    v.execution_id, e.notebook_path, e.execution_count, e.started_at,
    v.name, v.action, v.type_name, v.fingerprint, v.fingerprint_kind, v.shape, v.length,
    v.summary, v.note
FROM value_records v
JOIN executions e USING (execution_id)
WHERE v.role = 'output';

CREATE OR REPLACE VIEW files AS
SELECT
    f.execution_id, e.notebook_path, e.execution_count, e.started_at,
    f.path, f.access, f.size, f.sha256, f.note
FROM file_records f
JOIN executions e USING (execution_id);

CREATE OR REPLACE VIEW shell_commands AS
SELECT
    c.execution_id, e.notebook_path, e.execution_count, e.started_at,
    c.ordinal, c.kind, c.command
FROM command_records c
JOIN executions e USING (execution_id);

CREATE OR REPLACE VIEW environments AS
SELECT
    environment_id, captured_at, python_version, python_implementation, python_executable,
    platform, os_name, os_release, machine, hostname, cpu_model, cpu_count, ram_bytes, gpus,
    git_commit, git_branch, git_dirty, git_diff_sha256, git_remote, container, env_vars,
    package_count
FROM environment_records;

CREATE OR REPLACE VIEW packages AS
SELECT environment_id, name, version FROM package_records;

CREATE OR REPLACE VIEW forgotten AS
SELECT execution_id, reason, forgotten_at, session_id FROM forget_records;

-- The latest run of each cell of each notebook (a cell is its cell id, or its code when the
-- front end sent no id) whose input the record itself shows was made again with other content
-- since, one row per reason: a value it read whose producing cell (the run of its kernel
-- session that bound it last before) has run again and bound it to other content or not at all,
-- or a file it read that a later run wrote with other bytes. What only a look at the disk can
-- tell (a file changed outside any captured cell, the notebook's code edited, packages
-- upgraded, and what is downstream of those) is `jupyter-lineage stale`'s.
CREATE OR REPLACE VIEW stale_executions AS
WITH keyed AS (
    SELECT execution_id, session_id, notebook_path, cell_id, name, execution_count, started_at,
           status, coalesce(cell_id, source_hash) AS cell_key
    FROM runs
),
latest AS (
    SELECT * FROM keyed
    QUALIFY row_number() OVER (
        PARTITION BY notebook_path, cell_key ORDER BY started_at DESC, execution_id DESC) = 1
),
read_values AS (
    SELECT l.execution_id, l.session_id, l.notebook_path, l.cell_key, l.started_at,
           i.name, i.fingerprint, p.execution_id AS producer, p.cell_key AS producer_key
    FROM latest l
    JOIN value_records i ON i.execution_id = l.execution_id
    JOIN value_records o ON o.name = i.name
    JOIN keyed p ON p.execution_id = o.execution_id
    WHERE l.status = 'ok' AND i.role = 'input' AND i.fingerprint_kind = 'content'
      AND o.role = 'output' AND o.action IN ('assigned', 'mutated')
      AND p.session_id = l.session_id AND p.started_at < l.started_at
    QUALIFY row_number() OVER (
        PARTITION BY l.execution_id, i.name ORDER BY p.started_at DESC, p.execution_id DESC) = 1
),
value_reasons AS (
    SELECT r.execution_id, 'value' AS reason, r.name AS subject,
           CASE WHEN a.fingerprint IS NULL THEN 'its cell ran again and no longer binds it'
                ELSE 'its cell ran again and bound it to other content' END AS detail,
           lp.execution_id AS changed_by, lp.started_at AS changed_at
    FROM read_values r
    JOIN latest lp ON lp.notebook_path = r.notebook_path AND lp.cell_key = r.producer_key
    LEFT JOIN (SELECT execution_id, name, fingerprint FROM value_records
               WHERE role = 'output' AND action IN ('assigned', 'mutated')) a
        ON a.execution_id = lp.execution_id AND a.name = r.name
    WHERE lp.execution_id <> r.producer AND lp.status = 'ok' AND r.producer_key <> r.cell_key
      AND a.fingerprint IS DISTINCT FROM r.fingerprint
),
file_reasons AS (
    SELECT l.execution_id, 'file' AS reason, f.path AS subject,
           'a later run wrote other bytes to it' AS detail,
           w.execution_id AS changed_by, w.started_at AS changed_at
    FROM latest l
    JOIN file_records f ON f.execution_id = l.execution_id
    JOIN file_records wf ON wf.path = f.path
    JOIN runs w ON w.execution_id = wf.execution_id
    WHERE l.status = 'ok' AND f.access IN ('read', 'readwrite') AND f.sha256 IS NOT NULL
      AND wf.access IN ('write', 'readwrite') AND wf.sha256 IS NOT NULL
      AND wf.sha256 <> f.sha256 AND w.started_at > l.started_at
    QUALIFY row_number() OVER (
        PARTITION BY l.execution_id, f.path ORDER BY w.started_at DESC, w.execution_id DESC) = 1
)
SELECT l.execution_id, l.notebook_path, l.cell_id, l.name, l.execution_count, l.started_at,
       x.reason, x.subject, x.detail, x.changed_by, x.changed_at
FROM latest l
JOIN (SELECT * FROM value_reasons UNION ALL SELECT * FROM file_reasons) x USING (execution_id);
