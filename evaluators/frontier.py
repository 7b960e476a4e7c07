"""Cost–quality frontier of full-information outcomes: single models, oracle, random, versions and AIQ.

Definitions (``METRICS.md``, "Quality, cost and baselines" and "RouterBench"):

- **Requests**: per evaluation group, those with an outcome (quality *and* cost) for every model of the
  group; the others are dropped and counted (`n_dropped`), so every router is scored on the same set Q.
- **Point** of a router R: r(R) = mean quality over Q, C(R) = total cost, cost per 1,000 = 1000 · C / |Q|.
- **Oracle**: per request the best quality, ties by the lowest cost, then by model name (determinism).
  RouterBench's own oracle column breaks ties by cost the same way. **Best single**: the best r, ties by
  the lower cost, then name. **Random**: the uniform random router's *exact* expectation (the mean of the
  models' r and C); `random_mixtures` adds, for two models, the exact mixtures at evenly spaced shares of
  the dearer model (linear between the two), otherwise seeded realisations of the uniform random router.
- **Versions**: a decisions frame (`request_id, model`; a missing model = blocked) is scored on the
  complete requests it decided for a model with an outcome; blocked, unscored and undecided requests are
  counted, never scored. Its oracle gap and improvement over the best single model are paired: computed on
  the requests the version was scored on. Quality carries a 95 % interval: Wilson when every quality of the
  group is 0 or 1, else Student's t (`range`, the group's observed quality range, below two requests).
- **NDCH, AIQ, Pareto** in the (cost per 1,000, quality) plane: see `ndch`, `aiq`, `pareto`. The zero
  router is the NDCH of the single models; c_min and c_max are the cheapest and dearest model of the group.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from routelab.evaluators.arguments import check_confidence, check_count, check_seed, scipy_stats
from routelab.evaluators.errors import EvaluatorError, UnknownOptionError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import FrameError, is_missing, require_columns, require_unique
from routelab.evaluators.frontier_hull import AiqVariant, aiq, ndch, pareto
from routelab.evaluators.frontier_types import (
    ALL,
    MISSING_GROUP,
    MODEL_PREFIX,
    ORACLE,
    VERSION_PREFIX,
    FrontierParams,
    FrontierResult,
    GroupFrontier,
    MixturePoint,
    Point,
    VersionFrontier,
    VersionPoint,
)
from routelab.evaluators.intervals import wilson
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

__all__ = ["aiq", "frontier", "ndch", "pareto"]

#: Version name → its decisions, or a sweep's decision frames in knob order.
Versions: TypeAlias = "Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]]"
_NO_VERSIONS: Versions = MappingProxyType({})  # an immutable `{}` default
OUTCOME_COLUMNS = ("request_id", "model", "quality", "cost_usd")

# --- frames to matrices -------------------------------------------------------------------------------------


class _Group(NamedTuple):
    """One evaluation group as matrices over its complete requests (rows) × models (columns, by name)."""

    name: str
    ids: list[str]
    models: list[str]
    quality: NDArray[np.float64]
    cost: NDArray[np.float64]
    all_ids: frozenset[str]
    binary: bool


def _frame(outcomes: pd.DataFrame, group: str | None) -> pd.DataFrame:
    """The outcome columns, numeric, with string ids and a `group` label; checked, never mutated."""
    import pandas as pd

    require_columns(outcomes, [*OUTCOME_COLUMNS, *([group] if group else [])], "outcomes")
    if "kind" in outcomes.columns and set(outcomes["kind"].dropna()) - {"full"}:
        raise FrameError("outcomes: pass full-information outcomes only (kind='full'), not logged ones")
    frame = outcomes[list(OUTCOME_COLUMNS)].copy()
    for col in ("quality", "cost_usd"):
        try:
            frame[col] = pd.to_numeric(frame[col]).astype(float)
        except (TypeError, ValueError):
            raise FrameError(f"outcomes: column {col} must be numeric (missing values allowed)") from None
    frame["request_id"] = frame["request_id"].astype(str)
    repeated = frame[frame.duplicated(["request_id", "model"])]
    if len(repeated):
        first = repeated.iloc[0]
        raise FrameError(
            f"outcomes: one row per request × model; {len(repeated)} repeated, first "
            f"{first['request_id']} × {first['model']}"
        )
    frame["group"] = (
        outcomes[group].map(lambda v: MISSING_GROUP if is_missing(v) else str(v)).to_numpy() if group else ALL
    )
    return frame


def _groups(frame: pd.DataFrame) -> tuple[list[_Group], list[str]]:
    import numpy as np

    out, warnings = [], []
    for name, rows in frame.groupby("group", sort=True):
        q = rows.pivot(index="request_id", columns="model", values="quality").sort_index(axis=1)
        c = rows.pivot(index="request_id", columns="model", values="cost_usd").reindex_like(q)
        complete = q.notna().all(axis=1) & c.notna().all(axis=1)
        if not complete.any():
            warnings.append(f"group {name}: no request has an outcome for every model; left out")
            continue
        qm = q[complete].to_numpy(dtype=np.float64)
        out.append(
            _Group(
                name=str(name),
                ids=[str(i) for i in q.index[complete]],
                models=[str(m) for m in q.columns],
                quality=qm,
                cost=c[complete].to_numpy(dtype=np.float64),
                all_ids=frozenset(map(str, q.index)),
                binary=bool(np.isin(qm, (0.0, 1.0)).all()),
            )
        )
    return out, warnings


def _decided(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    what = f"versions[{name!r}]"
    require_columns(frame, ["request_id", "model"], what)
    require_unique(frame, "request_id", what)
    return dict(zip(frame["request_id"].astype(str), frame["model"], strict=True))


# --- points -------------------------------------------------------------------------------------------------


def _point(quality: NDArray[np.float64], cost: NDArray[np.float64]) -> Point:
    n, total = int(quality.shape[0]), float(cost.sum())
    mean = float(quality.mean()) if n else None
    return Point(quality=mean, cost_usd=total, cost_per_1k_usd=1000 * total / n if n else None, n=n)


def _plane(points: Sequence[Point]) -> list[tuple[float, float]]:
    return [xy for p in points if (xy := p.xy) is not None]


def _oracle_columns(g: _Group) -> NDArray[np.intp]:
    """Per request the column of the best quality, ties by lower cost, then by name (columns are by name)."""
    import numpy as np

    best = g.quality == g.quality.max(axis=1, keepdims=True)
    picked: NDArray[np.intp] = np.argmin(np.where(best, g.cost, np.inf), axis=1)
    return picked  # argmin keeps the first of equal costs: the name order


def _mixture(g: _Group, models: Mapping[str, Point], weights: dict[str, float]) -> MixturePoint:
    quality = sum(w * (models[m].quality or 0.0) for m, w in weights.items())
    cost = sum(w * models[m].cost_usd for m, w in weights.items())
    n = len(g.ids)
    return MixturePoint(
        quality=quality, cost_usd=cost, cost_per_1k_usd=1000 * cost / n, n=n, weights=weights, expected=True
    )


def _random_mixtures(g: _Group, models: Mapping[str, Point], count: int, seed: int) -> list[MixturePoint]:
    import numpy as np

    if len(g.models) == 2:
        cheap, dear = sorted(g.models, key=lambda m: (models[m].cost_usd, m))
        return [_mixture(g, models, {cheap: 1 - s, dear: s}) for s in np.linspace(0.0, 1.0, count).tolist()]
    # the group name joins the seed so each group's draws do not depend on which other groups exist
    rng = np.random.default_rng([seed, zlib.crc32(g.name.encode())])
    rows, out = np.arange(len(g.ids)), []
    for _ in range(count):
        pick = rng.integers(len(g.models), size=len(g.ids))
        shares = (np.bincount(pick, minlength=len(g.models)) / len(g.ids)).tolist()
        p = _point(g.quality[rows, pick], g.cost[rows, pick])
        out.append(
            MixturePoint(**p.model_dump(), weights=dict(zip(g.models, shares, strict=True)), expected=False)
        )
    return out


def _quality_estimate(values: NDArray[np.float64], g: _Group, confidence: float) -> Estimate:
    n = int(values.shape[0])
    if g.binary:
        return wilson(int(values.sum()), n, confidence=confidence)
    if n < 2:  # no spread to estimate: the interval is the range the group's qualities span
        low, high = float(g.quality.min()), float(g.quality.max())
        value = float(values.mean()) if n else None
        return Estimate(value=value, ci_low=low, ci_high=high, n=n, method="range", confidence=confidence)
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    half = float(scipy_stats().t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(
        value=mean, ci_low=mean - half, ci_high=mean + half, n=n, method="t", confidence=confidence
    )


def _version_point(
    g: _Group, decided: Mapping[str, Any], oracle_q: NDArray[np.float64], best: int, confidence: float
) -> VersionPoint:
    import numpy as np

    column, row = {m: j for j, m in enumerate(g.models)}, {r: i for i, r in enumerate(g.ids)}
    blocked = unscored = 0
    rows, cols = [], []
    for request, model in decided.items():
        if request not in g.all_ids:
            continue  # another group's request
        if is_missing(model):
            blocked += 1
        elif request in row and str(model) in column:
            rows.append(row[request])
            cols.append(column[str(model)])
        else:
            unscored += 1
    r, c = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
    p = _point(g.quality[r, c], g.cost[r, c])
    scored = p.quality is not None
    return VersionPoint(
        **p.model_dump(),
        quality_ci=_quality_estimate(g.quality[r, c], g, confidence),
        oracle_gap=float(oracle_q[r].mean()) - (p.quality or 0.0) if scored else None,
        improvement_over_best_single=(p.quality or 0.0) - float(g.quality[r, best].mean())
        if scored
        else None,
        n_blocked=blocked,
        n_unscored=unscored,
        n_undecided=sum(1 for request in g.ids if request not in decided),
    )


def _version_frontier(points: list[VersionPoint], sweep: bool, area: float | None) -> VersionFrontier:
    one = None if sweep else points[0]
    return VersionFrontier(
        points=points,
        sweep=sweep,
        quality=one.quality_ci if one else None,
        oracle_gap=one.oracle_gap if one else None,
        improvement_over_best_single=one.improvement_over_best_single if one else None,
        n_blocked=one.n_blocked if one else None,
        n_unscored=one.n_unscored if one else None,
        aiq=area,
    )


# --- the evaluator ------------------------------------------------------------------------------------------


def _group_frontier(
    g: _Group, runs: Mapping[str, list[dict[str, Any]]], sweeps: set[str], params: FrontierParams
) -> GroupFrontier:
    import numpy as np

    models = {m: _point(g.quality[:, j], g.cost[:, j]) for j, m in enumerate(g.models)}
    rows, pick = np.arange(len(g.ids)), _oracle_columns(g)
    oracle = _point(g.quality[rows, pick], g.cost[rows, pick])
    best_single = min(g.models, key=lambda m: (-(models[m].quality or 0.0), models[m].cost_usd, m))
    versions = {
        name: [
            _version_point(g, d, g.quality[rows, pick], g.models.index(best_single), params.confidence)
            for d in frames
        ]
        for name, frames in runs.items()
        if any(request in g.all_ids for d in frames for request in d)
    }
    zero = _plane(list(models.values()))
    c_min, c_max = min(c for c, _ in zero), max(c for c, _ in zero)
    if params.aiq_variant == "routerbench":  # the largest cost among the routers compared
        c_max = max(c for c, _ in [*zero, *(xy for v in versions.values() for xy in _plane(v))])
    usable = c_max > c_min if params.aiq_variant == "paper" else c_max > 0

    def area(points: list[tuple[float, float]]) -> float | None:
        return (
            aiq(points, c_min=c_min, c_max=c_max, variant=params.aiq_variant) if points and usable else None
        )

    named: dict[str, Point] = {f"{MODEL_PREFIX}{m}": p for m, p in models.items()} | {ORACLE: oracle}
    for name, points in versions.items():
        keys = [f"{VERSION_PREFIX}{name}" + (f"#{i}" if name in sweeps else "") for i in range(len(points))]
        named |= dict(zip(keys, points, strict=True))
    return GroupFrontier(
        n_requests=len(g.ids),
        n_dropped=len(g.all_ids) - len(g.ids),
        models=models,
        oracle=oracle,
        best_single=best_single,
        random=Point(
            **_mixture(g, models, {m: 1 / len(models) for m in models}).model_dump(
                include=set(Point.model_fields)
            )
        ),
        random_mixtures=_random_mixtures(g, models, params.random_mixtures, params.seed),
        zero_router_aiq=area(zero),
        aiq_cost_range=(c_min, c_max),
        versions={n: _version_frontier(p, n in sweeps, area(_plane(p))) for n, p in versions.items()},
        pareto=pareto({k: xy for k, p in named.items() if (xy := p.xy) is not None}),
        aiq_variant=params.aiq_variant,
    )


@evaluator(
    "frontier", "Cost–quality frontier of full outcomes: models, oracle, random, versions, AIQ, Pareto."
)
def frontier(
    outcomes: pd.DataFrame,
    versions: Versions = _NO_VERSIONS,
    *,
    group: str | None = None,
    random_mixtures: int = 11,
    seed: int = 0,
    aiq_variant: AiqVariant = "paper",
    confidence: float = 0.95,
) -> FrontierResult:
    """Single models, oracle, best single, random baselines and versions per evaluation group (module doc).

    Args:
        outcomes: Full-information outcomes: request_id, model, quality, cost_usd (and the `group` column);
            one row per request × model.
        versions: Version name → its decisions (request_id, model; a missing model is blocked), or a
            sequence of decision frames: a sweep's points in knob order.
        group: Outcome column holding the evaluation group (e.g. eval_group); None: one group, `all`.
        random_mixtures: Random-mixture points per group (two models: shares 0 … 1 in that many steps).
        seed: Seed of the realised uniform random draws (groups of other than two models).
        aiq_variant: `paper` or `routerbench` (see `aiq`).
        confidence: Confidence level of the versions' quality intervals.

    Raises:
        EvaluatorError: a missing column, a repeated request × model or request, non-numeric quality or
            cost, logged outcomes, no outcomes at all, or an invalid option.
    """
    import pandas as pd

    if aiq_variant not in ("paper", "routerbench"):
        raise UnknownOptionError("aiq_variant", f"is {aiq_variant!r}", "pass one of: paper, routerbench")
    params = FrontierParams(
        group=group,
        versions=tuple(versions),
        random_mixtures=check_count(random_mixtures, "random_mixtures"),
        seed=check_seed(seed),
        aiq_variant=aiq_variant,
        confidence=check_confidence(confidence),
    )
    if outcomes.empty:
        raise EvaluatorError("outcomes: no rows; import full-information outcomes first")
    sweeps = {name for name, v in versions.items() if not isinstance(v, pd.DataFrame)}
    runs = {name: [_decided(name, f) for f in (v if name in sweeps else [v])] for name, v in versions.items()}
    frame = _frame(outcomes, group)
    groups, warnings = _groups(frame)
    known = set(frame["request_id"])
    for name, frames in runs.items():
        outside = {r for d in frames for r in d if r not in known}
        if outside:
            warnings.append(f"version {name}: {len(outside)} decided request(s) have no outcome; left out")
    return FrontierResult(
        params=params,
        groups={g.name: _group_frontier(g, runs, sweeps, params) for g in groups},
        warnings=tuple(warnings),
    )
