-- routelab store, migration 8: a cache of the per-request values of a router's query that depend only on the
-- request's prompt: each text signal's value (the index of the label that matched, 0 for none; 1/0 for PII)
-- and the token estimate used when `prompt_tokens` is missing. Computing them is most of a replay (regexes
-- over every prompt); router versions share most signals, so a value is computed once per request and read by
-- every later replay. `signal_key` is a short hash of the exact SQL expression that computes the value
-- (router_core.sql_cache), so editing a signal's phrases or patterns gives a new key and stale rows are never
-- read; writes that change a prompt or attrs (purge, import --on-conflict replace) delete the request's rows
-- in the same transaction. Filled by `datasets.signal_cache` inside each replay.
--
-- No primary key: an index over tens of millions of rows would cost more memory than the replay it speeds
-- up. Rows are unique by construction: one writer per store, and each fill inserts only the missing
-- (request_id, signal_key) pairs (an anti-join).

CREATE TABLE request_signals (
    request_id  VARCHAR NOT NULL,
    signal_key  VARCHAR NOT NULL,     -- sha256 of the value's SQL definition, first 16 hex digits
    value       INTEGER NOT NULL      -- the value (see above); 0 for "no label" and "no PII"
);
