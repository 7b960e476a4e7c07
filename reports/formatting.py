"""Numbers as the report shows them, each tied to the bundle path it was read from.

A :class:`Num` carries the text shown, the dotted bundle path of the value (None for a derived number such
as a share computed from two counts) and its unit. The HTML marks every number that has a path with
``data-metric="PATH" data-unit="UNIT"``, so anyone can check the report against the bundle JSON.

**Paths** are the bundle's keys joined by ``.``; list items are their index. A key holding ``~`` or ``.``
(model names such as ``Llama-3.1-70B``) is written with ``~0`` for ``~`` and ``~1`` for ``.`` (as JSON
Pointer escapes ``/``).

**Units** (the documented formatting; negative numbers use the minus sign U+2212):

========  ===================================================  ====================
unit      shown                                                example
========  ===================================================  ====================
rate      a fraction as a percentage, 1 decimal                ``98.0 %``
points    a difference of fractions in percentage points       ``−21.1 points``
percent   a value that is already a percentage, 1 decimal      ``−47.3 %``
usd       dollars: 2 decimals from $1, else 4 decimals         ``$12.50``, ``$0.0089``
ms        milliseconds, no decimals                            ``7,167 ms``
p         a p-value: 3 decimals, scientific below 0.001        ``0.031``, ``6.4e-4``
count     an integer with thousands separators                 ``4,739``
ratio     3 decimals (PSI, kappa, alpha, shares of 1)          ``0.158``
num       4 significant digits (values a gate condition read)  ``-0.1991``
========  ===================================================  ====================

A missing value (null or NaN) shows as ``n/a``. The low end of an interval leaves out the unit word
(``95 % interval −22.4 to −19.9 points``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.reports.errors import BundleError

Unit = Literal["rate", "points", "percent", "usd", "ms", "p", "count", "ratio", "num"]
MINUS = "\u2212"
MISSING = "n/a"


class Num(BaseModel):
    """One number of the report: its text, where it came from and its unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The number as shown.")
    path: str | None = Field(description="Dotted bundle path of the value; None for a derived number.")
    unit: Unit = Field(description="How the value was formatted (module docstring).")

    def __str__(self) -> str:
        return self.text


#: A run of text with numbers in it: what sentences, reasons and table cells are made of.
Part = str | Num
Text = tuple[Part, ...]


def plain(text: Text | Part) -> str:
    """The text without its number markup."""
    if isinstance(text, str | Num):
        return str(text)
    return "".join(str(part) for part in text)


def missing(value: Any) -> bool:
    """True for null and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _signed(text: str, value: float, signed: bool) -> str:
    if text.startswith("-"):
        return MINUS + text[1:]
    return ("+" + text) if signed and value > 0 else text


#: A p-value below this shows as ``p<1e-300`` in the CLI and the workbench: the tests' tails underflow to
#: 0.0 in double precision near it, and a test's p-value is never 0 (``p=0`` would claim certainty).
P_FLOOR = 1e-300


def p_text(p: float, name: str = "p", spaced: bool = False) -> str:
    """A p-value as the CLI and the workbench write it: ``p=0.031``, ``p=1.3e-116``, ``p<1e-300``.

    `name` replaces ``p`` (``p_adj``, ``adjusted p``); `spaced` puts spaces around the sign (``p = 0.031``).
    """
    sign, value = ("<", f"{P_FLOOR:.0e}") if p < P_FLOOR else ("=", f"{p:.2g}")
    return f"{name} {sign} {value}" if spaced else f"{name}{sign}{value}"


def fmt(value: Any, unit: Unit, signed: bool = False, bare: bool = False) -> str:
    """`value` formatted as `unit` (module docstring); `signed` adds a plus to positive values.

    `bare` leaves out a trailing unit word (`` %``, `` points``, `` ms``), for the low end of a range.
    """
    text = _fmt(value, unit, signed)
    return text.rsplit(" ", 1)[0] if bare and " " in text and not missing(value) else text


def _fmt(value: Any, unit: Unit, signed: bool) -> str:
    if missing(value):
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    v = float(value)
    if unit == "rate":
        return _signed(f"{100 * v:.1f}", v, signed) + " %"
    if unit == "points":
        return _signed(f"{100 * v:.1f}", v, signed) + " points"
    if unit == "percent":
        return _signed(f"{v:.1f}", v, signed) + " %"
    if unit == "usd":
        body = f"{abs(v):,.2f}" if abs(v) >= 1 else f"{abs(v):.4f}"
        sign = MINUS if v < 0 else ("+" if signed and v > 0 else "")
        return f"{sign}${body}"
    if unit == "ms":
        return _signed(f"{v:,.0f}", v, signed) + " ms"
    if unit == "p":
        return re.sub(r"e-0*(\d)", r"e-\1", f"{v:.1e}") if 0 < v < 0.001 else f"{v:.3f}"
    if unit == "count":
        return _signed(f"{round(v):,}", v, signed)
    if unit == "ratio":
        return _signed(f"{v:.3f}", v, signed)
    return _signed(f"{v:.4g}", v, signed)


def escape_key(key: str | int) -> str:
    """One path segment: ``~`` as ``~0`` and ``.`` as ``~1``."""
    return str(key).replace("~", "~0").replace(".", "~1")


def path(*keys: str | int) -> str:
    """The dotted path of `keys`, each escaped."""
    return ".".join(escape_key(k) for k in keys)


def lookup(bundle: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path (module docstring).

    Raises:
        BundleError: a key or an index does not exist; the message names the path and where it stopped.
    """
    node: Any = bundle
    for depth, raw in enumerate(dotted.split(".")):
        key = raw.replace("~1", ".").replace("~0", "~")
        where = ".".join(dotted.split(".")[:depth]) or "the bundle"
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, Sequence) and not isinstance(node, str) and key.isdigit():
            if int(key) >= len(node):
                raise BundleError(f"{dotted}: {where} has {len(node)} items, no index {key}")
            node = node[int(key)]
        else:
            raise BundleError(f"{dotted}: {where} has no key '{key}'")
    return node


def num(bundle: Mapping[str, Any], dotted: str, unit: Unit, signed: bool = False, bare: bool = False) -> Num:
    """The number at a path of the bundle, formatted (see `fmt`) and marked with its path."""
    return Num(text=fmt(lookup(bundle, dotted), unit, signed, bare), path=dotted, unit=unit)


def derived(value: Any, unit: Unit, signed: bool = False) -> Num:
    """A number the report computed from bundle values (no path)."""
    return Num(text=fmt(value, unit, signed), path=None, unit=unit)


def interval(bundle: Mapping[str, Any], estimate: str, unit: Unit, signed: bool = True) -> Text:
    """``95 % interval LOW to HIGH`` of an estimate at `estimate` (a path to a dict with ci_low, ci_high)."""
    node = lookup(bundle, estimate)
    level = node.get("confidence") if isinstance(node, Mapping) else None
    label = f"{round(100 * level)} % interval" if isinstance(level, float) else "95 % interval"
    return (
        f"{label} ",
        num(bundle, f"{estimate}.ci_low", unit, signed, bare=True),
        " to ",
        num(bundle, f"{estimate}.ci_high", unit, signed),
    )
