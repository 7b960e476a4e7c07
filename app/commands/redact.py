"""`routelab redact [--type T ...] [--mask TEMPLATE] [--json]`: mask PII in text lines read on stdin.

Uses router_core's detector (the one routing and the workbench use): payment cards with a Luhn check, IBANs
with their mod-97 check, emails, phone numbers, US SSNs, IP addresses, API keys and secrets. Each input line
gives one output line; with `--json`, one JSON object per line: the masked text and the spans found (type,
start and end as code-point offsets into the original line).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from routelab.app.commands.common import CliError


def cmd_redact(args: argparse.Namespace) -> int:
    """Mask every line of stdin; exit 0 (nothing to mask is not an error)."""
    from routelab.router_core.pii import PiiType, detect, redact

    known = [t.value for t in PiiType]
    unknown = [t for t in args.type or () if t not in known]
    if unknown:
        raise CliError(f"--type: unknown PII type(s) {', '.join(unknown)}; known: {', '.join(known)}")
    types = [PiiType(t) for t in args.type] if args.type else None
    if "{type}" not in args.mask and "{" in args.mask:
        raise CliError("--mask: the only placeholder is {type}, e.g. '[{type}]' or '***'")
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        masked = redact(line, types, mask=args.mask)
        if args.json:
            spans = [s.model_dump(mode="json") for s in detect(line, types)]
            print(json.dumps({"masked": masked, "spans": spans}, ensure_ascii=False))
        else:
            print(masked)
    return 0


def register(sub: Any) -> None:
    """Add `redact`."""
    p = sub.add_parser("redact", help="mask PII in text lines read on stdin (router_core's detector)")
    p.add_argument("--type", action="append", metavar="TYPE", help="only these PII types (default: all)")
    p.add_argument("--mask", default="[{type}]", help="replacement template (default '[{type}]')")
    p.add_argument("--json", action="store_true", help="one JSON object per line: masked text and spans")
    p.set_defaults(func=cmd_redact)
