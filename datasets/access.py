"""Local workbench users (salted scrypt hashes), their roles, and the append-only audit log.

Roles, each including the ones before it: **viewer** (dashboards and reports), **annotator** (judge
decisions), **reviewer** (adjudicate, reveal PII), **admin** (users, purge). The workbench enforces them on
the server for every view and action (`app/views/context.py`); `routelab users` manages them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store, now_utc

Role = Literal["viewer", "annotator", "reviewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
#: scrypt parameters (RFC 7914's interactive-login recommendation): ~16 MB and tens of ms per check.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MIN_PASSWORD = 8


def at_least(role: str, needed: str) -> bool:
    """Whether `role` includes the rights of `needed` (viewer < annotator < reviewer < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT).hex()


def audit(store: Store, actor: str, action: str, subject: str | None = None, details: Any = None) -> str:
    """Append one audit event; return its id."""
    event_id = uuid.uuid4().hex
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
        [event_id, now_utc(), actor, action, subject, json.dumps(details, sort_keys=True, default=str)],
    )
    return event_id


def add_user(store: Store, username: str, role: str, password: str, actor: str) -> None:
    """Create a user (the password is kept only as a salted scrypt hash).

    Raises:
        DatasetError: a bad name, role or password, or a user of that name exists.
    """
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise DatasetError(f"user name {username!r}: use letters, digits, '-', '_' and '.'")
    if role not in ROLES:
        raise DatasetError(f"role {role!r} unknown; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise DatasetError(f"the password must have at least {MIN_PASSWORD} characters")
    if store.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise DatasetError(f"user {username!r} exists; remove it first to change its password or role")
    salt = secrets.token_bytes(16)
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
            [username, role, salt.hex(), _hash(password, salt), now_utc()],
        )
        cur.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, 'user_add', ?, ?)",
            [uuid.uuid4().hex, now_utc(), actor, username, json.dumps({"role": role})],
        )


def remove_user(store: Store, username: str, actor: str) -> None:
    """Delete a user (their annotations stay, under their name).

    Raises:
        NotFoundError: no such user.
    """
    if not store.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise NotFoundError(f"no user {username!r}; `routelab users list` shows them")
    with store.transaction() as cur:
        cur.execute("DELETE FROM users WHERE username = ?", [username])
        cur.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, 'user_remove', ?, NULL)",
            [uuid.uuid4().hex, now_utc(), actor, username],
        )


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every user with role and creation time (never the hash)."""
    rows = store.execute("SELECT username, role, created_at FROM users ORDER BY username").fetchall()
    return [{"username": r[0], "role": r[1], "created_at": r[2]} for r in rows]


def verify(store: Store, username: str, password: str) -> str | None:
    """The user's role when the password is right, else None (same work either way)."""
    row = store.execute(
        "SELECT salt, password_hash, role FROM users WHERE username = ?", [username]
    ).fetchone()
    salt, expected, role = (bytes.fromhex(row[0]), row[1], row[2]) if row else (os.urandom(16), "", None)
    ok = hmac.compare_digest(_hash(password, salt), expected)
    return role if ok and row else None


def has_users(store: Store) -> bool:
    """Whether any local user exists (the workbench then requires a password sign-in)."""
    return bool(store.scalar("SELECT count(*) FROM users"))


def audit_events(store: Store, since: datetime | None = None) -> list[dict[str, Any]]:
    """Audit events, oldest first."""
    where, params = ("WHERE occurred_at >= ?", [since]) if since else ("", [])
    rows = store.execute(
        "SELECT event_id, occurred_at, actor, action, subject, details FROM audit_log "
        f"{where} ORDER BY occurred_at",
        params,
    )
    return [
        {
            "event_id": r[0],
            "at": r[1],
            "actor": r[2],
            "action": r[3],
            "subject": r[4],
            "details": json.loads(r[5] or "null"),
        }
        for r in rows.fetchall()
    ]
