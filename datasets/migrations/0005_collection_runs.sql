-- routelab store, migration 5: live outcome collection (`routelab collect`).
-- A run samples requests once (the sample is kept, so a resume sends exactly the same requests) and records
-- every model call it paid for. Outcomes it writes carry import_id = run_id; the calls table is the ledger
-- the budget cap and resumption read, so nothing is paid twice.

CREATE TABLE collection_runs (
    run_id          VARCHAR PRIMARY KEY,
    router          VARCHAR NOT NULL,      -- name@version whose decisions give the chosen paths
    price_table_id  VARCHAR NOT NULL,      -- the stamped price table costs are computed with
    options         JSON NOT NULL,         -- sample, seed, models, judge, replace: what the run collects
    sample          JSON NOT NULL,         -- the seeded sample in order: [{request_id, path}], path as decided
    budget_usd      DOUBLE NOT NULL,       -- the hard cap on the run's spend (raised by a resume with --budget)
    spent_usd       DOUBLE NOT NULL,       -- price-table cost of every call made so far, judge calls included
    n_calls         BIGINT NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN ('running', 'finished', 'budget', 'interrupted', 'failed')),
    started_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- One row per model call that was sent (an answer attempt, a fallback or a judge call); retries of a rate
-- limit or timeout are counted in `retries`, not repeated. Never holds prompts, answers or API keys.
CREATE TABLE collection_calls (
    run_id            VARCHAR NOT NULL,
    request_id        VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,    -- the outcome kind the call served: 'full' or 'logged'
    outcome_model     VARCHAR NOT NULL,    -- the outcome row's model (the chosen or candidate model)
    role              VARCHAR NOT NULL CHECK (role IN ('answer', 'fallback', 'judge')),
    model             VARCHAR NOT NULL,    -- the model actually called
    cost_usd          DOUBLE NOT NULL,     -- from the stamped price table and the usage tokens
    litellm_cost_usd  DOUBLE,              -- litellm's own figure for the same response, for comparison
    input_tokens      BIGINT,
    output_tokens     BIGINT,
    latency_ms        DOUBLE,
    ttft_ms           DOUBLE,
    retries           INTEGER NOT NULL,
    redacted          BOOLEAN NOT NULL,    -- whether PII was masked before sending (external boundary)
    error             VARCHAR,             -- scrubbed of keys; for a judge call also "no score" notes
    ts                TIMESTAMP NOT NULL
);
