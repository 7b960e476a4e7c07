"""One version's decisions normalised for judging, and the verdict of each against gold.

Shared by `compare` (two versions side by side) and `drift_frame` (one version over time), so a decision is
right or wrong by the same rule everywhere: it matches any acceptable path of its resolved gold label
(`gold_paths.matches` on the normalised path), and only labelled requests (gold source adjudicated,
annotations or import) get a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from routelab.evaluators.accuracy_types import DECISION_COLUMNS, PATH_COLUMNS
from routelab.evaluators.compare_metrics import path_text
from routelab.evaluators.compare_types import PATH_KEY_COMPONENTS
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import FrameError, require_columns, require_unique
from routelab.evaluators.gold import LABELLED_SOURCES, GoldLabel
from routelab.evaluators.gold_paths import PathValue, matches, normalise_value

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


class Normalised(NamedTuple):
    """A version's decisions as `normalise_decisions` returns them."""

    frame: pd.DataFrame
    """request_id, the normalised `PATH_COLUMNS`, ``path``, est_cost_usd, est_latency_ms (and rule_id)."""
    router: str | None
    """The version (`name@version`) from the `router` column, if it has one."""


def normalise_decisions(decisions: pd.DataFrame, what: str) -> Normalised:
    """Normalised path components, the readable path key and the estimates of one version's decisions.

    The path key is ``model | retrieval | escalation | action`` (a missing model reads ``-``).

    Raises:
        EvaluatorError: a missing column, a repeated request, several versions in the frame, or a missing
            or non-finite cost or latency estimate (naming `what`).
    """
    import numpy as np
    import pandas as pd

    require_columns(decisions, DECISION_COLUMNS, what)
    require_unique(decisions, "request_id", what)
    routers = decisions["router"].dropna().unique().tolist() if "router" in decisions.columns else []
    if len(routers) > 1:
        raise EvaluatorError(f"{what}: several router versions ({', '.join(map(str, routers))}); pass one")
    out = pd.DataFrame({"request_id": [str(r) for r in decisions["request_id"]]})
    texts = {}
    for c in PATH_COLUMNS:
        # normalise each distinct value once: a version's decisions repeat few distinct values
        codes, uniques = pd.factorize(decisions[c], use_na_sentinel=True)
        normalised = [normalise_value(c, u) for u in uniques] + [normalise_value(c, None)]
        out[c] = pd.Series(np.array(normalised, dtype=object)[codes], dtype=object)
        if c in PATH_KEY_COMPONENTS:
            texts[c] = np.array([path_text(v) for v in normalised], dtype=object)[codes]
    joined = texts[PATH_KEY_COMPONENTS[0]]
    for c in PATH_KEY_COMPONENTS[1:]:
        joined = joined + " | " + texts[c]
    out["path"] = joined
    for c in ("est_cost_usd", "est_latency_ms"):
        values = pd.to_numeric(decisions[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            first = out["request_id"][bad].iloc[0]
            raise FrameError(
                f"{what}: {c} is missing or not finite for {int(bad.sum())} request(s), e.g. {first}; "
                "replay the version so every decision carries its estimates"
            )
        out[c] = values
    if "rule_id" in decisions.columns:
        out["rule_id"] = decisions["rule_id"].to_numpy()
    return Normalised(out, str(routers[0]) if routers else None)


class Judge:
    """Verdicts of normalised decisions against gold labels, memoised (both repeat few distinct shapes)."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[int, ...], int] = {}  # ids of a gold's paths -> code of its acceptable set
        self._keep: list[GoldLabel] = []
        self._shape_keys: dict[tuple[object, ...], int] = {}
        self._shape_of: list[GoldLabel] = []
        self._verdicts: dict[tuple[int, tuple[PathValue, ...]], bool] = {}

    def _shape(self, g: GoldLabel | None) -> int:
        """A code per distinct acceptable set of a labelled gold; -1 for no labelled gold."""
        if g is None or g.source not in LABELLED_SOURCES:
            return -1
        # labels parsed from the same text share their path objects: their identities are a cheap first key
        ids = tuple(map(id, g.acceptable))
        code = self._shapes.get(ids)
        if code is None:
            key = tuple(tuple(sorted(p.items())) for p in g.acceptable)
            code = self._shape_keys.get(key)
            if code is None:
                code = self._shape_keys[key] = len(self._shape_of)
                self._shape_of.append(g)
            self._shapes[ids] = code
            self._keep.append(g)  # the ids stay valid while the judge holds the paths
        return code

    def _judge(self, shape: int, row: tuple[PathValue, ...]) -> bool:
        key = (shape, row)
        if key not in self._verdicts:
            decided_path = dict(zip(PATH_COLUMNS, row, strict=True))
            self._verdicts[key] = any(matches(p, decided_path) for p in self._shape_of[shape].acceptable)
        return self._verdicts[key]

    def verdicts(self, labels: list[GoldLabel | None], decided: pd.DataFrame) -> pd.arrays.BooleanArray:
        """Per row: right (True), wrong (False) or NA when the request has no labelled gold.

        Each distinct (acceptable set, decided path) pair is judged once and the verdict spread back.

        Args:
            labels: The gold label of each row (None: none), aligned with `decided`.
            decided: The normalised `PATH_COLUMNS` of each decision, in that order.
        """
        import numpy as np
        import pandas as pd

        shapes = np.fromiter((self._shape(g) for g in labels), dtype=np.int64, count=len(labels))
        # one code per distinct decided path: the columns' codes in mixed radix, then unique
        path_code = np.zeros(len(decided), dtype=np.int64)
        for c in decided.columns:
            codes, values = pd.factorize(decided[c], use_na_sentinel=False)
            path_code = path_code * max(len(values), 1) + codes
        key = shapes * (int(path_code.max(initial=0)) + 1) + path_code
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rows = decided.iloc[first].to_numpy(dtype=object)
        judged = np.array(
            [
                -1 if shapes[i] < 0 else int(self._judge(int(shapes[i]), tuple(row)))
                for i, row in zip(first, rows, strict=True)
            ],
            dtype=np.int8,
        )[inverse.reshape(-1)]
        out = pd.array(judged == 1, dtype="boolean")
        out[judged < 0] = pd.NA
        return out


def verdict_matrix(
    shapes: Sequence[Sequence[Mapping[str, PathValue]]], decided: Sequence[Sequence[PathValue]]
) -> list[list[bool]]:
    """Whether each decided path (normalised `PATH_COLUMNS` values) matches any path of each acceptable set.

    Row s, column t: the verdict on decided path t of a request whose gold accepts `shapes[s]`.
    """
    full = [dict(zip(PATH_COLUMNS, row, strict=True)) for row in decided]
    return [[any(matches(p, d) for p in shape) for d in full] for shape in shapes]
