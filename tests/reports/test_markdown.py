"""The Markdown report: the HTML's verdict, sentences and risks word for word, key tables whose numbers are
the bundle's, and untrusted text escaped so it cannot become a table cell, a link, a code span or HTML."""

from __future__ import annotations

import re
from typing import Any

import pytest

from routelab.reports.markdown import escape, quote, render_markdown

from .builders import PAYLOAD, hostile, parse_number

UNESCAPE = re.compile(r"\\(.)")


def _plain(md: str) -> str:
    return UNESCAPE.sub(r"\1", md)


def _html_paragraphs(html: str, section: str) -> list[str]:
    import html as html_lib

    start = re.search(f'<section[^>]* id="{section}"', html).start()  # type: ignore[union-attr]
    part = html[start : html.index("</section>", start)]
    items = re.findall(r"<(?:p|li)[^>]*>(.*?)</(?:p|li)>", part, flags=re.DOTALL)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


@pytest.fixture(scope="module")
def md(bundle: dict[str, Any]) -> str:
    return render_markdown(bundle)


def test_the_first_page_reads_the_same_as_the_html(md: str, html: str) -> None:
    text = _plain(md)
    assert text.startswith("# acme-gateway@2 against acme-gateway@1: DO NOT SHIP")
    for section in ("verdict", "summary", "risks"):
        for sentence in _html_paragraphs(html, section):
            if sentence.strip() and not sentence.startswith("Verdict"):
                assert sentence.strip() in text, sentence


def _row(md: str, title: str) -> list[str]:
    line = next(line for line in md.splitlines() if line.startswith(f"| {title} |"))
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def _first_number(cell: str) -> str:
    found = re.match(r"[−+-]?\\?\$?[\d,]+(\.\d+)?(e-?\d+)?( %| points| ms)?", cell)
    assert found, cell
    return _plain(found.group(0))


@pytest.mark.parametrize(
    ("title", "paths", "unit"),
    [
        ("Routing accuracy (acceptable paths)", ("compare.accuracy.baseline.value", "compare.accuracy.candidate.value", "compare.accuracy.delta.value"), "rate"),  # noqa: E501
        ("Total cost (USD)", ("compare.cost.baseline.value", "compare.cost.candidate.value", "compare.cost.delta.value"), "usd"),  # noqa: E501
        ("Latency p95, estimated", ("compare.latency.p95.baseline.value", "compare.latency.p95.candidate.value", "compare.latency.p95.delta.value"), "ms"),  # noqa: E501
    ],
    ids=["accuracy", "cost", "latency"],
)  # fmt: skip
def test_key_numbers_are_the_bundles(
    md: str, bundle: dict[str, Any], title: str, paths: tuple[str, ...], unit: str
) -> None:
    from .builders import bundle_value

    cells = _row(md, title)
    for cell, dotted in zip(cells[1:], paths, strict=True):
        shown, tolerance = parse_number(
            _first_number(cell), "points" if "delta" in dotted and unit == "rate" else unit
        )
        assert abs(shown - bundle_value(bundle, dotted)) <= tolerance, (cell, dotted)


def test_untrusted_text_is_escaped(bundle: dict[str, Any]) -> None:
    md = render_markdown(hostile(bundle))
    assert not re.search(r"(?<!\\)[<`|]", md.replace("| ", "").replace(" |", ""))  # no raw HTML or code
    assert not re.search(r"(?<!\\)\]\(", md)  # no link
    assert r"\<\/script\>" not in md  # '/' needs no escape
    assert r"\</script\>\<script\>alert(1)\</script\>" in md
    assert r"\{\{ 7\*7 \}\} \| pipe \`tick\`" in md
    assert PAYLOAD in _plain(md)  # readable once unescaped
    tables: list[list[str]] = []
    previous = False
    for line in md.splitlines():
        row = line.startswith("| ")
        if row and not previous:
            tables.append([])
        if row:
            tables[-1].append(line)
        previous = row
    hit = [t for t in tables if any("pipe" in line for line in t)]
    assert len(hit) >= 3  # slices, policy, gate
    for t in tables:  # every row keeps its table's columns: the payload's pipe is escaped
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in t}) == 1, t


def test_escape_and_quote_units() -> None:
    assert escape("a|b*c_d`e<f>[g](h) $1 #2 ~3 &4 !5 {6}") == (
        r"a\|b\*c\_d\`e\<f\>\[g\](h) \$1 \#2 \~3 \&4 \!5 \{6\}"
    )
    assert escape("two\nlines") == "two lines"
    assert quote("- item\n1. step\nplain <x>") == "> \\- item\n> 1\\. step\n> plain \\<x\\>"
