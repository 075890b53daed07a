"""What a batch run tells the person at the terminal: a progress line while it runs and a
summary at the end, both on stderr so that stdout stays pure output."""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from .labels import LABELS

#: Documents over --max-drop listed by name in the summary; the rest are counted.
MAX_LISTED = 10


@dataclass
class Stats:
    """Counts for the summary."""

    documents: int = 0
    files: int = 0
    bytes: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    flagged: list[str] = field(default_factory=list)
    """Where the first MAX_LISTED documents over --max-drop came from (for the summary)."""
    n_flagged: int = 0
    """Documents over --max-drop (the list above stops growing: memory stays flat)."""
    skipped: int = 0
    seconds: float = 0.0

    def flag(self, where: str) -> None:
        """Count a document over --max-drop, remembering the first MAX_LISTED names."""
        self.n_flagged += 1
        if len(self.flagged) < MAX_LISTED:
            self.flagged.append(where)


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _per_label(counts: Counter[str]) -> str:
    return ", ".join(f"{label} {counts[label]}" for label in LABELS if counts[label]) or "none"


def format_summary(stats: Stats, max_drop: float | None = None, skip: bool = False) -> str:
    """The end-of-run summary: documents, files, bytes and rate; units kept and dropped
    per label; documents over ``max_drop``; errors."""
    rate = stats.bytes / stats.seconds if stats.seconds > 0 else 0.0
    lines = [
        f"cleaner: {_plural(stats.documents, 'document')} from {_plural(stats.files, 'file')} "
        f"({_mb(stats.bytes)} in {stats.seconds:.1f} s, {_mb(rate)}/s)",
        f"  units kept:    {_per_label(stats.kept)}",
        f"  units dropped: {_per_label(stats.dropped)}",
    ]
    if max_drop is not None:
        n = max(stats.n_flagged, len(stats.flagged))
        what = "left out" if skip else "cleaned anyway"
        line = f"  over --max-drop {max_drop:g}: {_plural(n, 'document')}"
        if n:
            names = ", ".join(stats.flagged[:MAX_LISTED])
            more = f" and {n - MAX_LISTED} more" if n > MAX_LISTED else ""
            line += f" ({what}): {names}{more}"
        lines.append(line)
    lines.append(f"  errors: {stats.errors}" + (" (see above)" if stats.errors else ""))
    return "\n".join(lines)


class Progress:
    """A one-line progress display (documents, MB, rate, ETA), redrawn at most ten times
    a second; silent unless ``stream`` is a terminal and ``enabled``."""

    def __init__(self, total_bytes: int | None, stream: TextIO | None = None,
                 enabled: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and _isatty(self.stream)
        self.total = total_bytes or None
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, documents: int, done_bytes: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done_bytes / elapsed
        parts = [f"{documents} docs"]
        if self.total:
            parts.append(f"{done_bytes / 1e6:.1f}/{self.total / 1e6:.1f} MB")
        else:
            parts.append(_mb(done_bytes))
        parts.append(f"{_mb(rate)}/s")
        if self.total and rate > 0 and done_bytes <= self.total:
            parts.append(f"ETA {_clock((self.total - done_bytes) / rate)}")
        line = "  ".join(parts)
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if self.total and width - len(line) > 12:
            bar = min(30, width - len(line) - 3)
            filled = int(bar * min(done_bytes / self.total, 1.0))
            line = f"[{'#' * filled}{'.' * (bar - filled)}] {line}"
        self.stream.write("\r" + line[:width] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the progress line (before printing a message, and at the end)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
