-- Model registry: models, versions, lifecycle transitions, gates, waivers, artifacts (append-only).

CREATE TABLE IF NOT EXISTS model_records (
    model_id          VARCHAR,
    event_id          VARCHAR,
    name              VARCHAR,
    group_name        VARCHAR,
    description       VARCHAR,
    owners            VARCHAR[],
    risk_tier         VARCHAR,
    tags              VARCHAR[],
    documentation_url VARCHAR,
    repository_url    VARCHAR,
    created_by        VARCHAR,
    created_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS model_updates (
    model_id          VARCHAR,
    event_id          VARCHAR,
    description       VARCHAR,
    owners            VARCHAR[],
    risk_tier         VARCHAR,
    tags              VARCHAR[],
    documentation_url VARCHAR,
    repository_url    VARCHAR,
    retired           BOOLEAN,
    updated_by        VARCHAR,
    justification     VARCHAR,
    updated_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS version_records (
    version_id             VARCHAR,
    event_id               VARCHAR,
    model_id               VARCHAR,
    version                VARCHAR,
    commit_sha             VARCHAR,
    execution_id           VARCHAR,
    experiment_id          VARCHAR,
    framework              VARCHAR,
    framework_version      VARCHAR,
    model_type             VARCHAR,
    input_schema           JSON,
    output_schema          JSON,
    hyperparameters        JSON,
    datasets               JSON,
    base_model_version     VARCHAR,
    intended_use           VARCHAR,
    limitations            VARCHAR,
    ethical_considerations VARCHAR,
    metrics                JSON,
    created_by             VARCHAR,
    created_at             TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS transition_records (
    event_id                  VARCHAR,
    version_id                VARCHAR,
    from_state                VARCHAR,
    to_state                  VARCHAR,
    actor                     VARCHAR,
    role                      VARCHAR,
    justification             VARCHAR,
    allow_multiple_production BOOLEAN,
    occurred_at               TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS gate_records (
    gate_id    VARCHAR,
    event_id   VARCHAR,
    scope_type VARCHAR,
    scope      VARCHAR,
    metric     VARCHAR,
    op         VARCHAR,
    threshold  DOUBLE,
    created_by VARCHAR,
    created_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS gate_evaluations (
    event_id     VARCHAR,
    version_id   VARCHAR,
    target_state VARCHAR,
    gate_id      VARCHAR,
    metric       VARCHAR,
    op           VARCHAR,
    threshold    DOUBLE,
    value        DOUBLE,
    passed       BOOLEAN,
    waiver_id    VARCHAR,
    outcome      VARCHAR,
    actor        VARCHAR,
    occurred_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS waiver_records (
    waiver_id  VARCHAR,
    event_id   VARCHAR,
    version_id VARCHAR,
    metric     VARCHAR,
    actor      VARCHAR,
    reason     VARCHAR,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS artifact_records (
    artifact_id VARCHAR,
    event_id    VARCHAR,
    version_id  VARCHAR,
    name        VARCHAR,
    kind        VARCHAR,
    uri         VARCHAR,
    stored_path VARCHAR,
    sha256      VARCHAR,
    size        BIGINT,
    created_by  VARCHAR,
    created_at  TIMESTAMPTZ
);

CREATE OR REPLACE VIEW model_registry AS
WITH latest AS (
    SELECT
        model_id,
        last(description ORDER BY updated_at) FILTER (WHERE description IS NOT NULL) AS description,
        last(owners ORDER BY updated_at) FILTER (WHERE owners IS NOT NULL) AS owners,
        last(risk_tier ORDER BY updated_at) FILTER (WHERE risk_tier IS NOT NULL) AS risk_tier,
        last(tags ORDER BY updated_at) FILTER (WHERE tags IS NOT NULL) AS tags,
        last(documentation_url ORDER BY updated_at) FILTER (WHERE documentation_url IS NOT NULL) AS documentation_url,
        last(repository_url ORDER BY updated_at) FILTER (WHERE repository_url IS NOT NULL) AS repository_url,
        bool_or(coalesce(retired, false)) AS retired,
        max(updated_at) AS updated_at
    FROM model_updates GROUP BY model_id
)
SELECT
    m.model_id,
    m.name,
    m.group_name,
    coalesce(l.description, m.description) AS description,
    coalesce(l.owners, m.owners) AS owners,
    coalesce(l.risk_tier, m.risk_tier) AS risk_tier,
    coalesce(l.tags, m.tags) AS tags,
    coalesce(l.documentation_url, m.documentation_url) AS documentation_url,
    coalesce(l.repository_url, m.repository_url) AS repository_url,
    coalesce(l.retired, false) AS retired,
    m.created_by,
    m.created_at,
    coalesce(l.updated_at, m.created_at) AS updated_at,
    (SELECT count(*) FROM version_records v WHERE v.model_id = m.model_id) AS version_count
FROM model_records m
LEFT JOIN latest l USING (model_id);

CREATE OR REPLACE VIEW model_versions AS
SELECT
    v.version_id,
    v.model_id,
    m.name AS model,
    m.group_name,
    v.version,
    coalesce(t.state, 'DRAFT') AS state,
    t.state_changed_at,
    v.commit_sha,
    v.execution_id,
    v.experiment_id,
    v.framework,
    v.framework_version,
    v.model_type,
    v.input_schema,
    v.output_schema,
    v.hyperparameters,
    v.datasets,
    v.base_model_version,
    v.intended_use,
    v.limitations,
    v.ethical_considerations,
    v.metrics,
    v.created_by,
    v.created_at
FROM version_records v
JOIN model_records m USING (model_id)
LEFT JOIN (
    SELECT version_id, arg_max(to_state, occurred_at) AS state, max(occurred_at) AS state_changed_at
    FROM transition_records GROUP BY version_id
) t USING (version_id);

CREATE OR REPLACE VIEW version_transitions AS
SELECT v.model, v.group_name, v.version, t.version_id, t.from_state, t.to_state, t.actor, t.role,
       t.justification, t.allow_multiple_production, t.occurred_at
FROM transition_records t JOIN model_versions v USING (version_id);

CREATE OR REPLACE VIEW gate_results AS
SELECT v.model, v.version, g.version_id, g.target_state, g.gate_id, g.metric, g.op, g.threshold,
       g.value, g.passed, g.waiver_id, g.outcome, g.actor, g.occurred_at
FROM gate_evaluations g JOIN model_versions v USING (version_id);

CREATE OR REPLACE VIEW gates AS
SELECT gate_id, scope_type, scope, metric, op, threshold, created_by, created_at
FROM gate_records
QUALIFY row_number() OVER (PARTITION BY scope_type, scope, metric ORDER BY created_at DESC) = 1;

CREATE OR REPLACE VIEW waivers AS
SELECT v.model, v.version, w.version_id, w.waiver_id, w.metric, w.actor, w.reason, w.expires_at, w.created_at
FROM waiver_records w JOIN model_versions v USING (version_id);

CREATE OR REPLACE VIEW artifacts AS
SELECT v.model, v.version, a.version_id, a.artifact_id, a.name, a.kind, a.uri, a.stored_path, a.sha256,
       a.size, a.created_by, a.created_at
FROM artifact_records a JOIN model_versions v USING (version_id);

CREATE OR REPLACE VIEW audit_trail AS
SELECT model, version, occurred_at, 'transition' AS event, from_state || ' -> ' || to_state AS detail,
       actor, role, justification AS reason
FROM version_transitions
UNION ALL
SELECT model, version, occurred_at, 'gate ' || outcome, metric || ' ' || op || ' ' || threshold
       || ' (value ' || coalesce(CAST(value AS VARCHAR), 'not measured') || ', for ' || target_state || ')',
       actor, NULL, NULL
FROM gate_results
UNION ALL
SELECT model, version, created_at, 'waiver', metric || ' waived until ' || CAST(expires_at AS VARCHAR),
       actor, NULL, reason
FROM waivers
UNION ALL
SELECT model, version, created_at, 'version created', version, created_by, NULL, NULL
FROM model_versions
UNION ALL
SELECT model, version, created_at, 'artifact', name || ' sha256:' || sha256, created_by, NULL, NULL
FROM artifacts;
