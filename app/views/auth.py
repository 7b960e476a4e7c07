"""Who is signed in to the workbench, and what their role lets them do — checked on the server.

Three ways to sign in, the first that applies:
- **OIDC** (Streamlit's `st.login`) when `.streamlit/secrets.toml` has an `[auth]` section. Nothing but the
  "Log in" button shows until the identity provider has signed the person in; then `oidc_identity` decides
  from their claims and the `[routelab.oidc]` section (`oidc_config`) who they are (the `email` claim) and
  which role they have: their entry under `[routelab.oidc.emails]` if any, else the highest of a local user
  of that name, the roles `[routelab.oidc.groups]` gives the groups in their `groups`/`roles` claims, and
  `default_role`. Anyone else is refused: any account at the provider (say any Google account) could sign in.
  For example::

      [routelab.oidc]
      default_role = "viewer"           # optional; without it, people matched below only
      claims = ["groups"]               # optional; the claims listing groups or roles (default groups, roles)
      [routelab.oidc.emails]
      "ana@acme.com" = "reviewer"
      [routelab.oidc.groups]
      "routelab-annotators" = "annotator"
- **local users** (`routelab users add`) once any exists: a name and password form, checked against the
  salted scrypt hash;
- **by name** when no user is configured (a demo or a single team's machine): any name, or one of `routelab
  app --annotator`; such a session may annotate and review, and anyone may view. Add users to require sign-in.

Every view calls `require(role)` before it reads anything, and every action checks again before it writes:
hiding a button is never the only guard. Revealing a prompt's raw PII needs the reviewer role and is recorded
in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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


#: Claims read for a person's groups or roles when `[routelab.oidc]` names none (Okta/Keycloak; Entra ID).
GROUP_CLAIMS = ("groups", "roles")
OIDC_SECTION = "[routelab.oidc]"


class AuthConfigError(ValueError):
    """The `[routelab.oidc]` section of `.streamlit/secrets.toml` is malformed; the message names the key."""


@dataclass(frozen=True)
class OidcConfig:
    """Who may use the workbench after an OIDC sign-in, and with which role (`[routelab.oidc]`)."""

    emails: Mapping[str, str]
    """Email (lower case) → role; pins that person's role."""
    groups: Mapping[str, str]
    """Group or role name from the claims → role."""
    claims: tuple[str, ...] = GROUP_CLAIMS
    """The claims that list a person's groups or roles."""
    default_role: str | None = None
    """The role of anyone else signed in by the provider; None refuses them."""


@dataclass(frozen=True)
class OidcDecision:
    """The outcome of an OIDC sign-in: not signed in yet, a user, or a refusal saying why."""

    user: User | None = None
    refusal: str | None = None

    @property
    def needs_sign_in(self) -> bool:
        """Whether the person has yet to sign in with the identity provider."""
        return self.user is None and self.refusal is None


def _role(value: Any, where: str) -> str:
    from routelab.datasets.access import ROLES

    if value not in ROLES:
        raise AuthConfigError(f"{where}: role {value!r} unknown; roles: {', '.join(ROLES)}")
    return str(value)


def _table(section: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = section.get(key, {})
    if not isinstance(value, Mapping):
        raise AuthConfigError(f"{OIDC_SECTION} {key}: expected a table of name = role, got {value!r}")
    return value


def oidc_config(secrets: Mapping[str, Any]) -> OidcConfig:
    """The role rules of `secrets` (`[routelab.oidc]`; all optional: without it, everyone is refused).

    Raises:
        AuthConfigError: naming the key that is not a table, a list of claims or a known role.
    """
    routelab = secrets.get("routelab", {})
    section = routelab.get("oidc", {}) if isinstance(routelab, Mapping) else None
    if not isinstance(section, Mapping):
        raise AuthConfigError(f"{OIDC_SECTION}: expected a table, got {section!r}")
    unknown = sorted(set(section) - {"emails", "groups", "claims", "default_role"})
    if unknown:
        raise AuthConfigError(
            f"{OIDC_SECTION}: unknown key(s) {', '.join(unknown)}; keys: emails, groups, claims, default_role"
        )
    emails = {
        str(k).strip().lower(): _role(v, f"{OIDC_SECTION} emails {k!r}")
        for k, v in _table(section, "emails").items()
    }
    groups = {str(k): _role(v, f"{OIDC_SECTION} groups {k!r}") for k, v in _table(section, "groups").items()}
    claims = section.get("claims", GROUP_CLAIMS)
    if isinstance(claims, str):
        claims = (claims,)
    if not isinstance(claims, list | tuple) or not all(isinstance(c, str) for c in claims):
        raise AuthConfigError(f"{OIDC_SECTION} claims: expected a list of claim names, got {claims!r}")
    default = section.get("default_role")
    return OidcConfig(
        emails=emails,
        groups=groups,
        claims=tuple(claims),
        default_role=None if default is None else _role(default, f"{OIDC_SECTION} default_role"),
    )


def _claimed_groups(info: Mapping[str, Any], claims: tuple[str, ...]) -> list[str]:
    """The groups/roles the claims list.

    Raises:
        ValueError: a claim is neither a name nor a list of names.
    """
    found: list[str] = []
    for claim in claims:
        value = info.get(claim)
        if isinstance(value, str):
            value = [value]
        if value is not None and (
            not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value)
        ):
            raise ValueError(f"the identity provider's {claim!r} claim is not a list of names: {value!r}")
        found.extend(value or ())
    return found


def oidc_identity(
    info: Mapping[str, Any], config: OidcConfig, local_roles: Mapping[str, str] | None = None
) -> OidcDecision:
    """Who an OIDC sign-in is and which role they have, from the claims (`st.user`) and the role rules.

    The identity is the `email` claim (refused when missing, or when `email_verified` is false). The role:
    the person's `config.emails` entry if any; else the highest of the local user of that name
    (`local_roles`), the roles their groups map to and `config.default_role`; else refused.
    """
    from routelab.datasets.access import ROLES

    if not info.get("is_logged_in"):
        return OidcDecision()
    email = info.get("email")
    if not isinstance(email, str) or not email.strip():
        return OidcDecision(
            refusal="The identity provider sent no email for this account, so it cannot be matched to a "
            "workbench role. Ask an admin to request the `email` scope."
        )
    email = email.strip().lower()  # one person, one name in annotations and the audit log
    if info.get("email_verified") in (False, "false"):
        return OidcDecision(refusal=f"The identity provider has not verified {email}, so it cannot sign in.")
    pinned = config.emails.get(email)
    if pinned is not None:
        return OidcDecision(user=User(email, pinned, "oidc"))
    try:
        groups = _claimed_groups(info, config.claims)
    except ValueError as exc:
        return OidcDecision(refusal=f"{email} is refused: {exc}.")
    candidates = [config.groups[g] for g in groups if g in config.groups]
    local = (local_roles or {}).get(email)
    candidates += [r for r in (local, config.default_role) if r is not None]
    if not candidates:
        return OidcDecision(
            refusal=f"{email} has no workbench role. Ask an admin to add it under [routelab.oidc.emails] in "
            ".streamlit/secrets.toml, or to map one of your groups under [routelab.oidc.groups]."
        )
    return OidcDecision(user=User(email, max(candidates, key=ROLES.index), "oidc"))


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

    try:
        config = oidc_config(st.secrets)
    except AuthConfigError as exc:
        st.error(f"OIDC sign-in is misconfigured in .streamlit/secrets.toml: {exc}")
        st.stop()
    info = st.user.to_dict()
    local = {u["username"]: u["role"] for u in list_users(store())} if info.get("is_logged_in") else {}
    decision = oidc_identity(info, config, local)
    if decision.needs_sign_in:
        st.sidebar.button("Log in", on_click=st.login, key="oidc_login")
        return None
    user = decision.user
    st.sidebar.caption(f"Signed in as {user.name} ({user.role})" if user else "Signed in without a role")
    st.sidebar.button("Log out", on_click=st.logout, key="oidc_logout")
    if decision.refusal is not None:
        st.error(decision.refusal)
        st.stop()
    return decision.user


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
