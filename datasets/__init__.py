"""The DuckDB store, importers, replay runner and price snapshots."""
