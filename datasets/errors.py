"""Errors of the datasets layer: each names the file, line and field, or the store and the fix."""

from __future__ import annotations


class DatasetError(Exception):
    """Base class of every error the datasets layer raises."""


class StoreError(DatasetError):
    """The store cannot be opened, migrated or written."""


class StoreBusyError(StoreError):
    """Another process holds the store's write lock."""


class ImportFileError(DatasetError):
    """A file cannot be imported. `where` is `file:line` (or `file`), `field` the column at fault."""

    def __init__(self, where: str, field: str | None, problem: str) -> None:
        self.where = where
        self.field = field
        self.problem = problem
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class NotFoundError(DatasetError):
    """A router version, request or price table the caller named is not in the store."""
