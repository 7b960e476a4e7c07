"""The SQL of the annotation queue, built by small pure functions; `queue.py` executes it.

Named parameters: $router, $annotator, $at (now), $expires, $seed, $skip (ids), $other (compared version),
$share (double_share), $limit, $request_id, $reason, $second, $state, $value. Every pick is one statement
ending in `ORDER BY ... LIMIT` over one version's decisions (joins only against small sets), so DuckDB scans
the decisions once and keeps a handful of rows.
"""

from __future__ import annotations

import re

from routelab.datasets.errors import DatasetError

#: The path components whose difference makes two decisions disagree.
DISAGREE_COMPONENTS = ("model", "retrieval", "escalation", "action")
#: Request columns a stratified queue may slice by (besides `attrs.KEY`).
SLICE_FIELDS = ("workflow", "task", "team", "region", "data_class")
_ATTR = re.compile(r"attrs\.([A-Za-z0-9_.\-]+)")
JUDGED = "kind IN ('judgement', 'adjudication')"

# Requests this annotator may not be given: judged by anyone, leased live by another annotator, skipped.
BLOCKED = f"""blocked AS (
    SELECT request_id FROM annotations_current WHERE router = $router AND {JUDGED}
    UNION SELECT request_id FROM annotation_leases
        WHERE router = $router AND annotator <> $annotator AND expires_at > $at
    UNION SELECT unnest($skip::VARCHAR[])
)"""


def double_key_sql(column: str) -> str:
    """SQL twin of `queue.double_key`: first 13 hex digits of sha256("ID:SEED") scaled to [0, 1)."""
    return f"('0x' || substr(sha256({column} || ':' || $seed::VARCHAR), 1, 13))::BIGINT / 4503599627370496.0"


def slice_expr(field: str) -> str:
    """The SQL expression (over requests `r`) of a slice field: a column or `attrs.KEY`.

    Raises:
        DatasetError: an unknown field, naming the known ones.
    """
    if field in SLICE_FIELDS:
        return f"r.{field}"
    m = _ATTR.fullmatch(field)
    if m:
        return f"map_extract(r.attrs, '{m.group(1)}')[1]"
    raise DatasetError(f"slice field {field!r} unknown; known: {', '.join(SLICE_FIELDS)}, attrs.KEY")


def fresh_sql(table: str = "decisions", where: str = "", order: str = "", extra: str = "") -> str:
    """Free candidates from `table` (alias c) of $router, in `order` then a stable hash of id and $seed."""
    return (
        f"WITH {BLOCKED}\n"
        f"SELECT c.request_id{extra} FROM {table} c\n"
        f"WHERE c.router = $router {where} AND c.request_id NOT IN (SELECT request_id FROM blocked)\n"
        f"ORDER BY {order} hash(c.request_id, $seed), c.request_id LIMIT $limit"
    )


RANDOM_SQL = fresh_sql()
CONFIDENCE_SQL = fresh_sql(order="c.confidence ASC NULLS LAST,", extra=", c.confidence")
DISAGREE_SQL = fresh_sql("annotation_disagreements", "AND c.other_router = $other", extra=", c.differs")


def slice_order_sql(expr: str) -> str:
    """Slice values with the number of requests judged in each, fewest first (ties: hash of value, $seed)."""
    return f"""
WITH judged AS (SELECT DISTINCT request_id FROM annotations_current WHERE router = $router AND {JUDGED})
SELECT value, n FROM (
    SELECT CAST({expr} AS VARCHAR) AS value, count(j.request_id) AS n
    FROM requests r LEFT JOIN judged j ON j.request_id = r.request_id GROUP BY 1
) ORDER BY n, hash(value, $seed), value
"""


def slice_candidates_sql(expr: str) -> str:
    """Free candidates among the requests whose slice is $value."""
    in_slice = (
        f"SELECT r.request_id FROM requests r WHERE CAST({expr} AS VARCHAR) IS NOT DISTINCT FROM $value"
    )
    return fresh_sql(where=f"AND c.request_id IN ({in_slice})")


# Fingerprint of the decisions of two versions: changes whenever a replay rewrites either.
PAIR_STATE_SQL = """
SELECT concat_ws('|',
    (SELECT count(*) FROM decisions WHERE router = $router),
    (SELECT count(*) FROM decisions WHERE router = $other),
    (SELECT max(finished_at)::VARCHAR || '#' || count(*) FROM replay_runs WHERE router = $router),
    (SELECT max(finished_at)::VARCHAR || '#' || count(*) FROM replay_runs WHERE router = $other))
"""
PAIR_CACHED_SQL = "SELECT state FROM annotation_pair_states WHERE router = $router AND other_router = $other"
PAIR_CLEAR_SQL = "DELETE FROM annotation_disagreements WHERE router = $router AND other_router = $other"
_DIFFERS = ", ".join(f"CASE WHEN d.{c} IS DISTINCT FROM o.{c} THEN '{c}' END" for c in DISAGREE_COMPONENTS)
PAIR_FILL_SQL = f"""
INSERT INTO annotation_disagreements
SELECT $router, $other, request_id, differs FROM (
    SELECT d.request_id, [x FOR x IN [{_DIFFERS}] IF x IS NOT NULL] AS differs
    FROM decisions d JOIN decisions o ON o.router = $other AND o.request_id = d.request_id
    WHERE d.router = $router
) WHERE len(differs) > 0
"""
PAIR_MARK_SQL = """
INSERT OR REPLACE INTO annotation_pair_states
SELECT $router, $other, $state, count(*), $at FROM annotation_disagreements
WHERE router = $router AND other_router = $other
"""

# Requests judged by exactly one other annotator (no adjudication), in the double-annotation share, free.
SECOND_OPINION_SQL = f"""
WITH judges AS (
    SELECT request_id, count(DISTINCT annotator) AS n_judges, bool_or(annotator = $annotator) AS mine,
           bool_or(kind = 'adjudication') AS adjudicated, min(created_at) AS first_at
    FROM annotations_current WHERE router = $router AND {JUDGED}
    GROUP BY request_id
)
SELECT j.request_id FROM judges j
WHERE j.n_judges = 1 AND NOT j.mine AND NOT j.adjudicated
  AND {double_key_sql("j.request_id")} < $share
  AND NOT list_contains($skip::VARCHAR[], j.request_id)
  AND j.request_id NOT IN (
      SELECT request_id FROM annotation_leases
      WHERE router = $router AND annotator <> $annotator AND expires_at > $at)
ORDER BY j.first_at, j.request_id LIMIT $limit
"""

# Which of a few $ids have a decision of $router (annotations may refer to decisions not replayed here).
DECIDED_SQL = """
SELECT request_id FROM decisions WHERE router = $router AND request_id IN (SELECT unnest($ids::VARCHAR[]))
"""

OWN_LEASE_SQL = f"""
SELECT l.request_id, l.other_router, l.reason, l.second_opinion FROM annotation_leases l
WHERE l.router = $router AND l.annotator = $annotator AND l.expires_at > $at
  AND NOT list_contains($skip::VARCHAR[], l.request_id)
  AND l.request_id NOT IN (
      SELECT request_id FROM annotations_current
      WHERE router = $router AND annotator = $annotator AND {JUDGED})
ORDER BY l.leased_at DESC LIMIT 1
"""
RENEW_SQL = """
UPDATE annotation_leases SET expires_at = $expires
WHERE request_id = $request_id AND router = $router AND annotator = $annotator
"""
EXPIRE_SQL = "DELETE FROM annotation_leases WHERE expires_at <= $at"
DROP_OWN_SQL = "DELETE FROM annotation_leases WHERE router = $router AND annotator = $annotator"
RELEASE_SQL = """
DELETE FROM annotation_leases WHERE request_id = $request_id AND router = $router AND annotator = $annotator
"""
# Written only if no other annotator holds a live lease on the item (checked in the same transaction).
LEASE_SQL = """
INSERT OR REPLACE INTO annotation_leases
SELECT $request_id, $router, $annotator, $at, $expires, $other, $reason, $second
WHERE NOT EXISTS (
    SELECT 1 FROM annotation_leases
    WHERE request_id = $request_id AND router = $router AND annotator <> $annotator AND expires_at > $at
)
"""

JUDGED_COUNT_SQL = f"""
SELECT count(DISTINCT request_id) FROM annotations_current
WHERE router = $router AND annotator = $annotator AND {JUDGED}
"""
STATS_SQL = f"""
WITH judges AS (
    SELECT a.request_id, count(DISTINCT a.annotator) AS n, bool_or(a.annotator = $annotator) AS mine
    FROM annotations_current a
    WHERE a.router = $router AND a.{JUDGED}
      AND a.request_id IN (SELECT request_id FROM decisions WHERE router = $router)
    GROUP BY a.request_id
)
SELECT (SELECT count(*) FROM decisions WHERE router = $router),
       (SELECT count(*) FROM judges),
       (SELECT count(*) FROM judges WHERE n >= 2),
       (SELECT count(*) FROM judges WHERE mine),
       (SELECT count(*) FROM annotation_leases WHERE router = $router AND expires_at > $at)
"""
