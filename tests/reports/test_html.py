"""The HTML report: its numbers are the bundle's, it is self-contained and offline, it renders the same
bytes twice, and text from the data is escaped."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from routelab.reports.bundle import dumps
from routelab.reports.render import INIT_SCRIPT, render_html

from .builders import hostile, matches, parse_page

#: Numbers the first page must show, each read from the evaluators' JSON in the bundle.
KEY_METRICS = (
    "compare.n",
    "compare.coverage.labelled",
    "compare.accuracy.baseline.value",
    "compare.accuracy.candidate.value",
    "compare.accuracy.delta.value",
    "compare.accuracy.delta.ci_low",
    "compare.accuracy.delta.ci_high",
    "compare.accuracy.delta.p_value",
    "compare.cost.delta_pct.value",
    "compare.cost.delta_pct.ci_low",
    "compare.cost.delta_pct.ci_high",
    "accuracy.base.overall.cost_per_1k_usd",
    "accuracy.candidate.overall.cost_per_1k_usd",
    "compare.latency.p95.delta.value",
    "compare.flips.rate.value",
    "compare.gate.failures.0.values.accuracy~1delta~1ci_high",
)
MB = 1024 * 1024


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_every_marked_number_is_the_bundles_value_at_its_path(bundle: dict[str, Any], html: str) -> None:
    page = parse_page(html)
    assert len(page.metrics) > 200
    wrong = [(p, u, t) for p, u, t in page.metrics if not matches(bundle, p, u, t)]
    assert not wrong, wrong[:10]
    assert set(KEY_METRICS) <= {p for p, _, _ in page.metrics}


def test_the_first_page_holds_the_verdict_the_sentences_and_the_risks(html: str) -> None:
    first = html[html.index("<header") : html.index("</header>")]
    assert 'data-decision="do not ship"' in first
    assert "Verdict: <strong>do not ship</strong>" in first
    assert "accuracy.delta.ci_high &lt; 0 holds" in first
    assert "Cost per 1,000 requests falls from" in first
    assert "McNemar&#39;s test puts at p =" in first
    assert "Top risks" in first
    assert "Slice workflow = sales" in first
    for section in (
        "frontier",
        "flips",
        "cost-latency",
        "slices",
        "drift",
        "policy",
        "regressions",
        "labels",
    ):
        assert f'<section id="{section}">' in html[html.index('<main class="evidence">') :]


def test_same_bundle_same_bytes_also_after_a_json_round_trip(bundle: dict[str, Any], html: str) -> None:
    assert render_html(bundle) == html
    assert render_html(json.loads(dumps(bundle))) == html


def test_self_contained_offline_and_small(html: str) -> None:
    page = parse_page(html)
    remote = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "poster", "data", "srcset", "formaction"):
            value = attrs.get(name)
            assert not (value and remote.match(value)), (tag, name, value)
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", attrs.get("style") or "")
    for css in page.styles:
        assert "@import" not in css
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv"))
    assert csp
    assert "default-src 'none'" in csp
    assert "connect-src" not in csp
    assert len(html.encode()) < 10 * MB


def test_only_the_reports_own_scripts_run_and_the_policy_allows_only_them(html: str) -> None:
    from plotly.offline import get_plotlyjs

    page = parse_page(html)
    kinds = [attrs.get("type") for attrs, _ in page.scripts]
    assert kinds == [None, "application/json", None]
    (_, plotly_js), (_, figures), (_, init) = page.scripts
    assert plotly_js == get_plotlyjs()
    assert init == INIT_SCRIPT
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv")) or ""
    allowed = re.search(r"script-src ([^;]*)", csp)
    assert allowed
    assert set(allowed.group(1).split()) == {_sha(plotly_js), _sha(init)}
    assert "<" not in figures  # plotly's encoder escapes < > /
    assert set(json.loads(figures)) >= {"fig-sankey", "fig-cost-latency", "fig-slices", "fig-timeline"}


def test_untrusted_text_is_escaped(bundle: dict[str, Any]) -> None:
    html = render_html(hostile(bundle))
    page = parse_page(html)
    assert [attrs.get("type") for attrs, _ in page.scripts] == [None, "application/json", None]
    assert not [t for t, _ in page.tags if t in ("img", "svg", "b")]
    handlers = [(t, k) for t, attrs in page.tags for k in attrs if k.lower().startswith("on")]
    assert not handlers
    body = html[html.index("<body>") : html.index("<script>")]
    escaped = "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert escaped in body
    assert body.count(escaped) >= 6  # prompt, note, annotator, slice value, policy id, gate name …
    assert "{{ 7*7 }}" in body  # shown as written, never evaluated
    figures = page.scripts[1][1]
    assert "<" not in figures
    # plotly shows labels as text: the payload reaches it HTML-escaped
    assert "&lt;\\u002fscript&gt;&lt;script&gt;alert(1)" in figures
    assert "alert(1)" not in page.scripts[0][1] + page.scripts[2][1]


@pytest.mark.parametrize("key", ["frontier", "regressions"])
def test_missing_parts_are_said_not_crashed_on(bundle: dict[str, Any], key: str) -> None:
    changed = {**bundle, key: None if key == "frontier" else []}
    html = render_html(changed)
    expected = {"frontier": "no full-information outcomes", "regressions": "No labelled request got worse"}
    assert expected[key] in html
