"""The flips between two versions' decision frames, each explained by `flip_explainer`.

Checks the inputs (routers are the diff's, decisions name their rules), joins the frames on request id,
keeps the requests whose path differs, and joins per-request correctness into an outcome per flip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from routelab.evaluators.attribution_types import (
    CORRECTNESS_COLUMNS,
    DECISION_COLUMNS,
    FLIP_COMPONENTS,
    AttributionError,
    Role,
)
from routelab.evaluators.flip_explainer import Explainer, Flip
from routelab.evaluators.frames import FrameError, is_missing, require_columns, require_unique
from routelab.router_core.identity import RouterDiff, config_hash
from routelab.router_core.paths import ESCALATION_MODEL_PREFIX
from routelab.router_core.validate import Router

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


def _flags(value: object) -> tuple[str, ...]:
    """Policy flags as a tuple: a list, tuple or array (DuckDB's VARCHAR[]), JSON text, or missing."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return tuple(str(v) for v in json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    try:
        return tuple(value)  # type: ignore[arg-type]  # any iterable; a non-iterable raises TypeError
    except TypeError:
        if is_missing(value):
            return ()
        raise FrameError(f"decisions: policy_flags must be a list of policy ids, not {value!r}") from None


def _correct(value: object) -> bool | None:
    if is_missing(value):
        return None
    if value in (True, False):  # bools, 0/1 and numpy's, exactly
        return bool(value)
    raise FrameError(
        f"correctness: base_correct/cand_correct must be true/false, 0/1 or missing, not {value!r}"
    )


def _correct_column(series: pd.Series) -> Any:
    """`_correct` of every value (an object array of True/False/None), checked once per distinct value."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    # element by element: Series.map would turn None back into pd.NA on nullable boolean columns
    table[:] = [*(_correct(u) for u in uniques), None]
    return table[codes]  # code -1 (missing) picks the trailing None


def _text(series: pd.Series, missing: str) -> pd.Series:
    """Values as text (enums by value; already-text columns are not copied), a missing one as `missing`."""
    if series.dtype == object:
        series = series.astype("string")
    return series.fillna(missing)


def check_routers(diff: RouterDiff, base: Router, cand: Router) -> None:
    """Fail unless the routers are the ones the diff was computed from.

    Raises:
        AttributionError: naming the router, its hash and the diff's.
    """
    for what, router, ref, digest in (
        ("base_router", base, diff.base, diff.base_hash),
        ("cand_router", cand, diff.candidate, diff.candidate_hash),
    ):
        if router.ref != ref or config_hash(router) != digest:
            raise AttributionError(
                f"{what}: {router.ref} (hash {config_hash(router)[:12]}) is not the diff's {ref} "
                f"(hash {digest[:12]}); pass the routers the diff was computed from"
            )


def check_rules(rule_ids: Iterable[object], router: Router, what: str) -> None:
    """Fail when a decision names a rule the router does not have (missing ids are `default`).

    Raises:
        AttributionError: naming the unknown ids and the router's rules.
    """
    known = {cr.rule.id for cr in router.rules} | {"default"}
    unknown = sorted({str(r) for r in rule_ids if not is_missing(r)} - known)
    if unknown:
        raise AttributionError(
            f"{what}: rule_id {', '.join(unknown[:5])} not in {router.ref}; "
            f"its rules: {', '.join(sorted(known))}"
        )


def _check_inputs(diff: RouterDiff, base: Router, cand: Router, frames: dict[str, pd.DataFrame]) -> None:
    check_routers(diff, base, cand)
    for (what, frame), router in zip(frames.items(), (base, cand), strict=True):
        require_columns(frame, DECISION_COLUMNS, what)
        require_unique(frame, "request_id", what)
        if "router" in frame.columns:
            others = sorted({str(r) for r in frame["router"].dropna().unique()} - {router.ref})
            if others:
                raise AttributionError(f"{what}: decisions of {', '.join(others)}; pass {router.ref}'s only")
        check_rules(frame["rule_id"].dropna().unique(), router, what)


class ExplainedFlips(NamedTuple):
    """Flips (sorted by request id) with the index of their pattern, and what the patterns explain."""

    frame: pd.DataFrame
    causes: list[tuple[tuple[str, Role], ...]]
    explainer: Explainer
    n_requests: int
    warnings: tuple[str, ...]


def explain_frames(
    diff: RouterDiff,
    base: Router,
    cand: Router,
    base_decisions: pd.DataFrame,
    cand_decisions: pd.DataFrame,
    correctness: pd.DataFrame | None,
) -> ExplainedFlips:
    """Check the inputs, find the flips and explain each pattern once (see `attribution.explain_flips`)."""
    import numpy as np
    import pandas as pd

    _check_inputs(diff, base, cand, {"base_decisions": base_decisions, "cand_decisions": cand_decisions})
    cols = list(DECISION_COLUMNS)
    merged = base_decisions[cols].merge(cand_decisions[cols], on="request_id", suffixes=("_b", "_c"))
    warnings = [
        f"{n} request(s) decided by {ref} only are left out"
        for n, ref in (
            (len(base_decisions) - len(merged), base.ref),
            (len(cand_decisions) - len(merged), cand.ref),
        )
        if n
    ]
    sig = pd.DataFrame(index=merged.index)
    for col in FLIP_COMPONENTS:
        for side in ("_b", "_c"):
            sig[col + side] = _text(merged[col + side], "none" if col in ("retrieval", "escalation") else "")
    mask = np.logical_or.reduce(
        [(sig[c + "_b"] != sig[c + "_c"]).to_numpy(dtype=bool) for c in FLIP_COMPONENTS]
    )
    flips, sig = merged[mask], sig[mask]
    seq_types = (np.ndarray, list, tuple)  # the common shapes, read without a call per row
    for side in ("_b", "_c"):
        sig["rule" + side] = _text(flips["rule_id" + side], "default")
        sig["flags" + side] = [
            tuple(v) if type(v) in seq_types else _flags(v) for v in flips["policy_flags" + side].to_numpy()
        ]
    check_policy_flags((fl for side in ("_b", "_c") for fl in sig["flags" + side].unique()), base, cand)
    # Explanations depend on these columns only: explain each distinct pattern once.
    codes = sig.groupby(list(sig.columns), sort=False, dropna=False).ngroup().to_numpy()
    explainer = Explainer(diff, base, cand)
    firsts = sig.iloc[np.unique(codes, return_index=True)[1]]
    rows = (row._asdict() for row in firsts.itertuples(index=False))
    causes, components = explain_patterns(explainer, rows)

    def per_flip(values: list[Any]) -> Any:
        table = np.empty(len(values), dtype=object)
        table[:] = values
        return table[codes]

    try:
        costs = pd.to_numeric(flips["est_cost_usd_c"]) - pd.to_numeric(flips["est_cost_usd_b"])
    except (TypeError, ValueError) as exc:
        raise FrameError(f"decisions: est_cost_usd must be numeric ({exc})") from exc
    frame = pd.DataFrame(
        {
            "request_id": flips["request_id"].to_numpy(),
            "components": per_flip(components),
            "base_rule": sig["rule_b"].to_numpy(),
            "cand_rule": sig["rule_c"].to_numpy(),
            "primary": per_flip([c[0][0] if c else None for c in causes]),
            "causes": per_flip([tuple(key for key, _ in c) for c in causes]),
            "roles": per_flip([tuple(role for _, role in c) for c in causes]),
            "cost_delta_usd": costs.to_numpy(dtype=float, na_value=np.nan),
            "outcome": _outcomes(flips["request_id"], correctness, warnings),
            "_pattern": codes,
        }
    )
    frame = frame.sort_values("request_id", kind="stable").reset_index(drop=True)
    return ExplainedFlips(frame, causes, explainer, len(merged), tuple(warnings))


def explain_patterns(
    explainer: Explainer, patterns: Iterable[dict[str, Any]]
) -> tuple[list[tuple[tuple[str, Role], ...]], list[tuple[str, ...]]]:
    """The causes and flipped components of each flip pattern.

    A pattern is the flip's `FLIP_COMPONENTS` as text per side (suffixes ``_b``, ``_c``; a missing model or
    action ``""``, a missing retrieval or escalation ``"none"``), ``rule_b``/``rule_c`` (``default`` when no
    rule fired) and ``flags_b``/``flags_c`` (tuples of policy ids).
    """
    causes, components = [], []
    for p in patterns:
        models = {p["model_b"], p["model_c"]} | {
            e[len(ESCALATION_MODEL_PREFIX) :]
            for e in (p["escalation_b"], p["escalation_c"])
            if e.startswith(ESCALATION_MODEL_PREFIX)
        }
        flip = Flip(
            p["rule_b"],
            p["rule_c"],
            p["flags_b"],
            p["flags_c"],
            frozenset(models - {""}),
            frozenset({p["retrieval_b"], p["retrieval_c"]} - {"none"}),
        )
        causes.append(explainer.explain(flip))
        components.append(tuple(c for c in FLIP_COMPONENTS if p[c + "_b"] != p[c + "_c"]))
    return causes, components


def check_policy_flags(flags: Iterable[tuple[str, ...]], base: Router, cand: Router) -> None:
    """Fail when a flag names no policy of either version.

    Raises:
        AttributionError: naming the unknown flags and the known policies.
    """
    known = {p.policy.id for r in (base, cand) for p in r.policies}
    unknown = {f for fl in flags for f in fl} - known
    if unknown:
        raise AttributionError(
            f"decisions: policy flag(s) {', '.join(sorted(unknown))} name no policy of either version; "
            f"policies: {', '.join(sorted(known)) or 'none'}"
        )


def _outcomes(request_ids: pd.Series, correctness: pd.DataFrame | None, warnings: list[str]) -> Any:
    """Fixed / broken / both_right / both_wrong / unlabelled, per flip (an object array)."""
    import numpy as np

    if correctness is None:
        return np.full(len(request_ids), "unlabelled", dtype=object)
    require_columns(correctness, CORRECTNESS_COLUMNS, "correctness")
    require_unique(correctness, "request_id", "correctness")
    joined = request_ids.to_frame().merge(
        correctness[list(CORRECTNESS_COLUMNS)], on="request_id", how="left", indicator=True
    )
    base, cand = (_correct_column(joined[c]) for c in CORRECTNESS_COLUMNS[1:])
    known = np.array([b is not None and c is not None for b, c in zip(base, cand, strict=True)], dtype=bool)
    b, c = base == True, cand == True  # noqa: E712  # object arrays of True/False/None
    outcome = np.select(
        [~known, ~b & c, b & ~c, b & c], ["unlabelled", "fixed", "broken", "both_right"], "both_wrong"
    ).astype(object)
    missing = int((joined["_merge"] == "left_only").sum())
    if missing:
        warnings.append(f"{missing} flip(s) have no correctness row; counted as unlabelled")
    return outcome
