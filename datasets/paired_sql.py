"""Two versions' decisions paired and counted inside DuckDB: the store side of a comparison.

A comparison's numbers are functions of a few group-by counts of the paired requests
(`evaluators.paired_counts`). At millions of requests, loading both versions' decisions into pandas costs
more than everything else, so the pairing, the gold join and the counting run here, in one DuckDB query over
the `decision_rows`, `labels` and `requests` tables (decisions are read by their path keys, each distinct
path matched once, `datasets.decisions`). The caller (`app.paired_store`) supplies the small tables
only Python can compute (path codes of the distinct decided paths, gold shapes of the distinct label texts,
annotation-resolved gold, verdicts per shape and path), registered for the query's duration:

| table | columns |
|---|---|
| ``_pc_tuples`` | raw `PATH_COLUMNS` values, ``code`` (normalised path), ``path`` (key), ``pid`` (its id) |
| ``_pc_shapes`` | ``acceptable`` (a label's JSON text), ``shape`` |
| ``_pc_gold`` | ``request_id``, ``status`` (gold source), ``shape`` (-1 when not labelled) |
| ``_pc_verdicts`` | ``shape``, ``code``, ``ok`` (1 right, 0 wrong) |

Slice values are the fields' text (``CAST(... AS VARCHAR)``; ``week`` is ``YYYY-Www`` of ts; NULL stays
NULL for the caller to name).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from routelab.datasets.queries import request_select
from routelab.datasets.store import Store

#: Path components of a decision, as the `decisions` table stores them.
PATH_COLUMNS = ("model", "tier", "retrieval", "context_tokens", "cache", "escalation", "action")
#: Columns of `PairedAggregates.flips`.
FLIP_GROUP_COLUMNS = (
    "tb",
    "tc",
    "rule_b",
    "rule_c",
    "flags_b",
    "flags_c",
    "ok_b",
    "ok_c",
    "n",
    "cost_delta",
    "ids",
)
#: The registered inputs, in the order `aggregate` takes them.
INPUT_TABLES = ("_pc_tuples", "_pc_shapes", "_pc_gold", "_pc_verdicts")
#: Every request's gold: (request_id, status, shape), annotation-resolved gold first, else the imported label.
GOLD_SQL = (
    "SELECT request_id, status, shape FROM _pc_gold UNION ALL "
    "SELECT l.request_id, CASE WHEN l.abstain THEN 'abstain' ELSE 'import' END, "
    "CASE WHEN l.abstain THEN -1 ELSE coalesce(sh.shape, -1) END "
    "FROM labels l LEFT JOIN _pc_shapes sh ON l.acceptable = sh.acceptable "
    "WHERE l.request_id NOT IN (SELECT request_id FROM _pc_gold)"
)


@dataclass(frozen=True)
class DecisionCheck:
    """Per version: decisions, and those without a finite cost or latency estimate (with an example id)."""

    decisions: int
    bad_cost: int
    bad_latency: int
    example: str | None


@dataclass(frozen=True)
class PairedAggregates:
    """The counted groups of one comparison (see `aggregate`)."""

    groups: pd.DataFrame
    """``gid`` (which grouping set), tb, tc, ok_b, ok_c, status, cost_b, cost_c, lat_b, lat_c, v0..vF-1, n."""
    examples: pd.DataFrame
    """ok_b, ok_c, moved, ids: the first request ids (id order) of each verdict pair and path move."""
    flips: pd.DataFrame
    """`FLIP_GROUP_COLUMNS`: requests whose path moved, by paths, rules (``default``: none), policy flags
    and verdicts, with n, cost_delta (sum of candidate − base est_cost_usd) and their first ids."""
    paired: int
    """Requests both versions decided."""


def keys_sql(n_refs: int) -> str:
    """The distinct (router, path key, context budget) of `n_refs` versions (parameters: their refs), with
    their paths: a few hundred rows however many decisions, read from the narrow `decision_rows` (the
    `decisions` view would decode every row's path before the DISTINCT)."""
    marks = ", ".join("?" for _ in range(n_refs))
    return (
        "(SELECT k.router, k.path_key, k.context_tokens, p.* EXCLUDE (router, path_key) FROM "
        f"(SELECT DISTINCT router, path_key, context_tokens FROM decision_rows WHERE router IN ({marks})) k "
        "JOIN decision_paths p ON p.router = k.router AND p.path_key = k.path_key)"
    )


def distinct_paths(store: Store, refs: Sequence[str]) -> pd.DataFrame:
    """The distinct raw path tuples the versions decided (`PATH_COLUMNS`)."""
    cols = ", ".join(PATH_COLUMNS)
    return store.df(f"SELECT DISTINCT {cols} FROM {keys_sql(len(refs))}", list(refs))


def distinct_label_texts(store: Store) -> pd.DataFrame:
    """Each distinct acceptable text of the non-abstaining labels, with its first request id."""
    return store.df(
        "SELECT acceptable, min(request_id) AS request_id FROM labels WHERE NOT abstain "
        "GROUP BY acceptable ORDER BY request_id"
    )


def label_counts(store: Store, overridden: pd.DataFrame) -> dict[str, int]:
    """Labels that abstain and that do not (keys ``abstain``, ``import``), leaving out `overridden` ids."""
    cur = store.cursor()
    cur.register("_pc_over", overridden[["request_id"]])
    try:
        rows = cur.execute(
            "SELECT abstain, count(*) FROM labels WHERE request_id NOT IN (SELECT request_id FROM _pc_over) "
            "GROUP BY abstain"
        ).fetchall()
    finally:
        cur.unregister("_pc_over")
    out = {"abstain": 0, "import": 0}
    for abstain, k in rows:
        out["abstain" if abstain else "import"] += int(k)
    return out


def check_decisions(store: Store, ref: str) -> DecisionCheck:
    """How many decisions `ref` has and how many lack a finite cost or latency estimate."""
    row = store.execute(
        "SELECT count(*), "
        "count(*) FILTER (WHERE est_cost_usd IS NULL OR NOT isfinite(est_cost_usd)), "
        "count(*) FILTER (WHERE est_latency_ms IS NULL OR NOT isfinite(est_latency_ms)), "
        "min(request_id) FILTER (WHERE est_cost_usd IS NULL OR NOT isfinite(est_cost_usd) "
        "OR est_latency_ms IS NULL OR NOT isfinite(est_latency_ms)) "
        "FROM decision_rows WHERE router = ?",
        [ref],
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return DecisionCheck(int(row[0]), int(row[1]), int(row[2]), row[3])


#: Columns of `PairedTable.compliance_groups` that describe the request (the rest: per side).
COMPLIANCE_REQUEST_COLUMNS = ("data_class", "region", "attrs.pii_types", "pii_types")
#: Decision columns compliance reads, per side (suffixed ``_b`` / ``_c``).
COMPLIANCE_DECISION_COLUMNS = ("model", "action", "escalation", "fallbacks")


def _request_source(by: Sequence[str]) -> tuple[str, list[str], list[Any]]:
    """A subquery of every request: request_id, compliance's request fields, and one text column v0..vF-1
    per `by` field; its value column names and parameters."""
    fields = list(dict.fromkeys(by))
    asked = ["data_class", "region", "attrs.pii_types", *("ts" if f == "week" else f for f in fields)]
    query, _names = request_select(asked)
    cols = ["data_class AS _data_class", "region AS _region", '"attrs.pii_types" AS _pii_attr']
    for k, f in enumerate(fields):
        if f == "week":
            cols.append(
                "CASE WHEN ts IS NULL THEN NULL ELSE CAST(isoyear(ts) AS VARCHAR) || '-W' || "
                f"lpad(CAST(week(ts) AS VARCHAR), 2, '0') END AS v{k}"
            )
        else:
            cols.append(f'CAST("{f}" AS VARCHAR) AS v{k}')
    # request_select orders by request_id: a sort the join does not need
    inner = query.sql.removesuffix(" ORDER BY request_id")
    source = f"(SELECT request_id, {', '.join(cols)} FROM ({inner}))"
    return source, [f"v{k}" for k in range(len(fields))], list(query.params)


#: The keys of `PairedAggregates.flips`' groups.
FLIP_KEYS = ("tb", "tc", "rule_b", "rule_c", "flags_b", "flags_c", "ok_b", "ok_c")


def count_keys(values: Sequence[str]) -> list[list[str]]:
    """The keys of each count of `PairedAggregates.groups`, its position being its ``gid``: cells, cost
    pairs, latency pairs, then per slice value column its verdict pairs and cost pairs."""
    counts = [["tb", "tc", "ok_b", "ok_c", "status"], ["cost_b", "cost_c"], ["lat_b", "lat_c"]]
    for v in values:
        counts += [[v, "ok_b", "ok_c"], [v, "cost_b", "cost_c"]]
    return counts


@dataclass(frozen=True)
class PairedTable:
    """The requests either version decided, joined once into a temporary table (`paired_table`)."""

    cursor: Any
    """The cursor whose connection holds the table."""
    name: str
    """The temporary table."""
    values: tuple[str, ...]
    """Its slice value columns, one per `by` field."""
    variants: str = ""
    """The temporary table of the decision variants (``vid`` → rule, flags, `COMPLIANCE_DECISION_COLUMNS`)."""
    profiles: str = ""
    """The temporary table of the request profiles (``qid`` → ``_data_class``, ``_region``, ``_pii_attr`` and
    the slice value columns): the paired table holds each request's ``qid`` instead of those texts."""

    def _with_profiles(self) -> str:
        """The paired table with each request's profile decoded (a join on a few hundred ``qid``s)."""
        return f"(SELECT t.*, q.* EXCLUDE (qid) FROM {self.name} t LEFT JOIN {self.profiles} q USING (qid))"

    def _decoded(self, grouped: str, keys: Sequence[str], sums: Sequence[str], examples: int) -> str:
        """`grouped` (groups by ``vb`` / ``vc`` among others) with each side's variant decoded into its
        columns and the groups merged again by `keys`: `sums` added, the `examples` smallest ids kept."""
        merged = ", ".join(
            [
                *(f"sum({c})::BIGINT AS {c}" if c == "n" else f"sum({c}) AS {c}" for c in sums),
                f"list_slice(list_sort(flatten(list(ids))), 1, {max(int(examples), 1)}) AS ids",
            ]
        )
        decoded = ", ".join(
            f"x{s}.{c} AS {c}_{s}"
            for s in ("b", "c")
            for c in ("rule", "flags", *COMPLIANCE_DECISION_COLUMNS)
        )
        return (
            f"SELECT {', '.join(keys)}, {merged} FROM (SELECT g.*, {decoded} FROM ({grouped}) g "
            f"LEFT JOIN {self.variants} xb ON xb.vid = g.vb LEFT JOIN {self.variants} xc ON xc.vid = g.vc) "
            f"GROUP BY {', '.join(keys)}"
        )

    def aggregate(self, examples: int = 5) -> PairedAggregates:
        """The comparison's counts over the requests both versions decided (see `PairedAggregates`).

        `groups` holds, by ``gid``: 0 cells (tb, tc, ok_b, ok_c, status), 1 cost pairs, 2 latency pairs,
        then per `by` field k: verdict pairs (vk, ok_b, ok_c) and cost pairs (vk, cost_b, cost_c).
        """
        k, cur, table = max(int(examples), 1), self.cursor, self.name
        paired = "has_b AND has_c"
        frames = []
        for gid, keys in enumerate(count_keys(self.values)):
            cols = ", ".join(keys)
            source = self._with_profiles() if set(keys) & set(self.values) else table
            sql = f"SELECT {cols}, count(*) AS n FROM {source} WHERE {paired} GROUP BY {cols}"
            frames.append(cur.execute(sql).df().assign(gid=gid))
        coded = "tb, tc, vb, vc, ok_b, ok_c"
        grouped = (
            f"SELECT {coded}, count(*) AS n, sum(cost_c - cost_b) AS cost_delta, "
            f"min(request_id, {k}) AS ids FROM {table} WHERE {paired} AND moved GROUP BY {coded}"
        )
        flips = cur.execute(self._decoded(grouped, FLIP_KEYS, ["n", "cost_delta"], k)).df()
        firsts = cur.execute(
            f"SELECT ok_b, ok_c, moved, min(request_id, {k}) AS ids FROM {table} "
            f"WHERE {paired} AND ok_b >= 0 AND ok_c >= 0 GROUP BY ok_b, ok_c, moved"
        ).df()
        if examples <= 0:
            flips["ids"] = [[] for _ in range(len(flips))]
            firsts["ids"] = [[] for _ in range(len(firsts))]
        return PairedAggregates(
            groups=pd.concat(frames, ignore_index=True),
            examples=firsts,
            flips=flips[list(FLIP_GROUP_COLUMNS)],
            paired=int(frames[0]["n"].sum()),
        )

    def compliance_groups(self, examples: int = 5) -> pd.DataFrame:
        """The decided requests grouped by everything compliance reads, with counts.

        One row per distinct (`COMPLIANCE_REQUEST_COLUMNS`, and per side ``has`` and the
        `COMPLIANCE_DECISION_COLUMNS` suffixed ``_b`` / ``_c``): ``n`` and ``ids`` (the group's first request
        ids). Decisions whose request is not in `requests` are left out: their data class and region are
        unknown.
        """
        sides = [f"{c}_{s}" for s in ("b", "c") for c in COMPLIANCE_DECISION_COLUMNS]
        coded = ["_data_class", "_region", "_pii_attr", "pii_types", "has_b", "has_c", "vb", "vc"]
        grouped = (
            f"SELECT {', '.join(coded)}, count(*) AS n, min(request_id, {max(int(examples), 1)}) AS ids "
            f"FROM {self._with_profiles()} WHERE known GROUP BY ALL"
        )
        keys = ["_data_class", "_region", "_pii_attr", "pii_types", "has_b", "has_c", *sides]
        named = ["_data_class AS data_class", "_region AS region", '_pii_attr AS "attrs.pii_types"']
        return self.cursor.execute(
            f"SELECT {', '.join(named)}, * EXCLUDE (_data_class, _region, _pii_attr) "
            f"FROM ({self._decoded(grouped, keys, ['n'], examples)})"
        ).df()


@contextmanager
def paired_table(
    store: Store,
    base: str,
    cand: str,
    inputs: Sequence[pd.DataFrame],
    by: Sequence[str] = (),
    pii: tuple[str, list[Any]] | None = None,
) -> Iterator[PairedTable]:
    """Join both versions' decisions (a full outer join), gold, verdicts, request fields and PII, once.

    `inputs` are the registered tables of the module docstring, in `INPUT_TABLES` order; `pii` is the query
    (and parameters) of every request's ``pii_types`` (`pii_cache.pii_types(...).query`), or None when
    compliance is not asked for (``pii_types`` is then NULL). Each side's decision and each request's profile
    (data class, region, ``attrs.pii_types`` and the slice values) are held as small ids into two tables of
    their distinct values, decoded after grouping: the ids keep the joins' hash tables and the table narrow
    (at 10M requests, three runs each, alternating: the table in 9.6-10.2 s with the ids, 11.0-11.1 s with
    the texts). Those tables are dropped with it, and the inputs unregistered, when the block ends.
    """
    on = " AND ".join(f"d.{c} IS NOT DISTINCT FROM t.{c}" for c in PATH_COLUMNS)
    table = f"_pc_paired_{uuid.uuid4().hex}"
    variants, profiles, keymap, paths = f"{table}_v", f"{table}_q", f"{table}_k", f"{table}_p"
    # each side carries one small variant id for its rule, policy flags and compliance's decision columns
    # (decoded after grouping, `PairedTable._decoded`): the joins and the table hold a few narrow columns
    variant_cols = ["rule", "flags", *COMPLIANCE_DECISION_COLUMNS]
    named = "*, coalesce(rule_id, 'default') AS rule, coalesce(policy_flags, []) AS flags"
    matched = " AND ".join(f"v.{c} IS NOT DISTINCT FROM d.{c}" for c in variant_cols)
    # every (version, path key, context budget) the versions decided, with its path's code, pid and variant:
    # each decision then finds them by two integers, never comparing its path's strings
    # (`paths`: the distinct keys with their paths, read from the decisions once for variants and keymap)
    keyed = (
        "SELECT d.router, d.path_key, d.context_tokens, t.code, t.pid, v.vid "
        f"FROM {paths} d JOIN _pc_tuples t ON {on} JOIN {variants} v ON {matched}"
    )
    side = (
        "SELECT d.request_id, m.code, m.pid, m.vid, d.est_cost_usd AS cost, d.est_latency_ms AS lat "
        f"FROM decision_rows d JOIN {keymap} m ON m.router = d.router AND m.path_key = d.path_key "
        "AND m.context_tokens IS NOT DISTINCT FROM d.context_tokens WHERE d.router = ?"
    )
    source, values, request_params = _request_source(by)
    params: list[Any] = [base, cand, *request_params]
    # the request side as a profile id (the texts compliance and the slices read: 111 distinct profiles in the
    # 10M benchmark store; a slice by a field with a value per request makes as many, and stays correct)
    profile_cols = ["_data_class", "_region", "_pii_attr", *values]
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM q.{c}" for c in profile_cols)
    requests = f"(SELECT s.request_id, q.qid FROM {source} s JOIN {profiles} q ON {same})"
    gold = GOLD_SQL
    pii_join = "LEFT JOIN (SELECT NULL::VARCHAR AS request_id, NULL::VARCHAR AS pii_types) x ON FALSE"
    if pii is not None:
        pii_join = f"LEFT JOIN ({pii[0]}) x ON x.request_id = p.request_id"
        params += pii[1]
    sql = (
        f"WITH b AS ({side}), c AS ({side}), g AS ({gold}), "
        "p AS (SELECT coalesce(b.request_id, c.request_id) AS request_id, "
        "b.request_id IS NOT NULL AS has_b, c.request_id IS NOT NULL AS has_c, "
        "b.code AS tb, c.code AS tc, b.pid <> c.pid AS moved, b.vid AS vb, c.vid AS vc, "
        "b.cost AS cost_b, c.cost AS cost_c, b.lat AS lat_b, c.lat AS lat_c "
        "FROM b FULL OUTER JOIN c ON b.request_id = c.request_id) "
        "SELECT p.*, coalesce(g.status, 'unlabelled') AS status, coalesce(g.shape, -1) AS shape, "
        "coalesce(vb.ok, -1) AS ok_b, coalesce(vc.ok, -1) AS ok_c, r.request_id IS NOT NULL AS known, "
        f"r.qid, x.pii_types FROM p LEFT JOIN g ON g.request_id = p.request_id "
        f"LEFT JOIN {requests} r ON r.request_id = p.request_id {pii_join} "
        "LEFT JOIN _pc_verdicts vb ON vb.shape = coalesce(g.shape, -1) AND vb.code = p.tb "
        "LEFT JOIN _pc_verdicts vc ON vc.shape = coalesce(g.shape, -1) AND vc.code = p.tc"
    )
    cur = store.cursor()
    # a caller's half-read result (e.g. `Store.scalar`'s fetchone) would make DuckDB refuse `register`
    cur.execute("SELECT 1").fetchall()
    for name, frame in zip(INPUT_TABLES, inputs, strict=True):
        cur.register(name, frame)
    try:
        cur.execute(f"CREATE TEMP TABLE {paths} AS SELECT {named} FROM {keys_sql(2)}", [base, cand])
        cur.execute(
            f"CREATE TEMP TABLE {variants} AS SELECT row_number() OVER () AS vid, * FROM (SELECT DISTINCT "
            f"{', '.join(variant_cols)} FROM {paths})"
        )
        cur.execute(f"CREATE TEMP TABLE {keymap} AS {keyed}")
        cur.execute(
            f"CREATE TEMP TABLE {profiles} AS SELECT row_number() OVER () AS qid, * FROM "
            f"(SELECT DISTINCT {', '.join(profile_cols)} FROM {source})",
            request_params,
        )
        cur.execute(f"CREATE TEMP TABLE {table} AS {sql}", params)
        yield PairedTable(cur, table, tuple(values), variants=variants, profiles=profiles)
    finally:
        for name in (table, variants, profiles, keymap, paths):
            cur.execute(f"DROP TABLE IF EXISTS {name}")
        for name in INPUT_TABLES:
            cur.unregister(name)
