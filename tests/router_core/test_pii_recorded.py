"""A PII signal also reads the PII types recorded before the text was masked (`attrs.pii_types`).

`routelab import --redact` stores only masked text and keeps the detected types in `attrs.pii_types`; a
router must route such a request as it would the original, in both engines.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from routelab.router_core.engine import route
from routelab.router_core.pii import RECORDED_ATTR, recorded_types
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request, attr_text
from routelab.router_core.sql import REQUEST_COLUMNS, compile_sql
from routelab.router_core.validate import Router

from .test_identity import base_config, load

PRICES = PriceTable(prices={}, source="test")


def pii_router(types: list[str]) -> Router:
    """The identity tests' base config with a PII signal: requests with PII go to the small model."""
    data: dict[str, Any] = base_config()
    data.setdefault("signals", []).append({"kind": "pii", "name": "pii_seen", "types": types})
    data["rules"].insert(0, {"id": "pii", "when": "pii_seen", "route": {"model": "m-small"}})
    return load(data)


def sql_rules(router: Router, requests: list[Request]) -> dict[str, str]:
    con = duckdb.connect()
    cols = ", ".join(f"{name} {kind}" for name, kind in REQUEST_COLUMNS)
    con.execute(f"CREATE TABLE requests ({cols})")
    con.executemany(
        f"INSERT INTO requests VALUES ({', '.join('?' for _ in REQUEST_COLUMNS)})",
        [[getattr(r, name) for name, _ in REQUEST_COLUMNS] for r in requests],
    )
    rows = con.execute(
        f"SELECT request_id, rule_id FROM ({compile_sql(router, PRICES, 'requests')})"
    ).fetchall()
    con.close()
    return dict(rows)


CASES = [
    # (recorded attr or None, prompt, fires for types [email])
    (None, "write to [email] please", False),  # masked text alone holds no PII
    ("email", "write to [email] please", True),
    ("iban,email", "pay [iban] and write to [email]", True),
    (" iban , email ", "spaces around the names", True),
    ("iban", "only an IBAN was found", False),  # not one of the signal's types
    ("", "nothing was found", False),
    (None, "the raw text still says jane.doe@example.com", True),  # the detector still runs
    ("unknown_type", "a name routelab does not know", False),
]


@pytest.mark.parametrize(("recorded", "prompt", "fires"), CASES)
def test_both_engines_read_the_recorded_types(recorded: str | None, prompt: str, fires: bool) -> None:
    router = pii_router(["email"])
    attrs = {} if recorded is None else {RECORDED_ATTR: recorded}
    req = Request(request_id="r1", prompt=prompt, attrs=attrs)
    python_rule = route(router, req, PRICES).rule_id
    assert (python_rule == "pii") is fires
    assert sql_rules(router, [req]) == {"r1": python_rule}


def test_many_requests_at_once_agree() -> None:
    router = pii_router(["email", "iban"])
    reqs = [
        Request(request_id=f"r{k}", prompt=p, attrs={} if r is None else {RECORDED_ATTR: r})
        for k, (r, p, _) in enumerate(CASES)
    ]
    expected = {r.request_id: route(router, r, PRICES).rule_id for r in reqs}
    assert sql_rules(router, reqs) == expected
    assert expected["r4"] == "pii"  # "iban" is one of this signal's types


def test_recorded_types_reads_the_attr_text() -> None:
    assert recorded_types("b, a,,c ") == {"a", "b", "c"}
    assert recorded_types("") == frozenset()
    assert recorded_types(None) == frozenset()
    assert recorded_types(attr_text(3)) == {"3"}
