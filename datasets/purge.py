"""Retention: remove the raw prompt text of old requests, keep everything else, record it in the audit log.

`purge(store, older_than=timedelta(days=90), actor=...)` empties `requests.prompt` for requests older than the
cutoff (by `ts`) — or, with `keep_redacted`, replaces it with the text PII-masked by router_core's detector —
and records the detected PII types in `attrs.pii_types` (for routing rules, as `import --redact` does). The
requests' other fields, decisions, labels, annotations and outcomes stay: evaluations keep working, only the
text is gone. Prompt token counts stay as they were. One transaction; one audit event with cutoff and count;
the requests' rows of the PII cache (`pii_cache`) and of the signal cache (`signal_cache`) are deleted in it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from routelab.datasets import pii_cache, signal_cache
from routelab.datasets.errors import DatasetError
from routelab.datasets.store import Store, now_utc
from routelab.datasets.tables import canonical_map

_DURATION = re.compile(r"^\s*(\d+)\s*([dwh])\s*$")
_UNITS = {"d": "days", "w": "weeks", "h": "hours"}


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed (or would remove, with `dry_run`)."""

    cutoff: datetime
    n_requests: int
    keep_redacted: bool
    dry_run: bool
    event_id: str | None


def parse_duration(text: str) -> timedelta:
    """`90d`, `12w` or `36h` as a timedelta.

    Raises:
        DatasetError: anything else, with the accepted forms.
    """
    match = _DURATION.match(text)
    if not match or int(match[1]) == 0:
        raise DatasetError(
            f"duration {text!r}: write a positive number of days, weeks or hours: 90d, 12w, 36h"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def purge(
    store: Store,
    older_than: timedelta,
    actor: str,
    *,
    keep_redacted: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    """Remove the raw prompt text of requests older than `older_than` (module docstring)."""
    from routelab.router_core.pii import detect, redact

    cutoff = (now or now_utc()) - older_than
    rows = store.execute(
        "SELECT request_id, prompt FROM requests WHERE ts < ? AND prompt IS NOT NULL ORDER BY request_id",
        [cutoff],
    ).fetchall()
    if dry_run or not rows:
        return PurgeResult(cutoff, len(rows), keep_redacted, dry_run, None)
    updates = []
    for request_id, prompt in rows:
        types = ",".join(sorted({s.type.value for s in detect(prompt)}))
        updates.append((redact(prompt) if keep_redacted else None, types, request_id))
    event_id = uuid.uuid4().hex
    details = {"older_than": str(older_than), "requests": len(rows), "keep_redacted": keep_redacted}
    with store.transaction() as cur:
        cur.execute("CREATE TEMP TABLE _purge (prompt VARCHAR, pii_types VARCHAR, request_id VARCHAR)")
        cur.executemany("INSERT INTO _purge VALUES (?, ?, ?)", updates)
        cur.execute(
            "UPDATE requests SET prompt = p.prompt, attrs = "
            + canonical_map(
                "map_concat(coalesce(requests.attrs, MAP {}::MAP(VARCHAR, VARCHAR)), "
                "MAP {'pii_types': p.pii_types})"
            )
            + " "
            "FROM _purge p WHERE requests.request_id = p.request_id"
        )
        cur.execute("DROP TABLE _purge")
        purged = [request_id for _, _, request_id in updates]
        pii_cache.forget(cur, purged)  # it was the old text's PII
        signal_cache.forget(cur, purged)  # and the old text's signal values
        cur.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, 'purge', ?, ?)",
            [event_id, now_utc(), actor, cutoff.isoformat(sep=" "), json.dumps(details, sort_keys=True)],
        )
    return PurgeResult(cutoff, len(rows), keep_redacted, dry_run, event_id)
