"""`routelab --help` must not pay for heavy libraries: they are imported inside the commands that need them.

Each check runs in a fresh interpreter with an audit hook on the ``import`` event, so it sees every import
*attempt*: a top-level ``try: import pandas`` counts even on a machine where pandas is not installed.
Nothing here measures time; speed is for ``routelab bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEAVY = (
    "duckdb",
    "pandas",
    "numpy",
    "litellm",
    "scipy",
    "plotly",
    "streamlit",
    "pyarrow",
    "hypothesis",
    "ray",
)

# Runs `statement` after installing the audit hook, then writes which heavy top-level packages were
# imported (with the first importing file:line) and the SystemExit code, as JSON, to argv[2].
AUDIT_WRAPPER = r"""
import json, runpy, sys

statement, out, heavy = sys.argv[1], sys.argv[2], set(json.loads(sys.argv[3]))
first_import = {}

def importer_location():
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<frozen") and "importlib" not in filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"

def hook(event, args):
    if event == "import":
        top = args[0].partition(".")[0]
        if top in heavy and top not in first_import:
            first_import[top] = importer_location()

sys.addaudithook(hook)
exit_code = None
try:
    exec(statement, {"sys": sys, "runpy": runpy, "__name__": "audited"})
except SystemExit as exc:
    exit_code = exc.code
sys.stdout.flush()
loaded = {name.partition(".")[0] for name in sys.modules} & heavy
with open(out, "w", encoding="utf-8") as f:
    json.dump({"attempted": first_import, "loaded": sorted(loaded), "exit_code": exit_code}, f)
"""

HELP_ARGV = "sys.argv = ['routelab', '--help']\n"
SCENARIOS = {
    "import-cli-module": "import routelab.app.cli\n",
    # what `python -m routelab.app.cli --help` does
    "python-m-help": HELP_ARGV
    + "runpy.run_module('routelab.app.cli', run_name='__main__', alter_sys=True)\n",
    # what the `routelab` console script does: main() with no argv reads sys.argv
    "entry-point-help": HELP_ARGV + "from routelab.app.cli import main\nsys.exit(main())\n",
}


def run_audited(statement: str, tmp_path: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run ``statement`` in a fresh interpreter under the import audit; return its report and process."""
    out = tmp_path / "audit.json"
    # cwd outside the repository, so the bare folders (datasets/, app/ ...) are not on sys.path.
    proc = subprocess.run(
        [sys.executable, "-c", AUDIT_WRAPPER, statement, str(out), json.dumps(HEAVY)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"audited interpreter failed:\n{proc.stdout}\n{proc.stderr}"
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report, proc


@pytest.mark.parametrize("statement", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_cli_startup_imports_no_heavy_module(statement: str, tmp_path: Path) -> None:
    report, proc = run_audited(statement, tmp_path)
    offenders = {**dict.fromkeys(report["loaded"], "?"), **report["attempted"]}
    assert not offenders, (
        "heavy modules imported at CLI start-up; move the import into the command:\n"
        + "\n".join(f"  {name} first imported at {where}" for name, where in sorted(offenders.items()))
    )
    if "--help" in statement:
        assert report["exit_code"] in (0, None), proc.stderr
        assert "usage:" in proc.stdout.lower()


def test_python_m_cli_help_exits_zero(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "routelab.app.cli", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "routelab" in proc.stdout


# The audit must be able to fail: a heavy import is reported, even a guarded one of a missing package.
AUDIT_SELF_TESTS = {
    "installed-heavy-module": ("import hypothesis\n", "hypothesis"),
    "guarded-import-of-missing-module": (
        "try:\n    import ray._routelab_audit_probe\nexcept ImportError:\n    pass\n",
        "ray",
    ),
}


@pytest.mark.parametrize(("statement", "heavy"), AUDIT_SELF_TESTS.values(), ids=AUDIT_SELF_TESTS.keys())
def test_audit_reports_a_heavy_import(statement: str, heavy: str, tmp_path: Path) -> None:
    report, _ = run_audited(statement, tmp_path)
    assert heavy in report["attempted"]
