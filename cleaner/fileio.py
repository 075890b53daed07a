"""Reading user files with clear errors, and writing output files atomically."""

from __future__ import annotations

import gzip
import os
import zlib

from .atomic import finished, temporary_file
from .errors import CleanerError


def read_bytes(path: str) -> bytes:
    """The file's bytes (gunzipped for ``.gz``), or a CleanerError naming the file."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise CleanerError("no such file", path) from None
    except IsADirectoryError:
        raise CleanerError("is a directory", path) from None
    except PermissionError:
        raise CleanerError("permission denied", path) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise CleanerError(f"corrupt or truncated gzip file ({e})", path) from None
    except OSError as e:
        raise CleanerError(f"cannot read file ({e.strerror or e})", path) from None


def decode(data: bytes, path: str, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Decode ``data``; binary files and undecodable bytes are errors naming the line."""
    if b"\x00" in data[:8192] and encoding.lower().replace("-", "") == "utf8":
        raise CleanerError("looks like a binary file (it contains NUL bytes)", path)
    try:
        text = data.decode(encoding, errors)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CleanerError(
            f"not valid {encoding} (byte {data[e.start]:#04x} at offset {e.start}); "
            "pass --encoding or --errors=replace",
            path,
            line,
        ) from None
    except LookupError:
        raise CleanerError(f"unknown encoding {encoding!r}", path) from None
    return text.removeprefix("\ufeff")


def read_text_file(path: str, encoding: str = "utf-8", errors: str = "strict") -> str:
    return decode(read_bytes(path), path, encoding, errors)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never
    a partial one; on failure nothing is left behind."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = temporary_file(directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        finished(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        finished(tmp)
        raise


def atomic_write_text(path: str, text: str, encoding: str = "utf-8") -> None:
    try:
        atomic_write_bytes(path, text.encode(encoding))
    except OSError as e:
        raise CleanerError(f"cannot write file ({e.strerror or e})", path) from None
