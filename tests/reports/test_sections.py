"""The "Privacy and residency" and "Operations" sections: in the HTML and the Markdown, with the bundle's
numbers; the demo's v1 → v2 privacy breaches (confidential sales context sent to external models) shown
and flagged; and a report whose bundle has no logged traffic saying so."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from routelab.app.report_flow import BREACH_EXAMPLES, OPS_SPIKES
from routelab.reports.formatting import plain
from routelab.reports.markdown import render_markdown
from routelab.reports.render import render_html
from routelab.reports.risks import risks
from routelab.reports.verdict import decide

from .builders import bundle_value, matches, parse_number, parse_page, without_logged_traffic

UNESCAPE = re.compile(r"\\(.)")


def html_section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start : html.index("</section>", start)]


def md_section(md: str, title: str) -> str:
    start = md.index(f"\n## {title}\n")
    end = md.find("\n## ", start + 1)
    return md[start : end if end > 0 else None]


def md_cells(md: str, first: str) -> list[str]:
    """The cells of the Markdown table row whose first cell is `first` (unescaped)."""
    for line in md.splitlines():
        cells = [UNESCAPE.sub(r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


def leading_number(cell: str, unit: str) -> float:
    """The first number of a cell, in the bundle's scale."""
    return _leading(cell, unit)[0]


def shows(cell: str, unit: str, value: float) -> bool:
    """True when the cell's first number is `value` within the rounding its digits imply."""
    shown, tolerance = _leading(cell, unit)
    return abs(shown - value) <= tolerance


def _leading(cell: str, unit: str) -> tuple[float, float]:
    found = re.match(r"[−+-]?\$?[\d,]+(\.\d+)?(e-?\d+)?( %| points| ms)?", cell)
    assert found, cell
    return parse_number(found.group(0), unit)


def visible(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


def metrics(html: str) -> dict[str, str]:
    return {p: t for p, _, t in parse_page(html).metrics}


@pytest.fixture(scope="module")
def md(bundle: dict[str, Any]) -> str:
    return render_markdown(bundle)


# ---- privacy and residency --------------------------------------------------------------------------------


def test_the_html_compliance_section_shows_the_bundles_breaches(bundle: dict[str, Any], html: str) -> None:
    section = html_section(html, "compliance")
    shown = metrics(section)
    for kind in ("privacy", "residency", "any"):
        for side in ("base", "candidate"):
            at = f"compliance.{side}.totals.{kind}"
            assert shown[f"{at}.count"] == f"{bundle_value(bundle, f'{at}.count'):,}"
            assert matches(bundle, f"{at}.rate.value", "rate", shown[f"{at}.rate.value"])
        for field in ("rate.value", "rate.ci_low", "rate.ci_high", "rate.p_value", "introduced", "resolved"):
            at = f"compliance.delta.{kind}.{field}"
            unit = {"rate.p_value": "p", "introduced": "count", "resolved": "count"}.get(field, "points")
            assert matches(bundle, at, unit, shown[at]), at
    candidate = bundle["compliance"]["candidate"]
    for period in candidate["periods"]:
        assert f"<td>{period['period']}</td>" in section
    for example in bundle["compliance"]["examples"]:
        assert f"<strong>{example['request_id']}</strong>" in section
    figures = json.loads(parse_page(html).scripts[1][1])
    traces = figures["fig-compliance"]["data"]
    cand = [t for t in traces if t["name"] == bundle["meta"]["candidate"] and t.get("xaxis") in (None, "x")]
    assert cand[0]["y"] == [p["privacy"]["count"] for p in candidate["periods"]]


def test_the_markdown_compliance_section_shows_the_bundles_breaches(bundle: dict[str, Any], md: str) -> None:
    section = md_section(md, "Privacy and residency")
    for kind, name in (("privacy", "privacy boundary"), ("residency", "region residency"), ("any", "either")):
        cells = md_cells(section, name)
        for cell, side in zip(cells[1:3], ("base", "candidate"), strict=True):
            assert leading_number(cell, "count") == bundle["compliance"][side]["totals"][kind]["count"]
        delta = bundle["compliance"]["delta"][kind]["rate"]["value"]
        assert shows(cells[4], "points", delta), cells[4]
    for i, period in enumerate(bundle["compliance"]["candidate"]["periods"]):
        base = bundle["compliance"]["base"]["periods"][i]
        cells = md_cells(section, period["period"])
        assert [leading_number(c, "count") for c in cells[2:6]] == [
            base["privacy"]["count"],
            period["privacy"]["count"],
            base["residency"]["count"],
            period["residency"]["count"],
        ]
    for example in bundle["compliance"]["examples"]:
        assert f"**{example['request_id']}**" in UNESCAPE.sub(r"\1", section)


def test_the_demo_candidate_sends_confidential_sales_context_to_external_models(
    bundle: dict[str, Any], html: str, md: str
) -> None:
    compliance = bundle["compliance"]
    base, cand = (compliance[side]["totals"]["privacy"]["count"] for side in ("base", "candidate"))
    assert base == 0 < cand
    assert compliance["delta"]["privacy"]["rate"]["ci_low"] > 0
    (sales,) = [s for s in compliance["candidate"]["slices"]["workflow"] if s["value"] == "sales"]
    assert sales["privacy"]["count"] == cand
    assert compliance["candidate"]["causes"]["data_class:confidential"] > 0
    reached = [m for m in compliance["candidate"]["models"] if m["privacy"]]
    assert reached
    assert all(m["boundary"] != "private" for m in reached)
    # the verdict and the first risk say so, on the first page of both formats
    caveat = next(c for c in decide(bundle).caveats if c.rule == "compliance-breach")
    said = f"(privacy breaches) rise from 0 to {cand:,} decisions"
    assert said in plain(caveat.text)
    assert plain(risks(bundle)[0]).startswith(f"Privacy breaches added: {cand:,} requests newly exposed")
    first = html[: html.index("</header>")]
    assert said in visible(first)
    assert 'data-rule="compliance-breach"' in first
    assert said in UNESCAPE.sub(r"\1", md[: md.index("\n## Key numbers")])
    section = html_section(html, "compliance")
    assert "<td>data class confidential</td>" in section
    assert "<td>sales</td>" in section


def test_breach_examples_are_few_redacted_and_never_raw(bundle: dict[str, Any]) -> None:
    from routelab.router_core.pii import detect

    examples = bundle["compliance"]["examples"]
    assert 0 < len(examples) <= 2 * BREACH_EXAMPLES
    introduced = set(bundle["compliance"]["delta"]["privacy"]["examples"])
    for example in examples:
        assert "prompt" not in example
        assert not detect(example["prompt_redacted"]), example["request_id"]
        assert example["introduced"] == (example["request_id"] in introduced)


def test_a_bundle_without_compliance_results_falls_back_to_the_comparison(bundle: dict[str, Any]) -> None:
    older = {k: v for k, v in bundle.items() if k != "compliance"}
    html = render_html(older)
    section = html_section(html, "compliance")
    shown = metrics(section)
    at = "compare.compliance.candidate.privacy.count"
    assert shown[at] == f"{bundle_value(bundle, at):,}"
    assert "fig-compliance" not in json.loads(parse_page(html).scripts[1][1])
    assert any(c.rule == "compliance-breach" for c in decide(older).caveats)


# ---- operations -------------------------------------------------------------------------------------------

#: Numbers of the operations section and their units (`ops.` paths of the bundle).
OPS_METRICS = {
    "ops.n": "count",
    "ops.cost_usd": "usd",
    "ops.tokens": "count",
    "ops.expensive_prompts.0.cost_usd": "usd",
    "ops.failing_workflows.0.error_rate.value": "rate",
    "ops.failing_workflows.0.timeout_rate.value": "rate",
    "ops.failing_workflows.0.latency_p95_ms": "ms",
    "ops.fallbacks.0.fallbacks": "count",
    "ops.fallbacks.0.extra_cost_usd": "usd",
    "ops.teams.0.cost_usd": "usd",
    "ops.teams.0.cost_change": "rate",
    "ops.caching.0.hits": "count",
    "ops.caching.0.saved_usd": "usd",
}


def test_the_bundle_carries_a_trimmed_operations_summary(bundle: dict[str, Any]) -> None:
    ops = bundle["ops"]
    assert ops["n"] > 0  # the demo logs every request's production call
    assert ops["window"]["since"] <= ops["first_ts"][:10] <= ops["last_ts"][:10] <= ops["window"]["until"]
    for key in ("expensive_prompts", "failing_workflows", "fallbacks", "teams", "caching"):
        assert 0 < len(ops[key]) <= 5, key
        assert all("examples" not in row for row in ops[key])
    assert len(ops["fallback_spikes"]) == min(OPS_SPIKES, ops["n_fallback_spikes"])
    assert ops["store_logged"]["n"] >= ops["n"]
    assert len(json.dumps(ops)) < 20_000


def test_the_html_operations_section_shows_the_bundles_numbers(bundle: dict[str, Any], html: str) -> None:
    section = html_section(html, "operations")
    shown = metrics(section)
    for at, unit in OPS_METRICS.items():
        assert matches(bundle, at, unit, shown[at]), (at, shown.get(at))
    for key in ("ops-prompts", "ops-failures", "ops-fallbacks", "ops-teams", "ops-caching", "ops-budget"):
        assert f'id="{key}"' in section
    assert f"<td>{bundle['ops']['teams'][0]['value']}</td>" in section
    assert "No team budgets were given" in section  # the report reads no budget file


def test_the_markdown_operations_section_shows_the_bundles_numbers(bundle: dict[str, Any], md: str) -> None:
    section = md_section(md, "Operations")
    ops = bundle["ops"]
    for row in ops["teams"]:
        cells = md_cells(section, row["value"])
        assert leading_number(cells[1], "count") == row["requests"]
        assert shows(cells[3], "usd", row["cost_usd"]), cells[3]
    for row in ops["failing_workflows"]:
        cells = md_cells(section, row["value"])
        assert shows(cells[2], "rate", row["error_rate"]["value"]), cells[2]
    total = UNESCAPE.sub(r"\1", section)
    assert f"{ops['n']:,} calls costing" in total


@pytest.mark.parametrize(
    ("variant", "said"),
    [
        ("none-in-store", "The store holds no logged production calls"),
        ("none-in-window", "No logged production call falls in the candidate's window (2031-01-05 to"),
        ("no-ops-key", "carries no operations summary"),
    ],
)  # fmt: skip
def test_without_logged_traffic_the_section_says_so(bundle: dict[str, Any], variant: str, said: str) -> None:
    if variant == "no-ops-key":
        changed = {k: copy.deepcopy(v) for k, v in bundle.items() if k != "ops"}
    else:
        changed = without_logged_traffic(bundle, in_store=variant == "none-in-window")
    html = render_html(changed)
    section = html_section(html, "operations")
    assert said in visible(section)
    assert "<table>" not in section
    assert not [p for p in metrics(html) if p.startswith("ops.")]
    md = UNESCAPE.sub(r"\1", md_section(render_markdown(changed), "Operations"))
    assert said in md
    assert "| " not in md


def test_failures_by_model_show_when_the_summary_carries_them(bundle: dict[str, Any]) -> None:
    changed = copy.deepcopy(bundle)
    rows = changed["ops"]["failing_workflows"]
    changed["ops"]["failing_models"] = [{**row, "value": f"model-{i}"} for i, row in enumerate(rows)]
    section = html_section(render_html(changed), "operations")
    assert 'id="table-ops-failing-models"' in section
    assert "<td>model-0</td>" in section
    at = "ops.failing_models.0.error_rate.value"
    assert matches(changed, at, "rate", metrics(section)[at])
    older = copy.deepcopy(bundle)
    older["ops"].pop("failing_models", None)  # a bundle from before the summary carried them
    assert 'id="table-ops-failing-models"' not in html_section(render_html(older), "operations")
