"""The JSONL corpus format of ``../shared/corpus`` (one document per line, ``.gz`` allowed).

Each record: ``{"id": ..., "source": ..., "variant": ..., "lang": ..., "url": ...,
"lines": [{"text": ..., "label": ..., "how": ...}, ...]}``; blank lines have label "".
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .errors import DataError
from .labelled import LabelledDoc, check_line


def _open(path: str) -> BinaryIO:
    try:
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except IsADirectoryError:
        raise DataError("is a directory", path) from None
    except OSError as e:
        raise DataError(f"cannot read file ({e.strerror or e})", path) from None


def parse_record(record: object, path: str, number: int) -> LabelledDoc:
    if not isinstance(record, dict):
        raise DataError("record is not a JSON object", path, number)
    lines = record.get("lines")
    if not isinstance(lines, list) or not lines:
        raise DataError("record has no 'lines' list", path, number)
    texts: list[str] = []
    labels: list[str] = []
    for k, item in enumerate(lines):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise DataError(f"lines[{k}] has no 'text' string", path, number)
        label = item.get("label", "")
        if not isinstance(label, str):
            raise DataError(f"lines[{k}] has a non-string 'label'", path, number)
        try:
            check_line(label, item["text"], path, number)
        except DataError as e:
            raise DataError(f"lines[{k}]: {e.message}", path, number) from None
        texts.append(item["text"])
        labels.append(label)
    doc_id = str(record.get("id") or f"{path}:{number}")
    meta = {
        key: str(record[key])
        for key in ("source", "variant", "lang", "url")
        if record.get(key) is not None
    }
    # Variants of one page share "<source>:<page-id>": keep them on one side of a split.
    meta["group"] = doc_id.rsplit(":", 1)[0] if "variant" in record else doc_id
    return LabelledDoc(doc_id, texts, labels, meta)


def read_corpus(path: str) -> Iterator[LabelledDoc]:
    with _open(path) as f:
        number = 0
        try:
            # Bytes, decoded line by line: a decoding error then names its own line (a text
            # wrapper decodes ahead in 8 KB chunks). A BOM at the start is tolerated.
            for number, data in enumerate(f, 1):
                try:
                    row = data.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(
                        f"not valid UTF-8 (byte {data[e.start]:#04x} at column {e.start + 1})",
                        path,
                        number,
                    ) from None
                if not row.strip():
                    continue
                try:
                    record = json.loads(row)
                except json.JSONDecodeError as e:
                    raise DataError(f"malformed JSON ({e.msg})", path, number) from None
                yield parse_record(record, path, number)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise DataError(f"corrupt or truncated gzip file ({e})", path, number + 1) from None
