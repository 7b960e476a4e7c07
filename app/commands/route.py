"""`routelab route` (a request against a config file) and `routelab explain` (a stored request)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from routelab.app.commands.common import (
    CliError,
    add_db,
    add_json,
    load_router_file,
    open_store,
    print_json,
    read_file,
)


def _load_request(value: str) -> Any:
    from pydantic import ValidationError

    from routelab.router_core.request import Request

    inline = value.lstrip()[:1] in ("{", "[")
    text = value if inline else read_file(value)
    where = "--request" if inline else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError:  # json's parser recurses once per level of [ or {
        raise CliError(
            f"{where}: JSON nested too deeply (Python's parser stops at about 1,000 levels)"
        ) from None
    if not isinstance(data, dict):
        raise CliError(f"{where}: a request is a JSON object")
    try:  # a `\ud800` escape without its pair is no text: the regex engine could not read it
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{where}: a \\uD800-\\uDFFF escape without its pair is not text; fix it") from None
    data.setdefault("request_id", "cli")
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CliError(f"{where}: {problems}") from exc


def _load_prices(path: str | None) -> Any:
    from routelab.datasets.prices import PriceFileError, litellm_price_table, load_price_file

    try:
        return load_price_file(Path(path)) if path else litellm_price_table()
    except PriceFileError as exc:
        raise CliError(str(exc)) from exc


def cmd_route(args: argparse.Namespace) -> int:
    """Route one request with the Python engine and print the decision with its trace."""
    from routelab.router_core.engine import route
    from routelab.router_core.errors import PriceError

    router = load_router_file(args.config)
    request = _load_request(args.request)
    prices = _load_prices(args.prices)
    try:
        decision = route(router, request, prices)
    except PriceError as exc:
        raise CliError(f"{args.config}: {exc}") from exc
    if args.json:
        print_json(decision.model_dump(mode="json"))
        return 0
    _print_decision(decision)
    return 0


def _print_decision(d: Any) -> None:
    print(f"{d.router}  request {d.request_id}")
    print(f"  model       {d.model or '— (blocked)'}" + (f"  [{d.tier}]" if d.tier else ""))
    print(f"  retrieval   {d.retrieval or 'none'}")
    print(f"  context     {d.context_tokens} tokens")
    print(f"  cache       {d.cache.value}")
    print(f"  escalation  {d.escalation}")
    print(f"  fallbacks   {', '.join(d.fallbacks) or 'none'}")
    print(f"  action      {d.action.value}")
    print(f"  rule        {d.rule_id}   confidence {d.confidence:.2f}")
    print(f"  estimate    ${d.est_cost_usd:.6f}   {d.est_latency_ms:.0f} ms (p50)")
    if d.policy_flags:
        print(f"  flagged by  {', '.join(d.policy_flags)}")
    if d.trace is None:
        return
    print("trace:")
    for name, value in d.trace.signals.items():
        print(f"  signal  {name} = {value!r}")
    for step in d.trace.rules:
        print(f"  rule    {'MATCH' if step.matched else 'no   '} {step.rule_id}: {step.when}")
    for p in d.trace.policies:
        state = "changed" if p.changes else ("not applicable" if not p.applies else "ok")
        print(f"  policy  {p.policy_id} ({p.kind}): {state}")
        for change in p.changes:
            print(f"            {change}")
    est = d.trace.estimate
    print(
        f"  estimate {est['prompt_tokens']:.0f} prompt tokens × {est['input_per_token']} + "
        f"{est['output_tokens']:.0f} output tokens × {est['output_per_token']} + "
        f"retrieval ${est['retrieval_cost_usd']}"
    )


def cmd_explain(args: argparse.Namespace) -> int:
    """The Python engine's decision and trace for one stored request."""
    from routelab.datasets import replay
    from routelab.datasets.errors import DatasetError

    with open_store(args.db, read_only=True) as store:
        try:
            decision = replay.explain(store, args.request_id, args.version)
        except DatasetError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(decision.model_dump(mode="json"))
    else:
        _print_decision(decision)
    return 0


def register(sub: Any) -> None:
    """Add `route` and `explain`."""
    p = sub.add_parser("route", help="route one request with a config file and explain the decision")
    p.add_argument("--config", required=True, metavar="FILE", help="router config (YAML)")
    p.add_argument("--request", required=True, metavar="JSON_OR_PATH", help="request as JSON text or a file")
    p.add_argument(
        "--prices", metavar="FILE", help="price table file (YAML/JSON); default: litellm's bundled price map"
    )
    add_json(p)
    p.set_defaults(func=cmd_route)
    p = sub.add_parser("explain", help="the trace of one stored request under a registered version")
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--version", required=True, metavar="NAME@VERSION")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_explain)
