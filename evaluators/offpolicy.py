"""A candidate version's quality and cost from production logs: IPS, self-normalised IPS and doubly robust.

**Data.** `logged` holds one row per request: the action a_i the logging (production) policy took, its
propensity p_i in (0, 1] and the metrics r_i observed. **The action is the model**: a path also fixes
retrieval, cache and escalation, but the logs' propensity is the model's, so versions picking the same
model take the same action. `candidate` gives the candidate's model π(x_i); missing (blocked) is an action
no log shows.

**Estimators** (METRICS.md, "Off-policy estimates from logs"), with weights w_i = 1[π(x_i) = a_i] / p_i:
- IPS, V̂ = (1/n) Σ w_i r_i: unbiased where every action π takes has p > 0; its variance grows with w.
- SNIPS, V̂ = Σ w_i r_i / Σ w_i: IPS over the mean weight (expectation 1); slightly biased, far less
  variable, within the observed range of r; undefined (None) without a match.
- DR, V̂ = (1/n) Σ [r̂(x_i, π(x_i)) + w_i (r_i − r̂(x_i, a_i))]: unbiased when either the propensities or
  the direct model r̂ are right; where r̂ is exact the correction term adds no variance.

**Direct model r̂.** By default cell means of the logged rows: for action a in feature cell c (the values
of `features`, e.g. workflow and task; one cell without), r̂ = (S_ca + k·m_a) / (n_ca + k), the cell's sum
and count shrunk towards the action's mean m_a over all logged rows by k = `prior_rows` pseudo-rows (a cell
of k rows sits halfway between its own mean and the action's). An action never logged, and a blocked
decision, get the metric's global mean. A `direct` frame (request_id, model, a prediction column per
metric) overrides r̂ where it has a value; the pairs it lacks fall back to the cell means, with a warning.

**Intervals.** Percentile bootstrap over requests: `n_resamples` draws of n rows with replacement from
``numpy.random.default_rng(seed)``, the same draws for every metric and estimator, summed through count
matrices in blocks (10⁵ rows × 1000 resamples: a few seconds). The direct model is held fixed, so the
interval leaves out its fitting error (small when the cells are large). SNIPS resamples without a match
are left out of its quantiles.

**ESS and support.** ESS = (Σ w)² / Σ w² (0 without a match): how many equally weighted requests the
estimates are worth. The candidate's model has no logged support in a request when the logs never show it
in the request's feature cell (anywhere, without features): its propensity there is presumably 0. IPS and
SNIPS count such requests as unmatched (biased if the logging policy cannot take the model), DR relies on
r̂'s back-off. Logs show only what was taken: a model logged in a cell may still be impossible for one of
its requests (a residency rule, say), which no check on the logs alone can see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.arguments import check_confidence, check_count, check_seed
from routelab.evaluators.bootstrap import _BLOCK_ELEMENTS
from routelab.evaluators.errors import InvalidArgumentError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import FrameError, is_missing, require_columns, require_unique
from routelab.evaluators.offpolicy_types import (
    ESTIMATORS,
    Estimator,
    OffPolicyParams,
    OffPolicyResult,
)
from routelab.evaluators.quantiles import quantiles_sorted
from routelab.evaluators.registry import evaluator

__all__ = ["ESTIMATORS", "Estimator", "OffPolicyParams", "OffPolicyResult", "off_policy"]

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

METHOD = "bootstrap-percentile"
BLOCKED = "(blocked)"
#: Warn when the effective sample size is below this share of the requests.
LOW_ESS_SHARE = 0.1
EXAMPLES = 5


class _Logs(NamedTuple):
    """The joined logs as arrays; actions are codes into `actions`, −1 for a blocked candidate."""

    logged: NDArray[np.int64]
    chosen: NDArray[np.int64]
    propensity: NDArray[np.float64]
    rewards: NDArray[np.float64]  # (n, metrics)
    cell: NDArray[np.int64]
    cells: list[str]
    actions: list[str]
    ids: list[str]


def _numeric(frame: pd.DataFrame, column: str, what: str) -> NDArray[np.float64]:
    """`column` as finite floats, or a `FrameError` naming the first bad request."""
    import numpy as np
    import pandas as pd

    values: NDArray[np.float64] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise FrameError(
            f"{what}: {column} is missing or not a finite number in {bad.size} row(s), e.g. request "
            f"{frame['request_id'].iloc[bad[0]]}; drop them (or estimate the metric on the rows having it)"
        )
    return values


def _version(candidate: pd.DataFrame) -> str | None:
    """The candidate's `router`, None without the column; several versions in one frame raise."""
    routers = candidate["router"].dropna().unique().tolist() if "router" in candidate.columns else []
    if len(routers) > 1:
        raise FrameError(f"candidate: several router versions ({', '.join(map(str, routers))}); pass one")
    return str(routers[0]) if routers else None


def _join(
    logged: pd.DataFrame, candidate: pd.DataFrame, metrics: list[str], features: list[str]
) -> tuple[_Logs, int, int]:
    """The requests in both frames, checked, with the numbers of logged-only and candidate-only ones."""
    import numpy as np
    import pandas as pd

    require_columns(logged, ["request_id", "model", "propensity", *metrics, *features], "logged")
    require_columns(candidate, ["request_id", "model"], "candidate")
    if "kind" in logged.columns and bool((logged["kind"] != "logged").any()):
        raise FrameError("logged: holds outcomes of kind other than 'logged'; pass outcomes(store, 'logged')")
    require_unique(logged, "request_id", "logged")
    require_unique(candidate, "request_id", "candidate")
    left = logged[["request_id", "model", "propensity", *metrics, *features]].assign(
        request_id=logged["request_id"].astype(str)
    )
    right = pd.DataFrame({"request_id": candidate["request_id"].astype(str), "chosen": candidate["model"]})
    frame = left.merge(right, on="request_id", validate="one_to_one").reset_index(drop=True)
    if frame.empty:
        raise FrameError(
            "logged and candidate share no request_id; replay the candidate over the logged traffic"
        )
    if bool(frame["model"].map(is_missing).any()):
        raise FrameError("logged: model is missing in some rows; every logged row needs the model it served")
    propensity = _numeric(frame, "propensity", "logged")
    bad = np.flatnonzero((propensity <= 0) | (propensity > 1))
    if bad.size:
        raise FrameError(
            f"logged: propensity must lie in (0, 1]; request {frame['request_id'].iloc[bad[0]]} has "
            f"{propensity[bad[0]]} ({bad.size} row(s)); pass the logging policy's probability of the model"
        )
    rewards = np.column_stack([_numeric(frame, m, "logged") for m in metrics])
    taken = frame["model"].astype(str)
    chosen = frame["chosen"].map(lambda v: None if is_missing(v) else str(v))
    actions = sorted(set(taken) | set(chosen.dropna()))
    index = pd.Index(actions, dtype=object)
    if features:
        keys = frame[features].map(lambda v: MISSING if is_missing(v) else str(v))
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
        cells = [" / ".join(u) for u in uniques]
    else:
        codes, cells = np.zeros(len(frame), dtype=np.int64), ["all"]
    logs = _Logs(
        logged=index.get_indexer(taken).astype(np.int64),
        chosen=index.get_indexer(chosen).astype(np.int64),  # −1: blocked
        propensity=propensity,
        rewards=rewards,
        cell=np.asarray(codes, dtype=np.int64),
        cells=cells,
        actions=actions,
        ids=frame["request_id"].tolist(),
    )
    return logs, len(logged) - len(frame), len(candidate) - len(frame)


def _cell_means(logs: _Logs, prior_rows: int) -> NDArray[np.float64]:
    """r̂ per (cell, action, metric): cell means shrunk to action means; never-logged actions: global mean."""
    import numpy as np

    n_actions, n_cells, k = len(logs.actions), len(logs.cells), logs.rewards.shape[1]
    pair = logs.cell * n_actions + logs.logged

    def sums(codes: NDArray[np.int64], size: int) -> NDArray[np.float64]:
        return np.column_stack(
            [np.bincount(codes, weights=logs.rewards[:, j], minlength=size) for j in range(k)]
        )

    n_a = np.bincount(logs.logged, minlength=n_actions)[:, None]
    m_a = np.where(n_a > 0, sums(logs.logged, n_actions) / np.maximum(n_a, 1), logs.rewards.mean(axis=0))
    n_ca = np.bincount(pair, minlength=n_cells * n_actions).reshape(n_cells, n_actions, 1)
    s_ca = sums(pair, n_cells * n_actions).reshape(n_cells, n_actions, k)
    denominator = n_ca + prior_rows
    table: NDArray[np.float64] = np.where(
        denominator > 0, (s_ca + prior_rows * m_a[None]) / np.maximum(denominator, 1), m_a[None]
    )
    return table


def _direct(
    direct: pd.DataFrame, logs: _Logs, metrics: list[str], actions: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Predictions of `direct` for each request and the given action codes; NaN where it has none."""
    import numpy as np
    import pandas as pd

    require_columns(direct, ["request_id", "model", *metrics], "direct")
    keys = pd.MultiIndex.from_arrays([direct["request_id"].astype(str), direct["model"].astype(str)])
    if keys.has_duplicates:
        raise FrameError(
            f"direct: (request_id, model) repeats, e.g. {keys[keys.duplicated()][0]}; pass one each"
        )
    table = pd.DataFrame({m: pd.to_numeric(direct[m], errors="coerce").to_numpy() for m in metrics})
    names = np.array([*logs.actions, BLOCKED], dtype=object)[actions]
    wanted = pd.MultiIndex.from_arrays([logs.ids, names])
    out: NDArray[np.float64] = table.set_axis(keys).reindex(wanted).to_numpy(dtype=np.float64)
    return out


def _predictions(
    logs: _Logs, prior_rows: int, direct: pd.DataFrame | None, metrics: list[str], warnings: list[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """r̂(x_i, a_i) and r̂(x_i, π(x_i)), (n, metrics) each: `direct` where it has them, else cell means."""
    import numpy as np

    table = _cell_means(logs, prior_rows)
    blocked = logs.chosen < 0
    taken = table[logs.cell, logs.logged]
    chosen = np.where(
        blocked[:, None], logs.rewards.mean(axis=0), table[logs.cell, np.maximum(logs.chosen, 0)]
    )
    if direct is None:
        return taken, chosen
    given_taken = _direct(direct, logs, metrics, logs.logged)
    given_chosen = _direct(direct, logs, metrics, np.where(blocked, len(logs.actions), logs.chosen))
    missing = int(np.isnan(given_taken).sum() + np.isnan(given_chosen).sum())
    if missing:
        warnings.append(
            f"direct: {missing:,} of {2 * taken.size:,} predictions missing, filled from the cell means"
        )
    return np.where(np.isnan(given_taken), taken, given_taken), np.where(
        np.isnan(given_chosen), chosen, given_chosen
    )


def _resample_sums(columns: NDArray[np.float64], n_resamples: int, seed: int) -> NDArray[np.float64]:
    """Column sums of `n_resamples` bootstrap resamples of the rows, drawn as count matrices in blocks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = columns.shape[0]
    out = np.empty((n_resamples, columns.shape[1]))
    rows = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n)) + n * np.arange(stop - start)[:, None]
        counts = np.bincount(idx.ravel(), minlength=(stop - start) * n).reshape(stop - start, n)
        out[start:stop] = counts @ columns
    return out


def _estimate(
    value: float | None, draws: NDArray[np.float64], n: int, confidence: float, bounds: tuple[float, float]
) -> Estimate:
    """`value` with the percentile interval of the finite `draws`; `bounds` when none is finite."""
    import numpy as np

    alpha = 1 - confidence
    finite = np.sort(draws[np.isfinite(draws)])
    low, high = quantiles_sorted(finite, (alpha / 2, 1 - alpha / 2)) if finite.size else bounds
    return Estimate(value=value, ci_low=low, ci_high=high, n=n, method=METHOD, confidence=confidence)


def _support_warning(logs: _Logs, unsupported: NDArray[np.bool_], features: list[str]) -> str:
    """How many requests lack support, and the commonest (cell, model) among them."""
    names = [*logs.actions, BLOCKED]
    seen = Counter(
        (int(c), int(a)) for c, a in zip(logs.cell[unsupported], logs.chosen[unsupported], strict=True)
    )
    examples = ", ".join(
        f"{names[a]}{f' in {logs.cells[c]}' if features else ''} ({k:,})"
        for (c, a), k in seen.most_common(EXAMPLES)
    )
    where = f"for their {' / '.join(features)} cell" if features else "at all"
    n, u = len(logs.ids), int(unsupported.sum())
    return (
        f"no logged support for {u:,} of {n:,} requests ({u / n:.1%}): the candidate picks a model the logs "
        f"never show {where}, e.g. {examples}; IPS and SNIPS count them as unmatched (biased if the logging "
        "policy cannot take that model there), DR uses the direct model's back-off for them"
    )


@evaluator(
    "ope", "A candidate version's quality and cost from logged outcomes: IPS, SNIPS and doubly robust."
)
def off_policy(
    logged: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("quality", "cost_usd"),
    direct: pd.DataFrame | None = None,
    features: Sequence[str] = (),
    prior_rows: int = 20,
    seed: int = 0,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> OffPolicyResult:
    """Estimate the candidate's mean metrics from logs of another policy; see the module docstring.

    Args:
        logged: One row per request: request_id, model (the logged action), propensity (its probability under
            the logging policy, in (0, 1]), the `metrics` and the `features` (e.g. `kind='logged'` outcomes
            joined with request fields).
        candidate: request_id and model, the candidate's choice (missing: blocked); router optional.
        metrics: Logged metric columns to estimate.
        direct: Optional direct-model predictions: request_id, model and one column per metric.
        features: Fields of `logged` whose cells the default direct model and the support check use.
        prior_rows: Pseudo-rows shrinking a cell's mean towards its action's overall mean.
        seed: Seed of the bootstrap's `numpy.random.default_rng`; recorded in `params`.
        n_resamples: Bootstrap resamples, >= 1.
        confidence: Confidence level of every interval, strictly between 0 and 1.

    Raises:
        FrameError: a missing column, a repeated request_id, a propensity outside (0, 1], a non-finite metric,
            or no request in both frames.
        InvalidArgumentError: no metric, or a bad `seed`, `n_resamples`, `prior_rows` or `confidence`.
    """
    import numpy as np

    confidence, seed = check_confidence(confidence), check_seed(seed)
    n_resamples = check_count(n_resamples, "n_resamples", minimum=1)
    prior_rows = check_count(prior_rows, "prior_rows")
    metric_list, feature_list = list(dict.fromkeys(metrics)), list(dict.fromkeys(features))
    if not metric_list:
        raise InvalidArgumentError("metrics", "is empty", "name at least one logged metric, e.g. quality")
    logs, dropped_logged, dropped_candidate = _join(logged, candidate, metric_list, feature_list)
    n, k = logs.rewards.shape
    warnings = []
    if dropped_logged or dropped_candidate:
        warnings.append(
            f"left out {dropped_logged:,} logged request(s) without a candidate decision and "
            f"{dropped_candidate:,} candidate decision(s) without a logged row"
        )

    rhat_taken, rhat_chosen = _predictions(logs, prior_rows, direct, metric_list, warnings)
    blocked = logs.chosen < 0
    matched = ~blocked & (logs.chosen == logs.logged)
    n_matched = int(matched.sum())
    w = np.where(matched, 1 / logs.propensity, 0.0)
    ipw = w[:, None] * logs.rewards
    dr = rhat_chosen + w[:, None] * (logs.rewards - rhat_taken)
    draws = _resample_sums(np.column_stack([w, ipw, dr]), n_resamples, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        snips_draws = np.where(draws[:, :1] > 0, draws[:, 1 : 1 + k] / draws[:, :1], np.nan)
    estimates: dict[str, dict[Estimator, Estimate]] = {}
    for j, metric in enumerate(metric_list):
        # SNIPS is a weighted mean of the observed r: where nothing matches, only r's range bounds it
        span = (float(logs.rewards[:, j].min()), float(logs.rewards[:, j].max()))
        snips = float(ipw[:, j].sum() / w.sum()) if n_matched else None
        estimates[metric] = {
            "ips": _estimate(float(ipw[:, j].mean()), draws[:, 1 + j] / n, n, confidence, span),
            "snips": _estimate(snips, snips_draws[:, j], n, confidence, span),
            "dr": _estimate(float(dr[:, j].mean()), draws[:, 1 + k + j] / n, n, confidence, span),
        }

    supported_pairs = np.unique(logs.cell * len(logs.actions) + logs.logged)
    unsupported = blocked | ~np.isin(logs.cell * len(logs.actions) + logs.chosen, supported_pairs)
    if unsupported.any():
        warnings.append(_support_warning(logs, unsupported, feature_list))
    ess = float(w.sum() ** 2 / (w**2).sum()) if n_matched else 0.0
    if not n_matched:
        warnings.append(
            "the candidate never picks the logged model: IPS is 0, SNIPS undefined, DR is r̂ alone"
        )
    elif ess < LOW_ESS_SHARE * n:
        warnings.append(
            f"effective sample size {ess:,.0f} of {n:,} requests ({ess / n:.1%}): the candidate picks the "
            f"logged model in {n_matched:,} requests, some of them rarely logged; expect wide intervals"
        )
    return OffPolicyResult(
        n=n,
        n_matched=n_matched,
        ess=ess,
        support_share=1 - float(unsupported.mean()),
        n_unsupported=int(unsupported.sum()),
        estimates=estimates,
        logged_value={m: float(logs.rewards[:, j].mean()) for j, m in enumerate(metric_list)},
        n_dropped_logged=dropped_logged,
        n_dropped_candidate=dropped_candidate,
        warnings=warnings,
        params=OffPolicyParams(
            candidate=_version(candidate),
            metrics=tuple(metric_list),
            features=tuple(feature_list),
            direct=direct is not None,
            prior_rows=prior_rows,
            seed=seed,
            n_resamples=n_resamples,
            confidence=confidence,
        ),
    )
