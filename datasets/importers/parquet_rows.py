"""What each input row becomes in SQL, for `parquet_sql`: the request columns as the Python path converts
them (`relation`), and the small per-row values the check aggregates (`checked`).

Every expression is built from code-given text and quoted names (`parquet_plan.ident`, `literal`), never
from data. A column's SQL depends on its kind in its file group (`parquet_plan.Group.kinds`): integers
become their digits where the Python path reads text (`convert.text`), times become naive UTC, attrs maps
take the form `convert.as_map` gives them (keys sorted, no NULL value).
"""

from __future__ import annotations

from routelab.datasets.importers.generic import TEXT_FIELDS
from routelab.datasets.importers.parquet_plan import TOKEN_FIELDS, Group, Plan, ident, literal, role
from routelab.datasets.importers.readers import MAX_FIELD_BYTES
from routelab.router_core.request import MAX_TOKENS

#: Characters Python's `str.strip()` removes (`str.isspace`): an id of only these is blank.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: Times this close to Python's datetime limits (years 1 and 9999) go to the Python path, which decides.
TS_RANGE = ("0002-01-01", "9998-12-31")
_EMPTY_MAP = "CAST(MAP {} AS MAP(VARCHAR, VARCHAR))"
_NO_ENTRIES = "CAST([] AS STRUCT(key VARCHAR, value VARCHAR)[])"


def _text(group: Group, column: str | None) -> str:
    """A column as the text `convert.text` makes of it (integers as their digits; attrs: booleans too)."""
    if column is not None and column in group.constants:
        value = group.constants[column]
        return "CAST(NULL AS VARCHAR)" if value is None else literal(value)
    kind = group.kinds.get(column or "", "null")
    q = ident(column or "")
    as_text = {
        "text": q,
        "int": f"CAST({q} AS VARCHAR)",
        "bool": f"CASE WHEN {q} THEN 'true' WHEN NOT {q} THEN 'false' END",  # router_core attr_text
    }
    return as_text.get(kind, "CAST(NULL AS VARCHAR)")


def _column(plan: Plan, group: Group, field: str) -> tuple[str, str]:
    """The quoted file column feeding `field` in this group, and its kind (`null` when absent)."""
    column = plan.fields.get(field)
    return ident(column or ""), group.kinds.get(column or "", "null")


def _values(plan: Plan, group: Group, attrs: str = "rebuild") -> dict[str, str]:
    """SQL for each request column of one group: the values `generic.load_requests` would store (attrs:
    see `_attrs`)."""
    out = {"request_id": _text(group, plan.fields.get("request_id"))}
    if plan.prefix:
        out["request_id"] = f"({literal(plan.prefix)} || {out['request_id']})"
    q, kind = _column(plan, group, "ts")
    times = {"ts": f"CAST({q} AS TIMESTAMP)", "tstz": f"make_timestamp(epoch_us({q}))"}  # UTC, any zone
    out["ts"] = times.get(kind, "CAST(NULL AS TIMESTAMP)")
    for name in TEXT_FIELDS:
        out[name] = _text(group, plan.fields.get(name))
    for name in TOKEN_FIELDS:
        q, kind = _column(plan, group, name)
        # NaN is missing, as in pandas (DuckDB finds NaN BETWEEN any bounds, so test it first)
        whole = f"NOT isnan({q}) AND {q} = trunc({q}) AND " if kind == "float" else ""
        out[name] = (
            f"CASE WHEN {whole}{q} BETWEEN 0 AND {MAX_TOKENS} THEN CAST({q} AS BIGINT) END"
            if kind in ("int", "float")
            else "CAST(NULL AS BIGINT)"
        )
    out["attrs"] = _attrs(plan, group, attrs)
    return out


def _attrs(plan: Plan, group: Group, attrs: str) -> str:
    """SQL for attrs: `rebuild` builds them as `generic.attrs_column` does (the given entries that have a
    value, plus the other columns, keys sorted: `convert.as_map`); `as_read` keeps the map as read."""
    q, kind = _column(plan, group, "attrs")
    if attrs == "as_read":
        return f"coalesce({q}, {_EMPTY_MAP})" if kind == "map" else _EMPTY_MAP
    given = f"coalesce(map_entries({q}), {_NO_ENTRIES})" if kind == "map" else _NO_ENTRIES
    extras = [(f, c) for f, c in plan.fields.items() if role(f) == "extra"]
    pairs = ", ".join(f"{{'key': {literal(f)}, 'value': {_text(group, c)}}}" for f, c in extras)
    return built(f"list_concat({given}, [{pairs}])" if extras else given)


def built(entries: str) -> str:
    """SQL: a map of the entries that have a value, keys sorted (`convert.as_map`)."""
    return f"map_from_entries(list_sort(list_filter({entries}, lambda e: e.value IS NOT NULL)))"


def stored_as_read(q: str) -> str:
    """SQL: the map `q` is stored as read (NULL, or keys sorted and every value given)."""
    given = f"list_count(map_values({q})) = cardinality({q})"
    return f"({q} IS NULL OR ({given} AND map_keys({q}) = list_sort(map_keys({q}))))"


def _problems(plan: Plan, group: Group) -> str:
    """SQL naming the first reason a row must go through the Python path (NULL for a clean row)."""
    raw_id = _text(group, plan.fields.get("request_id"))
    stripped = f"trim({raw_id}, {literal(WHITESPACE)})"  # an id opening with a printable ASCII is not blank
    blank = f"CASE WHEN ascii({raw_id}) BETWEEN 33 AND 126 THEN false ELSE {stripped} = '' END"
    checks = [("request_id missing or blank", f"{raw_id} IS NULL OR {blank}")]
    sizes = []
    for column, kind in group.kinds.items():  # every column, --map dropped ones too (readers._check_sizes)
        q = ident(column)
        if kind == "text":
            sizes.append(f"strlen({q}) > {MAX_FIELD_BYTES}")
        elif kind == "map":  # its JSON text has at most 6 bytes per byte (\u escapes) and 10 per entry
            each = "lambda e: strlen(e.key) + coalesce(strlen(e.value), 0)"
            chars = f"list_sum(list_transform(map_entries({q}), {each}))"
            sizes.append(f"6 * coalesce({chars}, 0) + 10 * cardinality({q}) + 2 > {MAX_FIELD_BYTES}")
    if sizes:
        checks.append(("a field over 1 MiB", " OR ".join(sizes)))
    for name in TOKEN_FIELDS:
        q, kind = _column(plan, group, name)
        bad = f"{q} < 0 OR {q} > {MAX_TOKENS}"
        if kind == "int":
            checks.append((f"{name} out of range", bad))
        elif kind == "float":
            checks.append(
                (f"{name} not a count", f"NOT isnan({q}) AND (isinf({q}) OR {q} <> trunc({q}) OR {bad})")
            )
    low, high = TS_RANGE
    ts = _values(plan, group)["ts"]
    checks.append(
        ("ts near Python's datetime limits", f"{ts} NOT BETWEEN TIMESTAMP '{low}' AND TIMESTAMP '{high}'")
    )
    q, kind = _column(plan, group, "attrs")
    if kind == "map":  # DuckDB reads such a map but cannot store it; Python keeps the last value
        checks.append(("attrs repeats a key", f"list_unique(map_keys({q})) < cardinality({q})"))
    clash = [
        f"({_text(group, c)} IS NOT NULL AND list_contains(map_keys({q}), {literal(f)}))"
        for f, c in plan.fields.items()
        if role(f) == "extra" and kind == "map"
    ]
    if clash:
        checks.append(("a column is also an attrs key", " OR ".join(clash)))
    return "CASE " + " ".join(f"WHEN {cond} THEN {literal(label)}" for label, cond in checks) + " END"


def relation(plan: Plan, columns: list[str], attrs: str = "rebuild") -> str:
    """A query giving `columns` of every input row (attrs: see `_attrs`)."""
    parts = []
    for group in plan.groups:
        values = _values(plan, group, attrs)
        parts.append(f"SELECT {', '.join(f'{values[c]} AS {c}' for c in columns)} FROM {group.read()}")
    return " UNION ALL ".join(parts)


def checked(plan: Plan) -> str:
    """A query giving, per input row, only small values (the check aggregates them; wide columns such as
    the prompt would be copied through DuckDB's plan for the DISTINCT): the id's hash, `_problems`, whether
    a prompt lacks its count, and whether the attrs map is stored as read (`stored_as_read`) and its hash."""
    parts = []
    for group in plan.groups:
        values = _values(plan, group, "as_read")
        q, kind = _column(plan, group, "attrs")
        select = [
            f"hash({values['request_id']}) AS id_hash",
            f"{_problems(plan, group)} AS problem",
            f"({values['prompt_tokens']} IS NULL AND {values['prompt']} IS NOT NULL) AS uncounted",
            f"{stored_as_read(q) if kind == 'map' else 'true'} AS sorted",
            f"hash({values['attrs']}) AS map_hash",
        ]
        parts.append(f"SELECT {', '.join(select)} FROM {group.read()}")
    return " UNION ALL ".join(parts)
