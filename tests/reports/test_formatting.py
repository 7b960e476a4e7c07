"""Number formatting (the documented units), bundle paths, and the JSON-exact bundle."""

from __future__ import annotations

import math

import pytest

from routelab.reports.bundle import clean, dumps
from routelab.reports.errors import BundleError
from routelab.reports.formatting import fmt, lookup, p_text, path

from .builders import parse_number


@pytest.mark.parametrize(
    ("value", "unit", "signed", "text"),
    [
        (0.97995, "rate", False, "98.0 %"),
        (-0.21144, "points", True, "\u221221.1 points"),
        (0.0123, "points", True, "+1.2 points"),
        (-47.308, "percent", True, "\u221247.3 %"),
        (12.500487, "usd", False, "$12.50"),
        (-5.9137, "usd", True, "\u2212$5.91"),
        (0.0076473, "usd", False, "$0.0076"),
        (7166.67, "ms", False, "7,167 ms"),
        (-9083.3, "ms", True, "\u22129,083 ms"),
        (1.4328e-196, "p", False, "1.4e-196"),
        (0.00064, "p", False, "6.4e-4"),
        (0.031, "p", False, "0.031"),
        (4739, "count", False, "4,739"),
        (-238, "count", True, "\u2212238"),
        (0.15846, "ratio", False, "0.158"),
        (-0.19906, "num", False, "\u22120.1991"),
        (None, "rate", False, "n/a"),
        (math.nan, "usd", False, "n/a"),
    ],
)
def test_units_format_as_documented(value: float | None, unit: str, signed: bool, text: str) -> None:
    assert fmt(value, unit, signed) == text  # type: ignore[arg-type]
    if value is not None and not math.isnan(value):
        shown, tolerance = parse_number(text, unit)
        assert abs(shown - value) <= tolerance


def test_bare_leaves_out_the_unit_word() -> None:
    assert fmt(-0.224, "points", True, bare=True) == "\u221222.4"
    assert fmt(-3340.0, "ms", bare=True) == "\u22123,340"
    assert fmt(-6.18, "usd", bare=True) == "\u2212$6.18"


def test_paths_escape_dots_and_tildes_and_read_back() -> None:
    data = {"models": {"Llama-3.1-70B": {"q": [0.5, 0.7]}}, "a~b": {"c.d": 1}}
    assert path("models", "Llama-3.1-70B", "q", 1) == "models.Llama-3~11-70B.q.1"
    assert lookup(data, path("models", "Llama-3.1-70B", "q", 1)) == 0.7
    assert lookup(data, path("a~b", "c.d")) == 1
    with pytest.raises(BundleError, match="has no key 'x'"):
        lookup(data, "models.x")
    with pytest.raises(BundleError, match="has 2 items, no index 5"):
        lookup(data, path("models", "Llama-3.1-70B", "q", 5))


def test_clean_makes_the_bundle_json_exact_without_changing_it() -> None:
    import numpy as np
    import pandas as pd

    raw = {
        "a": math.nan,
        "b": (1, np.int64(2)),
        "c": np.float64(0.5),
        "d": pd.Timestamp("2026-01-02"),
        3: None,
    }
    assert clean(raw) == {"a": None, "b": [1, 2], "c": 0.5, "d": "2026-01-02T00:00:00", "3": None}
    assert math.isnan(raw["a"])  # the input is untouched
    assert dumps(raw) == dumps(clean(raw))
    with pytest.raises(BundleError, match="cannot store a object"):
        clean({"x": object()})


@pytest.mark.parametrize(
    ("p", "kwargs", "text"),
    [
        (0.031, {}, "p=0.031"),
        (1.3e-116, {}, "p=1.3e-116"),
        (0.0, {}, "p<1e-300"),  # a tail that underflowed: never "p=0"
        (5e-324, {"name": "p_adj"}, "p_adj<1e-300"),
        (0.5, {"spaced": True}, "p = 0.5"),
        (0.0, {"name": "adjusted p", "spaced": True}, "adjusted p < 1e-300"),
    ],
)
def test_p_values_as_the_cli_writes_them(p: float, kwargs: dict[str, object], text: str) -> None:
    assert p_text(p, **kwargs) == text  # type: ignore[arg-type]
