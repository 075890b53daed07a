"""Units -> words: each unit's ``\\w`` tokens, lowercased, and what is read from them.

For a batch of units at once: each unit's words, their crc32 and stopword flags
(``hashing._word_infos``), its first and last word, its first and last three characters
(for hashed n-grams) and its key, the words joined by single spaces (for repeats within a
document and the section-marker prefilter). The units are joined into one string, which is
lowercased and cut into words by table (``chartable``) rather than by a regex and a
``str.lower`` per unit; only where lowercasing changes the text's length (U+0130) are the
units read one by one.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from .chartable import _J_WORD, _codepoints, _lower_table
from .hashing import _ENCODE, _cached, _word_info, _word_infos

_WORD = re.compile(r"\w+")
# Separator between units in the joined text: not a word, space or cased character, and
# not case-ignorable either, so lowercasing the joined text lowercases each unit alone.
_SEPARATORS = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10"
#: Characters in a unit's head and in its tail.
_EDGE_CHARS = 3


def _join(texts: Sequence[str]) -> tuple[str, str]:
    """The units' texts, each followed by a separator that none of them holds, and the
    separator."""
    for sep in _SEPARATORS:
        joined = sep.join(itertools.chain(texts, ("",)))
        if joined.count(sep) == len(texts):
            return joined, sep
    # The units hold every candidate: stand in a private-use character for the first one.
    # Both are one code point of the same class (neither word, space nor punctuation), so
    # offsets and features stay as they were.
    sep = _SEPARATORS[0]
    texts = [t.replace(sep, "") for t in texts]
    return sep.join(itertools.chain(texts, ("",))), sep


class Tokens(NamedTuple):
    """The words of a batch's units (see ``unit_tokens``)."""

    words: list[str] | str
    """All the tokens, unit after unit, or a string of them between whitespace."""
    word_counts: np.ndarray
    """How many of ``words`` each unit has."""
    word_start: np.ndarray
    """Index of each unit's first word."""
    word_end: np.ndarray
    """Index past each unit's last word."""
    word_info: np.ndarray
    """Per word: its crc32 times 2, plus 1 if it is a stopword."""
    word_bytes: np.ndarray
    """Per word: its length in UTF-8."""
    first_words: list[str]
    """Each unit's first word ("" if none)."""
    last_words: list[str]
    """Each unit's last word ("" if none)."""
    heads: list[str]
    """The first three characters of each stripped unit, lowercased."""
    tails: list[str]
    """The last three characters of each stripped unit, lowercased."""
    keys: list[str]
    """Each unit's words joined by single spaces."""
    lowered: str
    """The joined text, lowercased."""
    lowered_starts: np.ndarray
    """Where each unit starts in ``lowered``."""


def unit_tokens(
    joined: str, sep: str, cps: np.ndarray, codes: np.ndarray, in_bmp: bool,
    word_starts: np.ndarray, js: np.ndarray, je: np.ndarray, blank: np.ndarray,
    first: np.ndarray, last: np.ndarray,
) -> Tokens:
    """The words of the units of ``joined`` (``_join``'s text and separator): unit i is
    ``joined[js[i]:je[i]]``, ``cps`` and ``codes`` are the code points and
    ``chartable._joined_codes`` of ``joined`` (``in_bmp``: none above the BMP),
    ``word_starts`` each unit's number of ``\\w`` runs, and a unit not ``blank`` is
    ``joined[first[i]:last[i] + 1]`` once stripped."""
    n = len(js)
    # Tokens: \w runs of the lowercased text, which (but for U+0130, whose lowercase is
    # two characters) lines up with the joined text character by character. Lowercasing
    # by table is str.lower but for U+0130, U+03A3 (final sigma) and code points above the
    # BMP; the separators keep str.lower from looking across units.
    if in_bmp and "\u0130" not in joined and "\u03a3" not in joined:
        low = _lower_table().take(cps)
        lowered = low.tobytes().decode("utf-32-le", "surrogatepass")
    else:
        lowered = joined.lower()
        low = _codepoints(lowered) if len(lowered) == len(joined) else cps
    words: list[str] | str
    if len(lowered) == len(joined):
        # The \w runs of the joined text, lowercased (no \w character lowercases to
        # whitespace: tests/test_features.py checks every code point), between spaces.
        is_word = (codes & _J_WORD).view(bool)
        spaced = np.where(is_word, low, 0x20).astype("<u4", copy=False)
        spaced_text = words = spaced.tobytes().decode("utf-32-le")
        word_counts = word_starts
        word_end = np.cumsum(word_counts)
        word_start = word_end - word_counts
        # Each unit's words joined by single spaces: its words' characters, the character
        # before each word but its first (made a space), and the separator.
        starts_here = is_word.copy()
        starts_here[1:] &= ~is_word[:-1]
        at = np.flatnonzero(starts_here)
        ends_here = is_word.copy()
        ends_here[:-1] &= ~is_word[1:]
        past = np.flatnonzero(ends_here) + 1  # word i is spaced_text[at[i]:past[i]]
        word_info, word_bytes = _word_infos(spaced_text, at, past, in_bmp)
        heads, tails, first_words, last_words = _unit_edges(
            low, first, np.where(blank, 0, last + 1 - first), at, past, word_start, word_end,
            sep)
        later = np.ones(len(at), bool)
        later[word_start[word_counts > 0]] = False
        keep = is_word.copy()
        keep[at[later] - 1] = True
        keep[je] = True
        spaced[je] = ord(sep)
        keys = spaced[keep].tobytes().decode("utf-32-le").split(sep)[:n]
        lowered_starts = js
    else:  # unit by unit
        stripped = [t.strip() for t in lowered.split(sep)[:n]]
        per_unit = [_WORD.findall(t) for t in stripped]
        words = list(itertools.chain.from_iterable(per_unit))
        word_counts = np.fromiter(map(len, per_unit), np.int64, n)
        word_end = np.cumsum(word_counts)
        word_start = word_end - word_counts
        keys = list(map(" ".join, per_unit))
        word_bytes = np.fromiter(map(len, map(_ENCODE, words)), np.int64, len(words))
        word_info = _cached("word", words, _word_info)
        first_words, last_words = _edge_words(words, word_start, word_end)
        heads = [t[:3] for t in stripped]
        tails = [t[-3:] for t in stripped]
        seps = np.flatnonzero(_codepoints(lowered) == ord(sep))
        lowered_starts = np.concatenate([[0], seps[:-1] + 1])
    return Tokens(words, word_counts, word_start, word_end, word_info, word_bytes, first_words,
                  last_words, heads, tails, keys, lowered, lowered_starts)


def _gather_spans(
    cps: np.ndarray, starts: np.ndarray, lengths: np.ndarray, sep: str
) -> list[str]:
    """The strings ``cps[starts[i]:starts[i] + lengths[i]]`` of code points (``sep`` in
    none): gathered into one string, each followed by ``sep``, and split, rather than
    sliced one at a time."""
    total = lengths + 1
    end = np.cumsum(total)
    index = np.arange(int(end[-1]) if len(end) else 0) + np.repeat(starts - (end - total), total)
    chars = cps.take(index, mode="clip")
    chars[end - 1] = ord(sep)
    text = chars.astype("<u4", copy=False).tobytes().decode("utf-32-le", "surrogatepass")
    return text.split(sep)[:-1]


def _unit_edges(
    cps: np.ndarray, first: np.ndarray, lengths: np.ndarray, word_at: np.ndarray,
    word_past: np.ndarray, word_start: np.ndarray, word_end: np.ndarray, sep: str,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Heads, tails, first words and last words of the units (all four gathered at once):
    unit i is ``cps[first[i]:][:lengths[i]]`` once stripped, its words are words
    ``word_start[i]`` to ``word_end[i]`` and word j is ``cps[word_at[j]:word_past[j]]``
    ("" for a unit without words)."""
    n = len(first)
    size = np.minimum(lengths, _EDGE_CHARS)
    has_words = np.concatenate([word_end > word_start] * 2)
    word = np.concatenate([word_start, word_end - 1])[has_words]
    word_starts = np.zeros(2 * n, np.int64)
    word_sizes = np.zeros(2 * n, np.int64)
    word_starts[has_words] = word_at[word]
    word_sizes[has_words] = word_past[word] - word_at[word]
    parts = _gather_spans(cps, np.concatenate([first, first + lengths - size, word_starts]),
                          np.concatenate([size, size, word_sizes]), sep)
    return parts[:n], parts[n : 2 * n], parts[2 * n : 3 * n], parts[3 * n :]


def _edge_words(
    words: list[str], word_start: np.ndarray, word_end: np.ndarray
) -> tuple[list[str], list[str]]:
    """The first and the last of each unit's words ``words[word_start[i]:word_end[i]]``
    ("" for a unit without words), picked in one pass."""
    none = len(words)
    has_words = word_end > word_start
    at = np.concatenate([np.where(has_words, word_start, none),
                         np.where(has_words, word_end - 1, none)])
    picked = list(map([*words, ""].__getitem__, at.tolist()))
    return picked[: len(word_start)], picked[len(word_start) :]


def _units_holding(text: str, needles: Iterable[str], starts: list[int]) -> np.ndarray:
    """Which units (starting at ``starts`` in ``text``) hold one of ``needles``; one
    ``find`` per unit that does, none for those that do not."""
    hit = np.zeros(len(starts), bool)
    for needle in needles:
        i = text.find(needle)
        while i >= 0:
            unit = bisect.bisect_right(starts, i) - 1
            hit[unit] = True
            if unit + 1 == len(starts):
                break
            i = text.find(needle, starts[unit + 1])
    return hit
