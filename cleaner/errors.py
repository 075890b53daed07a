"""One exception type for every user-facing failure, carrying the file and line."""

from __future__ import annotations


class CleanerError(Exception):
    """A problem with the user's input, data or model file.

    The message names the file (and line, where there is one) so that the CLI can print
    it as is, without a traceback.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return where + self.message


class DataError(CleanerError):
    """A malformed labelled-article file or record."""


class ModelError(CleanerError):
    """A missing, corrupt or incompatible model file."""
