"""The fixture format: one article per ``.tsv`` file, easy to write, review and diff.

Each line of the article is one line of the file, ``LABEL<TAB>TEXT``; a blank line of the
article is ``<TAB>`` (optionally followed by its whitespace). Lines starting with ``#`` at
the top of the file are a header of ``key: value`` pairs (id, source, lang, variant, ...).
``"\\n".join(TEXT column)`` is the article text, exactly; so an article that ends with a
newline ends with an empty ``<TAB>`` line. ``../shared/seed/labels.tsv`` is in this format.
"""

from __future__ import annotations

import os

from .errors import DataError
from .fileio import atomic_write_text, read_text_file
from .labelled import LabelledDoc, check_line


def parse_fixture(content: str, path: str = "<string>") -> LabelledDoc:
    meta: dict[str, str] = {}
    lines: list[str] = []
    labels: list[str] = []
    rows = content.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    # A file saved with CRLF line ends has "\r" at the end of every row; otherwise a "\r"
    # at the end of a row is part of the article's text (converters leave some).
    crlf = bool(rows) and all(row.endswith("\r") for row in rows)
    in_header = True
    for number, row in enumerate(rows, 1):
        if crlf:
            row = row[:-1]
        if in_header and row.startswith("#"):
            key, sep, value = row[1:].partition(":")
            if not sep or not key.strip():
                raise DataError("expected a '# key: value' header line", path, number)
            meta[key.strip()] = value.strip()
            continue
        in_header = False
        label, tab, text = row.partition("\t")
        if not tab:
            if row.strip():
                raise DataError("expected LABEL<TAB>TEXT (no tab found)", path, number)
            label, text = "", row
        label = label.strip()
        check_line(label, text, path, number)
        labels.append(label)
        lines.append(text)
    if not lines:
        raise DataError("no article lines", path)
    doc_id = meta.get("id") or os.path.splitext(os.path.basename(path))[0]
    return LabelledDoc(doc_id, lines, labels, meta)


def read_fixture(path: str) -> LabelledDoc:
    return parse_fixture(read_text_file(path), path)


def format_fixture(doc: LabelledDoc) -> str:
    out = [f"# {key}: {value}" for key, value in doc.meta.items() if "\n" not in value]
    for text, label in zip(doc.lines, doc.labels, strict=True):
        if "\n" in text:
            raise ValueError("a fixture line cannot hold a newline")
        out.append(f"{label}\t{text}")
    return "\n".join(out) + "\n"


def write_fixture(path: str, doc: LabelledDoc) -> None:
    atomic_write_text(path, format_fixture(doc))
