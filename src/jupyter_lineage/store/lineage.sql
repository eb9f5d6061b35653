-- Lineage graph views: nodes and edges derived from the capture tables.
--
-- lineage_nodes and lineage_edges are the documented surface (docs/guide/graph.md, "Lineage
-- graph"); the views whose names start with an underscore are steps towards
-- them and may change. Every edge points downstream: `src` is upstream of `dst`
-- (used: artifact -> execution or review, generated: execution -> artifact,
-- derived_from: base model -> model derived from it, ran_in: environment ->
-- execution, reviewed: review -> the model version it judged), so one recursive
-- walk serves every kind.
--
-- Node ids are stable strings with a type prefix:
--   exec:<execution_id>
--   value:<name>@<fingerprint>/exec:<execution_id>   a value version, by the execution that bound it
--   value:<name>@<fingerprint>/session:<session_id>  a value read whose binding was not captured
--   file:<sha256>                                    a file version is its content
--   model:<name>@<execution_id>                      a model version, by its training execution
--   model:<declared base model>                      a base model declared but not captured here
--   env:<environment_id>, code:<source_hash>
--   review:<annotation_id>                           a review annotation (its current revision)
--
-- Each kind of node and edge is one UNION ALL branch of _lineage_node_rows and
-- _lineage_edge_rows with the same columns; a later kind is one more branch.

-- Every value version a captured execution bound (assigned or changed in place).
CREATE OR REPLACE VIEW _lineage_value_generations AS
SELECT
    'value:' || v.name || '@' || coalesce(nullif(v.fingerprint, ''), 'none')
        || '/exec:' || v.execution_id AS node_id,
    v.execution_id,
    e.session_id,
    e.notebook_path,
    e.started_at,
    v.name,
    v.action,
    nullif(v.fingerprint, '') AS fingerprint,
    v.fingerprint_kind,
    v.type_name,
    v.shape,
    v.summary
FROM value_records v
JOIN executions e USING (execution_id)
WHERE v.role = 'output' AND v.action IN ('assigned', 'mutated');

-- Every value an execution read, linked to the version it was: the latest
-- binding of the same name with the same fingerprint earlier in the same
-- kernel session (a kernel's variables come only from that kernel). When
-- either side has no fingerprint (--no-values) the name alone links them.
-- "Latest earlier binding" is a running last_value over reads and bindings in
-- time order (reads before bindings of the same instant, so a cell never reads
-- its own output): window functions, unlike ASOF joins, may appear in the
-- recursive part of a user's recursive CTE over lineage_edges.
CREATE OR REPLACE VIEW _lineage_value_reads AS
WITH reads AS (
    SELECT
        v.execution_id,
        e.session_id,
        e.notebook_path,
        e.started_at,
        v.name,
        nullif(v.fingerprint, '') AS fingerprint,
        v.fingerprint_kind,
        v.type_name,
        v.shape,
        v.summary
    FROM value_records v
    JOIN executions e USING (execution_id)
    WHERE v.role = 'input'
),
events AS (
    SELECT
        session_id, name, fingerprint, started_at, 0 AS is_binding, execution_id,
        NULL AS node_id, NULL AS bound_by
    FROM reads
    UNION ALL
    SELECT
        session_id, name, fingerprint, started_at, 1, execution_id, node_id, execution_id
    FROM _lineage_value_generations
),
latest AS (
    SELECT
        *,
        last_value(node_id IGNORE NULLS) OVER same_content AS content_node,
        last_value(bound_by IGNORE NULLS) OVER same_content AS content_exec,
        last_value(node_id IGNORE NULLS) OVER same_name AS name_node,
        last_value(bound_by IGNORE NULLS) OVER same_name AS name_exec,
        last_value(CASE WHEN is_binding = 1 THEN coalesce(fingerprint, '') END IGNORE NULLS)
            OVER same_name AS name_fingerprint
    FROM events
    WINDOW
        same_content AS (
            PARTITION BY session_id, name, fingerprint ORDER BY started_at, is_binding
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ),
        same_name AS (
            PARTITION BY session_id, name ORDER BY started_at, is_binding
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )
),
linked AS (
    SELECT
        execution_id,
        name,
        CASE
            WHEN fingerprint IS NOT NULL AND content_node IS NOT NULL THEN content_node
            WHEN name_node IS NOT NULL AND (fingerprint IS NULL OR name_fingerprint = '')
                THEN name_node
        END AS node_id,
        CASE
            WHEN fingerprint IS NOT NULL AND content_node IS NOT NULL THEN content_exec
            WHEN name_node IS NOT NULL AND (fingerprint IS NULL OR name_fingerprint = '')
                THEN name_exec
        END AS generated_by
    FROM latest
    WHERE is_binding = 0
)
SELECT
    r.execution_id,
    r.session_id,
    r.notebook_path,
    r.started_at,
    r.name,
    r.fingerprint,
    r.fingerprint_kind,
    r.type_name,
    r.shape,
    r.summary,
    coalesce(
        l.node_id,
        'value:' || r.name || '@' || coalesce(r.fingerprint, 'none') || '/session:' || r.session_id
    ) AS node_id,
    l.generated_by
FROM reads r
JOIN linked l USING (execution_id, name);

-- Successful executions of --model cells, each with the model version it
-- belongs to. A run trains a new version unless it read a value bound by an
-- earlier successful run of the same model in another cell (evaluating or
-- saving a trained model is not training it); such a run belongs to the latest
-- version trained before it in its session.
CREATE OR REPLACE VIEW _lineage_model_runs AS
WITH model_runs AS (
    SELECT
        execution_id,
        session_id,
        notebook_path,
        started_at,
        model,
        nullif(base_model, '') AS base_model,
        coalesce(cell_id, name, source_hash) AS cell_key
    FROM runs
    WHERE model IS NOT NULL AND model <> '' AND status = 'ok'
),
consumers AS (
    SELECT DISTINCT m.execution_id
    FROM model_runs m
    JOIN _lineage_value_reads r ON r.execution_id = m.execution_id
    JOIN model_runs g ON g.execution_id = r.generated_by
    WHERE g.model = m.model AND g.cell_key IS DISTINCT FROM m.cell_key
),
versions AS (
    SELECT
        m.*,
        m.execution_id NOT IN (SELECT execution_id FROM consumers) AS trains,
        -- the latest training run of this model earlier in the session (or this one)
        last_value(
            CASE WHEN m.execution_id NOT IN (SELECT execution_id FROM consumers)
                 THEN m.execution_id END IGNORE NULLS
        ) OVER (
            PARTITION BY m.session_id, m.model ORDER BY m.started_at
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS trained_by
    FROM model_runs m
)
SELECT
    execution_id,
    session_id,
    notebook_path,
    started_at,
    model,
    base_model,
    trains,
    CASE WHEN trains THEN execution_id ELSE coalesce(trained_by, execution_id) END AS version,
    'model:' || model || '@'
        || CASE WHEN trains THEN execution_id ELSE coalesce(trained_by, execution_id) END
        AS node_id
FROM versions;

-- Base models: declared with --base-model (NAME, NAME@VERSION, or a file the
-- run read), or detected when a training run read a file that a --model run
-- wrote. A declared NAME means the version current when the run started, never
-- a later one.
CREATE OR REPLACE VIEW _lineage_derivations AS
WITH model_runs AS MATERIALIZED (
    SELECT * FROM _lineage_model_runs
),
declared AS (
    SELECT
        m.*,
        CASE WHEN contains(m.base_model, '@') THEN split_part(m.base_model, '@', 1)
             ELSE m.base_model END AS base_name,
        CASE WHEN contains(m.base_model, '@')
             THEN substr(m.base_model, strpos(m.base_model, '@') + 1) END AS base_version
    FROM model_runs m
    WHERE m.base_model IS NOT NULL
),
file_writers AS MATERIALIZED (
    SELECT DISTINCT f.sha256, w.node_id, w.started_at
    FROM file_records f
    JOIN model_runs w USING (execution_id)
    WHERE f.access IN ('write', 'readwrite') AND f.sha256 IS NOT NULL
),
candidates AS (
    -- NAME@VERSION: a version of NAME whose training execution id starts with VERSION
    SELECT d.execution_id, d.node_id AS dst, t.node_id AS src, 1 AS priority, t.started_at
    FROM declared d
    JOIN model_runs t
        ON t.trains AND t.model = d.base_name AND starts_with(t.execution_id, d.base_version)
    WHERE d.base_version IS NOT NULL AND d.base_version <> ''
    UNION ALL
    -- NAME: the latest version of NAME trained before this run started
    SELECT d.execution_id, d.node_id, t.node_id, 2, t.started_at
    FROM declared d
    JOIN model_runs t
        ON t.trains AND t.model = d.base_model AND t.started_at < d.started_at
    UNION ALL
    -- a file this run read: the model version that wrote it, else the file itself
    SELECT d.execution_id, d.node_id, coalesce(w.node_id, 'file:' || f.sha256), 3, w.started_at
    FROM declared d
    JOIN file_records f
        ON f.execution_id = d.execution_id
        AND f.access = 'read'
        AND f.sha256 IS NOT NULL
        AND (f.path = d.base_model OR ends_with(f.path, '/' || ltrim(d.base_model, './')))
    LEFT JOIN file_writers w ON w.sha256 = f.sha256 AND w.started_at < d.started_at
    UNION ALL
    -- anything else: a base model from outside this store
    SELECT d.execution_id, d.node_id, 'model:' || d.base_model, 4, NULL
    FROM declared d
),
chosen AS (
    SELECT execution_id, dst, src, priority
    FROM candidates
    WHERE src <> dst
    QUALIFY row_number() OVER (
        PARTITION BY execution_id ORDER BY priority, started_at DESC NULLS LAST, src
    ) = 1
)
SELECT src, dst, execution_id, 'declared' AS action, priority = 4 AS external
FROM chosen
UNION ALL
SELECT DISTINCT
    w.node_id AS src, t.node_id AS dst, t.execution_id, 'detected' AS action, false AS external
FROM model_runs t
JOIN file_records f
    ON f.execution_id = t.execution_id AND f.access = 'read' AND f.sha256 IS NOT NULL
JOIN file_writers w ON w.sha256 = f.sha256 AND w.started_at < t.started_at
WHERE t.trains AND w.node_id <> t.node_id;

-- Reviews: the current revision of each `review` annotation (a human judgement
-- or intervention), a step of the graph like an execution. A revision replaces
-- the node of the one it revises.
CREATE OR REPLACE VIEW _lineage_reviews AS
SELECT
    'review:' || a.annotation_id AS node_id,
    a.annotation_id,
    a.author,
    a.text,
    a.created_at,
    a.session_id,
    (SELECT max(s.notebook_path) FROM sessions s WHERE s.session_id = a.session_id)
        AS notebook_path
FROM annotations a
WHERE a.kind = 'review';

-- What a review is linked to is used by it: an execution, the binding of the
-- variable it named (the latest in its session before it with that content, or
-- by name where either side has no fingerprint), a file version. The model
-- version it judged comes after it (`reviewed`): the one its linked execution
-- trained, or for a model NAME the latest version trained before the review.
-- Targets this store never captured link nothing, so every edge joins two nodes.
CREATE OR REPLACE VIEW _lineage_review_edges AS
WITH links AS (
    SELECT
        r.node_id AS review, r.session_id, r.created_at, l.target_type, l.target,
        nullif(l.fingerprint, '') AS fingerprint, l.sha256
    FROM _lineage_reviews r
    JOIN annotation_links l ON l.annotation_id = r.annotation_id
),
value_versions AS (
    SELECT
        k.review, k.target, k.created_at, g.node_id, g.execution_id,
        row_number() OVER (
            PARTITION BY k.review, k.target
            ORDER BY CASE WHEN g.fingerprint = k.fingerprint THEN 0 ELSE 1 END,
                g.started_at DESC, g.node_id
        ) AS pick
    FROM links k
    JOIN _lineage_value_generations g
        ON g.session_id = k.session_id
        AND g.name = k.target
        AND g.started_at <= k.created_at
        AND (g.fingerprint = k.fingerprint OR g.fingerprint IS NULL OR k.fingerprint IS NULL)
    WHERE k.target_type = 'value'
),
model_versions AS (
    SELECT
        k.review, k.target, k.created_at, m.node_id, m.execution_id,
        row_number() OVER (
            PARTITION BY k.review, k.target ORDER BY m.started_at DESC, m.execution_id DESC
        ) AS pick
    FROM links k
    JOIN _lineage_model_runs m
        ON m.trains AND m.model = k.target AND m.started_at <= k.created_at
    WHERE k.target_type = 'model'
)
SELECT DISTINCT src, dst, kind, execution_id, via, action, started_at
FROM (
    SELECT
        'exec:' || k.target AS src, k.review AS dst, 'used' AS kind, k.target AS execution_id,
        k.target AS via, 'review' AS action, k.created_at AS started_at
    FROM links k
    WHERE k.target_type = 'execution' AND k.target IN (SELECT execution_id FROM executions)
    UNION ALL
    SELECT k.review, m.node_id, 'reviewed', m.execution_id, m.model, 'review', k.created_at
    FROM links k
    JOIN _lineage_model_runs m ON m.trains AND m.execution_id = k.target
    WHERE k.target_type = 'execution'
    UNION ALL
    SELECT node_id, review, 'used', execution_id, target, 'review', created_at
    FROM value_versions
    WHERE pick = 1
    UNION ALL
    SELECT
        'file:' || k.sha256, k.review, 'used', CAST(NULL AS VARCHAR), k.target, 'review',
        k.created_at
    FROM links k
    WHERE k.target_type = 'file' AND k.sha256 IN (SELECT sha256 FROM file_records)
    UNION ALL
    SELECT review, node_id, 'reviewed', execution_id, target, 'review', created_at
    FROM model_versions
    WHERE pick = 1
) review_edges;

CREATE OR REPLACE VIEW _lineage_edge_rows AS
-- values an execution read
SELECT
    node_id AS src, 'exec:' || execution_id AS dst, 'used' AS kind, execution_id,
    name AS via, 'read' AS action, started_at
FROM _lineage_value_reads
UNION ALL
-- values an execution bound
SELECT
    'exec:' || execution_id, node_id, 'generated', execution_id, name, action, started_at
FROM _lineage_value_generations
UNION ALL
-- files read; a file read and written by one cell counts as written (its
-- SHA-256 is taken after the cell, so it is the version the cell left)
SELECT
    'file:' || coalesce(f.sha256, 'missing:' || f.path || '/exec:' || f.execution_id),
    'exec:' || f.execution_id, 'used', f.execution_id, f.path, f.access, e.started_at
FROM file_records f
JOIN executions e USING (execution_id)
WHERE f.access = 'read'
UNION ALL
SELECT
    'exec:' || f.execution_id,
    'file:' || coalesce(f.sha256, 'missing:' || f.path || '/exec:' || f.execution_id),
    'generated', f.execution_id, f.path, f.access, e.started_at
FROM file_records f
JOIN executions e USING (execution_id)
WHERE f.access IN ('write', 'readwrite')
UNION ALL
-- the code an execution ran
SELECT
    'code:' || source_hash, 'exec:' || execution_id, 'used', execution_id, NULL, NULL, started_at
FROM executions
WHERE source_hash IS NOT NULL
UNION ALL
-- the environment it ran in
SELECT
    'env:' || environment_id, 'exec:' || execution_id, 'ran_in', execution_id, NULL, NULL,
    started_at
FROM runs
WHERE environment_id IS NOT NULL
UNION ALL
-- a model version is generated by its training run and used by the runs that evaluate or save it
SELECT
    CASE WHEN trains THEN 'exec:' || execution_id ELSE node_id END,
    CASE WHEN trains THEN node_id ELSE 'exec:' || execution_id END,
    CASE WHEN trains THEN 'generated' ELSE 'used' END,
    execution_id, model, NULL, started_at
FROM _lineage_model_runs
UNION ALL
SELECT d.src, d.dst, 'derived_from', d.execution_id, m.base_model, d.action, m.started_at
FROM _lineage_derivations d
JOIN _lineage_model_runs m USING (execution_id)
UNION ALL
-- what reviews judged, and the model versions they judged
SELECT src, dst, kind, execution_id, via, action, started_at
FROM _lineage_review_edges;

CREATE OR REPLACE VIEW lineage_edges AS
SELECT src, dst, kind, execution_id, via, action, started_at FROM _lineage_edge_rows;

CREATE OR REPLACE VIEW _lineage_node_rows AS
-- executions
SELECT
    'exec:' || execution_id AS node_id,
    'execution' AS kind,
    name,
    execution_id AS version,
    status,
    NULL AS type_name,
    NULL AS fingerprint_kind,
    NULL AS shape,
    NULL AS path,
    execution_id,
    session_id,
    notebook_path,
    started_at AS created_at,
    left(source, 300) AS detail
FROM runs
UNION ALL
-- value versions bound by a captured execution
SELECT
    node_id, 'value', name, fingerprint, NULL, type_name, fingerprint_kind, shape, NULL,
    execution_id, session_id, notebook_path, started_at, summary
FROM _lineage_value_generations
UNION ALL
-- values read whose binding was not captured (one node per name, content and session)
SELECT
    node_id, 'value', any_value(name), any_value(fingerprint), NULL, any_value(type_name),
    any_value(fingerprint_kind), any_value(shape), NULL, NULL, any_value(session_id),
    any_value(notebook_path), min(started_at), any_value(summary)
FROM _lineage_value_reads
WHERE generated_by IS NULL
GROUP BY node_id
UNION ALL
-- file versions: one node per content, with the first path and writer seen
SELECT
    'file:' || f.sha256, 'file', arg_min(f.path, e.started_at), f.sha256, NULL, NULL, NULL,
    NULL, arg_min(f.path, e.started_at),
    arg_min(f.execution_id, e.started_at) FILTER (WHERE f.access <> 'read'),
    NULL, NULL, min(e.started_at), max(f.size)::VARCHAR || ' bytes'
FROM file_records f
JOIN executions e USING (execution_id)
WHERE f.sha256 IS NOT NULL
GROUP BY f.sha256
UNION ALL
-- files gone after the cell: one node per access, as nothing else identifies them
SELECT
    'file:missing:' || f.path || '/exec:' || f.execution_id, 'file', f.path, NULL, NULL, NULL,
    NULL, NULL, f.path, f.execution_id, e.session_id, e.notebook_path, e.started_at, f.note
FROM file_records f
JOIN executions e USING (execution_id)
WHERE f.sha256 IS NULL
UNION ALL
-- model versions, by their training run
SELECT
    node_id, 'model', model, execution_id, NULL, NULL, NULL, NULL, NULL, execution_id,
    session_id, notebook_path, started_at, NULL
FROM _lineage_model_runs
WHERE trains
UNION ALL
-- base models declared but not captured in this store
SELECT DISTINCT
    d.src, 'model', m.base_model, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    CAST(NULL AS TIMESTAMPTZ), 'declared base model, not captured in this store'
FROM _lineage_derivations d
JOIN _lineage_model_runs m USING (execution_id)
WHERE d.external
UNION ALL
-- environments (also those a run names whose record is missing)
SELECT
    'env:' || environment_id, 'environment', any_value(hostname), environment_id, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, min(captured_at),
    any_value('Python ' || python_version || ' on ' || platform)
FROM (
    SELECT environment_id, hostname, captured_at, python_version, platform
    FROM environment_records
    UNION ALL
    SELECT DISTINCT environment_id, NULL, CAST(NULL AS TIMESTAMPTZ), NULL, NULL
    FROM execution_results
    WHERE environment_id IS NOT NULL
)
GROUP BY environment_id
UNION ALL
-- code versions, by source hash
SELECT
    'code:' || source_hash, 'code', any_value(name), source_hash, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, any_value(notebook_path), min(started_at), left(any_value(source), 300)
FROM executions
WHERE source_hash IS NOT NULL
GROUP BY source_hash
UNION ALL
-- reviews, by their author, with the start of their text
SELECT
    node_id, 'review', author, annotation_id, NULL, NULL, NULL, NULL, NULL, NULL, session_id,
    notebook_path, created_at, left(text, 300)
FROM _lineage_reviews;

CREATE OR REPLACE VIEW lineage_nodes AS
SELECT
    node_id, kind, name, version, status, type_name, fingerprint_kind, shape, path,
    execution_id, session_id, notebook_path, created_at, detail
FROM _lineage_node_rows;
