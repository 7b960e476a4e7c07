"""Identity of a router version: canonical form, content hash, and the diff between two versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.router_core.canonical import unparse
from routelab.router_core.validate import Router

Section = Literal["models", "indexes", "signals", "rules", "policies", "default", "tiers", "defaults"]


def canonical(router: Router) -> dict[str, Any]:
    """The canonical form: every field with defaults filled in, expressions in canonical text.

    Two configs that differ only in whitespace, key order or spelled-out defaults have the same form.
    """
    data = router.config.model_dump(mode="json")
    if not data.get("knobs"):  # a config without knobs hashes as it did before knobs existed
        data.pop("knobs", None)
    for i, cr in enumerate(router.rules):
        data["rules"][i]["when"] = unparse(cr.when)
        if isinstance(cr.rule.confidence, str):
            data["rules"][i]["confidence"] = unparse(cr.confidence)
    if isinstance(router.config.default.confidence, str):
        data["default"]["confidence"] = unparse(router.default_confidence)
    for i, cp in enumerate(router.policies):
        data["policies"][i]["when"] = unparse(cp.when)
    for i, cs in enumerate(router.signals):
        data["signals"][i]["field"] = unparse(cs.field)
    return data


def canonical_json(router: Router) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8."""
    return json.dumps(canonical(router), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(router: Router) -> str:
    """sha256 of the canonical JSON, hex."""
    return hashlib.sha256(canonical_json(router).encode("utf-8")).hexdigest()


class Change(BaseModel):
    """One difference between two router versions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    section: Section = Field(description="Which part of the config changed.")
    item: str = Field(description="The id or name of the item (or the section name for single values).")
    change: Literal["added", "removed", "changed", "moved"] = Field(description="What happened to it.")
    fields: tuple[str, ...] = Field(default=(), description="Changed fields (dotted), for `changed`.")
    before: Any = Field(
        default=None, description="The item before (canonical form), when removed or changed."
    )
    after: Any = Field(default=None, description="The item after (canonical form), when added or changed.")


class RouterDiff(BaseModel):
    """Everything that differs between a base and a candidate router version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = Field(description="Base version, `name@version`.")
    candidate: str = Field(description="Candidate version, `name@version`.")
    base_hash: str = Field(description="Base config hash.")
    candidate_hash: str = Field(description="Candidate config hash.")
    changes: tuple[Change, ...] = Field(description="The differences, by section then position.")

    @property
    def identical(self) -> bool:
        """Whether nothing but name, version or descriptions differs (so both route every request alike)."""
        return not any(c.fields != ("description",) for c in self.changes)


def _changed_fields(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += _changed_fields(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    return [] if a == b else [prefix or "value"]


def _keyed(
    section: Section, before: list[dict[str, Any]], after: list[dict[str, Any]], key: str
) -> list[Change]:
    a = {item[key]: item for item in before}
    b = {item[key]: item for item in after}
    changes: list[Change] = []
    for name, item in a.items():
        if name not in b:
            changes.append(Change(section=section, item=name, change="removed", before=item))
    for name, item in b.items():
        if name not in a:
            changes.append(Change(section=section, item=name, change="added", after=item))
        elif item != a[name]:
            fields = tuple(_changed_fields(a[name], item))
            changes.append(
                Change(
                    section=section, item=name, change="changed", fields=fields, before=a[name], after=item
                )
            )
    if section in ("rules", "policies", "signals", "models"):  # order decides: first match, ties, layers
        common_a = [k for k in a if k in b]
        common_b = [k for k in b if k in a]
        for pos, name in enumerate(common_b):
            if common_a.index(name) != pos:
                changes.append(
                    Change(
                        section=section,
                        item=name,
                        change="moved",
                        before=common_a.index(name),
                        after=pos,
                    )
                )
    return changes


def diff(base: Router, candidate: Router) -> RouterDiff:
    """List added, removed, changed and moved models, indexes, signals, rules and policies.

    Order matters for rules (first match wins), policies (applied in turn), signals and models (ties in a
    reroute go to the earlier model), so position changes are reported as `moved` (positions counted among
    the items both versions share).
    """
    a, b = canonical(base), canonical(candidate)
    changes: list[Change] = []
    for section, key in (
        ("models", "id"),
        ("indexes", "id"),
        ("signals", "name"),
        ("rules", "id"),
        ("policies", "id"),
    ):
        changes += _keyed(section, a[section], b[section], key)  # type: ignore[arg-type]
    for section in ("default", "tiers", "defaults"):
        if a[section] != b[section]:
            changes.append(
                Change(
                    section=section,
                    item=section,
                    change="changed",
                    fields=tuple(_changed_fields(a[section], b[section])),
                    before=a[section],
                    after=b[section],
                )
            )
    return RouterDiff(
        base=base.ref,
        candidate=candidate.ref,
        base_hash=config_hash(base),
        candidate_hash=config_hash(candidate),
        changes=tuple(changes),
    )
