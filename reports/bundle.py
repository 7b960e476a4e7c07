"""The report bundle as plain JSON: what a report is rendered from and saved next to it.

`routelab.app.report_flow.report_bundle` assembles the bundle from the store; this module only makes it
JSON-exact (:func:`clean`) and checks it has what a report needs (:func:`check`). Rendering the cleaned
bundle and rendering the bundle read back from its JSON file give the same report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from routelab.reports.errors import BundleError

#: Keys every bundle has (`frontier` may be null: no full-information outcomes). `compliance` and `ops` are
#: left out on purpose: a bundle saved before they existed still renders, and those sections say so.
REQUIRED = ("meta", "compare", "accuracy", "drift", "frontier", "policy", "regressions", "labels")
META = ("base", "candidate", "generated_at", "seed", "data_fingerprint", "versions", "price_tables")


def clean(value: Any) -> Any:
    """A JSON-exact copy: NaN and infinities become null, tuples lists, numpy scalars Python numbers,
    dates ISO strings and dict keys strings. The input is not changed."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "item"):  # numpy and pandas scalars
        return clean(value.item())
    raise BundleError(f"cannot store a {type(value).__name__} in a report bundle: {value!r}")


def check(bundle: Mapping[str, Any]) -> None:
    """Raise :class:`BundleError` naming every missing key of the bundle and of its `meta`."""
    lost = [key for key in REQUIRED if key not in bundle]
    meta = bundle.get("meta")
    if isinstance(meta, Mapping):
        lost += [f"meta.{key}" for key in META if key not in meta]
    if lost:
        raise BundleError(
            f"the report bundle lacks {', '.join(lost)}; build it with routelab.app.report_flow.report_bundle"
        )


def dumps(bundle: Mapping[str, Any]) -> str:
    """The bundle as JSON text (stable: the same bundle gives the same bytes)."""
    return json.dumps(clean(bundle), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def load(path: str | Path) -> dict[str, Any]:
    """A bundle saved with :func:`dumps`, checked."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read a report bundle: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{path}: a report bundle is a JSON object, got {type(data).__name__}")
    check(data)
    return data
