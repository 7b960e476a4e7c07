-- routelab store, migration 11: decisions keep each distinct path once (`datasets/decisions.py`).
-- A decision's path columns (model, tier, retrieval, cache, escalation, fallbacks, action, rule id, policy
-- flags) take a few dozen values per router version; writing them as strings and lists on each of millions
-- of rows was most of a replay's time. `decision_rows` keeps the per-request columns and a path key,
-- `decision_paths` each (router, path key)'s path, and the view `decisions` joins them into the columns the
-- table had, in its order, so every reader reads what it read before.
-- Every existing decision is copied: its path gets the key of a path given as text (a hash of the path,
-- negative, the lists as JSON; the expression of `decisions.TEXT_KEY` when this was written: were they to
-- differ, a path would only get a second key). Two different paths with one key would break
-- decision_paths' primary key and the migration would change nothing.

CREATE TABLE decision_paths (
    router          VARCHAR NOT NULL,
    path_key        BIGINT NOT NULL,       -- >= 0: packed path state (SQL engine); < 0: hash of the path
    model           VARCHAR,
    tier            VARCHAR,
    retrieval       VARCHAR,
    cache           VARCHAR,
    escalation      VARCHAR,
    fallbacks       VARCHAR[],
    action          VARCHAR,
    rule_id         VARCHAR,
    policy_flags    VARCHAR[],
    PRIMARY KEY (router, path_key)
);

-- The current decision of each router version for each request (a replay replaces the rows it decides).
-- No primary key: replay deletes and inserts in one transaction, and an index would slow bulk inserts.
CREATE TABLE decision_rows (
    router          VARCHAR NOT NULL,
    request_id      VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    path_key        BIGINT NOT NULL,
    context_tokens  BIGINT,
    confidence      DOUBLE,
    est_cost_usd    DOUBLE,
    est_latency_ms  DOUBLE
);

INSERT INTO decision_paths
SELECT DISTINCT router,
       (-1 - CAST(hash(model, tier, retrieval, cache, escalation, to_json(fallbacks), action, rule_id,
                         to_json(policy_flags)) >> 1 AS BIGINT)),
       model, tier, retrieval, cache, escalation, fallbacks, action, rule_id, policy_flags
FROM decisions;

INSERT INTO decision_rows
SELECT router, request_id, run_id,
       (-1 - CAST(hash(model, tier, retrieval, cache, escalation, to_json(fallbacks), action, rule_id,
                         to_json(policy_flags)) >> 1 AS BIGINT)),
       context_tokens, confidence, est_cost_usd, est_latency_ms
FROM decisions;

DROP TABLE decisions;

CREATE VIEW decisions AS
SELECT r.router, r.request_id, r.run_id, p.model, p.tier, p.retrieval, r.context_tokens, p.cache, p.escalation,
       p.fallbacks, p.action, p.rule_id, r.confidence, r.est_cost_usd, r.est_latency_ms, p.policy_flags
FROM decision_rows r JOIN decision_paths p ON p.router = r.router AND p.path_key = r.path_key;
