"""Labelled articles: the type, and reading them from fixture TSV or corpus JSONL files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import DataError
from .labels import LABEL_INDEX


@dataclass
class LabelledDoc:
    """One article as lines with one label per line ("" for blank lines)."""

    id: str
    lines: list[str]
    labels: list[str]
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.lines) != len(self.labels):
            raise ValueError(f"{len(self.lines)} lines but {len(self.labels)} labels")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def group(self) -> str:
        """Documents sharing a group are renderings of one page: never split them."""
        return self.meta.get("group") or self.id


def check_line(label: str, text: str, path: str, line: int) -> None:
    """Raise DataError unless ``label`` is a known label for non-blank ``text``, or ""
    for a blank one."""
    blank = not text.strip()
    if label == "":
        if not blank:
            raise DataError("a non-blank line has no label", path, line)
    elif label not in LABEL_INDEX:
        raise DataError(
            f"unknown label {label!r} (known: {', '.join(LABEL_INDEX)})", path, line
        )
    elif blank:
        raise DataError(
            f"a blank line is labelled {label!r}; blank lines take no label", path, line
        )


def is_corpus_file(path: str) -> bool:
    return path.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson"))


def is_fixture_file(path: str) -> bool:
    return path.endswith(".tsv")


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files named directly, plus the labelled files found under named directories."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(
                    os.path.join(root, name)
                    for name in sorted(files)
                    if is_fixture_file(name) or is_corpus_file(name)
                )
            if not found:
                raise DataError("directory holds no .tsv or .jsonl(.gz) files", path)
            out.extend(found)
        else:
            out.append(path)
    return out


def read_labelled(paths: Iterable[str]) -> Iterator[LabelledDoc]:
    """Every labelled document in ``paths`` (fixture .tsv, corpus .jsonl[.gz], or
    directories of them), in order."""
    from .corpus_format import read_corpus
    from .fixture_format import read_fixture

    if isinstance(paths, (str, os.PathLike)):  # one path, not an iterable of characters
        paths = [os.fspath(paths)]

    for path in expand_paths(paths):
        if not os.path.exists(path):
            raise DataError("no such file", path)
        if is_corpus_file(path):
            yield from read_corpus(path)
        else:
            yield read_fixture(path)
