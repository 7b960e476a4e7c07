-- routelab store, migration 1: traffic, labels, outcomes, prices, router versions, replays, annotations.
-- Conventions: ids are VARCHAR; times are TIMESTAMP in UTC (naive); JSON columns hold canonical JSON text.

CREATE TABLE imports (
    import_id     VARCHAR PRIMARY KEY,   -- sha256 of (format, options, file content), first 16 hex digits
    path          VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    file_sha256   VARCHAR NOT NULL,
    options       JSON,
    n_rows        BIGINT NOT NULL,       -- rows read from the file
    n_loaded      BIGINT NOT NULL,       -- rows that reached the store (requests + labels + outcomes)
    n_rejected    BIGINT NOT NULL,
    rejects_path  VARCHAR,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL
);

CREATE TABLE requests (
    request_id              VARCHAR PRIMARY KEY,
    ts                      TIMESTAMP,
    workflow                VARCHAR,
    task                    VARCHAR,
    team                    VARCHAR,
    region                  VARCHAR,
    data_class              VARCHAR,
    prompt                  VARCHAR,
    prompt_tokens           BIGINT,
    expected_output_tokens  BIGINT,
    attrs                   MAP(VARCHAR, VARCHAR),
    import_id               VARCHAR
);

-- What the path should have been. `acceptable` is a JSON list of partial paths, best first; a component a
-- path leaves out is not judged. The gold columns repeat the first acceptable path for SQL; retrieval and
-- escalation use the text 'none' for "no retrieval"/"no escalation" and NULL for "not judged".
CREATE TABLE labels (
    request_id      VARCHAR PRIMARY KEY,
    source          VARCHAR NOT NULL,
    abstain         BOOLEAN NOT NULL DEFAULT FALSE,
    acceptable      JSON NOT NULL,
    model           VARCHAR,
    tier            VARCHAR,
    retrieval       VARCHAR,
    context_tokens  BIGINT,
    cache           VARCHAR,
    escalation      VARCHAR,
    action          VARCHAR,
    note            VARCHAR,
    import_id       VARCHAR
);

-- What happened when a model served a request. kind = 'full' (every candidate scored, as in RouterBench) or
-- 'logged' (only the path a production policy chose, with that policy's propensity).
CREATE TABLE outcomes (
    request_id      VARCHAR NOT NULL,
    model           VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL CHECK (kind IN ('full', 'logged')),
    eval_group      VARCHAR,
    quality         DOUBLE,
    quality_scale   VARCHAR,
    cost_usd        DOUBLE,
    latency_ms      DOUBLE,
    ttft_ms         DOUBLE,
    input_tokens    BIGINT,
    output_tokens   BIGINT,
    error           VARCHAR,
    fallback_model  VARCHAR,
    cache_hit       BOOLEAN,
    propensity      DOUBLE CHECK (propensity IS NULL OR (propensity > 0 AND propensity <= 1)),
    path            JSON,
    ts              TIMESTAMP,
    import_id       VARCHAR,
    PRIMARY KEY (request_id, model, kind)
);

CREATE TABLE price_tables (
    price_table_id   VARCHAR PRIMARY KEY,  -- sha256 of the canonical price list, first 16 hex digits
    source           VARCHAR NOT NULL,
    as_of            DATE,
    litellm_version  VARCHAR,
    n_models         BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE prices (
    price_table_id    VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    input_per_token   DOUBLE NOT NULL,
    output_per_token  DOUBLE NOT NULL,
    origin            VARCHAR NOT NULL,     -- 'litellm' or the overrides file it came from
    PRIMARY KEY (price_table_id, model)
);

CREATE TABLE router_versions (
    name            VARCHAR NOT NULL,
    version         VARCHAR NOT NULL,
    hash            VARCHAR NOT NULL,
    config_yaml     VARCHAR NOT NULL,
    canonical_json  VARCHAR NOT NULL,
    description     VARCHAR,
    registered_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE replay_runs (
    run_id          VARCHAR PRIMARY KEY,
    router          VARCHAR NOT NULL,      -- name@version
    router_hash     VARCHAR NOT NULL,
    price_table_id  VARCHAR NOT NULL,
    engine          VARCHAR NOT NULL,
    where_clause    VARCHAR,
    n_decisions     BIGINT NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    duration_s      DOUBLE NOT NULL
);

-- The current decision of each router version for each request (a replay replaces the rows it decides).
-- No primary key: replay deletes and inserts in one transaction, and an index would slow bulk inserts.
CREATE TABLE decisions (
    router          VARCHAR NOT NULL,
    request_id      VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    model           VARCHAR,
    tier            VARCHAR,
    retrieval       VARCHAR,
    context_tokens  BIGINT,
    cache           VARCHAR,
    escalation      VARCHAR,
    fallbacks       VARCHAR[],
    action          VARCHAR,
    rule_id         VARCHAR,
    confidence      DOUBLE,
    est_cost_usd    DOUBLE,
    est_latency_ms  DOUBLE,
    policy_flags    VARCHAR[]
);

-- One annotator's judgement of one decision. Append-only: an undo is a new row pointing at what it undoes.
CREATE TABLE annotations (
    annotation_id   VARCHAR PRIMARY KEY,
    request_id      VARCHAR NOT NULL,
    router          VARCHAR NOT NULL,
    annotator       VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL CHECK (kind IN ('judgement', 'adjudication', 'undo')),
    verdict         VARCHAR CHECK (verdict IS NULL OR verdict IN ('correct', 'incorrect', 'unsure')),
    decision_path   JSON,
    corrected       JSON,
    acceptable      JSON,
    reason_tags     VARCHAR[],
    note            VARCHAR,
    time_spent_s    DOUBLE,
    undoes          VARCHAR,
    created_at      TIMESTAMP NOT NULL
);
