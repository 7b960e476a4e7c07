"""The import formats: a registry (dict + decorator) of named loaders with their declared options."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from routelab.datasets.errors import DatasetError
from routelab.datasets.importers.source import Loaded, Source

Loader = Callable[[Source, Mapping[str, Any]], Loaded]


class UnknownFormatError(DatasetError):
    """An import format or option name that is not registered."""


@dataclass(frozen=True)
class OptionSpec:
    """One option a format accepts (`--option name=value` on the CLI)."""

    doc: str
    """What the option does."""
    kind: Literal["text", "path", "choice"] = "text"
    """`path` options name a file whose content is part of the import's identity."""
    default: str | None = None
    """The value when not given (None: unset)."""
    choices: tuple[str, ...] = ()
    """Allowed values of a `choice` option."""
    sibling: str | None = None
    """For `path` options: a file next to the imported one, used when not given and present."""


@dataclass(frozen=True)
class Format:
    """A registered import format."""

    name: str
    summary: str
    load: Loader
    options: Mapping[str, OptionSpec] = field(default_factory=dict)


FORMATS: dict[str, Format] = {}


def register(
    name: str, summary: str, options: Mapping[str, OptionSpec] | None = None
) -> Callable[[Loader], Loader]:
    """Register a loader under `name`.

    Raises:
        ValueError: the name is already registered.
    """

    def deco(fn: Loader) -> Loader:
        if name in FORMATS:
            raise ValueError(f"import format {name!r} is already registered")
        FORMATS[name] = Format(name, summary, fn, dict(options or {}))
        return fn

    return deco


def get_format(name: str) -> Format:
    """The registered format called `name`.

    Raises:
        UnknownFormatError: no such format; the message lists the known ones.
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(
            f"unknown import format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None


@dataclass(frozen=True)
class ResolvedOptions:
    """A format's options with defaults filled in, and the SHA-256 of every file an option names."""

    values: dict[str, str]
    file_sha256: dict[str, str]


def resolve_options(fmt: Format, path: Path, given: Mapping[str, Any] | None) -> ResolvedOptions:
    """Check option names and values, fill defaults, locate sibling files and hash the files named.

    Raises:
        UnknownFormatError: an option the format does not declare (the message lists its options).
        DatasetError: a bad choice, or a path option naming a missing file.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(fmt.options))
    if unknown:
        known = ", ".join(sorted(fmt.options)) or "none"
        raise UnknownFormatError(
            f"format {fmt.name!r} has no option {', '.join(unknown)}; its options: {known}"
        )
    values: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for name, spec in fmt.options.items():
        value = given.get(name, spec.default)
        if value is None and spec.sibling and (path.parent / spec.sibling).is_file():
            value = str(path.parent / spec.sibling)
        if value is None:
            continue
        value = str(value)
        if spec.kind == "choice" and value not in spec.choices:
            raise DatasetError(f"option {name}={value!r}: choose one of {', '.join(spec.choices)}")
        if spec.kind == "path":
            file = Path(value)
            if not file.is_file():
                raise DatasetError(f"option {name}={value}: no such file")
            hashes[name] = hashlib.sha256(file.read_bytes()).hexdigest()
        values[name] = value
    return ResolvedOptions(values, hashes)
