-- routelab store, migration 9: where a replay read its requests and wrote its decisions, when not in the store.
-- `replay --engine ray --input DIR --output DIR` reads a Parquet export and writes decision Parquet before it
-- loads the decisions into the store; the run now records both directories (absolute paths), so a run can be
-- traced back to its files. NULL for the sql and python engines, which read and write only the store.

ALTER TABLE replay_runs ADD COLUMN input_dir VARCHAR;
ALTER TABLE replay_runs ADD COLUMN output_dir VARCHAR;
