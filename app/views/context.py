"""What every workbench view shares: the store, the signed-in annotator, settings and cached reads.

The workbench is one process holding the store's DuckDB connection (one writer per file); each Streamlit
session runs in its own thread and uses its own cursor (`Store.cursor`). `routelab app` passes its settings
through environment variables, read here only.

Reads that cost more than a query (evaluations) are cached per data fingerprint, so a new replay or a new
annotation gives fresh numbers on the next rerun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from routelab.app.workbench_env import ENV_ANNOTATORS, ENV_DB, ENV_DOUBLE_SHARE, ENV_LEASE_MINUTES


@dataclass(frozen=True)
class Settings:
    """The workbench's settings (`routelab app` options)."""

    db: str | None
    annotators: tuple[str, ...]
    lease_minutes: float
    double_share: float


def settings() -> Settings:
    """The settings `routelab app` put in the environment (defaults when started otherwise)."""
    names = tuple(n.strip() for n in os.environ.get(ENV_ANNOTATORS, "").split(",") if n.strip())
    return Settings(
        db=os.environ.get(ENV_DB) or None,
        annotators=names,
        lease_minutes=float(os.environ.get(ENV_LEASE_MINUTES, "15")),
        double_share=float(os.environ.get(ENV_DOUBLE_SHARE, "0.1")),
    )


@st.cache_resource(show_spinner=False)
def _open(db: str | None) -> Any:
    from routelab.datasets.store import open_store

    return open_store(db)


def store() -> Any:
    """The store, opened once per server process (errors are shown on the page and stop the run)."""
    from routelab.datasets.errors import DatasetError

    try:
        return _open(settings().db)
    except DatasetError as exc:
        st.error(f"Cannot open the store: {exc}")
        st.stop()


def fingerprint() -> str:
    """Changes whenever decisions or annotations change: the key of every cached evaluation."""
    row = (
        store()
        .execute(
            "SELECT (SELECT count(*) FROM decisions), (SELECT max(finished_at) FROM replay_runs), "
            "(SELECT count(*) FROM annotations), (SELECT max(created_at) FROM annotations)"
        )
        .fetchone()
    )
    return "|".join(map(str, row))


def versions() -> list[str]:
    """Replayed router versions, `name@version`, in name and registration order."""
    rows = (
        store()
        .execute(
            "SELECT DISTINCT d.router, v.registered_at FROM (SELECT DISTINCT router FROM decisions) d "
            "LEFT JOIN router_versions v ON d.router = v.name || '@' || v.version "
            "ORDER BY v.registered_at, d.router"
        )
        .fetchall()
    )
    return [r[0] for r in rows]


def pick_versions(label: str, count: int, key: str) -> list[str]:
    """`count` versions chosen by the user (defaults: the latest ones), or a note and a stop without them."""
    known = versions()
    if len(known) < count:
        st.info(f"{label} needs {count} replayed version(s); run `routelab replay NAME@VER` first.")
        st.stop()
    defaults = known[-count:]
    columns = st.columns(count)
    return [
        col.selectbox(
            f"{label} {i + 1}" if count > 1 else label, known, index=known.index(d), key=f"{key}_{i}"
        )
        for i, (col, d) in enumerate(zip(columns, defaults, strict=True))
    ]


@st.cache_data(show_spinner="Comparing…", max_entries=16)
def compare(base: str, candidate: str, by: tuple[str, ...], data_key: str) -> dict[str, Any]:
    """`compare_stored_versions` (not saved), cached per data fingerprint `data_key`."""
    from routelab.app.workflows import compare_stored_versions

    return compare_stored_versions(store(), base, candidate, by=by, save=False)


@st.cache_data(show_spinner="Measuring drift…", max_entries=16)
def drift(ref: str, by: str, data_key: str) -> dict[str, Any]:
    """`drift_stored_version` (not saved), cached per data fingerprint `data_key`."""
    from routelab.app.workflows import drift_stored_version

    return drift_stored_version(store(), ref, by=by, save=False)


def show_error(exc: Exception) -> None:
    """A library error as one message on the page (the run goes on)."""
    st.error(str(exc))
