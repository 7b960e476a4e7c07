"""Price tables: litellm's bundled price map (read offline, never fetched) and price files.

This is the one place that touches litellm. The bundled map is read from the installed package's JSON file
directly, which is what litellm itself loads with `LITELLM_LOCAL_MODEL_COST_MAP=True`, and avoids importing
litellm (seconds, and a network attempt without that variable).
"""

from __future__ import annotations

import json
from datetime import date
from importlib import metadata, util
from pathlib import Path

import yaml

from routelab.datasets.store import Store
from routelab.router_core.pricing import ModelPrice, PriceTable

BUNDLED_MAP = "model_prices_and_context_window_backup.json"


class PriceFileError(ValueError):
    """A price file cannot be read; the message names the file and the entry."""


def bundled_map_path() -> Path:
    """Path of litellm's bundled price map inside the installed package."""
    spec = util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise PriceFileError("litellm is not installed; install routelab's dependencies (`make venv`)")
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_MAP
    if not path.is_file():
        raise PriceFileError(f"litellm {metadata.version('litellm')} has no bundled price map at {path}")
    return path


def litellm_price_table(today: date | None = None) -> PriceTable:
    """A snapshot of litellm's bundled map: every model with per-token input and output prices.

    Args:
        today: the snapshot date to record (default: today's date).
    """
    raw = json.loads(bundled_map_path().read_text(encoding="utf-8"))
    prices = {}
    for model_id, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if isinstance(inp, int | float) and isinstance(out, int | float):
            prices[model_id] = ModelPrice(input_per_token=float(inp), output_per_token=float(out))
    stamp = (today or date.today()).isoformat()
    return PriceTable(prices=prices, source=f"litellm {metadata.version('litellm')} bundled map", as_of=stamp)


def load_price_file(path: Path) -> PriceTable:
    """Read a price table file (YAML or JSON): `{source, as_of, prices: {model: {input_per_token, ...}}}`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise PriceFileError(f"{path}: expected a mapping with `prices: {{model: {{input_per_token, ...}}}}`")
    data.setdefault("source", str(path))
    try:
        return PriceTable.model_validate(data)
    except ValueError as exc:
        raise PriceFileError(f"{path}: {exc}") from exc


def merge(base: PriceTable, overrides: PriceTable) -> PriceTable:
    """`base` with every model of `overrides` replaced or added; the source names both."""
    return PriceTable(
        prices={**base.prices, **overrides.prices},
        source=f"{base.source} + {overrides.source}",
        as_of=overrides.as_of or base.as_of,
    )


def load_overrides(path: Path) -> PriceTable:
    """Price overrides from YAML/JSON (as `load_price_file`) or CSV (model, input/output per token)."""
    if path.suffix.lower() != ".csv":
        return load_price_file(path)
    import csv

    prices: dict[str, ModelPrice] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"model", "input_per_token", "output_per_token"} - set(reader.fieldnames or [])
            if missing:
                raise PriceFileError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
            for line, row in enumerate(reader, start=2):
                try:
                    prices[row["model"]] = ModelPrice(
                        input_per_token=float(row["input_per_token"]),
                        output_per_token=float(row["output_per_token"]),
                    )
                except ValueError as exc:
                    raise PriceFileError(f"{path}:{line}: {row.get('model')}: {exc}") from exc
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc}") from exc
    return PriceTable(prices=prices, source=str(path))


def price_table_id(table: PriceTable) -> str:
    """Content id of a price table: sha256 of its sorted prices (16 hex digits)."""
    import hashlib

    canon = json.dumps(
        {m: [p.input_per_token, p.output_per_token] for m, p in sorted(table.prices.items())},
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def save_price_table(store: Store, table: PriceTable, origins: dict[str, str] | None = None) -> str:
    """Store a price table (content-addressed: saving the same prices twice keeps one copy); return its id."""
    from routelab.datasets.store import now_utc

    pid = price_table_id(table)
    with store.transaction() as cur:
        exists = cur.execute("SELECT count(*) FROM price_tables WHERE price_table_id = ?", [pid]).fetchone()
        if exists and exists[0]:
            return pid
        litellm_version = None
        if table.source.startswith("litellm "):
            litellm_version = table.source.split()[1]
        cur.execute(
            "INSERT INTO price_tables VALUES (?, ?, ?, ?, ?, ?)",
            [pid, table.source, table.as_of, litellm_version, len(table.prices), now_utc()],
        )
        rows = [
            (pid, m, p.input_per_token, p.output_per_token, (origins or {}).get(m, table.source))
            for m, p in table.prices.items()
        ]
        if rows:
            cur.executemany("INSERT INTO prices VALUES (?, ?, ?, ?, ?)", rows)
    return pid


def snapshot(store: Store, overrides: Path | None = None, today: date | None = None) -> str:
    """Snapshot litellm's bundled map plus optional overrides into the store; return the price table id."""
    base = litellm_price_table(today)
    origins = dict.fromkeys(base.prices, "litellm")
    if overrides is not None:
        extra = load_overrides(overrides)
        origins.update(dict.fromkeys(extra.prices, str(overrides)))
        base = merge(base, extra)
    return save_price_table(store, base, origins)


def load_stored(store: Store, pid: str | None = None) -> tuple[str, PriceTable]:
    """A stored price table by id, or the most recent one; (id, table)."""
    from routelab.datasets.errors import NotFoundError

    if pid is None:
        pid = store.scalar("SELECT price_table_id FROM price_tables ORDER BY created_at DESC LIMIT 1")
        if pid is None:
            raise NotFoundError("the store has no price table yet; run `routelab prices snapshot`")
    meta = store.execute("SELECT source, as_of FROM price_tables WHERE price_table_id = ?", [pid]).fetchone()
    if meta is None:
        known = [r[0] for r in store.execute("SELECT price_table_id FROM price_tables").fetchall()]
        raise NotFoundError(f"no price table {pid!r}; known: {', '.join(known) or 'none'}")
    rows = store.execute(
        "SELECT model, input_per_token, output_per_token FROM prices WHERE price_table_id = ?", [pid]
    ).fetchall()
    table = PriceTable(
        prices={m: ModelPrice(input_per_token=i, output_per_token=o) for m, i, o in rows},
        source=meta[0],
        as_of=meta[1].isoformat() if meta[1] else None,
    )
    return pid, table
