"""A streamed output file that appears under its name only when complete.

``fileio.atomic_write_bytes`` needs the whole content in memory; JSONL and WET outputs can
be gigabytes, so they are written record by record to a temporary file in the target
directory and renamed over the target on ``commit()``. A failure or Ctrl-C before that
leaves the old file (or no file) and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from typing import BinaryIO

from .errors import CleanerError

#: Temporary files of outputs neither committed nor aborted. An interrupt can strike after
#: an output is made and before its owner holds it (and so can abort it); the command's
#: last word on an interrupt, ``remove_unfinished()``, deletes what is left here.
_UNFINISHED: set[str] = set()


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait (at the OS level) until the block ends, so that a temporary
    file is never created without being recorded in ``_UNFINISHED``."""
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def temporary_file(directory: str) -> tuple[int, str]:
    """A new ``.cleaner-*.tmp`` file in ``directory`` (its descriptor and path), recorded
    as unfinished until ``finished(path)``."""
    with _stop_signals_held():
        fd, tmp = tempfile.mkstemp(prefix=".cleaner-", suffix=".tmp", dir=directory)
        _UNFINISHED.add(tmp)
    return fd, tmp


def finished(tmp: str) -> None:
    """``tmp`` was renamed into place or deleted."""
    _UNFINISHED.discard(tmp)


def remove_unfinished() -> None:
    """Delete the temporary file of every output neither committed nor aborted."""
    for tmp in list(_UNFINISHED):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _UNFINISHED.discard(tmp)


class AtomicOutput:
    """Write bytes with ``write``; ``commit()`` publishes them at ``path``, ``abort()``
    discards them. With ``compress`` the bytes are gzipped (with no name and a fixed
    timestamp in the header, so the same input always gives the same output file)."""

    def __init__(self, path: str, compress: bool = False) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp = temporary_file(directory)
        except OSError as e:
            raise CleanerError(f"cannot create output file ({e.strerror or e})", path) from None
        raw: BinaryIO | None = None
        try:
            raw = os.fdopen(fd, "wb")
            self._raw: BinaryIO = raw
            self._file: BinaryIO = raw
            if compress:
                # No file name and no time in the header (as gzip -n): the same content
                # always gives the same bytes, whatever the output is called.
                self._file = gzip.GzipFile("", "wb", fileobj=raw, mtime=0)  # type: ignore[assignment]
        except BaseException:  # e.g. Ctrl-C right here: leave no temporary file
            try:
                if raw is not None:
                    raw.close()
                else:
                    os.close(fd)
            except OSError:
                pass
            os.unlink(self.tmp)
            finished(self.tmp)
            raise
        self.closed = False

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as e:
            self.abort()
            raise CleanerError(f"cannot write file ({e.strerror or e})", self.path) from None

    def commit(self) -> None:
        """Flush to disk and rename over ``path`` (keeping an existing file's mode)."""
        if self.closed:
            return
        try:
            if self._file is not self._raw:
                self._file.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            if os.path.exists(self.path):
                mode = os.stat(self.path).st_mode & 0o7777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(self.tmp, mode)
            os.replace(self.tmp, self.path)
            finished(self.tmp)
        except OSError as e:
            self.abort()
            raise CleanerError(f"cannot write file ({e.strerror or e})", self.path) from None
        except BaseException:
            self.abort()
            raise
        self.closed = True

    def abort(self) -> None:
        """Discard everything written; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        for f in (self._file, self._raw):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        finished(self.tmp)
