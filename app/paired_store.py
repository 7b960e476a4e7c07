"""Two stored versions' `PairedCounts`, counted inside DuckDB (`datasets.paired_sql`) instead of in pandas.

The Python side computes only what is small and needs the evaluators' rules: each distinct decided path's
normalised form and code, each distinct label text's acceptable paths, the annotation-resolved gold of the
annotated requests, and the verdict of every (acceptable set, path) pair. DuckDB pairs the millions of
decisions, joins the gold and counts. The result equals `counts_from_frame` of the same decisions (a test
checks it on the demo), so `compare_counts` gives what `compare_versions` would, at a fraction of the memory.

One temporary table serves a whole `compare` (`open_pairing`): the comparison's counts and the compliance
groups (`compliance_flow.compare_compliance_counted`) are GROUP BYs over it, so the joins run once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: DuckDB's memory limit while two versions are joined and counted: the joins and the paired table spill to
#: disk beyond it, and the store's blocks read are evicted (at 10M requests: 3.4 GB of RSS instead of 6.7 GB).
PAIRING_MEMORY_LIMIT = "3GB"


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
    # the path key as a number, so the pairing compares two ints to tell a moved request
    registered["pid"] = pd.Series(pd.factorize(registered["path"])[0] if code_of else [], dtype="int64")
    return registered, table


@dataclass(frozen=True)
class _Inputs:
    """What Python computes for the pairing query, and what it needs again to read the counts."""

    tables: list[Any]
    """The registered inputs, in `paired_sql.INPUT_TABLES` order."""
    tuples: Any
    """`PairedCounts.tuples`: the normalised decided paths by code."""
    gold_rows: list[tuple[str, str, int]]
    """Annotation-resolved gold: (request_id, status, shape)."""
    decided: tuple[int, int]
    """Decisions of the base and of the candidate."""


def _inputs(store: Any, base: str, candidate: str) -> _Inputs:
    """Check both versions, code their paths, resolve the gold shapes and judge every (shape, path) pair.

    Raises:
        NotFoundError, FrameError, EvaluatorError: as `paired_counts_stored`.
    """
    import pandas as pd

    from routelab.datasets import paired_sql, queries
    from routelab.evaluators.gold import LABELLED_SOURCES, gold_from_annotations, label_paths
    from routelab.evaluators.judging import verdict_matrix

    decided = (_check(store, base, "base_decisions"), _check(store, candidate, "cand_decisions"))
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
    pairs = zip(texts["acceptable"], texts["request_id"], strict=True)
    text_shapes = pd.DataFrame(
        {
            "acceptable": texts["acceptable"].astype(object),
            "shape": pd.Series([shape_of(label_paths(t, str(r))) for t, r in pairs], dtype="int64"),
        }
    )
    labelled = {s.value for s in LABELLED_SOURCES}
    gold_rows = [
        (rid, g.source.value, shape_of(g.acceptable) if g.source.value in labelled else -1)
        for rid, g in sorted(gold_from_annotations(queries.annotations(store)).items())
    ]
    gold = pd.DataFrame.from_records(gold_rows, columns=["request_id", "status", "shape"]).astype(
        {"request_id": object, "status": object, "shape": "int64"}
    )
    paths = list(tuples[list(paired_sql.PATH_COLUMNS)].itertuples(index=False, name=None))
    verdicts = pd.DataFrame.from_records(
        [(s, t, int(ok)) for s, row in enumerate(verdict_matrix(shapes, paths)) for t, ok in enumerate(row)],
        columns=["shape", "code", "ok"],
    ).astype("int64")
    return _Inputs([registered, text_shapes, gold, verdicts], tuples, gold_rows, decided)


def version_inputs(store: Any, ref: str) -> _Inputs:
    """`_inputs` of one version (on both sides): its path codes, gold shapes and verdicts, for
    `app.drift_store`, which groups one version's decisions with the same registered tables.

    Raises:
        NotFoundError, FrameError, EvaluatorError: as `paired_counts_stored`.
    """
    return _inputs(store, ref, ref)


@dataclass(frozen=True)
class Pairing:
    """Two stored versions joined once (`open_pairing`), ready to be counted."""

    store: Any
    base: str
    candidate: str
    fields: tuple[str, ...]
    inputs: _Inputs
    table: Any
    """`datasets.paired_sql.PairedTable`."""

    def counts(self, examples: int = 5) -> StoredPairing:
        """The comparison's counts, gold counts and attribution patterns."""
        from routelab.datasets import paired_sql
        from routelab.evaluators.gold import GOLD_RULE, GoldSource

        agg = self.table.aggregate(examples)
        n_base, n_cand = self.inputs.decided
        warnings = tuple(
            f"{k} request(s) decided by {ref} only are left out"
            for k, ref in ((n_base - agg.paired, self.base), (n_cand - agg.paired, self.candidate))
            if k
        )
        gold_counts = dict.fromkeys((s.value for s in GoldSource), 0)
        gold_counts.update(paired_sql.label_counts(self.store, self.inputs.tables[2]))
        for _rid, status, _shape in self.inputs.gold_rows:
            gold_counts[status] += 1
        return StoredPairing(
            counts=_paired_counts(agg, self, examples),
            gold_rule=GOLD_RULE,
            gold_counts=gold_counts,
            flips=_patterns(agg.flips, self.inputs.tuples),
            warnings=warnings,
        )

    def compliance_groups(self, examples: int = 5) -> Any:
        """`paired_sql.PairedTable.compliance_groups` (the table was opened with compliance)."""
        return self.table.compliance_groups(examples)


@contextmanager
def open_pairing(
    store: Any, base: str, candidate: str, by: Sequence[str] = (), compliance: bool = False
) -> Iterator[Pairing]:
    """Join two replayed versions once inside DuckDB; count them (and their compliance) in the block.

    With `compliance`, the store's PII cache is filled first (`datasets.pii_cache`) and joined in.

    Raises:
        NotFoundError: a version without decisions.
        FrameError: a decision without a finite cost or latency estimate.
        EvaluatorError: a bad label or annotation (as `resolve_gold` raises).
    """
    from routelab.datasets import paired_sql, pii_cache
    from routelab.datasets.queries import request_select
    from routelab.datasets.store import memory_limit
    from routelab.router_core.pii import PiiType

    request_select(
        ["ts" if f == "week" else f for f in by]
    )  # an unknown field fails before anything is written
    inputs = _inputs(store, base, candidate)
    pii = None
    if compliance:
        cached = pii_cache.pii_types(store, tuple(PiiType))
        pii = (cached.query.sql, list(cached.query.params))
    fields = tuple(dict.fromkeys(by))
    with (
        memory_limit(store.cursor(), PAIRING_MEMORY_LIMIT),
        paired_sql.paired_table(store, base, candidate, inputs.tables, fields, pii) as table,
    ):
        yield Pairing(store, base, candidate, fields, inputs, table)


def paired_counts_stored(
    store: Any, base: str, candidate: str, by: Sequence[str] = (), examples: int = 5
) -> StoredPairing:
    """`PairedCounts` of two replayed versions over the store's gold, counted in DuckDB (module docstring).

    Raises:
        NotFoundError: a version without decisions.
        FrameError: a decision without a finite cost or latency estimate.
        EvaluatorError: a bad label or annotation (as `resolve_gold` raises).
    """
    with open_pairing(store, base, candidate, by) as pairing:
        return pairing.counts(examples)


def _paired_counts(agg: Any, pairing: Pairing, examples: int) -> Any:
    """`PairedCounts` from the counted groups."""
    import pandas as pd

    from routelab.evaluators.paired_counts import (
        BUCKETS,
        PairedCounts,
        SliceCounts,
        bucket_of,
        regroup,
        slice_text,
    )

    g = agg.groups

    def part(gid: int, cols: dict[str, str], ints: Sequence[str] = ()) -> pd.DataFrame:
        sub = g.loc[g["gid"] == gid, [*cols, "n"]].rename(columns=cols).reset_index(drop=True)
        if "value" in sub.columns:
            sub["value"] = [slice_text(x) for x in sub["value"]]
        return regroup(sub.astype(dict.fromkeys(ints, "int64")), list(cols.values()))

    verdict_pair = {"ok_b": "ok_b", "ok_c": "ok_c"}
    cells = part(
        0, {"tb": "tb", "tc": "tc", **verdict_pair, "status": "status"}, ["tb", "tc", "ok_b", "ok_c"]
    )
    slices = {
        f: SliceCounts(
            cells=part(3 + 2 * k, {f"v{k}": "value", **verdict_pair}, ["ok_b", "ok_c"]),
            cost=part(4 + 2 * k, {f"v{k}": "value", "cost_b": "base", "cost_c": "cand"}),
        )
        for k, f in enumerate(pairing.fields)
    }
    picked: dict[str, list[str]] = {b: [] for b in BUCKETS}
    for ok_b, ok_c, moved, ids in agg.examples.itertuples(index=False, name=None):
        bucket = bucket_of(int(ok_b), int(ok_c), bool(moved))
        if bucket is not None:
            picked[bucket] += [str(i) for i in ids]
    n_base, n_cand = pairing.inputs.decided
    return PairedCounts(
        baseline=pairing.base,
        candidate=pairing.candidate,
        tuples=pairing.inputs.tuples,
        cells=cells,
        cost=part(1, {"cost_b": "base", "cost_c": "cand"}),
        latency=part(2, {"lat_b": "base", "lat_c": "cand"}),
        examples={b: tuple(sorted(v)[:examples]) for b, v in picked.items()},
        dropped_baseline=n_base - agg.paired,
        dropped_candidate=n_cand - agg.paired,
        slices=slices,
    )


def _patterns(flips: Any, tuples: Any) -> Any:
    """The moved requests' groups as `evaluators.attribution.attribute_patterns` reads them."""
    import pandas as pd

    from routelab.evaluators.attribution_types import FLIP_COMPONENTS

    # attribution's text of a component: a missing model or action is "", retrieval/escalation "none"
    texts = [
        [("" if v is None else str(v)) for v in tuples[c]] if c in ("model", "action") else list(tuples[c])
        for c in FLIP_COMPONENTS
    ]
    tb, tc = flips["tb"].astype("int64").tolist(), flips["tc"].astype("int64").tolist()
    ok_b, ok_c = flips["ok_b"].astype("int64"), flips["ok_c"].astype("int64")
    n = flips["n"].astype("int64")
    known = (ok_b >= 0) & (ok_c >= 0)
    return pd.DataFrame(
        {
            **{f"{c}_b": [texts[k][i] for i in tb] for k, c in enumerate(FLIP_COMPONENTS)},
            **{f"{c}_c": [texts[k][i] for i in tc] for k, c in enumerate(FLIP_COMPONENTS)},
            "rule_b": flips["rule_b"].astype(str).tolist(),
            "rule_c": flips["rule_c"].astype(str).tolist(),
            "flags_b": [tuple(str(x) for x in v) for v in flips["flags_b"]],
            "flags_c": [tuple(str(x) for x in v) for v in flips["flags_c"]],
            "flips": n.to_numpy(),
            "cost_delta_usd": flips["cost_delta"].astype(float).to_numpy(),
            "labelled": (n * known).to_numpy(),
            "fixed": (n * (known & (ok_b == 0) & (ok_c == 1))).to_numpy(),
            "broken": (n * (known & (ok_b == 1) & (ok_c == 0))).to_numpy(),
            "ids": [list(v) for v in flips["ids"]],
        }
    )
