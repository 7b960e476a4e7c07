-- routelab store, migration 7: a cache of the PII types found in each request's prompt.
-- Scanning every prompt with the regex detector is the costly part of a compliance check (about 40 s for a
-- million prompts); the result only changes when the prompt or the detector does. `detector` is a short hash
-- of the exact SQL expression that computed `pii_types` (router_core.pii's patterns), so a new detector makes
-- every row stale by itself; writes that change a prompt (purge, import --on-conflict replace) delete the
-- request's row in the same transaction. Filled by `datasets.pii_cache`.

CREATE TABLE request_pii (
    request_id  VARCHAR PRIMARY KEY,
    detector    VARCHAR NOT NULL,     -- sha256 of the detector's SQL expression, first 16 hex digits
    pii_types   VARCHAR NOT NULL      -- comma-separated PII type names found in the prompt ('' for none)
);
