"""The layering test: each top-level folder imports only what ARCHITECTURE.md's "Rooms" table allows.

Every ``.py`` file under the package folders is parsed with :mod:`ast`. All imports count: module level,
inside functions, under ``if TYPE_CHECKING:``, relative ones (resolved against the file's ``routelab.*``
name) and ``importlib.import_module("literal")`` / ``__import__("literal")`` calls.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "routelab"


@dataclass(frozen=True)
class Room:
    """What one top-level folder may import besides the standard library and itself."""

    rooms: frozenset[str]
    """Other routelab packages (folder names) it may import."""
    third_party: frozenset[str] | None
    """Top-level import names of third-party packages it may import; None means any."""


# ARCHITECTURE.md, "Rooms". Import names, not distribution names: pyyaml is imported as `yaml`.
# The standard library (sys.stdlib_module_names) and the room's own package are always allowed.
RULES: dict[str, Room] = {
    # re2 (google-re2): the Python engine matches rule regexes with RE2, the engine DuckDB uses
    "router_core": Room(rooms=frozenset(), third_party=frozenset({"pydantic", "yaml", "re2"})),
    "datasets": Room(
        rooms=frozenset({"router_core"}),
        # tqdm draws progress bars on long imports and replays; tiktoken reads litellm's bundled tokenizers;
        # ray (optional extra) runs replays past one machine ("Growing past one machine")
        third_party=frozenset(
            {"duckdb", "pandas", "pyarrow", "litellm", "numpy", "pydantic", "yaml", "tqdm", "tiktoken", "ray"}
        ),
    ),
    "evaluators": Room(
        rooms=frozenset({"router_core"}),
        third_party=frozenset({"pandas", "numpy", "scipy", "pydantic"}),
    ),
    "reports": Room(
        rooms=frozenset({"evaluators", "router_core"}),
        third_party=frozenset({"plotly", "jinja2", "pandas", "numpy", "pydantic"}),
    ),
    "app": Room(rooms=frozenset({"router_core", "datasets", "evaluators", "reports"}), third_party=None),
}


@dataclass(frozen=True)
class ImportRef:
    """One import found in a source file."""

    line: int
    """1-based line of the import statement or call."""
    target: str | None
    """Absolute dotted module name; None when a relative import climbs above ``routelab``."""
    written: str
    """The module as written in the source, for messages."""


@dataclass(frozen=True)
class Violation:
    """A forbidden import, printable as ``file:line: ...``."""

    path: str
    """File path relative to the repository root."""
    line: int
    """1-based line of the import."""
    imported: str
    """The module imported (resolved to an absolute name where possible)."""
    reason: str
    """Why the import is forbidden."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported} ({self.reason})"


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """Resolve ``from <level dots><name> import ...`` inside ``module``; None if it leaves routelab."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    if len(base) < 1 or level - 1 >= len(package) or base[0] != NAMESPACE:
        return None
    return ".".join([*base, name] if name else base)


def _dynamic_import_name(node: ast.Call) -> str | None:
    """The literal module name of ``importlib.import_module("x")`` or ``__import__("x")``, if any."""
    func = node.func
    is_import_call = (isinstance(func, ast.Name) and func.id in {"__import__", "import_module"}) or (
        isinstance(func, ast.Attribute)
        and func.attr == "import_module"
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
    )
    if not is_import_call or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
        return first.value
    return None


def iter_imports(
    source: str, *, module: str, is_package: bool, filename: str = "<source>"
) -> Iterator[ImportRef]:
    """Yield every import in ``source``, a file whose import name is ``module``."""
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportRef(node.lineno, alias.name, alias.name)
        elif isinstance(node, ast.ImportFrom):
            written = "." * node.level + (node.module or "")
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            else:
                base = node.module
            if base is None:
                yield ImportRef(node.lineno, None, written)
            elif base == NAMESPACE:
                # `from routelab import datasets` / `from .. import datasets`: the names are packages.
                for alias in node.names:
                    if alias.name != "*":
                        yield ImportRef(
                            node.lineno, f"{NAMESPACE}.{alias.name}", f"{written} import {alias.name}"
                        )
            else:
                yield ImportRef(node.lineno, base, written)
        elif isinstance(node, ast.Call):
            name = _dynamic_import_name(node)
            if name is not None:
                yield ImportRef(node.lineno, name, f"{name} (dynamic)")


def _allowed_text(room: str) -> str:
    rule = RULES[room]
    if rule.third_party is None:
        return "anything but routelab.app"
    names = ["stdlib", *sorted(f"routelab.{r}" for r in rule.rooms), *sorted(rule.third_party)]
    return ", ".join(names)


def forbidden_reason(room: str, ref: ImportRef) -> str | None:
    """Why ``ref`` may not be imported from ``room``, or None if the Rooms table allows it."""
    if ref.target is None:
        return "relative import climbs above the routelab namespace"
    parts = ref.target.split(".")
    top = parts[0]
    if top == NAMESPACE:
        if len(parts) == 1:
            return None  # the bare namespace package: nothing to import from it
        other = parts[1]
        if other == room:
            return None
        if other == "app":
            return "nothing imports routelab.app"
        if other not in RULES:
            return f"routelab has no package {other!r}; known: {', '.join(sorted(RULES))}"
        if other in RULES[room].rooms:
            return None
        return f"{room} may import only: {_allowed_text(room)}"
    if top in RULES:
        return f"bare folder name: import it as routelab.{top}"
    if top in sys.stdlib_module_names:
        return None
    third_party = RULES[room].third_party
    if third_party is None or top in third_party:
        return None
    return f"{room} may import only: {_allowed_text(room)}"


def check_source(
    source: str, *, room: str, module: str, is_package: bool = False, path: str = "<source>"
) -> list[Violation]:
    """Every import in ``source`` that ``room`` may not make, in source order."""
    found = []
    for ref in iter_imports(source, module=module, is_package=is_package, filename=path):
        reason = forbidden_reason(room, ref)
        if reason is not None:
            found.append(Violation(path, ref.line, ref.target or ref.written, reason))
    return sorted(found, key=lambda v: v.line)


@dataclass(frozen=True)
class SourceFile:
    """A Python file of one room, with its import name."""

    path: Path
    """Absolute path."""
    module: str
    """Dotted import name, e.g. ``routelab.router_core.rules``."""
    is_package: bool
    """True for ``__init__.py``."""


def room_files(room: str) -> list[SourceFile]:
    """All ``.py`` files under the room's folder."""
    folder = ROOT / room
    files = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        files.append(SourceFile(path, ".".join((NAMESPACE, room, *parts)), is_package))
    return files


def check_room(room: str) -> list[Violation]:
    """Every forbidden import in the room's folder."""
    violations = []
    for f in room_files(room):
        violations += check_source(
            f.path.read_text(encoding="utf-8"),
            room=room,
            module=f.module,
            is_package=f.is_package,
            path=str(f.path.relative_to(ROOT)),
        )
    return violations


# --- the real tree -----------------------------------------------------------------------------------


def test_rules_cover_exactly_the_packaged_folders() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir = pyproject["tool"]["setuptools"]["package-dir"]
    assert set(package_dir.values()) == set(RULES), "update RULES to match ARCHITECTURE.md's Rooms table"
    assert package_dir == {f"{NAMESPACE}.{room}": room for room in RULES}


@pytest.mark.parametrize("room", sorted(RULES))
def test_room_imports_only_what_the_architecture_allows(room: str) -> None:
    assert (ROOT / room / "__init__.py").is_file(), f"{room}/__init__.py missing: nothing would be scanned"
    violations = check_room(room)
    assert not violations, f"{len(violations)} forbidden import(s) in {room}/:\n" + "\n".join(
        map(str, violations)
    )


def test_nothing_outside_app_imports_app() -> None:
    offenders = []
    for room in sorted(set(RULES) - {"app"}):
        for f in room_files(room):
            source = f.path.read_text(encoding="utf-8")
            for ref in iter_imports(source, module=f.module, is_package=f.is_package, filename=str(f.path)):
                if ref.target and ref.target.split(".")[:2] in (["routelab", "app"], ["app"]):
                    offenders.append(f"{f.path.relative_to(ROOT)}:{ref.line}: imports {ref.target}")
    assert not offenders, "routelab.app is the top layer; nothing imports it:\n" + "\n".join(offenders)


# --- the checker itself: it must be able to fail ------------------------------------------------------

# (room, source, flagged imports in order); the file is routelab.<room>.engine, a plain module.
FLAGGED_CASES = {
    "router_core-pandas": ("router_core", "import pandas as pd\n", ["pandas"]),
    "router_core-import-inside-function": ("router_core", "def f():\n    import duckdb\n", ["duckdb"]),
    "router_core-type-checking-only": (
        "router_core",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import numpy\n",
        ["numpy"],
    ),
    "router_core-relative-sibling-room": (
        "router_core",
        "from ..datasets import store\n",
        ["routelab.datasets"],
    ),
    "router_core-relative-from-namespace": (
        "router_core",
        "from .. import datasets, evaluators\n",
        [
            "routelab.datasets",
            "routelab.evaluators",
        ],
    ),
    "router_core-relative-above-namespace": ("router_core", "from ...elsewhere import x\n", ["...elsewhere"]),
    "router_core-bare-folder-name": ("router_core", "import router_core.rules\n", ["router_core.rules"]),
    "router_core-dynamic": (
        "router_core",
        "import importlib\nm = importlib.import_module('litellm')\n",
        ["litellm"],
    ),
    "router_core-typing-extensions": (
        "router_core",
        "from typing_extensions import Self\n",
        ["typing_extensions"],
    ),
    "evaluators-app": ("evaluators", "from routelab.app import cli\n", ["routelab.app"]),
    "evaluators-plotly": ("evaluators", "import scipy.stats\nimport plotly.express\n", ["plotly.express"]),
    "evaluators-yaml": ("evaluators", "import yaml\n", ["yaml"]),
    "evaluators-datasets": (
        "evaluators",
        "from routelab.datasets.store import connect\n",
        ["routelab.datasets.store"],
    ),
    "reports-datasets": ("reports", "from routelab import datasets\n", ["routelab.datasets"]),
    "reports-duckdb": ("reports", "import duckdb\n", ["duckdb"]),
    "datasets-evaluators": (
        "datasets",
        "from routelab.evaluators import accuracy\n",
        ["routelab.evaluators"],
    ),
    "datasets-unknown-package": ("datasets", "import routelab.nowhere\n", ["routelab.nowhere"]),
}

ALLOWED_CASES = {
    "router_core-stdlib-pydantic-yaml-own": (
        "router_core",
        "from __future__ import annotations\nimport re, json\nfrom pydantic import BaseModel\nimport yaml\n"
        "from . import rules\nfrom .rules import parse\nfrom routelab.router_core.hashing import h\n",
    ),
    "datasets-its-stack": (
        "datasets",
        "import duckdb\nimport pandas\nimport pyarrow.parquet\nfrom ..router_core import engine\n"
        "def prices():\n    import litellm\n",
    ),
    "evaluators-stats": (
        "evaluators",
        "import numpy as np\nfrom scipy import stats\nfrom routelab.router_core import Decision\n",
    ),
    "reports-figures": (
        "reports",
        "import plotly.graph_objects as go\nimport jinja2\nfrom routelab.evaluators import x\n",
    ),
    "app-anything": (
        "app",
        "import streamlit\nimport duckdb\nfrom routelab.datasets import store\nfrom . import cli\n",
    ),
}


@pytest.mark.parametrize(("room", "source", "expected"), FLAGGED_CASES.values(), ids=FLAGGED_CASES.keys())
def test_checker_flags_forbidden_import(room: str, source: str, expected: list[str]) -> None:
    violations = check_source(source, room=room, module=f"routelab.{room}.engine")
    assert [v.imported for v in violations] == expected


@pytest.mark.parametrize(("room", "source"), ALLOWED_CASES.values(), ids=ALLOWED_CASES.keys())
def test_checker_allows_what_the_table_allows(room: str, source: str) -> None:
    assert check_source(source, room=room, module=f"routelab.{room}.engine") == []


def test_violation_names_file_line_and_fix() -> None:
    source = "import json\n\ndef load():\n    import pandas\n"
    [violation] = check_source(
        source, room="router_core", module="routelab.router_core.io", path="router_core/io.py"
    )
    assert str(violation) == (
        "router_core/io.py:4: imports pandas (router_core may import only: stdlib, pydantic, re2, yaml)"
    )


def test_relative_imports_resolve_from_a_package_init() -> None:
    # In routelab/evaluators/__init__.py one dot is the package itself, two dots the namespace.
    refs = iter_imports(
        "from . import accuracy\nfrom ..router_core import engine\n",
        module="routelab.evaluators",
        is_package=True,
    )
    assert [r.target for r in refs] == ["routelab.evaluators", "routelab.router_core"]
