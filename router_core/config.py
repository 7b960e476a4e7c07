"""Router config models: a declarative, versioned description of a router.

A config is YAML validated into these frozen pydantic models; `routelab.router_core.validate` then checks
what a schema cannot (references, shadowed rules, portable regexes) and compiles the expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from routelab.router_core.errors import ConfigError, ConfigProblem
from routelab.router_core.pii import PiiType

DEFAULT_TIERS = ("small", "medium", "large", "frontier")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LatencyProfile(_Model):
    """How fast a model answers: call latency percentiles and generation speed."""

    p50_ms: float = Field(gt=0, description="Median time to the first token, in milliseconds.")
    p95_ms: float = Field(gt=0, description="95th percentile time to the first token, in milliseconds.")
    output_tokens_per_s: float = Field(gt=0, description="Generation speed after the first token.")

    @model_validator(mode="after")
    def _ordered(self) -> LatencyProfile:
        if self.p95_ms < self.p50_ms:
            raise ValueError("p95_ms must be at least p50_ms")
        return self


class PriceOverride(_Model):
    """A negotiated or self-hosted price that replaces the price table's entry for one model."""

    input_per_token: float = Field(ge=0, description="USD per prompt token.")
    output_per_token: float = Field(ge=0, description="USD per completion token.")


class ModelSpec(_Model):
    """A model the router may choose."""

    id: str = Field(pattern=_ID, description="The litellm model id, e.g. `gpt-4o-mini` or `bedrock/...`.")
    tier: str = Field(description="Capability tier; one of the router's `tiers`.")
    boundary: str = Field(description="Trust boundary, e.g. `private` (self-hosted) or `external`.")
    regions: tuple[str, ...] = Field(default=(), description="Regions it may serve; empty means any region.")
    context_window: int = Field(gt=0, description="Maximum tokens of prompt plus context.")
    latency: LatencyProfile = Field(description="Latency profile used by estimates and the latency policy.")
    price: PriceOverride | None = Field(default=None, description="Price override; else the price table's.")


class IndexSpec(_Model):
    """A retrieval index a path may query."""

    id: str = Field(pattern=_ID, description="Index id.")
    latency_ms: float = Field(ge=0, description="Query latency, in milliseconds.")
    cost_per_query: float = Field(ge=0, description="USD per query.")
    description: str = Field(default="", description="What the index holds.")


class KeywordLabel(_Model):
    """A label a keyword signal gives when any of its phrases occurs."""

    label: str = Field(min_length=1, description="The label.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Phrases; any one occurring gives the label.")
    confidence: float = Field(default=1.0, ge=0, le=1, description="Confidence attached to the label.")

    @field_validator("phrases")
    @classmethod
    def _non_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p for p in value):
            raise ValueError("phrases must not be empty strings")
        return value


class KeywordSignal(_Model):
    """Labels text by phrase occurrence; the first label (in order) whose phrase occurs wins."""

    kind: Literal["keywords"] = Field(description="Signal kind.")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name rules use.")
    field: str = Field(default="prompt", description="Text expression the phrases are looked for in.")
    case_sensitive: bool = Field(default=False, description="Match case exactly (default: lower-case both).")
    labels: tuple[KeywordLabel, ...] = Field(min_length=1, description="Labels in priority order.")


class RegexLabel(_Model):
    """A label a regex signal gives when its pattern matches."""

    label: str = Field(min_length=1, description="The label.")
    pattern: str = Field(description="A portable regex (see the rule language).")
    confidence: float = Field(default=1.0, ge=0, le=1, description="Confidence attached to the label.")


class RegexSignal(_Model):
    """Labels text by regex; the first label (in order) whose pattern matches wins."""

    kind: Literal["regex"] = Field(description="Signal kind.")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name rules use.")
    field: str = Field(default="prompt", description="Text expression the patterns are searched in.")
    labels: tuple[RegexLabel, ...] = Field(min_length=1, description="Labels in priority order.")


class LengthBucket(_Model):
    """A bucket of a length signal: values up to and including `max` (no max: everything above)."""

    label: str = Field(min_length=1, description="The label.")
    max: float | None = Field(default=None, description="Upper bound, inclusive; omit on the last bucket.")


class LengthSignal(_Model):
    """Buckets a number (default `prompt_tokens`) into labels."""

    kind: Literal["length"] = Field(description="Signal kind.")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name rules use.")
    field: str = Field(default="prompt_tokens", description="Number expression to bucket.")
    buckets: tuple[LengthBucket, ...] = Field(min_length=1, description="Buckets by increasing `max`.")

    @model_validator(mode="after")
    def _increasing(self) -> LengthSignal:
        maxes = [b.max for b in self.buckets]
        if any(m is None for m in maxes[:-1]):
            raise ValueError("only the last bucket may omit `max`")
        bounded = [m for m in maxes if m is not None]
        if any(b <= a for a, b in pairwise(bounded)):
            raise ValueError("bucket `max` values must increase")
        return self


class PiiSignal(_Model):
    """True when the text holds PII of any of the listed types (detected by `router_core.pii`), or when the
    request's `attrs.pii_types` (recorded by `routelab import --redact`, which stores only masked text)
    lists one of them."""

    kind: Literal["pii"] = Field(description="Signal kind.")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name rules use.")
    field: str = Field(default="prompt", description="Text expression to scan.")
    types: tuple[PiiType, ...] = Field(
        default=tuple(PiiType), min_length=1, description="PII types to detect."
    )


Signal = Annotated[KeywordSignal | RegexSignal | LengthSignal | PiiSignal, Field(discriminator="kind")]


class RouteSpec(_Model):
    """A path as written in a rule: the components a request takes."""

    model: str = Field(description="Model id (one of `models`).")
    retrieval: str | None = Field(default=None, description="Index id, or null/`none` for no retrieval.")
    context_tokens: int | None = Field(default=None, ge=0, description="Context budget; else `defaults`.")
    cache: Literal["serve", "bypass"] = Field(default="bypass", description="Serve from cache or bypass it.")
    escalation: str = Field(
        default="none", description="`none`, `human_review`, or `model:<id>` to escalate to that model."
    )
    fallbacks: tuple[str, ...] = Field(default=(), description="Ordered fallback model ids.")

    @field_validator("retrieval", mode="before")
    @classmethod
    def _none_word(cls, value: object) -> object:
        return None if value in ("none", "") else value


class Rule(_Model):
    """A routing rule: when the condition holds (first match wins), take the route."""

    id: str = Field(pattern=_ID, description="Stable id; decisions record it.")
    description: str = Field(default="", description="Why the rule exists.")
    when: str = Field(description="Condition in the rule language.")
    route: RouteSpec = Field(description="The path taken when the rule fires.")
    confidence: float | str = Field(
        default=1.0, description="A number in [0, 1] or a number expression (clamped to [0, 1]; missing → 0)."
    )


class DefaultRoute(_Model):
    """The path taken when no rule matches."""

    route: RouteSpec = Field(description="The default path.")
    confidence: float | str = Field(default=0.5, description="Confidence of default decisions.")


class Defaults(_Model):
    """Values used when a request or a route leaves them out."""

    expected_output_tokens: int = Field(default=500, ge=0, description="Completion size for estimates.")
    context_tokens: int = Field(default=0, ge=0, description="Context budget when a route gives none.")


class _Policy(_Model):
    """Fields every policy has."""

    id: str = Field(pattern=_ID, description="Policy id; decisions that it changes or flags record it.")
    description: str = Field(default="", description="Why the policy exists.")
    when: str = Field(default="true", description="Which requests the policy covers.")


class PrivacyPolicy(_Policy):
    """Requests matching `when` may only reach models inside `allowed_boundaries`."""

    kind: Literal["privacy"] = Field(description="Policy kind.")
    when: str = Field(description="Which requests the policy covers (e.g. a data class or a PII signal).")
    allowed_boundaries: tuple[str, ...] = Field(
        min_length=1, description="Boundaries such requests may reach."
    )
    on_violation: Literal["reroute", "block", "redact"] = Field(
        default="reroute",
        description="reroute to the cheapest allowed model of the same or higher tier; block; or redact PII.",
    )


class RegionPolicy(_Policy):
    """The chosen model must serve the request's region (models without regions serve any)."""

    kind: Literal["region"] = Field(description="Policy kind.")
    on_violation: Literal["reroute", "block"] = Field(default="reroute", description="Reroute or block.")


class CostCeilingPolicy(_Policy):
    """The estimated cost of a request must stay at or under `max_usd`."""

    kind: Literal["cost_ceiling"] = Field(description="Policy kind.")
    max_usd: float = Field(gt=0, description="Ceiling per request, in USD.")
    on_violation: Literal["downgrade", "block"] = Field(
        default="downgrade",
        description="downgrade to the highest-tier model at or below the current tier that fits; else block.",
    )


class LatencyTargetPolicy(_Policy):
    """The path's estimated p95 latency should stay at or under `p95_ms`."""

    kind: Literal["latency_target"] = Field(description="Policy kind.")
    p95_ms: float = Field(gt=0, description="Target p95 latency, in milliseconds.")
    on_violation: Literal["downgrade", "flag"] = Field(
        default="downgrade",
        description="downgrade to the best model at or below the current tier that meets it, else flag.",
    )


class ConfidenceFloorPolicy(_Policy):
    """Below `min_confidence`, escalate to a model or to human review."""

    kind: Literal["confidence_floor"] = Field(description="Policy kind.")
    min_confidence: float = Field(ge=0, le=1, description="Decisions below this confidence escalate.")
    escalate_to: str = Field(default="human_review", description="`human_review` or `model:<id>`.")


Policy = Annotated[
    PrivacyPolicy | RegionPolicy | CostCeilingPolicy | LatencyTargetPolicy | ConfidenceFloorPolicy,
    Field(discriminator="kind"),
]


class Knob(_Model):
    """A named number the rule conditions read as `knobs.NAME` (a score threshold, a willingness to pay).

    Sweeping a knob (`routelab frontier --sweep NAME`) replays the version once per value of `sweep` and
    draws its cost–quality curve; `value` is the one the version ships with.
    """

    value: float = Field(description="The value this version uses.")
    sweep: tuple[float, ...] = Field(default=(), description="Values a sweep tries, in order.")
    description: str = Field(default="", description="What the knob trades off.")


class RouterConfig(_Model):
    """A router version: models, indexes, signals, ordered rules, a default and ordered policies."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Router name.")
    version: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", description="Version, e.g. `2` or `2.1.0`."
    )
    description: str = Field(default="", description="What this version changes and why.")
    tiers: tuple[str, ...] = Field(default=DEFAULT_TIERS, min_length=1, description="Tiers, cheapest first.")
    defaults: Defaults = Field(default_factory=Defaults, description="Defaults for estimates and routes.")
    models: tuple[ModelSpec, ...] = Field(min_length=1, description="Models the router may choose.")
    indexes: tuple[IndexSpec, ...] = Field(default=(), description="Retrieval indexes.")
    signals: tuple[Signal, ...] = Field(default=(), description="Named attributes derived from a request.")
    rules: tuple[Rule, ...] = Field(default=(), description="Ordered rules; the first match wins.")
    default: DefaultRoute = Field(description="The path when no rule matches.")
    policies: tuple[Policy, ...] = Field(default=(), description="Applied after the rules, in order.")
    knobs: dict[str, Knob] = Field(
        default_factory=dict, description="Named numbers the conditions read as `knobs.NAME`."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        # YAML reads `version: 2` as an int and `version: 1.10` as a float; keep what was meant
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @property
    def ref(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"


# --------------------------------------------------------------------------------------------- loading


_UNION_TAGS = {
    "keywords",
    "regex",
    "length",
    "pii",
    "privacy",
    "region",
    "cost_ceiling",
    "latency_target",
    "confidence_floor",
    "str",
    "float",
}


def _locate(loc: tuple[int | str, ...], data: Any) -> tuple[str, tuple[int | str, ...]]:
    """Dotted YAML path for a pydantic error location (list items named by id) and the keys into the data."""
    parts: list[str] = []
    keys: list[int | str] = []
    node: Any = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            item = node[key]
            ident = (item.get("id") or item.get("name")) if isinstance(item, dict) else None
            parts.append(f"[{key}]" + (f"({ident})" if ident else ""))
            keys.append(key)
            node = item
        elif isinstance(key, str) and isinstance(node, dict) and key not in node and key in _UNION_TAGS:
            continue  # pydantic puts the union member's tag into the location; it is not in the YAML
        else:
            parts.append(("." if parts else "") + str(key))
            keys.append(key)
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts), tuple(keys)


def _node_at(root: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node of a top-level key."""
    if isinstance(root, yaml.MappingNode):
        return next((v for k, v in root.value if getattr(k, "value", None) == key), None)
    return None


def _line_of(path_keys: tuple[int | str, ...], root: yaml.Node | None) -> int | None:
    """1-based line of the YAML node at `path_keys`, as far down as it exists."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for key in path_keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def line_of(text: str, keys: tuple[int | str, ...]) -> int | None:
    """1-based line in YAML `text` of the node at `keys` (as deep as it exists), or None if unparsable."""
    try:
        root = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    return _line_of(keys, root)


def _friendly(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown key; check its spelling against the router config reference in the README"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"{msg}"
    return msg


def parse_config(text: str, source: str | None = None) -> RouterConfig:
    """Parse YAML text into a RouterConfig, without the semantic checks of `validate.check`.

    Raises:
        ConfigError: every schema problem, each with its YAML path and line.
    """
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = ConfigProblem("", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)
        raise ConfigError([problem], source) from exc
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        problem = ConfigProblem("", "YAML nested too deeply (PyYAML stops at about 1,000 levels); flatten it")
        raise ConfigError([problem], source) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem("", "a router config is a YAML mapping (name, version, models, ...)")], source
        )
    version_node = _node_at(root, "version")
    if isinstance(version_node, yaml.ScalarNode) and not isinstance(data.get("version"), str):
        # YAML reads `version: 1.10` as the float 1.1 and `010` as octal 8: keep the text as written
        data["version"] = version_node.value
    try:
        return RouterConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path, keys = _locate(tuple(err["loc"]), data)
            line = _line_of(keys, root)
            problems.append(ConfigProblem(path, _friendly(err), line))
        raise ConfigError(problems, source) from exc
