"""Who is signed in to the workbench, and what their role lets them do — checked on the server.

Three ways to sign in, the first that applies:
- **OIDC** (Streamlit's `st.login`) when `.streamlit/secrets.toml` has an `[auth]` section: the role is the
  local user's of the same name (the OIDC email), else viewer;
- **local users** (`routelab users add`) once any exists: a name and password form, checked against the
  salted scrypt hash;
- **by name** when no user is configured (a demo or a single team's machine): any name, or one of `routelab
  app --annotator`; such a session may annotate and review, and anyone may view. Add users to require sign-in.

Every view calls `require(role)` before it reads anything, and every action checks again before it writes:
hiding a button is never the only guard. Revealing a prompt's raw PII needs the reviewer role and is recorded
in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

from routelab.app.views.context import settings, store

Source = Literal["oidc", "password", "name", "anonymous"]
#: The role of a session signed in by name only (no users configured).
NAME_ROLE = "reviewer"


@dataclass(frozen=True)
class User:
    """The signed-in person."""

    name: str
    role: str
    source: Source


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError):  # no secrets file at all
        return False
    except Exception:  # noqa: BLE001 -- a malformed secrets file: no OIDC, and say so
        st.sidebar.warning("`.streamlit/secrets.toml` could not be read; OIDC sign-in is off")
        return False


def _oidc_user() -> User | None:
    from routelab.datasets.access import list_users

    if not st.user.is_logged_in:
        st.sidebar.button("Log in", on_click=st.login, key="oidc_login")
        return None
    name = str(st.user.get("email") or st.user.get("name") or "unknown")
    roles = {u["username"]: u["role"] for u in list_users(store())}
    st.sidebar.caption(f"Signed in as {name}")
    st.sidebar.button("Log out", on_click=st.logout, key="oidc_logout")
    return User(name, roles.get(name, "viewer"), "oidc")


def _password_user() -> User | None:
    from routelab.datasets.access import verify

    ss = st.session_state
    if ss.get("auth_user"):
        user: User = ss.auth_user
        st.sidebar.caption(f"Signed in as {user.name} ({user.role})")
        if st.sidebar.button("Sign out", key="sign_out"):
            del ss["auth_user"]
            st.rerun()
        return user
    with st.sidebar.form("sign_in"):
        name = st.text_input("User", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in"):
            role = verify(store(), name.strip(), password)
            if role is None:
                st.error("Unknown user or wrong password.")
            else:
                ss.auth_user = User(name.strip(), role, "password")
                st.rerun()
    return None


def _name_user() -> User | None:
    names = settings().annotators
    with st.sidebar:
        if names:
            chosen = st.selectbox("Signed in as", ["—", *names], key="annotator_choice")
            name = None if chosen == "—" else chosen
        else:
            typed = st.text_input("Sign in with your name", key="annotator_name")
            name = typed.strip() or None
    return User(name, NAME_ROLE, "name") if name else None


def current_user() -> User | None:
    """The signed-in user (the sidebar shows the sign-in), or None."""
    from routelab.datasets.access import has_users

    if _oidc_configured():
        return _oidc_user()
    if has_users(store()):
        return _password_user()
    return _name_user()


def require(role: str) -> User:
    """The signed-in user if their role includes `role`; otherwise a message and the run stops.

    With no users configured, viewing needs no sign-in (an anonymous viewer).
    """
    from routelab.datasets.access import at_least, has_users

    user = current_user()
    if user is None:
        if role == "viewer" and not _oidc_configured() and not has_users(store()):
            return User("anonymous", "viewer", "anonymous")
        st.info("Sign in (sidebar) to open this page.")
        st.stop()
    if not at_least(user.role, role):
        st.error(
            f"This needs the {role} role; {user.name} is a {user.role}. Ask an admin (`routelab users`)."
        )
        st.stop()
    return user


def allowed(user: User, role: str) -> bool:
    """Whether `user` may do what `role` may (for a second check right before a write)."""
    from routelab.datasets.access import at_least

    return at_least(user.role, role)


def reveal(user: User, request_id: str) -> bool:
    """A 'show raw text' toggle for reviewers; switching it on records the reveal in the audit log."""
    from routelab.datasets.access import audit

    if not allowed(user, "reviewer"):
        return False
    shown = st.toggle("Reveal PII", key=f"reveal_{request_id}", help="Recorded in the audit log")
    seen = st.session_state.setdefault("revealed", set())
    if shown and request_id not in seen:
        audit(store(), user.name, "reveal_pii", request_id)
        seen.add(request_id)
    return shown
