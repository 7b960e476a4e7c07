"""The Markdown report: the first page's verdict, sentences and risks, and the key tables, for a ticket.

No charts. Every `{{ }}` of the template goes through :func:`finalize`, which escapes Markdown: each
character that means something to CommonMark or GitHub (``\\ ` * _ [ ] < > | $ ~ # & ! { }``) gets a
backslash, and line breaks become spaces, so text from the data (prompts, names, slice values) shows as
written and cannot open a table cell, a link, raw HTML or a code span.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from routelab.reports.formatting import Num, Text
from routelab.reports.tables import Table

SPECIAL = re.compile(r"([\\`*_\[\]<>|$~#&!{}])")
#: A line that would start a list item: its marker's punctuation gets a backslash (`\-`, `1\.`).
LIST_START = re.compile(r"^(\s*)(\d*)([-+.)])(\s)")


class Safe(str):
    """Markdown already escaped: `finalize` passes it through."""

    __slots__ = ()


def escape(value: str) -> str:
    """Untrusted text as inline Markdown (module docstring)."""
    return SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def text(parts: Text | str | Num) -> Safe:
    """A text (strings and numbers) as escaped Markdown."""
    if isinstance(parts, str | Num):
        return Safe(escape(str(parts)))
    return Safe("".join(escape(str(p)) for p in parts))


def finalize(value: Any) -> Any:
    """Jinja's `finalize`: escape everything a template prints unless it is `Safe`."""
    if isinstance(value, Safe):
        return value
    if isinstance(value, tuple | list):
        return text(tuple(value))
    return escape("" if value is None else str(value))


def table(t: Table) -> Safe:
    """A table as a GitHub-flavoured Markdown table, its caption in italics above it."""
    align = ["---:" if n else "---" for n in t.numeric]
    lines = [
        f"*{escape(t.caption)}*",
        "",
        "| " + " | ".join(escape(c) or " " for c in t.columns) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(text(cell) or " " for cell in row) + " |" for row in t.rows]
    return Safe("\n".join(lines))


def quote(prompt: str) -> Safe:
    """A redacted prompt as an escaped block quote, line by line."""
    lines = []
    for line in str(prompt).splitlines() or [""]:
        escaped = SPECIAL.sub(r"\\\1", line)
        lines.append("> " + LIST_START.sub(r"\1\2\\\3\4", escaped))
    return Safe("\n".join(lines))


def render_markdown(bundle: Mapping[str, Any]) -> str:
    """The Markdown report of a bundle."""
    from routelab.reports.render import context, environment

    env = environment(markdown=True)
    env.filters.update(md=text, mdtable=table, mdquote=quote)
    return str(env.get_template("report.md.j2").render(**context(bundle)))
