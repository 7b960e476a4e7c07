"""The HTML report: one self-contained file rendered from a report bundle.

Pure: the same bundle gives the same bytes (no clock, no random ids; `meta.generated_at` is in the bundle).
The page loads nothing from anywhere: plotly's script is inlined once, the figures travel as plotly's JSON
in a ``<script type="application/json">`` block drawn by a small inline script, the CSS is inline, and a
Content-Security-Policy allows only those two scripts (by hash) and no network request at all.

Jinja2 renders with autoescape on: every string from the data is escaped. Only the inlined plotly.js, the
init script and the figures' JSON (plotly's encoder escapes ``<``, ``>`` and ``/``) are marked safe.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from routelab.reports import charts, compliance, evidence, operations, risks, sentences, tables
from routelab.reports.bundle import check
from routelab.reports.formatting import num, path
from routelab.reports.verdict import decide

TEMPLATES = Path(__file__).parent / "templates"
#: Draws every figure of the JSON block into the element of the same id.
INIT_SCRIPT = """
(function () {
  var figures = JSON.parse(document.getElementById("report-figures").textContent);
  var config = {displaylogo: false, responsive: true};
  Object.keys(figures).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, figures[id].data, figures[id].layout, config); }
  });
  document.documentElement.setAttribute("data-charts", "drawn");
})();
"""


def environment(markdown: bool = False) -> Any:
    """The Jinja2 environment: autoescaping HTML, or Markdown whose every `{{ }}` goes through `finalize`."""
    import jinja2

    from routelab.reports import markdown as md

    if markdown:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=False,
            finalize=md.finalize,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def regressions(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The worst regressions: requests the candidate broke, with their redacted prompts."""
    out = []
    for i, row in enumerate(bundle.get("regressions") or []):
        task = row.get("task")
        out.append(
            {
                "request_id": str(row.get("request_id")),
                "where": " / ".join(
                    str(v) for v in (row.get("workflow"), task) if v is not None and not _nan(v)
                ),
                "base_path": str(row.get("base_path") or ""),
                "cand_path": str(row.get("cand_path") or ""),
                "cost_delta": num(bundle, path("regressions", i, "cost_delta_usd"), "usd", True),
                "prompt": str(row.get("prompt_redacted") or ""),
            }
        )
    return out


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def context(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the templates show, computed once (shared by the HTML and the Markdown)."""
    check(bundle)
    verdict = decide(bundle)
    return {
        "meta": bundle["meta"],
        "verdict": verdict,
        "decision_class": verdict.decision.replace(" ", "-"),
        "summary": sentences.summary(bundle),
        "risks": risks.risks(bundle),
        "headline": tables.headline(bundle),
        "gate": tables.gate(bundle),
        "buckets": tables.buckets(bundle),
        "attribution": tables.attribution(bundle),
        "slices": tables.slices(bundle),
        "breakdowns": tables.breakdowns(bundle),
        "frontier": evidence.frontier(bundle),
        "has_frontier": bool(bundle.get("frontier")),
        "windows": evidence.windows(bundle),
        "alarms": evidence.alarms(bundle),
        "policy": evidence.policy(bundle),
        "compliance": compliance.section(bundle),
        "operations": operations.section(bundle),
        "regressions": regressions(bundle),
        "coverage": evidence.coverage(bundle),
        "agreement": evidence.agreement(bundle),
        "method": evidence.method(bundle),
    }


def figures(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The report's figures by element id, as plotly figure dicts."""
    meta, compare = bundle["meta"], bundle["compare"]
    out: dict[str, Any] = {}
    for i, (name, group) in enumerate(((bundle.get("frontier") or {}).get("groups") or {}).items()):
        out[f"fig-frontier-{i}"] = charts.frontier(name, group)
    out["fig-sankey"] = charts.sankey(compare["flips"]["matrix"], meta["base"], meta["candidate"])
    out["fig-cost-latency"] = charts.cost_latency(bundle)
    if (compare.get("slices") or {}).get("by"):
        out["fig-slices"] = charts.slice_deltas(bundle)
    periods = (bundle["drift"].get("timeline") or {}).get("periods") or []
    if periods:
        out["fig-timeline"] = charts.timeline(periods)
    if bundle["policy"]:
        out["fig-policy"] = charts.policy(bundle)
    if compliance.has_trend(bundle):
        out["fig-compliance"] = charts.compliance_trend(bundle)
    return {key: fig.to_plotly_json() for key, fig in out.items()}


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def render_html(bundle: Mapping[str, Any]) -> str:
    """The self-contained HTML report of a bundle (module docstring)."""
    from plotly.io.json import to_json_plotly  # type: ignore[import-untyped]
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    plotly_js = get_plotlyjs()
    figs = figures(bundle)
    csp = (
        "default-src 'none'; "
        f"script-src {_hash(plotly_js)} {_hash(INIT_SCRIPT)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    return str(
        environment()
        .get_template("report.html.j2")
        .render(
            **context(bundle),
            figure_ids=list(figs),
            csp=csp,
            # the template marks only these three `|safe`: plotly's own script, the constant init script
            # and plotly's JSON of the figures (its encoder escapes < > /, so no `</script>` can occur)
            plotly_js=plotly_js,
            init_script=INIT_SCRIPT,
            figures_json=to_json_plotly(figs, engine="json"),
        )
    )
