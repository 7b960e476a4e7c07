-- routelab store, migration 3: leases of the annotation queue.
-- Coordination state, not history: a lease row is replaced when renewed and deleted when released or expired.
-- (The judgements themselves stay append-only in `annotations`.) An annotator holds at most one lease per
-- router version; the queue writes it in the same transaction that picks the item.

CREATE TABLE annotation_leases (
    request_id      VARCHAR NOT NULL,
    router          VARCHAR NOT NULL,      -- name@version whose decision is being judged
    annotator       VARCHAR NOT NULL,
    leased_at       TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    -- what the queue said about the item, so a page reload shows it again unchanged
    other_router    VARCHAR,
    reason          VARCHAR NOT NULL,
    second_opinion  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (request_id, router, annotator)
);

-- A cache for the `disagree` strategy: the requests two router versions decide differently (model,
-- retrieval, escalation or action), computed once per pair and kept until either version's decisions change
-- (`state` fingerprints their decision counts and replay runs). Joining two versions' decisions costs a
-- scan of both; the queue must answer in milliseconds.
CREATE TABLE annotation_pair_states (
    router          VARCHAR NOT NULL,
    other_router    VARCHAR NOT NULL,
    state           VARCHAR NOT NULL,
    n_disagree      BIGINT NOT NULL,
    computed_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (router, other_router)
);

CREATE TABLE annotation_disagreements (
    router          VARCHAR NOT NULL,
    other_router    VARCHAR NOT NULL,
    request_id      VARCHAR NOT NULL,
    differs         VARCHAR[] NOT NULL     -- the components that differ, e.g. [model, action]
);
