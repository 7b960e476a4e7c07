-- routelab store, migration 10: the signal cache moves into columns of `requests` (`cached_<key>`, added by
-- `datasets.signal_cache` when a router version first needs a value). Reading the long `request_signals`
-- table back meant a pivot (GROUP BY request) and a join on the request id: a third of a warm replay. Its rows
-- are derived values, recomputed by the next replay of each version (a cold replay once), so the table is
-- dropped rather than copied: nothing imported or labelled is in it.

DROP TABLE request_signals;
