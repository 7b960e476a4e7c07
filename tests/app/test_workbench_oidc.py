"""OIDC sign-in (`st.login`, `st.user`) when `.streamlit/secrets.toml` has an `[auth]` section.

No identity provider runs offline: the decision (which identity, which role) is the pure `oidc_identity` over
the claims and `[routelab.oidc]`, tested case by case; AppTest then fakes `st.user` (`AppTest.user`) and the
secrets (`AppTest.secrets`) to check what each page shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from routelab.app.views.auth import (
    AuthConfigError,
    OidcConfig,
    OidcDecision,
    User,
    oidc_config,
    oidc_identity,
)
from routelab.datasets import access
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo

from ..workbench_app import workbench

#: Streamlit's own `[auth]` section; any content does, since the tests never reach the provider.
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-secret",
    "client_id": "routelab-tests",
    "client_secret": "not-a-secret",
    "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration",
}
ROLE_RULES = {
    "emails": {"Ana@Acme.com": "reviewer", "pinned@acme.com": "viewer"},
    "groups": {"routelab-annotators": "annotator", "routelab-admins": "admin"},
}
CONFIG = oidc_config({"routelab": {"oidc": ROLE_RULES}})


def signed_in(email: str | None = "someone@acme.com", **claims: Any) -> dict[str, Any]:
    """`st.user` of a person the provider signed in (Streamlit adds `is_logged_in`)."""
    return {"is_logged_in": True, **({"email": email} if email is not None else {}), **claims}


# ---- the decision, a pure function -------------------------------------------------------------------

#: (claims, rules, local users) → the role, or None when the person is refused.
CASES: dict[str, tuple[dict[str, Any], OidcConfig, dict[str, str], str | None]] = {
    "known-email": (signed_in("ana@acme.com"), CONFIG, {}, "reviewer"),
    "email-case-ignored": (signed_in("ANA@acme.COM "), CONFIG, {}, "reviewer"),
    "group": (signed_in(groups=["staff", "routelab-annotators"]), CONFIG, {}, "annotator"),
    "highest-group": (signed_in(groups=["routelab-annotators", "routelab-admins"]), CONFIG, {}, "admin"),
    "roles-claim": (signed_in(roles="routelab-annotators"), CONFIG, {}, "annotator"),
    "email-pins-below-group": (
        signed_in("pinned@acme.com", groups=["routelab-admins"]),
        CONFIG,
        {},
        "viewer",
    ),
    "unmapped-groups": (signed_in(groups=["staff"]), CONFIG, {}, None),
    "unknown-email": (signed_in("eve@gmail.com"), CONFIG, {}, None),
    "local-user": (signed_in("ops@acme.com"), CONFIG, {"ops@acme.com": "annotator"}, "annotator"),
    "default-role": (signed_in("eve@gmail.com"), OidcConfig({}, {}, default_role="viewer"), {}, "viewer"),
    "group-above-default": (
        signed_in(groups=["routelab-admins"]),
        OidcConfig({}, {"routelab-admins": "admin"}, default_role="viewer"),
        {},
        "admin",
    ),
    "only-configured-claims": (
        signed_in(groups=["routelab-admins"]),
        OidcConfig({}, {"routelab-admins": "admin"}, claims=("roles",)),
        {},
        None,
    ),
    "no-rules-at-all": (signed_in("ana@acme.com"), oidc_config({}), {}, None),
}


@pytest.mark.parametrize(("claims", "config", "local", "role"), CASES.values(), ids=CASES.keys())
def test_which_role_a_signed_in_person_gets(
    claims: dict[str, Any], config: OidcConfig, local: dict[str, str], role: str | None
) -> None:
    decision = oidc_identity(claims, config, local)
    assert not decision.needs_sign_in
    if role is None:
        assert decision.user is None
        assert decision.refusal is not None
    else:
        assert decision.refusal is None
        assert decision.user == User(claims["email"].strip().lower(), role, "oidc")


@pytest.mark.parametrize("info", [{}, {"is_logged_in": False}, {"is_logged_in": False, "email": "a@b.c"}])
def test_before_the_provider_signs_in_there_is_no_one(info: dict[str, Any]) -> None:
    decision = oidc_identity(info, CONFIG, {"a@b.c": "admin"})
    assert decision == OidcDecision()
    assert decision.needs_sign_in


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (signed_in("eve@gmail.com"),
         "eve@gmail.com has no workbench role. Ask an admin to add it under [routelab.oidc.emails]"),
        (signed_in(None, name="Ana"), "The identity provider sent no email for this account"),
        (signed_in("ana@acme.com", email_verified=False),
         "The identity provider has not verified ana@acme.com, so it cannot sign in."),
        (signed_in(groups={"admin": True}),
         "someone@acme.com is refused: the identity provider's 'groups' claim is not a list of names"),
    ],
    ids=["unknown", "no-email", "unverified", "malformed-groups"],
)  # fmt: skip
def test_a_refusal_says_why(claims: dict[str, Any], message: str) -> None:
    decision = oidc_identity(claims, CONFIG)
    assert decision.user is None
    assert decision.refusal is not None
    assert message in decision.refusal


def test_the_role_rules_read_from_secrets() -> None:
    assert CONFIG.emails == {"ana@acme.com": "reviewer", "pinned@acme.com": "viewer"}
    assert CONFIG.groups == ROLE_RULES["groups"]
    assert (CONFIG.claims, CONFIG.default_role) == (("groups", "roles"), None)
    custom = oidc_config({"routelab": {"oidc": {"claims": "roles", "default_role": "annotator"}}})
    assert (custom.claims, custom.default_role) == (("roles",), "annotator")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"emails": {"ana@acme.com": "boss"}},
         "[routelab.oidc] emails 'ana@acme.com': role 'boss' unknown; roles: viewer, annotator, reviewer, "
         "admin"),
        ({"groups": {"staff": "owner"}}, "[routelab.oidc] groups 'staff': role 'owner' unknown"),
        ({"default_role": "everyone"}, "[routelab.oidc] default_role: role 'everyone' unknown"),
        ({"emails": ["ana@acme.com"]}, "[routelab.oidc] emails: expected a table of name = role"),
        ({"claims": 3}, "[routelab.oidc] claims: expected a list of claim names, got 3"),
        ({"email": {"ana@acme.com": "admin"}}, "[routelab.oidc]: unknown key(s) email; keys: emails, groups"),
        ("admin", "[routelab.oidc]: expected a table, got 'admin'"),
    ],
    ids=["email-role", "group-role", "default-role", "emails-not-table", "claims", "typo", "not-a-table"],
)  # fmt: skip
def test_a_bad_role_rule_names_its_key(section: Any, message: str) -> None:
    with pytest.raises(AuthConfigError) as info:
        oidc_config({"routelab": {"oidc": section}})
    assert message in str(info.value)


# ---- the workbench with [auth] configured (AppTest) --------------------------------------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("oidc-wb") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=8, n_requests=300)
        # a local user exists, yet OIDC comes first: no password form
        access.add_user(store, "rita", "reviewer", "long enough password", actor="test")
    return str(path)


@pytest.fixture
def app(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    with workbench(db, monkeypatch) as at:
        at.secrets["auth"] = AUTH
        at.secrets["routelab"] = {"oidc": ROLE_RULES}
        yield at


def messages(app: AppTest) -> str:
    return " ".join(m.value for m in [*app.info, *app.error])


def page_content(app: AppTest) -> list[str]:
    """What the main area shows besides the page's title: each element's type and text."""
    found, todo = [], list(app.main.children.values())
    while todo:
        node = todo.pop(0)
        if hasattr(node, "children"):  # a block (columns, tabs, ...): look inside
            todo[:0] = node.children.values()
        elif type(node).__name__ != "Title":
            found.append(f"{type(node).__name__}: {getattr(node, 'value', '')}")
    return found


PAGES = ("views/overview.py", "views/annotate.py", "views/review.py", "views/operations.py")


def test_before_sign_in_every_page_shows_only_the_log_in(app: AppTest) -> None:
    app.user = {"is_logged_in": False}
    app.run()
    for page in (None, *PAGES):
        if page:
            app.switch_page(page).run()
        assert not app.exception, page
        assert [b.label for b in app.button] == ["Log in"], page
        assert page_content(app) == ["Info: Sign in (sidebar) to open this page."], page
        assert not app.text_input  # no password form, no name box: the provider signs people in


def test_a_known_email_gets_its_role(app: AppTest) -> None:
    app.user = signed_in("Ana@acme.com", name="Ana")
    app.run()
    assert not app.exception
    assert app.metric  # the Overview shows
    assert "Signed in as ana@acme.com (reviewer)" in [c.value for c in app.sidebar.caption]
    app.switch_page("views/review.py").run()
    assert not app.exception
    assert "needs the" not in messages(app)


def test_a_group_maps_to_a_role(app: AppTest) -> None:
    app.user = signed_in("ann@acme.com", groups=["routelab-annotators"])
    app.run()
    app.switch_page("views/annotate.py").run()
    assert not app.exception
    assert "needs the" not in messages(app)
    app.switch_page("views/review.py").run()
    assert "This needs the reviewer role; ann@acme.com is a annotator" in messages(app)


def test_an_unknown_email_is_refused_everywhere(app: AppTest) -> None:
    app.user = signed_in("eve@gmail.com")
    app.run()
    for page in (None, *PAGES):
        if page:
            app.switch_page(page).run()
        assert not app.exception, page
        assert page_content(app) == [  # the refusal and nothing else
            "Error: eve@gmail.com has no workbench role. Ask an admin to add it under [routelab.oidc.emails] "
            "in .streamlit/secrets.toml, or to map one of your groups under [routelab.oidc.groups]."
        ], page
    assert [b.label for b in app.button] == ["Log out"]  # to sign in with another account


def test_log_out_returns_to_the_log_in(app: AppTest) -> None:
    app.user = signed_in("ana@acme.com")
    app.run()
    app.button(key="oidc_logout").click().run()
    assert not app.exception
    assert app.user == {"is_logged_in": False}
    assert [b.label for b in app.button] == ["Log in"]
    assert not app.metric


def test_a_misconfigured_role_rule_is_shown_not_guessed(app: AppTest) -> None:
    app.secrets["routelab"] = {"oidc": {"emails": {"ana@acme.com": "boss"}}}
    app.user = signed_in("ana@acme.com")
    app.run()
    assert not app.exception
    assert "OIDC sign-in is misconfigured in .streamlit/secrets.toml: [routelab.oidc] emails" in messages(app)
    assert not app.metric
