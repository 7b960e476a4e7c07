"""Router versions in the store: register, list, load and diff by `name@version`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store, now_utc
from routelab.router_core.identity import canonical_json, config_hash
from routelab.router_core.validate import Router, load_router


@dataclass(frozen=True)
class RegisteredVersion:
    """A router version as stored."""

    ref: str
    hash: str
    description: str
    registered_at: datetime
    created: bool


def split_ref(ref: str) -> tuple[str, str]:
    """`name@version` → (name, version)."""
    name, sep, version = ref.partition("@")
    if not sep or not name or not version:
        raise DatasetError(f"`{ref}` is not a router version; write NAME@VERSION, e.g. acme-gateway@2")
    return name, version


def add(store: Store, yaml_text: str, source: str | None = None) -> RegisteredVersion:
    """Register a router version. Registering identical content again is a no-op.

    Raises:
        ConfigError: the config is invalid.
        DatasetError: the same `name@version` is registered with different content.
    """
    router = load_router(yaml_text, source)
    digest = config_hash(router)
    cfg = router.config
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT hash, registered_at FROM router_versions WHERE name = ? AND version = ?",
            [cfg.name, cfg.version],
        ).fetchone()
        if row is not None:
            if row[0] != digest:
                raise DatasetError(
                    f"{router.ref} is already registered with different content (hash {row[0][:12]}, "
                    f"this file {digest[:12]}); versions are immutable: "
                    f"bump `version` in {source or 'the file'}"
                )
            return RegisteredVersion(router.ref, digest, cfg.description, row[1], created=False)
        at = now_utc()
        cur.execute(
            "INSERT INTO router_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [cfg.name, cfg.version, digest, yaml_text, canonical_json(router), cfg.description, at],
        )
    return RegisteredVersion(router.ref, digest, cfg.description, at, created=True)


def get(store: Store, ref: str) -> Router:
    """Load a registered version.

    Raises:
        NotFoundError: naming the registered versions.
    """
    name, version = split_ref(ref)
    row = store.execute(
        "SELECT config_yaml FROM router_versions WHERE name = ? AND version = ?", [name, version]
    ).fetchone()
    if row is None:
        known = [f"{n}@{v}" for n, v in store.execute("SELECT name, version FROM router_versions").fetchall()]
        raise NotFoundError(
            f"no router version {ref} in {store.path}; registered: {', '.join(sorted(known)) or 'none'} "
            "(register one with `routelab router add FILE`)"
        )
    return _load(row[0], ref)


@functools.lru_cache(maxsize=32)
def _load(yaml_text: str, ref: str) -> Router:
    """`load_router` of a registered version's text, parsed once per process (a Router is immutable).

    One `compare` reads each version several times (pairing, attribution, compliance); PyYAML's pure-Python
    parser takes a few hundred milliseconds per read.
    """
    return load_router(yaml_text, source=ref)


def list_versions(store: Store) -> list[dict[str, object]]:
    """Every registered version with its hash, description and latest replay."""
    df = store.df(
        """
        SELECT v.name || '@' || v.version AS ref, v.hash, v.description, v.registered_at,
               r.run_id AS last_run, r.engine, r.n_decisions, r.finished_at AS replayed_at,
               r.input_dir
        FROM router_versions v
        LEFT JOIN (
            SELECT *, row_number() OVER (PARTITION BY router ORDER BY finished_at DESC) AS rn FROM replay_runs
        ) r ON r.router = v.name || '@' || v.version AND r.rn = 1
        ORDER BY v.name, v.registered_at
        """
    )
    df = df.astype(object).where(df.notna(), None)  # missing values as None, not NaN/NaT
    return df.to_dict(orient="records")  # type: ignore[return-value]
