-- jupyter-lineage store, schema version 1.
-- Tables are append-only and filled only by ingesting journals; views are the
-- documented query surface (README, "SQL views"). Keep the two in step.

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
    line_hash   VARCHAR
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
    ipython_version VARCHAR
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
    started_at      TIMESTAMPTZ
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
    capture_errors  VARCHAR[]
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

CREATE TABLE IF NOT EXISTS file_records (
    execution_id VARCHAR,
    event_id     VARCHAR,
    ordinal      INTEGER,
    path         VARCHAR,
    access       VARCHAR,
    size         BIGINT,
    sha256       VARCHAR,
    note         VARCHAR
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

-- Views: the documented, stable query surface.

CREATE OR REPLACE VIEW runs AS
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
    r.capture_errors
FROM executions e
LEFT JOIN execution_results r USING (execution_id);

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

CREATE OR REPLACE VIEW failed_attempts AS
SELECT
    execution_id, session_id, notebook_path, cell_id, execution_count, name, tags, model,
    source, started_at, duration_ms, status, error_type, error_message, traceback
FROM runs
WHERE status IN ('failed', 'interrupted');

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

CREATE OR REPLACE VIEW environments AS
SELECT
    environment_id, captured_at, python_version, python_implementation, python_executable,
    platform, os_name, os_release, machine, hostname, cpu_model, cpu_count, ram_bytes, gpus,
    git_commit, git_branch, git_dirty, git_diff_sha256, git_remote, container, env_vars,
    package_count
FROM environment_records;

CREATE OR REPLACE VIEW packages AS
SELECT environment_id, name, version FROM package_records;
