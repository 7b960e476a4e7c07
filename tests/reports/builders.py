"""Builders for the report tests: a demo bundle, hostile text, hand-set breaches and missing logged traffic,
and an independent reader of report numbers.

The number reader does not use `routelab.reports.formatting`: it parses what a reader sees (``−47.3 %``,
``$12.50``, ``1.4e-196``) back into a number with the tolerance its digits imply, so a wrong path, a wrong
scale or a wrong rounding shows up as a mismatch.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from routelab.app.report_flow import report_bundle
from routelab.datasets.annotations import Judgement, record
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo
from routelab.reports.bundle import clean

BASE, CAND = "acme-gateway@1", "acme-gateway@2"
AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
GATE = ["accuracy.delta.ci_high < 0"]
#: Hostile text: closes a script, opens one, an event handler, Jinja-looking text, Markdown pipes and ticks.
PAYLOAD = (
    "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    '</SCRIPT ><svg onload="alert(3)">{{ 7*7 }} | pipe `tick` [link](javascript:alert(4)) <b>bold</b>'
)


def build_store(path: Path, n_requests: int = 2000, annotate: bool = True) -> Path:
    """The demo store (seed 4), with a few requests double-judged by alice and bob when `annotate`."""
    with open_store(path) as store:
        build_demo(store, seed=4, n_requests=n_requests)
        if annotate:
            rows = store.execute(
                "SELECT request_id FROM decisions WHERE router = ? ORDER BY request_id LIMIT 24", [CAND]
            ).fetchall()
            for k, (rid,) in enumerate(rows):
                record(store, Judgement(request_id=rid, router=CAND, annotator="alice", verdict="correct"))
                verdict = "correct" if k % 4 else "incorrect"
                corrected = {"tier": "large"} if verdict == "incorrect" else None
                judgement = Judgement(
                    request_id=rid, router=CAND, annotator="bob", verdict=verdict, corrected=corrected
                )
                record(store, judgement)
    return path


def build_bundle(path: Path, conditions: list[str] | None = None) -> dict[str, Any]:
    """The JSON-exact report bundle of acme-gateway@1 → @2 on the store at `path`."""
    with open_store(path, read_only=True) as store:
        raw = report_bundle(store, BASE, CAND, conditions=GATE if conditions is None else conditions, at=AT)
    return dict(clean(raw))


def hostile(bundle: dict[str, Any]) -> dict[str, Any]:
    """A copy of `bundle` with PAYLOAD in a prompt, notes, an annotator, a slice value, a model name, a
    policy id, a gate condition's name and description, an alarm's slice and a frontier model."""
    b = copy.deepcopy(bundle)
    meta, compare = b["meta"], b["compare"]
    b["regressions"][0]["prompt_redacted"] = PAYLOAD + "\nsecond line\n- not a list"
    compare["warnings"] = [f"note: {PAYLOAD}"]
    compare["slices"]["by"]["workflow"][0]["value"] = PAYLOAD
    path_key = f"{PAYLOAD} | none | none | allow"
    compare["flips"]["matrix"][path_key] = {path_key: 5}
    b["policy"][meta["candidate"]][PAYLOAD] = 7
    gate = compare["gate"]
    for check in (*gate["failures"], *gate["checked"]):
        check["name"], check["description"] = PAYLOAD, f"description {PAYLOAD}"
    agreement = b["labels"]["agreement"]
    if agreement["annotators"]:
        agreement["annotators"][0]["annotator"] = PAYLOAD
    if agreement["pairs"]:
        agreement["pairs"][0]["annotator_a"] = PAYLOAD
    if b["drift"]["alarms"]:
        b["drift"]["alarms"][0]["slice_value"] = PAYLOAD
    if b["frontier"]:
        group = next(iter(b["frontier"]["groups"].values()))
        group["models"][PAYLOAD] = next(iter(group["models"].values()))
    compliance, ops = b["compliance"], b["ops"]
    if compliance["examples"]:
        compliance["examples"][0].update(prompt_redacted=PAYLOAD, workflow=PAYLOAD, cand_model=PAYLOAD)
    if compliance["candidate"]["models"]:
        compliance["candidate"]["models"][0]["model"] = PAYLOAD
    for key, field in (("teams", "value"), ("expensive_prompts", "prompt_group"), ("fallbacks", "model")):
        if ops[key]:
            ops[key][0][field] = PAYLOAD
    return b


def set_breaches(
    bundle: dict[str, Any],
    kind: str,
    base: int,
    candidate: int,
    *,
    ci: tuple[float, float],
    p: float,
    introduced: int | None = None,
    resolved: int = 0,
) -> dict[str, Any]:
    """Edit `bundle` in place (and return it) so both versions' compliance results, and the comparison's,
    say `kind` breaches went from `base` to `candidate` decisions, with the paired change's 95 % interval
    `ci` and McNemar p-value `p`."""
    n = bundle["compare"]["compliance"]["n_paired"] or 1
    comparison = bundle["compare"]["compliance"]
    counts = {"base": base, "candidate": candidate}
    for side, key in (("base", "baseline"), ("candidate", "candidate")):
        for totals in (bundle["compliance"][side]["totals"], comparison[key]):
            k = counts[side]
            totals[kind]["count"] = k
            totals[kind]["rate"].update(value=k / n, ci_low=max(0.0, k / n - 0.001), ci_high=k / n + 0.001)
            totals[kind]["examples"] = [f"req-{side}-{i}" for i in range(min(k, 3))]
    rate = {"value": (candidate - base) / n, "ci_low": ci[0], "ci_high": ci[1], "n": n, "p_value": p,
            "method": "newcombe-paired-score", "confidence": 0.95, "test": "mcnemar-exact"}  # fmt: skip
    delta = {
        "count": candidate - base,
        "rate": rate,
        "introduced": max(candidate - base, 0) if introduced is None else introduced,
        "resolved": resolved,
        "examples": [f"req-new-{i}" for i in range(min(max(candidate - base, 0), 3))],
    }
    bundle["compliance"]["delta"][kind] = copy.deepcopy(delta)
    comparison["delta"][kind] = copy.deepcopy(delta)
    return bundle


def no_breaches(bundle: dict[str, Any]) -> dict[str, Any]:
    """Edit `bundle` in place (and return it) so neither version breaches privacy or residency."""
    for kind in ("privacy", "residency"):
        set_breaches(bundle, kind, 0, 0, ci=(-0.0002, 0.0002), p=1.0)
    return bundle


def without_logged_traffic(bundle: dict[str, Any], *, in_store: bool) -> dict[str, Any]:
    """A copy of `bundle` whose operations summary found no logged call in the candidate's window; with
    `in_store` False the store holds none at all, else some outside the window."""
    b = copy.deepcopy(bundle)
    ops = b["ops"]
    for key in ("expensive_prompts", "failing_workflows", "fallbacks", "fallback_spikes", "teams", "caching"):
        ops[key] = []
    ops.update(
        n=0, cost_usd=0.0, tokens=0, first_ts=None, last_ts=None, comparison=None, budget=None, notes=[],
        n_fallback_spikes=0, cache_judged_different=0,
        window={"since": "2031-01-05", "until": "2031-02-01"},
        store_logged={"n": 1234, "first_ts": "2026-09-07T01:00:00", "last_ts": "2026-11-01T23:00:00"}
        if in_store
        else {"n": 0, "first_ts": None, "last_ts": None},
    )  # fmt: skip
    return b


# ---- reading numbers back ------------------------------------------------------------------------------

SCALE = {"rate": 100.0, "points": 100.0}


def parse_number(text: str, unit: str) -> tuple[float, float]:
    """The value a shown number stands for, and the tolerance its rounding allows (in the bundle's scale)."""
    t = text.replace("\u2212", "-").replace("$", "").replace(",", "").replace("+", "")
    t = re.sub(r"\s*(points|%|ms)$", "", t.strip())
    mantissa, _, exponent = t.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    tolerance = 0.5 * 10.0**-decimals * 10.0 ** int(exponent or 0)
    scale = SCALE.get(unit, 1.0)
    return float(t) / scale, tolerance / scale + 1e-12


def bundle_value(bundle: dict[str, Any], dotted: str) -> Any:
    """The bundle's value at a data-metric path (``.`` separates keys, ``~1`` is a dot, ``~0`` a tilde)."""
    node: Any = bundle
    for raw in dotted.split("."):
        key = raw.replace("~1", ".").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def matches(bundle: dict[str, Any], dotted: str, unit: str, text: str) -> bool:
    """True when `text` shows the bundle's value at `dotted` in `unit`."""
    value = bundle_value(bundle, dotted)
    if value is None:
        return text == "n/a"
    if isinstance(value, bool):
        return text == str(value).lower()
    shown, tolerance = parse_number(text, unit)
    return abs(float(value) - shown) <= tolerance


class Page(HTMLParser):
    """The parts of a report page the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metrics: list[tuple[str, str, str]] = []  # path, unit, text
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._metric: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in: str | None = None
        self._attrs: dict[str, str | None] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("script", "style"):
            self._in, self._attrs, self._text = tag, a, []
        elif tag == "span" and a.get("data-metric"):
            self._metric, self._text = (str(a["data-metric"]), str(a.get("data-unit"))), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in == "script":
            self.scripts.append((self._attrs, "".join(self._text)))
            self._in = None
        elif tag == "style" and self._in == "style":
            self.styles.append("".join(self._text))
            self._in = None
        elif tag == "span" and self._metric:
            self.metrics.append((*self._metric, "".join(self._text)))
            self._metric = None

    def handle_data(self, data: str) -> None:
        if self._in or self._metric:
            self._text.append(data)
        if not self._in:
            self.text.append(data)


def parse_page(html: str) -> Page:
    """The parsed report page."""
    page = Page()
    page.feed(html)
    page.close()
    return page
