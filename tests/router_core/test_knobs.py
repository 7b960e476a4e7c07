"""Knobs: named numbers a config's conditions read as `knobs.NAME`, swept to draw a version's curve."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from routelab.router_core.engine import route
from routelab.router_core.errors import ConfigError
from routelab.router_core.identity import canonical, config_hash
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.sql import compile_sql
from routelab.router_core.validate import Router, with_knob

from .test_identity import base_config, load

PRICES = PriceTable(prices={}, source="test")


def knobbed(threshold: float = 100.0, sweep: tuple[float, ...] = (10.0, 100.0, 1000.0)) -> dict[str, Any]:
    """The identity tests' base config with a `max_small` knob: short prompts go to the small model."""
    data = base_config()
    data["knobs"] = {"max_small": {"value": threshold, "sweep": list(sweep), "description": "tokens"}}
    data["rules"].insert(
        0, {"id": "short", "when": "prompt_tokens <= knobs.max_small", "route": {"model": "m-small"}}
    )
    return data


def request(tokens: int) -> Request:
    return Request(request_id=f"r{tokens}", prompt="hello there", prompt_tokens=tokens)


def sql_model(router: Router, req: Request) -> Any:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE requests AS SELECT ? AS request_id, ?::TIMESTAMP AS ts, ? AS workflow, ? AS task, "
        "? AS team, ? AS region, ? AS data_class, ? AS prompt, ?::BIGINT AS prompt_tokens, "
        "?::BIGINT AS expected_output_tokens, MAP {}::MAP(VARCHAR, VARCHAR) AS attrs",
        [req.request_id, None, None, None, None, None, None, req.prompt, req.prompt_tokens, None],
    )
    row = con.execute(f"SELECT model FROM ({compile_sql(router, PRICES, 'requests')})").fetchone()
    con.close()
    return row[0] if row else None


def test_a_config_without_knobs_hashes_as_before() -> None:
    """Adding the `knobs` section to the schema changed no existing version's identity."""
    assert "knobs" not in canonical(load(base_config()))


def test_a_knob_reads_as_its_value_in_both_engines() -> None:
    router = load(knobbed(threshold=100))
    short, long = request(50), request(500)
    assert route(router, short, PRICES).rule_id == "short"
    assert route(router, long, PRICES).rule_id != "short"
    for req in (short, long):
        assert sql_model(router, req) == route(router, req, PRICES).model


def test_with_knob_moves_the_threshold_and_the_hash() -> None:
    router = load(knobbed(threshold=100))
    lower = with_knob(router, "max_small", 10)
    req = request(50)
    assert route(router, req, PRICES).rule_id == "short"
    assert route(lower, req, PRICES).rule_id != "short"
    assert sql_model(lower, req) == route(lower, req, PRICES).model
    assert config_hash(lower) != config_hash(router)
    assert lower.config.knobs["max_small"].value == 10
    assert lower.config.knobs["max_small"].sweep == (10.0, 100.0, 1000.0)


def test_an_unknown_knob_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"has no knob `nope`; its knobs: max_small"):
        with_knob(load(knobbed()), "nope", 1)
    data = knobbed()
    data["rules"][0]["when"] = "prompt_tokens <= knobs.max_smal"
    with pytest.raises(ConfigError, match=r"unknown name `knobs.max_smal`"):
        load(data)


def test_a_knob_name_must_be_a_name() -> None:
    data = knobbed()
    data["knobs"]["2fast"] = {"value": 1}
    with pytest.raises(ConfigError, match="knob name"):
        load(data)
