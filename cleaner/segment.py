"""Text -> units: the pieces of a document that get one label each.

A unit is normally one physical line. Two real-world shapes change that:

* hard-wrapped text (Markdown converters wrap at ~78 columns): the wrapped lines of one
  paragraph form one unit, so they are kept or dropped together;
* a page that came on one line (or a few, one of them very long): its long lines are
  split into sentence-sized units so that boilerplate inside them can still be dropped.
  Among many lines, a long line is one element of the page and stays one unit.

Units keep the original text exactly: ``text[unit.start:unit.end] == unit.text``. Blank
lines (whitespace and zero-width characters only) are layout, not units; they only start a
new paragraph.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Collection, Sequence
from typing import NamedTuple

import regex

from .markdown import link_target_spans

try:  # the common case, one unit per line, in C (see cleaner/_fastcore.c)
    from ._fastcore import join_kept as _join_kept
    from ._fastcore import line_units as _line_units
    from ._fastcore import wrappable_lines as _wrappable_lines
except ImportError:  # built without a C compiler
    _line_units = _wrappable_lines = _join_kept = None

#: Lines longer than this, not counting Markdown link and image targets, are split into
#: sentence-sized units ...
MAX_LINE_CHARS = 2000
#: ... in a page that arrived on one line: a document of fewer non-blank lines than this,
#: or one whose longest line holds at least this share of its text (a page on one line
#: under a few header lines). Otherwise a long line is one element of the page (a long
#: paragraph, a tag cloud, a list of names) and stays one unit, as every line is in
#: training.
SPLIT_MAX_LINES = 8
PAGE_LINE_SHARE = 0.9
#: A sentence piece longer than this (no punctuation to split at) is cut at whitespace.
MAX_PIECE_CHARS = 600
#: Hard-wrap detection: at least this many non-blank lines ...
WRAP_MIN_LINES = 8
#: ... the wrap width must lie in this range ...
WRAP_MIN_WIDTH, WRAP_MAX_WIDTH = 40, 120
#: ... at least this share of the lines in multi-line paragraphs must end within
#: WRAP_SLACK columns of the width ...
WRAP_FULL_SHARE = 0.5
WRAP_SLACK = 18
#: ... and at most this share of lines may be longer than the width.
WRAP_MAX_OVER_SHARE = 0.02
#: ... and at least this share of the continuation lines that start with a cased letter
#: must start with a lowercase one.
WRAP_MIN_LOWER_SHARE = 0.3

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Every character str.strip() removes, plus the zero-width ones: one C call tests a line.
_BLANK_CHARS = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + _ZERO_WIDTH
_STRIP_BLANK = operator.methodcaller("strip", _BLANK_CHARS)
_SPLIT_ONCE = operator.methodcaller("split", None, 1)
# A Markdown block start: such a line begins a new unit even inside a wrapped paragraph.
# Any indentation: converters indent (nested) list items by 2, 4, 6, ... spaces.
_BLOCK_START = regex.compile(r"\s*(?:#{1,6}\s|[*+-]\s|\d{1,3}[.)]\s|>|\||!\[|```|~~~)")
# The first letter of a line's first word (after brackets, quotes, ...) if the word starts
# with two letters: one-letter words ("I", "a", the "o" bullets of inscriptis) say little.
_FIRST_LETTER = regex.compile(r"\s*[^\s\p{L}]*(\p{L})\p{L}")
# Sentence ends (terminal punctuation, optionally closed by quotes or brackets) followed
# by whitespace; CJK full stops, which are not followed by a space; and runs of layout
# whitespace (3+ spaces, tabs) or " | " separators.
_CLOSERS = "\"'\u201d\u2019\u00bb)\\]\u300d\u300f\uff09"
_CJK_STOPS = "\u3002\uff01\uff1f\uff61"
_AFTER_STOP = (
    rf"(?<=[.!?\u2026\u061f\u06d4\u0964\u0965{_CJK_STOPS}][{_CLOSERS}]{{0,2}})\s+(?=\S)")
_AFTER_CJK_STOP = rf"(?<=[{_CJK_STOPS}][{_CLOSERS}]{{0,2}})(?=[^{_CLOSERS}\s])"
_LAYOUT = r"\s*\t\s*|\s{3,}|\s+[|\u2022\u00b7]\s+"
_SENTENCE_BREAK = regex.compile(f"{_AFTER_STOP}|{_AFTER_CJK_STOP}|{_LAYOUT}")
# The same breaks in text without CJK full stops, where the zero-width alternative never
# matches: without it the regex engine scans about 15 times faster.
_SENTENCE_BREAK_NO_CJK = regex.compile(f"{_AFTER_STOP}|{_LAYOUT}")


class Unit(NamedTuple):
    """One piece of the document to classify, with where it came from (a tuple: units are
    made for every line of every document, and tuples are the cheapest to make)."""

    text: str
    start: int
    end: int
    line: int
    """0-based index of the unit's first physical line."""
    last_line: int
    """0-based index of the unit's last physical line (same as ``line`` unless wrapped)."""
    paragraph: int
    """Index of the run of non-blank lines the unit belongs to."""


def is_blank(line: str) -> bool:
    """True for lines of only whitespace and zero-width characters."""
    return not line.strip(_BLANK_CHARS)


def newline_of(text: str) -> str:
    """The document's line terminator: CRLF if its first line break is CRLF, CR in a text
    with no LF at all (classic Mac OS files), else LF."""
    i = text.find("\n")
    if i < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def split_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every physical line, without its terminator: ``\\n``, ``\\r\\n``,
    or ``\\r`` in a text with no ``\\n`` at all."""
    _, starts, ends = _physical_lines(text)
    return list(zip(starts, ends))


def _physical_lines(text: str) -> tuple[list[str], list[int], list[int]]:
    """Every physical line without its terminator, with its start and end: one C-level
    split and a few maps, as every line of every document goes through here."""
    # A text with CRs and no LF has CR line breaks (a stray CR in an LF text stays text).
    lines = text.split("\r" if newline_of(text) == "\r" else "\n")
    if not lines[-1]:  # text ended with a newline (or is empty)
        lines.pop()
    lengths = list(map(len, lines))
    starts = list(itertools.accumulate(map((1).__add__, lengths), initial=0))
    starts.pop()
    if "\r" in text and "\n" in text:
        crlf = [line.endswith("\r") for line in lines]
        lines = [line[:-1] if cr else line for line, cr in zip(lines, crlf, strict=True)]
        lengths = [n - cr for n, cr in zip(lengths, crlf, strict=True)]
    return lines, starts, list(map(operator.add, starts, lengths))


def _wrappable(lines: list[str]) -> list[bool]:
    """Whether each line is text a wrapper could have wrapped: not blank, not a Markdown
    block start (converters leave list items, tables, images, headings unwrapped) and not
    a single word (a word longer than the width stays whole). In C the block-start pattern
    runs only on the lines whose first character could start one."""
    if _wrappable_lines is not None and isinstance(lines, list):
        return [fact == 1 or (fact == 2 and not _BLOCK_START.match(line))
                for line, fact in zip(lines, _wrappable_lines(lines))]
    return wrappable_reference(lines)


def wrappable_reference(lines: list[str]) -> list[bool]:
    """``_wrappable`` in Python alone (C-level maps; the C version is tested against it)."""
    words = map(len, map(_SPLIT_ONCE, map(_STRIP_BLANK, lines)))
    return list(map(operator.and_, map((2).__eq__, words),
                    map(operator.not_, map(_BLOCK_START.match, lines))))


def wrap_width(lines: list[str], long: list[str] | None = None) -> int | None:
    """The column width the text was hard-wrapped at, or None if it was not wrapped.
    ``long``: the lines longer than WRAP_MAX_WIDTH, where the caller has them already."""
    if len(lines) < WRAP_MIN_LINES:
        return None
    # Most pages are not wrapped and hold more long text lines than the few allowed over
    # the width: telling that needs only the long lines looked at (fewer wrappable lines
    # allow no more over-long ones).
    allowed = int(WRAP_MAX_OVER_SHARE * len(lines))
    if long is None:
        long = [line for line in lines if len(line) > WRAP_MAX_WIDTH]
    if len(long) > allowed:
        over = [line for line in long if len(line.rstrip()) > WRAP_MAX_WIDTH]
        if len(over) > allowed and sum(_wrappable(over)) > allowed:
            return None
    wrappable = _wrappable(lines)
    lengths = [len(line.rstrip()) for line, ok in zip(lines, wrappable, strict=True) if ok]
    if len(lengths) < WRAP_MIN_LINES:
        return None
    # The width: the longest line once the few allowed over-long lines are set aside (a
    # fixed percentile would take the second-longest line of a short text as the width
    # and then reject the text because its longest line is over it).
    ordered = sorted(lengths)
    width = ordered[len(ordered) - 1 - int(WRAP_MAX_OVER_SHARE * len(ordered))]
    if not WRAP_MIN_WIDTH <= width <= WRAP_MAX_WIDTH:
        return None
    # Text lines followed by a text line: in wrapped text most of them are "full", i.e.
    # end close to the width, ...
    pairs = [
        (lines[i], lines[i + 1])
        for i in range(len(lines) - 1)
        if wrappable[i] and wrappable[i + 1]
    ]
    if len(pairs) < WRAP_MIN_LINES // 2:
        return None
    full = sum(width - WRAP_SLACK < len(a.rstrip()) <= width for a, _ in pairs)
    if full < WRAP_FULL_SHARE * len(pairs):
        return None
    # ... and as wrapping cuts sentences, many of the next lines start with a lowercase
    # word; lists of headlines, menu items or product features (each line capitalised)
    # do not. Scripts without case give no evidence either way.
    cased = []
    for _, b in pairs:
        m = _FIRST_LETTER.match(b)
        if m and m[1].isupper() != m[1].islower():
            cased.append(m[1].islower())
    if sum(cased) < WRAP_MIN_LOWER_SHARE * len(cased):
        return None
    return width


def _continues(prev: str, line: str, width: int) -> bool:
    """Whether ``line`` continues the paragraph of ``prev`` in text wrapped at ``width``."""
    stripped = line.lstrip()
    if _BLOCK_START.match(line):
        return False
    first_word = stripped.split(None, 1)[0] if stripped else ""
    # Greedy wrapping moved the word to this line only because it did not fit on ``prev``.
    return len(prev.rstrip()) + 1 + len(first_word) > width - 2


def split_sentences(text: str, start: int) -> list[tuple[int, int]]:
    """Sentence-sized (start, end) spans of one long line, at offset ``start``.

    Lengths and cuts leave Markdown link and image targets out: a piece of URL or base64
    is not text (and training, which takes whole lines, never sees one), and a line that
    is one image with a 100 KB ``data:`` URI is a short line, kept whole."""
    targets = link_target_spans(text)
    if len(text) - sum(b - a for a, b in targets) <= MAX_LINE_CHARS:
        return [(start, start + len(text))]
    spans = []
    pos = 0
    cjk = any(stop in text for stop in _CJK_STOPS)
    for m in (_SENTENCE_BREAK if cjk else _SENTENCE_BREAK_NO_CJK).finditer(text):
        if targets and _target_around(targets, m.start()):
            continue
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for a, b in spans:
        while b - a > MAX_PIECE_CHARS:
            cut = text.rfind(" ", a + MAX_PIECE_CHARS // 2, a + MAX_PIECE_CHARS)
            if cut <= a:
                cut = a + MAX_PIECE_CHARS
            if targets:
                around = _target_around(targets, cut)
                if around is not None:
                    cut = around[1] + 1  # after the target's ")"
                    if cut >= b:
                        break
            out.append((a, cut))
            a = cut
            while a < b and text[a].isspace():
                a += 1
        if b > a:
            out.append((a, b))
    # A piece of only zero-width characters (e.g. between two separators) is not a unit.
    return [(start + a, start + b) for a, b in out if not is_blank(text[a:b])]


def _target_around(targets: list[tuple[int, int]], pos: int) -> tuple[int, int] | None:
    """The target (from ``link_target_spans``) that a cut at ``pos`` would fall inside."""
    i = bisect.bisect_right(targets, (pos, float("inf"))) - 1  # last target starting <= pos
    if i >= 0 and targets[i][0] <= pos <= targets[i][1]:
        return targets[i]
    return None


def segment(text: str) -> list[Unit]:
    """Split ``text`` into units, in document order."""
    if _line_units is not None:
        lines, per_line, longest, long = _line_units(text, Unit, WRAP_MAX_WIDTH)
    else:
        lines, starts, ends = _physical_lines(text)
        per_line, longest, long = None, max(map(len, lines), default=0), None
    width = wrap_width(lines, long)
    split_long = longest > MAX_LINE_CHARS and (
        longest >= PAGE_LINE_SHARE * len(text) or _few_lines(lines))
    if width is None and not split_long:
        return per_line if per_line is not None else _one_per_line(lines, starts, ends)
    if per_line is not None:
        lines, starts, ends = _physical_lines(text)
    units: list[Unit] = []
    paragraph = 0
    prev_blank = True
    blank_chars = _BLANK_CHARS
    for i, line in enumerate(lines):
        if not line.strip(blank_chars):
            if not prev_blank:
                paragraph += 1
            prev_blank = True
            continue
        a, b = starts[i], ends[i]
        if width is not None and not prev_blank and _continues(lines[i - 1], line, width):
            last = units[-1]
            units[-1] = Unit(text[last.start : b], last.start, b, last.line, i, paragraph)
        elif split_long and len(line) > MAX_LINE_CHARS:
            units.extend(
                Unit(text[s:e], s, e, i, i, paragraph) for s, e in split_sentences(line, a)
            )
        else:
            units.append(Unit(line, a, b, i, i, paragraph))
        prev_blank = False
    return units


def _few_lines(lines: list[str]) -> bool:
    """Whether fewer than SPLIT_MAX_LINES of ``lines`` are non-blank."""
    found = 0
    for line in lines:
        if not is_blank(line):
            found += 1
            if found >= SPLIT_MAX_LINES:
                return False
    return True


def _one_per_line(lines: list[str], starts: list[int], ends: list[int]) -> list[Unit]:
    """``segment`` of text that is neither wrapped nor a page on a few long lines: one
    unit per non-blank line, made with C-level maps (the common case)."""
    blank = list(map(operator.not_, map(_STRIP_BLANK, lines)))
    # A paragraph ends at each blank line that follows a non-blank one.
    ended = map(operator.gt, blank, itertools.chain((True,), blank))
    paragraphs = itertools.accumulate(ended, initial=0)
    # Unit index i of a kept line: fields (text, start, end, line, last_line, paragraph).
    rows = zip(lines, starts, ends, itertools.count(), itertools.count(), paragraphs)
    kept = itertools.compress(rows, map(operator.not_, blank))
    return list(map(tuple.__new__, itertools.repeat(Unit), kept))


def join_units(text: str, units: list[Unit]) -> str:
    """The kept ``units`` of ``text`` as output: original spelling and order, one blank
    line between paragraphs, newline-terminated; "" when nothing is kept."""
    if not units:
        return ""
    nl = newline_of(text)
    parts = [units[0].text]
    for prev, unit in zip(units, units[1:], strict=False):
        if unit.line == prev.last_line:
            # Pieces of one long line: contiguous pieces keep what stood between them.
            # The separator may be "" (a piece cut without one), zero-width characters (a
            # blank piece dropped), or " | ": anything else is a dropped piece.
            between = text[prev.end : unit.start]
            contiguous = "\n" not in between and (
                is_blank(between) or _SENTENCE_BREAK.fullmatch(between) is not None
            )
            parts.append(between if contiguous else nl)
        elif unit.paragraph == prev.paragraph:
            parts.append(nl)
        else:
            parts.append(nl + nl)
        parts.append(unit.text)
    parts.append(nl)
    return "".join(parts)


def join_kept(
    text: str, units: Sequence[Unit], labels: Sequence[int], chosen: Collection[int]
) -> str:
    """``join_units`` of the ``units`` whose label index (``labels``, one per unit) is in
    ``chosen``: in C where the extension is built, as every cleaned page ends here."""
    if _join_kept is not None and isinstance(units, list) and isinstance(labels, list):
        mask = sum(1 << label for label in set(chosen) if 0 <= label < 64)
        joined = _join_kept(units, labels, mask, newline_of(text))
        if joined is not None:  # (None: kept pieces of one long line, judged below)
            return joined
    return join_units(text, [unit for unit, label in zip(units, labels, strict=True)
                             if label in chosen])


def units_of_lines(
    lines: list[str], labels: list[str] | None = None
) -> tuple[str, list[Unit]]:
    """The text of labelled ``lines`` and one unit per labelled (else non-blank) line:
    labels are given per line, so training and evaluation never merge or split lines."""
    text = "\n".join(lines)
    units: list[Unit] = []
    pos = 0
    paragraph = 0
    prev_blank = True
    for i, line in enumerate(lines):
        if (not labels[i]) if labels is not None else is_blank(line):
            if not prev_blank:
                paragraph += 1
            prev_blank = True
        else:
            units.append(Unit(line, pos, pos + len(line), i, i, paragraph))
            prev_blank = False
        pos += len(line) + 1
    return text, units
