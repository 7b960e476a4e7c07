"""The `routelab` command line. Thin: parse arguments, call the library, print; heavy imports stay inside.

Exit codes: 0 ok, 1 a gate failed, 2 bad input (one clean line per problem on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class CliError(Exception):
    """Bad input: printed as one clean line per problem, exit code 2."""


def _read(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{path}: no such file")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read: {exc}") from exc


def _load_router(path: str) -> Any:
    from routelab.router_core.errors import ConfigError
    from routelab.router_core.validate import load_router

    try:
        return load_router(_read(path), source=path)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------------- router


def cmd_router_validate(args: argparse.Namespace) -> int:
    """Validate router config files; report every problem."""
    from routelab.router_core.errors import ConfigError
    from routelab.router_core.identity import config_hash
    from routelab.router_core.validate import load_router

    results = []
    failed = False
    for path in args.files:
        try:
            router = load_router(_read(path), source=path)
        except (ConfigError, CliError) as exc:
            failed = True
            problems = (
                [{"path": p.path, "line": p.line, "message": p.message} for p in exc.problems]
                if isinstance(exc, ConfigError)
                else [{"path": "", "line": None, "message": str(exc)}]
            )
            results.append({"file": path, "ok": False, "problems": problems})
            if not args.json:
                for line in str(exc).splitlines():
                    print(line if line.startswith(path) else f"{path}: {line}", file=sys.stderr)
            continue
        results.append({"file": path, "ok": True, "router": router.ref, "hash": config_hash(router)})
        if not args.json:
            print(f"{path}: ok ({router.ref}, {config_hash(router)[:12]})")
    if args.json:
        _print_json(results)
    return 2 if failed else 0


def cmd_router_show(args: argparse.Namespace) -> int:
    """Show a router version: identity, models, signals, rules and policies."""
    from routelab.router_core.identity import canonical, config_hash
    from routelab.router_core.rules import unparse

    router = _load_router(args.file)
    if args.json:
        _print_json({"router": router.ref, "hash": config_hash(router), "config": canonical(router)})
        return 0
    cfg = router.config
    print(f"{router.ref}  sha256:{config_hash(router)}")
    if cfg.description:
        print(f"  {cfg.description.strip()}")
    print(f"models ({len(cfg.models)}):")
    for m in cfg.models:
        regions = ",".join(m.regions) or "any region"
        print(f"  {m.id:<45} {m.tier:<9} {m.boundary:<9} {regions}")
    print(f"rules ({len(router.rules)}), first match wins:")
    for cr in router.rules:
        print(f"  {cr.rule.id:<28} when {unparse(cr.when)}  →  {cr.rule.route.model}")
    print(f"  {'default':<28} →  {cfg.default.route.model}")
    print(f"policies ({len(router.policies)}), in order:")
    for cp in router.policies:
        print(f"  {cp.policy.id:<28} {cp.policy.kind:<17} when {unparse(cp.when)}")
    return 0


_SINGULAR = {
    "models": "model",
    "indexes": "index",
    "signals": "signal",
    "rules": "rule",
    "policies": "policy",
}


def cmd_router_diff(args: argparse.Namespace) -> int:
    """Diff two router versions."""
    from routelab.router_core.identity import diff

    result = diff(_load_router(args.base), _load_router(args.candidate))
    if args.json:
        _print_json(result.model_dump(mode="json"))
        return 0
    print(f"{result.base} → {result.candidate}")
    if not result.changes:
        print("  no routing changes")
    for c in result.changes:
        extra = f" ({', '.join(c.fields)})" if c.fields else ""
        if c.change == "moved":
            extra = f" (position {c.before} → {c.after})"
        print(f"  {c.change:<8} {_SINGULAR.get(c.section, c.section)} {c.item}{extra}")
    return 0


# -------------------------------------------------------------------------------------------- route


def _load_request(value: str) -> Any:
    from pydantic import ValidationError

    from routelab.router_core.request import Request

    inline = value.lstrip()[:1] in ("{", "[")
    text = value if inline else _read(value)
    where = "--request" if inline else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise CliError(f"{where}: a request is a JSON object")
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

    router = _load_router(args.config)
    request = _load_request(args.request)
    prices = _load_prices(args.prices)
    try:
        decision = route(router, request, prices)
    except PriceError as exc:
        raise CliError(f"{args.config}: {exc}") from exc
    if args.json:
        _print_json(decision.model_dump(mode="json"))
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


# --------------------------------------------------------------------------------------------- main


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands register their handler as `func`)."""
    parser = argparse.ArgumentParser(
        prog="routelab",
        description="Measure whether an LLM router makes the right decisions.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    router = sub.add_parser("router", help="validate, show and diff router configs")
    rsub = router.add_subparsers(dest="router_command", metavar="SUBCOMMAND")
    router.set_defaults(func=lambda _args: _usage(router))
    p = rsub.add_parser("validate", help="check router config files; exit 2 listing every problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_router_validate)
    p = rsub.add_parser("show", help="show a router version: hash, models, rules, policies")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="canonical form as JSON")
    p.set_defaults(func=cmd_router_show)
    p = rsub.add_parser("diff", help="added, removed, changed and moved rules, policies, signals, models")
    p.add_argument("base", metavar="BASE_FILE")
    p.add_argument("candidate", metavar="CANDIDATE_FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_router_diff)

    p = sub.add_parser("route", help="route one request and explain the decision")
    p.add_argument("--config", required=True, metavar="FILE", help="router config (YAML)")
    p.add_argument("--request", required=True, metavar="JSON_OR_PATH", help="request as JSON text or a file")
    p.add_argument(
        "--prices", metavar="FILE", help="price table file (YAML/JSON); default: litellm's bundled price map"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_route)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except CliError as exc:
        for line in str(exc).splitlines():
            print(f"routelab: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
