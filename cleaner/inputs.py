"""Input files -> documents: plain text files, JSONL records and WET conversion records.

Readers never raise on bad input. They yield ``Doc`` for every document they could read,
``Bad`` for a record they could not (the batch reports it and moves on) and ``Broken``
when the rest of the file cannot be read (truncated gzip, I/O error), after which they
stop. Everything is streamed: one record in memory at a time.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import CleanerError
from .fileio import decode, read_bytes

#: Files a directory is searched for when no --glob is given.
DEFAULT_GLOBS: tuple[str, ...] = (
    "*.txt", "*.text", "*.md", "*.markdown", "*.txt.gz", "*.md.gz",
    "*.jsonl", "*.jsonl.gz", "*.ndjson",
    "*.wet", "*.wet.gz",
)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
WET_SUFFIXES = (".wet", ".wet.gz")
STDIN = "-"


@dataclass
class Doc:
    """One document to clean and where it came from."""

    text: str
    where: str
    """``file`` or ``file:line`` (JSONL) or ``file:record N`` (WET), for messages."""
    offset: int
    """Input bytes read up to the end of this document (for the progress bar)."""
    record: dict[str, Any] | None = None
    """The JSONL record or the WET record's fields, to pass through to the output."""


@dataclass
class Bad:
    """A record that could not be read; ``raw`` (the JSONL line) is copied to the output
    as it was, so that nothing is lost. ``error`` is None for blank lines (not reported)."""

    error: CleanerError | None
    raw: bytes | None = None
    offset: int = 0


@dataclass
class Broken:
    """The file cannot be read (any further): its output is discarded."""

    error: CleanerError


@dataclass
class Options:
    """How to read documents from the input files."""

    format: str = "auto"
    field: str = "text"
    encoding: str = "utf-8"
    errors: str = "strict"
    globs: tuple[str, ...] = DEFAULT_GLOBS


def kind_of(path: str, forced: str = "auto") -> str:
    """"text", "jsonl" or "wet": ``forced`` unless it is "auto", else from the file name."""
    if forced != "auto":
        return forced
    name = path.lower()
    if name.endswith(WET_SUFFIXES):
        return "wet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    return "text"


def matches(name: str, rel: str, globs: tuple[str, ...]) -> bool:
    """Patterns with a ``/`` match the path below the directory, others the file name."""
    return any(fnmatch.fnmatch(rel if "/" in g else name, g) for g in globs)


def walk(directory: str, globs: tuple[str, ...], skip: list[str]) -> list[str]:
    """Files under ``directory`` matching ``globs``, sorted, skipping hidden entries, the
    directories in ``skip`` (e.g. the output directory) and entries that are neither files
    nor broken links (a named pipe or socket would block or fail the read; a broken link
    is kept, so that it is reported as missing)."""
    skip_real = {os.path.realpath(d) for d in skip}
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and os.path.realpath(os.path.join(root, d)) not in skip_real
        )
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            if (
                not name.startswith(".")
                and matches(name, rel, globs)
                and (os.path.isfile(path) or not os.path.exists(path))
            ):
                found.append(path)
    return found


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _open_binary(path: str) -> BinaryIO:
    if path == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise CleanerError("no such file", path) from None
    except IsADirectoryError:
        raise CleanerError("is a directory", path) from None
    except PermissionError:
        raise CleanerError("permission denied", path) from None
    except OSError as e:
        raise CleanerError(f"cannot read file ({e.strerror or e})", path) from None


def _tell(f: BinaryIO, fallback: int) -> int:
    try:
        return f.tell()
    except (OSError, ValueError):
        return fallback


def read_text(path: str, opts: Options) -> Iterator[Doc | Bad | Broken]:
    """A text file (or stdin) is one document."""
    name = "<stdin>" if path == STDIN else path
    try:
        data = sys.stdin.buffer.read() if path == STDIN else read_bytes(path)
        text = decode(data, name, opts.encoding, opts.errors)
    except CleanerError as e:
        yield Broken(e)
        return
    except OSError as e:
        yield Broken(CleanerError(f"cannot read ({e.strerror or e})", name))
        return
    # (progress counts input bytes: the file's size, or what a pipe gave)
    yield Doc(text, name, (file_size(path) if path != STDIN else 0) or len(data))


def _decode_line(raw: bytes, name: str, number: int, opts: Options) -> str:
    try:
        return raw.decode(opts.encoding, opts.errors)
    except UnicodeDecodeError as e:
        raise CleanerError(
            f"not valid {opts.encoding} (byte {raw[e.start]:#04x} at column {e.start + 1}); "
            "pass --encoding or --errors=replace",
            name,
            number,
        ) from None
    except LookupError:
        raise CleanerError(f"unknown encoding {opts.encoding!r}", name) from None


def parse_record(raw: bytes, name: str, number: int, opts: Options) -> tuple[dict, str]:
    """The JSON object on one line and the text of its ``opts.field``."""
    line = _decode_line(raw, name, number, opts)
    if number == 1:
        line = line.removeprefix("\ufeff")  # a byte order mark, as some editors write
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise CleanerError(f"malformed JSON ({e.msg} at column {e.colno})", name, number) from None
    except RecursionError:
        raise CleanerError("malformed JSON (nested too deeply)", name, number) from None
    if not isinstance(record, dict):
        raise CleanerError("record is not a JSON object", name, number)
    if opts.field not in record:
        raise CleanerError(f"record has no {opts.field!r} field (see --field)", name, number)
    text = record[opts.field]
    if not isinstance(text, str):
        raise CleanerError(
            f"field {opts.field!r} is {type(text).__name__}, not a string", name, number
        )
    return record, text


def read_jsonl(path: str, opts: Options) -> Iterator[Doc | Bad | Broken]:
    """One document per line; gzip when the name ends in ``.gz``."""
    name = "<stdin>" if path == STDIN else path
    try:
        raw = _open_binary(path)
    except CleanerError as e:
        yield Broken(e)
        return
    number = 0
    read = 0
    try:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw  # type: ignore[assignment]
        for number, line in enumerate(stream, 1):  # noqa: B007 (number is used after the loop)
            read += len(line)
            offset = _tell(raw, read)
            if not line.strip():
                yield Bad(None, line, offset)
                continue
            try:
                record, text = parse_record(line, name, number, opts)
            except CleanerError as e:
                yield Bad(e, line, offset)
                continue
            yield Doc(text, f"{name}:{number}", offset, record)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        yield Broken(CleanerError(f"corrupt or truncated gzip file ({e})", name, number + 1))
    except OSError as e:
        yield Broken(CleanerError(f"cannot read file ({e.strerror or e})", name, number + 1))
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def read_wet(path: str, opts: Options) -> Iterator[Doc | Bad | Broken]:
    """One document per ``conversion`` record of a WARC/WET file (gzipped or not)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    name = "<stdin>" if path == STDIN else path
    try:
        raw = _open_binary(path)
    except CleanerError as e:
        yield Broken(e)
        return
    number = 0
    offset = 0
    try:
        records = ArchiveIterator(raw)
        for number, rec in enumerate(records, 1):  # noqa: B007
            length = rec.rec_headers.get_header("Content-Length") if rec.rec_headers else None
            content = rec.content_stream().read() if rec.rec_type else b""
            offset = records.get_record_offset()  # (after reading: it skips the content)
            where = f"record {number} at byte {offset}"
            if rec.rec_type is None or not (length or "").isdigit() or len(content) < int(length):
                yield Broken(CleanerError(f"truncated or corrupt WARC {where}", name))
                return
            if rec.rec_type != "conversion":
                continue
            headers = rec.rec_headers
            fields = {
                "url": headers.get_header("WARC-Target-URI"),
                "record_id": headers.get_header("WARC-Record-ID"),
                "date": headers.get_header("WARC-Date"),
                "language": headers.get_header("WARC-Identified-Content-Language"),
            }
            fields = {k: v for k, v in fields.items() if v is not None}
            try:
                text = content.decode(opts.encoding, opts.errors)
            except UnicodeDecodeError as e:
                yield Bad(CleanerError(
                    f"{where} ({fields.get('url', '?')}): not valid {opts.encoding} "
                    f"(byte {content[e.start]:#04x} at offset {e.start}); "
                    "pass --encoding or --errors=replace", name))
                continue
            except LookupError:
                yield Broken(CleanerError(f"unknown encoding {opts.encoding!r}", name))
                return
            yield Doc(text, f"{name}:{where}", _tell(raw, offset), fields)
    except ArchiveLoadFailed as e:
        yield Broken(CleanerError(f"not a WARC/WET file ({e})", name))
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        yield Broken(CleanerError(
            f"corrupt or truncated gzip file after record {number} ({e})", name))
    except OSError as e:
        yield Broken(CleanerError(f"cannot read file ({e.strerror or e})", name))
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


READERS = {"text": read_text, "jsonl": read_jsonl, "wet": read_wet}
