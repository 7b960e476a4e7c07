"""Two stored versions' `PairedCounts`, counted inside DuckDB (`datasets.paired_sql`) instead of in pandas.

The Python side computes only what is small and needs the evaluators' rules: each distinct decided path's
normalised form and code, each distinct label text's acceptable paths, the annotation-resolved gold of the
annotated requests, and the verdict of every (acceptable set, path) pair. DuckDB pairs the millions of
decisions, joins the gold and counts. The result equals `counts_from_frame` of the same decisions (a test
checks it on the demo), so `compare_counts` gives what `compare_versions` would, at a fraction of the memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredPairing:
    """The counts of two stored versions and the gold they were judged against."""

    counts: Any
    """`evaluators.paired_counts.PairedCounts`."""
    gold_rule: str
    """The gold resolution rule."""
    gold_counts: dict[str, int]
    """Requests per gold source (every source), before pairing."""
    flips: Any
    """The moved requests by pattern, as `evaluators.attribution.attribute_patterns` reads them."""
    warnings: tuple[str, ...]
    """Requests one version decided and the other did not, as attribution words it."""


def _check(store: Any, ref: str, what: str) -> int:
    from routelab.datasets import paired_sql
    from routelab.datasets.errors import NotFoundError
    from routelab.evaluators.frames import FrameError

    check = paired_sql.check_decisions(store, ref)
    if not check.decisions:
        known = [r[0] for r in store.execute("SELECT DISTINCT router FROM decisions ORDER BY 1").fetchall()]
        raise NotFoundError(
            f"no decisions of {ref} in {store.path}; replayed: {', '.join(known) or 'none'} "
            f"(run `routelab replay {ref}`)"
        )
    for column, bad in (("est_cost_usd", check.bad_cost), ("est_latency_ms", check.bad_latency)):
        if bad:
            raise FrameError(
                f"{what} ({ref}): {column} is missing or not finite for {bad} request(s), e.g. "
                f"{check.example}; replay the version so every decision carries its estimates"
            )
    return check.decisions


def _tuples(store: Any, refs: Sequence[str]) -> tuple[Any, Any]:
    """The registered path table (raw values, code, path key) and the `tuples` frame of normalised paths."""
    import pandas as pd

    from routelab.datasets import paired_sql
    from routelab.evaluators.gold_paths import normalise_value
    from routelab.evaluators.paired_counts import tuple_table

    raw = paired_sql.distinct_paths(store, refs)
    cols = list(paired_sql.PATH_COLUMNS)
    raw_rows = [
        tuple(None if pd.isna(v) else v for v in row) for row in raw[cols].itertuples(index=False, name=None)
    ]
    codes: dict[tuple[object, ...], int] = {}
    normalised = []
    for row in raw_rows:
        norm = tuple(normalise_value(c, v) for c, v in zip(cols, row, strict=True))
        if norm not in codes:
            codes[norm] = len(normalised)
            normalised.append(norm)
    table = tuple_table(normalised)
    registered = pd.DataFrame.from_records(
        [
            (
                *(
                    int(v) if c == "context_tokens" and v is not None else v
                    for c, v in zip(cols, row, strict=True)
                ),
            )
            for row in raw_rows
        ],
        columns=cols,
    ).astype(object)
    code_of = [
        codes[tuple(normalise_value(c, v) for c, v in zip(cols, row, strict=True))] for row in raw_rows
    ]
    registered["code"] = pd.Series(code_of, dtype="int64")
    registered["path"] = table["path"].to_numpy(dtype=object)[code_of] if code_of else []
    return registered, table


def paired_counts_stored(
    store: Any, base: str, candidate: str, by: Sequence[str] = (), examples: int = 5
) -> StoredPairing:
    """`PairedCounts` of two replayed versions over the store's gold, counted in DuckDB (module docstring).

    Raises:
        NotFoundError: a version without decisions.
        FrameError: a decision without a finite cost or latency estimate.
        EvaluatorError: a bad label or annotation (as `resolve_gold` raises).
    """
    import pandas as pd

    from routelab.datasets import paired_sql, queries
    from routelab.evaluators.attribution_types import FLIP_COMPONENTS
    from routelab.evaluators.gold import (
        GOLD_RULE,
        LABELLED_SOURCES,
        GoldSource,
        gold_from_annotations,
        label_paths,
    )
    from routelab.evaluators.judging import verdict_matrix
    from routelab.evaluators.paired_counts import (
        BUCKETS,
        PairedCounts,
        SliceCounts,
        bucket_of,
        regroup,
        slice_text,
    )

    n_base = _check(store, base, "base_decisions")
    n_cand = _check(store, candidate, "cand_decisions")
    registered, tuples = _tuples(store, [base, candidate])
    shape_codes: dict[tuple[object, ...], int] = {}
    shapes: list[tuple[Any, ...]] = []

    def shape_of(paths: tuple[Any, ...]) -> int:
        key = tuple(tuple(sorted(p.items())) for p in paths)
        if key not in shape_codes:
            shape_codes[key] = len(shapes)
            shapes.append(paths)
        return shape_codes[key]

    texts = paired_sql.distinct_label_texts(store)
    text_shapes = pd.DataFrame(
        {
            "acceptable": texts["acceptable"].astype(object),
            "shape": pd.Series(
                [
                    shape_of(label_paths(t, str(r)))
                    for t, r in zip(texts["acceptable"], texts["request_id"], strict=True)
                ],
                dtype="int64",
            ),
        }
    )
    annotated = gold_from_annotations(queries.annotations(store))
    labelled = {s.value for s in LABELLED_SOURCES}
    gold_rows = [
        (rid, g.source.value, shape_of(g.acceptable) if g.source.value in labelled else -1)
        for rid, g in sorted(annotated.items())
    ]
    gold = pd.DataFrame.from_records(gold_rows, columns=["request_id", "status", "shape"]).astype(
        {"request_id": object, "status": object, "shape": "int64"}
    )
    matrix = verdict_matrix(
        shapes, list(tuples[list(paired_sql.PATH_COLUMNS)].itertuples(index=False, name=None))
    )
    verdicts = pd.DataFrame.from_records(
        [(s, t, int(ok)) for s, row in enumerate(matrix) for t, ok in enumerate(row)],
        columns=["shape", "code", "ok"],
    ).astype("int64")
    fields = list(dict.fromkeys(by))
    agg = paired_sql.aggregate(
        store, base, candidate, [registered, text_shapes, gold, verdicts], fields, examples
    )
    g = agg.groups

    def part(gid: int, cols: dict[str, str]) -> pd.DataFrame:
        sub = g.loc[g["gid"] == gid, [*cols, "n"]].rename(columns=cols)
        return sub.reset_index(drop=True)

    cells = part(0, {"tb": "tb", "tc": "tc", "ok_b": "ok_b", "ok_c": "ok_c", "status": "status"})
    cells = regroup(
        cells.astype({"tb": "int64", "tc": "int64", "ok_b": "int64", "ok_c": "int64"}),
        ["tb", "tc", "ok_b", "ok_c", "status"],
    )
    slices = {}
    for k, f in enumerate(fields):
        v = f"v{k}"
        verd = part(3 + 2 * k, {v: "value", "ok_b": "ok_b", "ok_c": "ok_c"})
        verd["value"] = [slice_text(x) for x in verd["value"]]
        cost = part(4 + 2 * k, {v: "value", "cost_b": "base", "cost_c": "cand"})
        cost["value"] = [slice_text(x) for x in cost["value"]]
        slices[f] = SliceCounts(
            cells=regroup(verd.astype({"ok_b": "int64", "ok_c": "int64"}), ["value", "ok_b", "ok_c"]),
            cost=regroup(cost, ["value", "base", "cand"]),
        )
    picked: dict[str, list[str]] = {b: [] for b in BUCKETS}
    for ok_b, ok_c, moved, ids in agg.examples.itertuples(index=False, name=None):
        bucket = bucket_of(int(ok_b), int(ok_c), bool(moved))
        if bucket is not None:
            picked[bucket] += [str(i) for i in ids]
    counts = PairedCounts(
        baseline=base,
        candidate=candidate,
        tuples=tuples,
        cells=cells,
        cost=regroup(part(1, {"cost_b": "base", "cost_c": "cand"}), ["base", "cand"]),
        latency=regroup(part(2, {"lat_b": "base", "lat_c": "cand"}), ["base", "cand"]),
        examples={b: tuple(sorted(v)[:examples]) for b, v in picked.items()},
        dropped_baseline=n_base - agg.paired,
        dropped_candidate=n_cand - agg.paired,
        slices=slices,
    )
    texts = [
        [("" if v is None else str(v)) for v in tuples[c]] if c in ("model", "action") else list(tuples[c])
        for c in FLIP_COMPONENTS
    ]
    f = agg.flips
    tb, tc = f["tb"].astype("int64").tolist(), f["tc"].astype("int64").tolist()
    ok_b, ok_c, n = f["ok_b"].astype("int64"), f["ok_c"].astype("int64"), f["n"].astype("int64")
    known = (ok_b >= 0) & (ok_c >= 0)
    patterns = pd.DataFrame(
        {
            **{f"{c}_b": [texts[k][i] for i in tb] for k, c in enumerate(FLIP_COMPONENTS)},
            **{f"{c}_c": [texts[k][i] for i in tc] for k, c in enumerate(FLIP_COMPONENTS)},
            "rule_b": f["rule_b"].astype(str).tolist(),
            "rule_c": f["rule_c"].astype(str).tolist(),
            "flags_b": [tuple(str(x) for x in v) for v in f["flags_b"]],
            "flags_c": [tuple(str(x) for x in v) for v in f["flags_c"]],
            "flips": n.to_numpy(),
            "cost_delta_usd": f["cost_delta"].astype(float).to_numpy(),
            "labelled": (n * known).to_numpy(),
            "fixed": (n * (known & (ok_b == 0) & (ok_c == 1))).to_numpy(),
            "broken": (n * (known & (ok_b == 1) & (ok_c == 0))).to_numpy(),
            "ids": [list(v) for v in f["ids"]],
        }
    )
    warnings = tuple(
        f"{k} request(s) decided by {ref} only are left out"
        for k, ref in ((n_base - agg.paired, base), (n_cand - agg.paired, candidate))
        if k
    )
    gold_counts = dict.fromkeys((s.value for s in GoldSource), 0)
    gold_counts.update(paired_sql.label_counts(store, gold))
    for _rid, status, _shape in gold_rows:
        gold_counts[status] += 1
    return StoredPairing(
        counts=counts,
        gold_rule=GOLD_RULE,
        gold_counts=gold_counts,
        flips=patterns,
        warnings=warnings,
    )
