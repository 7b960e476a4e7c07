"""The first page's top risks: the most important silent-failure alarms (the drift evaluator ranks them by
impact) and the slices whose accuracy fell significantly, worst first, each with its numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routelab.reports.formatting import Text, Unit, interval, num, path
from routelab.reports.sentences import worse_slices

#: Alarms among the top risks.
TOP_ALARMS = 3
#: Worsened slices among the top risks.
TOP_SLICES = 5
#: How a drift harm's metric is shown.
HARM_UNITS: dict[str, Unit] = {
    "accuracy": "rate",
    "error_rate": "rate",
    "fallback_rate": "rate",
    "cache_hit_rate": "rate",
    "cost_per_request": "usd",
    "latency_p95_ms": "ms",
    "latency_p50_ms": "ms",
    "quality": "ratio",
}


def _alarm(bundle: Mapping[str, Any], i: int, alarm: Mapping[str, Any]) -> Text:
    at = path("drift", "alarms", i)
    text: list[Any] = [
        f"Silent failure in {alarm['window']}, {alarm['slice_field']} = {alarm['slice_value']}",
        " (adjusted p = ",
        num(bundle, f"{at}.p_adjusted", "p"),
        "): ",
        num(bundle, f"{at}.shift", "rate"),
        " of ",
        num(bundle, f"{at}.n_current", "count"),
        " requests took another path",
    ]
    for j, harm in enumerate(alarm.get("harms") or []):
        unit = HARM_UNITS.get(harm["metric"], "num")
        h = f"{at}.harms.{j}"
        text += [
            "; ",
            harm["metric"].replace("_", " "),
            " went from ",
            num(bundle, f"{h}.reference", unit),
            " to ",
            num(bundle, f"{h}.current", unit),
            " (p = ",
            num(bundle, f"{h}.p_value", "p"),
            ")",
        ]
    return (*text, ".")


def _slice(bundle: Mapping[str, Any], field: str, i: int, row: Mapping[str, Any]) -> Text:
    at = path("compare", "slices", "by", field, i)
    return (
        f"Slice {field} = {row['value']}: accuracy ",
        num(bundle, f"{at}.accuracy.baseline.value", "rate"),
        " → ",
        num(bundle, f"{at}.accuracy.candidate.value", "rate"),
        " (",
        num(bundle, f"{at}.accuracy.delta.value", "points", True),
        ", ",
        *interval(bundle, f"{at}.accuracy.delta", "points"),
        "; adjusted p = ",
        num(bundle, f"{at}.p_adjusted", "p"),
        "; ",
        num(bundle, f"{at}.labelled", "count"),
        " labelled).",
    )


def risks(bundle: Mapping[str, Any]) -> list[Text]:
    """The top alarms (in the drift evaluator's order) and the significantly worse slices, worst first."""
    alarms = bundle["drift"].get("alarms") or []
    out = [_alarm(bundle, i, a) for i, a in enumerate(alarms[:TOP_ALARMS])]
    worse = worse_slices(bundle)
    out += [_slice(bundle, field, i, row) for field, i, row in worse[:TOP_SLICES]]
    if len(worse) > TOP_SLICES:
        out.append((f"… and {len(worse) - TOP_SLICES} more worse slice(s) in the evidence below.",))
    return out
