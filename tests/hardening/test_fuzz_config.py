"""The router config loader, through `routelab router validate FILE` (and `router add`), under bad input.

Never a traceback: a bad file exits 2 with one line per problem, each starting with the file's name (and
naming the YAML path and line where there is one). Hostile values either validate or are refused that way;
`router add` of a refused file leaves the store unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routelab.datasets.workspace import example_config

from .helpers import HOSTILE, Run, fingerprint, run_cli

FUZZ = settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
DEEP = 10_000
BIG = 10 * 1024 * 1024
CONFIG: dict[str, Any] = yaml.safe_load(example_config("acme_v1.yaml"))
ALL_IN_ONE = "'; DROP TABLE router_versions; --\"$$\\\x00\u2028\u2029\x85\r\n😀İ%s${x}</x>"


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths (keys and indexes) of every scalar in the config."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path


LEAVES = list(leaves(CONFIG))


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of the config with the scalar at `path` replaced."""
    config: dict[str, Any] = json.loads(json.dumps(CONFIG))
    node: Any = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def assert_clean(run: Run, name: str, *, refused: bool | None = None) -> None:
    """Exit 0, or exit 2 with every stderr line naming the file; never a traceback or a broken line."""
    assert run.code in (0, 2), (run.code, run.err[-2000:])
    if refused is not None:
        assert run.code == (2 if refused else 0), run.err[-2000:]
    assert "Traceback" not in run.err
    if run.code == 2:
        lines = run.err.rstrip("\n").split("\n")
        assert all(line.startswith(name) for line in lines), run.err[-2000:]
        assert not any(c in run.err for c in "\x00\u2028\u2029\x85\r"), "a problem line was broken"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes], Path]:
    def make(data: bytes) -> Path:
        path = tmp_path / "router.yaml"
        path.write_bytes(data)
        return path

    return make


def dump(config: dict[str, Any]) -> bytes:
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False).encode("utf-8")


def test_the_example_validates(capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path]) -> None:
    assert_clean(
        run_cli(capsys, "router", "validate", str(write(dump(CONFIG)))), "router.yaml", refused=False
    )


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], data: bytes
) -> None:
    path = write(data)
    assert_clean(run_cli(capsys, "router", "validate", str(path)), str(path), refused=True)


@FUZZ
@given(encoding=st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32", "cp037"]))
def test_wrong_encodings(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], encoding: str
) -> None:
    text = dump({**CONFIG, "description": "Grüße aus Köln, ½ €"}).decode("utf-8")
    path = write(text.encode(encoding, errors="replace"))
    assert_clean(run_cli(capsys, "router", "validate", str(path)), str(path), refused=True)


@pytest.mark.parametrize(
    "text",
    [
        "name: " + "[" * DEEP + "]" * DEEP,
        "name: " + "{a: " * DEEP + "1" + "}" * DEEP,
        "[" * DEEP + "]" * DEEP,
        json.dumps({**CONFIG, "knobs": {"k": {"value": 1, "description": "x"}}})[:-1]
        + ', "extra": '
        + "[" * DEEP
        + "]" * DEEP
        + "}",
    ],
    ids=["flow-list", "flow-map", "whole-file", "json-extra-key"],
)
def test_yaml_nested_ten_thousand_levels(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], text: str
) -> None:
    path = write(text.encode())
    run = run_cli(capsys, "router", "validate", str(path))
    assert_clean(run, str(path), refused=True)
    assert "nested too deeply" in run.err


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("x" * BIG, True),
        (dump(CONFIG).decode() + "\nextra: " + "x" * (BIG // 10) + "\n", True),
    ],
    ids=["one-10-MB-line", "1-MB-unknown-key"],  # PyYAML reads about 2 MB/s: one 10 MB case is enough
)
def test_ten_megabyte_lines(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], text: str, refused: bool
) -> None:
    path = write(text.encode())
    run = run_cli(capsys, "router", "validate", str(path))
    assert_clean(run, str(path), refused=refused)
    assert len(run.err) < 2000


#: One leaf per kind of field (per path with list indexes ignored), plus every signal kind's fields.
REPRESENTATIVE = list(
    {
        tuple(
            "#" if isinstance(k, int) and not (p[0] == "signals" and n == 1) else k for n, k in enumerate(p)
        ): p
        for p in reversed(LEAVES)
    }.values()
)[::-1]


@pytest.mark.parametrize("path", REPRESENTATIVE, ids=[".".join(map(str, p)) for p in REPRESENTATIVE])
def test_hostile_value_in_every_kind_of_field(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], path: tuple[Any, ...]
) -> None:
    file = write(dump(replaced(path, ALL_IN_ONE)))
    run = run_cli(capsys, "router", "validate", "--json", str(file))  # the JSON report prints too
    assert run.code in (0, 2)
    json.loads(run.out)
    assert_clean(run_cli(capsys, "router", "validate", str(file)), str(file))


@FUZZ
@given(
    path=st.sampled_from(LEAVES),
    value=st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=3),
    ),
)
def test_random_hostile_values(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], path: tuple[Any, ...], value: Any
) -> None:
    file = write(dump(replaced(path, value)))
    assert_clean(run_cli(capsys, "router", "validate", str(file)), str(file))


@pytest.mark.parametrize(
    "key", ["'; DROP TABLE router_versions; --", "a\u2028b", "\x00", "$$", "x" * 10_000], ids=repr
)
def test_hostile_unknown_keys_are_named_on_one_line(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], key: str
) -> None:
    file = write(dump({**CONFIG, key: 1}))
    run = run_cli(capsys, "router", "validate", str(file))
    assert_clean(run, str(file), refused=True)
    assert "unknown key" in run.err


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\x00", "\\u2028", "\\x85"])
def test_yaml_escapes_in_ids_are_refused_and_printed_safely(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], escape: str
) -> None:
    text = example_config("acme_v1.yaml").replace("id: support-legal", f'id: "support{escape}legal"')
    file = write(text.encode())
    assert_clean(run_cli(capsys, "router", "validate", str(file)), str(file), refused=True)
    run = run_cli(capsys, "router", "validate", "--json", str(file))
    assert run.code == 2
    assert json.loads(run.out)[0]["ok"] is False


def test_router_add_of_a_refused_file_leaves_the_store_unchanged(
    capsys: pytest.CaptureFixture[str], fresh_db: Callable[[], Path], write: Callable[[bytes], Path]
) -> None:
    db = fresh_db()
    before = fingerprint(db)
    for bad in (
        b"\xff\xfe garbage",
        ("[" * DEEP + "]" * DEEP).encode(),
        dump(replaced(("rules", 0, "when"), ALL_IN_ONE)),
        dump(replaced(("models", 0, "id"), "'; DROP TABLE router_versions; --")),
    ):
        file = write(bad)
        run = run_cli(capsys, "router", "add", str(file), "--db", str(db))
        assert run.code == 2, run.err
        assert "Traceback" not in run.err
        assert str(file) in run.err
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    "request_json",
    ['{"prompt": ' + "[" * DEEP + "]" * DEEP + "}", '{"prompt": "a\\ud800"}', "[" * DEEP + "]" * DEEP],
    ids=["deep-field", "lone-surrogate", "deep-whole"],
)
def test_route_request_files_under_bad_input(
    capsys: pytest.CaptureFixture[str], write: Callable[[bytes], Path], tmp_path: Path, request_json: str
) -> None:
    config = write(dump(CONFIG))
    request = tmp_path / "request.json"
    request.write_text(request_json)
    run = run_cli(capsys, "route", "--config", str(config), "--request", str(request))
    assert run.code == 2, run.err
    assert run.err.startswith(f"routelab: error: {request}")
    assert "Traceback" not in run.err
