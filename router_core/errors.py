"""Errors raised by the router core. Every message names the object at fault and the fix."""

from __future__ import annotations


class RouterError(Exception):
    """Base class of every error the router core raises."""


class ConfigError(RouterError):
    """A router config is invalid. Carries every problem found, each with its YAML path."""

    def __init__(self, problems: list[ConfigProblem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = [f"{where}{p}" for p in problems]
        super().__init__("\n".join(lines) if lines else f"{where}invalid router config")


class ConfigProblem:
    """One problem in a router config: where (a dotted YAML path and its line) and what to do about it."""

    __slots__ = ("line", "message", "path")

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line

    def __str__(self) -> str:
        where = self.path or "<root>"
        if self.line is not None:
            where = f"{where} (line {self.line})" if self.path else f"line {self.line}"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self.path!r}, {self.message!r}, line={self.line!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigProblem) and (self.path, self.message, self.line) == (
            other.path,
            other.message,
            other.line,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.message, self.line))


class RuleSyntaxError(RouterError):
    """A rule expression cannot be parsed or type-checked. `column` is 1-based."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        self.message = message
        self.expression = expression
        self.column = column
        super().__init__(f"{message} (column {column} of {expression!r})")


class RegexPortabilityError(RouterError):
    """A regex uses a construct that Python `re` and DuckDB's RE2 read differently, or that RE2 lacks."""

    def __init__(self, message: str, pattern: str, position: int) -> None:
        self.message = message
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} (at offset {position} of regex {pattern!r})")


class PriceError(RouterError):
    """A model the router can choose has no price in the price table and no override."""


class RequestError(RouterError):
    """A request cannot be routed as given (for example it is not valid JSON or has an unknown field)."""
