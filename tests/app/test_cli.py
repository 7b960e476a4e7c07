"""The command line: exit codes, one clean stderr line per problem, JSON that matches the library.

Commands run in-process through `main([...])` (fast); one test runs `python -m routelab.app.cli` end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from routelab.app.cli import main
from routelab.datasets.prices import load_price_file
from routelab.router_core.engine import route
from routelab.router_core.identity import config_hash
from routelab.router_core.request import Request
from routelab.router_core.validate import load_router

CONFIG = """\
name: smoke
version: 1
models:
  - {id: small-a, tier: small, boundary: external, regions: [us], context_window: 16000,
     latency: {p50_ms: 300, p95_ms: 900, output_tokens_per_s: 100},
     price: {input_per_token: 1.0e-7, output_per_token: 4.0e-7}}
  - {id: private-m, tier: medium, boundary: private, context_window: 32000,
     latency: {p50_ms: 500, p95_ms: 1500, output_tokens_per_s: 50},
     price: {input_per_token: 3.0e-7, output_per_token: 6.0e-7}}
  - {id: big, tier: frontier, boundary: external, regions: [us, eu], context_window: 128000,
     latency: {p50_ms: 800, p95_ms: 3000, output_tokens_per_s: 40},
     price: {input_per_token: 5.0e-6, output_per_token: 1.5e-5}}
indexes:
  - {id: kb, latency_ms: 100, cost_per_query: 0.0005}
signals:
  - {kind: keywords, name: intent,
     labels: [{label: refund, phrases: [refund, "money back"], confidence: 0.9}]}
  - {kind: pii, name: has_pii}
  - {kind: length, name: size, buckets: [{label: short, max: 500}, {label: long}]}
rules:
  - {id: refunds, when: 'intent == "refund"', confidence: intent.confidence,
     route: {model: small-a, retrieval: kb, fallbacks: [big, private-m]}}
  - {id: long, when: 'size == "long" and attrs.tier >= 2', route: {model: big}}
default: {route: {model: small-a}, confidence: 0.4}
policies:
  - {kind: privacy, id: conf, when: 'data_class == "confidential" or has_pii', allowed_boundaries: [private]}
  - {kind: region, id: res}
  - {kind: cost_ceiling, id: ceil, max_usd: 0.05}
  - {kind: confidence_floor, id: floor, min_confidence: 0.5, escalate_to: "model:big"}
"""

#: Three problems: an unknown model, an unknown tier, an unknown index.
BROKEN = (
    CONFIG.replace("route: {model: small-a, retrieval: kb", "route: {model: nope, retrieval: kb")
    .replace("tier: medium", "tier: mid")
    .replace("route: {model: big}}", "route: {model: big, retrieval: wiki}}")
)

#: The price file lists no model: every model must carry its own `price:` override.
PRICES = "source: test prices\nprices: {}\n"

#: Matches `refunds` (small-a), which does not serve eu: the region policy reroutes it to private-m.
REQUEST = {"prompt": "I want a refund for my order", "team": "support", "region": "eu", "attrs": {"tier": 3}}


class Run(NamedTuple):
    code: int
    out: str
    err: str


Runner = Callable[..., Run]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run the CLI in-process and capture its exit code, stdout and stderr."""

    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def config(tmp_path: Path) -> str:
    return write(tmp_path, "router.yaml", CONFIG)


@pytest.fixture
def prices(tmp_path: Path) -> str:
    return write(tmp_path, "prices.yaml", PRICES)


def expected_decision(config_text: str, request: dict[str, object], prices_path: str) -> dict[str, object]:
    """The decision `engine.route` gives directly, as the CLI's JSON would show it."""
    router = load_router(config_text)
    decision = route(
        router, Request.model_validate({"request_id": "cli", **request}), load_price_file(Path(prices_path))
    )
    return json.loads(json.dumps(decision.model_dump(mode="json")))


# --------------------------------------------------------------------------------------- router validate


def test_validate_valid_file(cli: Runner, config: str) -> None:
    run = cli("router", "validate", config)
    short_hash = config_hash(load_router(CONFIG))[:12]
    assert (run.code, run.out, run.err) == (0, f"{config}: ok (smoke@1, {short_hash})\n", "")


INVALID = {
    "three-problems": (
        BROKEN,
        [
            "models[1](private-m).tier: unknown tier `mid`",
            "rules[0](refunds).route.model: unknown model `nope`",
            "rules[1](long).route.retrieval: unknown index `wiki`",
        ],
    ),
    "invalid-yaml": ("name: smoke\n  version: 1\n", ["line 2: not valid YAML"]),
    "unknown-key": (CONFIG + "owner: me\n", [f"owner (line {CONFIG.count(chr(10)) + 1}): unknown key"]),
}


@pytest.mark.parametrize(("text", "problems"), INVALID.values(), ids=INVALID.keys())
def test_validate_invalid_file(cli: Runner, tmp_path: Path, text: str, problems: list[str]) -> None:
    path = write(tmp_path, "broken.yaml", text)
    run = cli("router", "validate", path)
    lines = run.err.splitlines()
    assert (run.code, run.out, len(lines)) == (2, "", len(problems)), run.err
    for line, problem in zip(lines, problems, strict=True):
        yaml_path, message = problem.split(": ", 1)
        assert line.startswith(f"{path}: {yaml_path}"), line
        assert "(line " in line.split(": ")[1] or yaml_path.startswith("line "), line
        assert f": {message}" in line, line


def test_validate_reports_each_file(cli: Runner, tmp_path: Path, config: str) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    missing = str(tmp_path / "missing.yaml")
    run = cli("router", "validate", config, broken, missing)
    assert run.code == 2
    assert run.out.startswith(f"{config}: ok")
    assert [line.split(": ")[0] for line in run.err.splitlines()] == [broken] * 3 + [missing]
    assert run.err.splitlines()[-1] == f"{missing}: no such file"


def test_validate_json(cli: Runner, tmp_path: Path, config: str) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    run = cli("router", "validate", config, broken, "--json")
    results = json.loads(run.out)
    assert (run.code, run.err) == (2, "")
    assert results[0] == {
        "file": config,
        "ok": True,
        "router": "smoke@1",
        "hash": config_hash(load_router(CONFIG)),
    }
    assert (results[1]["file"], results[1]["ok"], len(results[1]["problems"])) == (broken, False, 3)
    first = results[1]["problems"][0]
    assert (first["path"], first["line"]) == ("models[1](private-m).tier", 7)
    assert first["message"].startswith("unknown tier")


# ----------------------------------------------------------------------------------- router show / diff


def test_show_json_has_the_hash(cli: Runner, config: str) -> None:
    run = cli("router", "show", config, "--json")
    shown = json.loads(run.out)
    assert (run.code, shown["router"], shown["hash"]) == (0, "smoke@1", config_hash(load_router(CONFIG)))
    assert [r["when"] for r in shown["config"]["rules"]] == [
        'intent == "refund"',
        '(size == "long" and attrs.tier >= 2)',
    ]


def test_show_text_lists_rules_in_order(cli: Runner, config: str) -> None:
    run = cli("router", "show", config)
    assert run.code == 0
    assert run.out.index("refunds") < run.out.index("long") < run.out.index("default")
    assert f"sha256:{config_hash(load_router(CONFIG))}" in run.out


@pytest.fixture
def candidate(tmp_path: Path) -> str:
    """Version 2: the `long` rule's threshold changed."""
    text = CONFIG.replace("version: 1", "version: 2").replace("attrs.tier >= 2", "attrs.tier >= 3")
    return write(tmp_path, "router-v2.yaml", text)


def test_diff_lists_a_changed_rule(cli: Runner, config: str, candidate: str) -> None:
    run = cli("router", "diff", config, candidate)
    assert (run.code, run.out.splitlines()) == (0, ["smoke@1 → smoke@2", "  changed  rule long (when)"])


def test_diff_json(cli: Runner, config: str, candidate: str) -> None:
    run = cli("router", "diff", config, candidate, "--json")
    result = json.loads(run.out)
    assert [(c["section"], c["item"], c["change"], c["fields"]) for c in result["changes"]] == [
        ("rules", "long", "changed", ["when"])
    ]
    assert result["base_hash"] != result["candidate_hash"]


def test_diff_of_identical_versions(cli: Runner, config: str) -> None:
    run = cli("router", "diff", config, config)
    assert run.out.splitlines()[1:] == ["  no routing changes"]


def test_router_commands_reject_an_invalid_config(cli: Runner, tmp_path: Path, config: str) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    run = cli("router", "diff", config, broken)
    assert (run.code, run.out, len(run.err.splitlines())) == (2, "", 3)
    assert all(line.startswith(f"routelab: error: {broken}: ") for line in run.err.splitlines())


# ------------------------------------------------------------------------------------------------- route


def test_route_json_matches_the_engine(cli: Runner, config: str, prices: str) -> None:
    run = cli("route", "--config", config, "--request", json.dumps(REQUEST), "--prices", prices, "--json")
    decision = json.loads(run.out)
    assert (run.code, run.err) == (0, "")
    assert decision == expected_decision(CONFIG, REQUEST, prices)
    path = (decision["model"], decision["rule_id"], decision["action"], decision["policy_flags"])
    assert path == ("private-m", "refunds", "reroute", ["res"])


def test_route_reads_a_request_file(cli: Runner, tmp_path: Path, config: str, prices: str) -> None:
    request = write(tmp_path, "request.json", json.dumps({**REQUEST, "request_id": "r-1"}, indent=2))
    run = cli("route", "--config", config, "--request", request, "--prices", prices, "--json")
    decision = json.loads(run.out)
    assert (run.code, decision["request_id"]) == (0, "r-1")
    assert {**decision, "request_id": "cli"} == expected_decision(CONFIG, REQUEST, prices)


def test_route_text_output(cli: Runner, config: str, prices: str) -> None:
    run = cli("route", "--config", config, "--request", json.dumps(REQUEST), "--prices", prices)
    assert run.code == 0
    assert "model       private-m  [medium]" in run.out
    assert 'rule    MATCH refunds: intent == "refund"' in run.out


ROUTE_ERRORS = {
    "malformed-json": ('{"prompt": "hi"', "routelab: error: --request: not valid JSON: "),
    "trailing-text": ('{"prompt": "hi"} trailing', "routelab: error: --request: not valid JSON: Extra data"),
    "unknown-field": ('{"prompt": "hi", "colour": "red"}', "routelab: error: --request: colour: "),
    "wrong-type": ('{"prompt_tokens": "many"}', "routelab: error: --request: prompt_tokens: "),
}


@pytest.mark.parametrize(("request_text", "message"), ROUTE_ERRORS.values(), ids=ROUTE_ERRORS.keys())
def test_route_bad_request(cli: Runner, config: str, prices: str, request_text: str, message: str) -> None:
    run = cli("route", "--config", config, "--request", request_text, "--prices", prices, "--json")
    assert (run.code, run.out, len(run.err.splitlines())) == (2, "", 1), run.err
    assert run.err.startswith(message), run.err


def test_route_bad_request_file_names_the_file(cli: Runner, tmp_path: Path, config: str, prices: str) -> None:
    request = write(tmp_path, "request.json", "{not json")
    run = cli("route", "--config", config, "--request", request, "--prices", prices)
    lines = run.err.splitlines()
    assert (run.code, len(lines)) == (2, 1), run.err
    assert lines[0].startswith(f"routelab: error: {request}: not valid JSON: ")
    assert lines[0].endswith("at line 1 column 2")


@pytest.mark.parametrize(
    ("use_price_file", "table"),
    [(True, "test prices"), (False, "litellm ")],
    ids=["price-file", "bundled-map"],
)
def test_route_model_without_a_price(
    cli: Runner, tmp_path: Path, prices: str, use_price_file: bool, table: str
) -> None:
    # private-m loses its override; neither the price file nor litellm's bundled map knows it
    text = CONFIG.replace(",\n     price: {input_per_token: 3.0e-7, output_per_token: 6.0e-7}}", "}")
    assert text != CONFIG
    config = write(tmp_path, "unpriced.yaml", text)
    price_args = ["--prices", prices] if use_price_file else []
    run = cli("route", "--config", config, "--request", json.dumps(REQUEST), *price_args)
    assert (run.code, run.out, len(run.err.splitlines())) == (2, "", 1), run.err
    assert run.err.startswith(
        f"routelab: error: {config}: no price for model(s) private-m (price table `{table}"
    )


def test_python_m_cli_route_end_to_end(tmp_path: Path, config: str, prices: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "routelab.app.cli",
            "route",
            "--config",
            config,
            "--request",
            json.dumps(REQUEST),
            "--prices",
            prices,
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout) == expected_decision(CONFIG, REQUEST, prices)
