"""Units -> numbers: dense measures of each unit and its neighbours, and hashed n-grams.

Speed matters (the cleaner must handle 10+ MB/s), so the work is done per document, or per
batch of documents (``featurize_many``), not per unit or token: the units are joined into
one string, which is lowercased, tokenised and classified character by character with
numpy lookup tables, and per-unit counts are differences of cumulative sums. Each token's
crc32 and stopword flag come from numpy passes over the words' UTF-8 bytes (CRC-32 is
affine in the message). What is left in Python is a few C-level ``map`` calls per unit.
The dense columns are listed in ``DENSE_NAMES``.

A trained model depends on these exact values: any change here must leave ``featurize``
and ``hashed`` outputs unchanged (or the model be retrained).
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
import regex
import scipy.sparse as sp

from . import crc
from .labels import LABELS
from .markdown import link_target_spans, mask_link_targets
from .segment import Unit
from .stopwords import STOPWORDS

#: Neighbour offsets whose measures are copied into a unit's row.
NEIGHBOURS = (-2, -1, 1, 2)
#: Half-width of the window over which neighbour measures are averaged.
WINDOW = 5
#: Units whose normalised text is at least this long take part in containment checks.
MIN_CONTAIN_CHARS = 16

_ALPHA, _UPPER, _DIGIT, _SPACE, _PUNCT, _END = 1, 2, 4, 8, 16, 32
_WORD = re.compile(r"\w+")
_MD_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")
_TERMINAL_CHARS = ".!?\u2026\u3002\uff01\uff1f"
_TERMINAL = frozenset(".!?\u2026\u3002\uff01\uff1f;")
_CLOSING = frozenset("\"'\u201d\u2019\u00bb)]")
#: A short line that opens a comment or review section ("Comments", "3 Kommentare", "Leave
#: a reply", "47 people found this review helpful", "Reply"). Everything after such a line
#: tends not to be the article, however much it reads like prose: stage 2 sees where the
#: last one was (see ``context.stage2_inputs``). On dev, 1.5% of matching lines are body.
SECTION_MARKER = regex.compile(
    r"""(?ix)^\W*(?:\d+\s+)?(?:
      comments?|kommentare?|commentaires?|comentarios?|commenti|komentarze|reviews?
      |customer\ reviews|bewertungen|kundenbewertungen|avis|reseñas|recensioni|responses?
      |replies|antworten|diskussion|discussion
    )\W*(?:\(\d+\))?\W*$
    |^\W*(?:leave\ a\ (?:reply|comment)|write\ a\ review|add\ a\ comment|post\ a\ comment
      |join\ the\ discussion|schreibe?\ (?:einen\ )?kommentar|kommentar\ schreiben
      |laisser\ un\ commentaire|deja\ un\ comentario|dejar\ un\ comentario)
    |found\ this\ (?:review\ )?helpful|fanden\ diese|was\ this\ (?:review\ )?helpful
    |(?:^|\s)(?:reply|antworten|répondre|responder|rispondi)\W*$
    |\b(?:says|sagt|dit|dice)\s*:\s*$""")
#: Longer lines are not section markers (a sentence may end in "reply").
MARKER_MAX_WORDS = 12
#: Lowercase pieces of which every SECTION_MARKER match holds one, each inside one word
#: ("ment" for all the comment words, "ussion" for discussion and Diskussion, "respon"
#: for response and responder, ...): the regex, at some 8 microseconds a unit, runs only on
#: units whose words hold one of them. Add a piece here for every word added there.
_MARKER_PIECES = (
    "ment", "review", "bewertungen", "avis", "reseñas", "recensioni", "respon", "répondre",
    "repl", "antworten", "ussion", "helpful", "fanden", "rispondi", "says", "sagt", "dit",
    "dice")
#: The only characters that SECTION_MARKER's case-insensitive matching takes for a letter
#: of those pieces but that str.lower() makes another letter (or two characters):
#: U+0130 (matches "i") and U+017F, long s (matches "s"). Where one occurs, every unit
#: is searched.
_MARKER_FOLDS = "\u0130\u017f"
_BULLETS = ("* ", "- ", "+ ", "\u2022", "\u00b7", "\u25cf", "\u25aa", "\u2013 ", "\u2014 ")

OWN_NAMES: tuple[str, ...] = (
    "log_chars", "log_words", "alpha_frac", "digit_frac", "upper_frac", "punct_frac",
    "end_terminal", "end_colon", "end_close", "end_digit", "end_alnum",
    "start_upper", "start_lower", "start_digit", "start_other",
    "stop_frac", "log_sentences", "mean_word_len", "title_case", "all_upper",
    "md_heading", "md_bullet", "md_link_frac", "md_image", "md_quote", "has_pipe",
    "has_copyright", "has_url_or_at",
    "rel_pos", "log_index", "log_index_from_end", "char_pos",
    "blank_before", "blank_after", "log_paragraph_units", "index_in_paragraph",
    "log_duplicates", "duplicate_nearby", "contained_in_neighbour", "contains_neighbour",
    "rel_len", "doc_log_units", "doc_terminal_frac",
    "log_first_word_repeats", "log_last_word_repeats", "log_shape_run",
) + tuple(f"rule_{label}" for label in LABELS) + ("section_marker",)
#: Own measures that are also copied from neighbours and averaged over the window.
CONTEXT_NAMES: tuple[str, ...] = (
    "log_chars", "log_words", "end_terminal", "stop_frac", "md_link_frac", "blank_before",
    "start_lower", "contained_in_neighbour", "contains_neighbour", "log_first_word_repeats",
    "rule_boilerplate", "rule_promo",
)
DENSE_NAMES: tuple[str, ...] = (
    OWN_NAMES
    + tuple(f"{name}@{k:+d}" for k in NEIGHBOURS for name in CONTEXT_NAMES)
    + tuple(f"{name}@mean" for name in CONTEXT_NAMES)
)
_CONTEXT_COLUMNS = [OWN_NAMES.index(name) for name in CONTEXT_NAMES]
_COLUMN = {name: i for i, name in enumerate(OWN_NAMES)}

# ----- character tables ----------------------------------------------------------------
# Tables cover the BMP; the rare characters above it are looked up one by one (see
# _lookup), except in char_table, whose counts treat them as "other" (the model was
# trained that way).

_BMP = 0x10000
# Text classes as small codes, so that a pair of neighbouring codes fits in one byte.
_T_OTHER, _T_LOWER, _T_UPPER, _T_DIGIT, _T_SPACE, _T_PUNCT, _T_END = range(7)
# Joined-text codes: \w (isalnum or "_") plus the case as str.isupper/islower/istitle see it.
_J_WORD, _J_UPPER, _J_LOWER, _J_TITLE = 1, 2, 4, 6
_J_CASE = 6
# Flags of a unit's first and last non-space characters.
_E_UPPER, _E_LOWER, _E_DIGIT, _E_ALNUM, _E_TERMINAL, _E_CLOSING, _E_SPACE = (
    1, 2, 4, 8, 16, 32, 64)
_E_HASH, _E_QUOTE, _E_COLON, _E_BULLET, _E_BULLET_SPACE = 128, 256, 512, 1024, 2048
#: Characters with flags of their own, by flag.
_E_CHARS = {_E_TERMINAL: _TERMINAL, _E_CLOSING: _CLOSING, _E_HASH: "#", _E_QUOTE: ">",
            _E_COLON: ":", _E_BULLET: [b for b in _BULLETS if len(b) == 1],
            _E_BULLET_SPACE: [b[0] for b in _BULLETS if len(b) == 2]}
# Separator between units in the joined text: not a word, space or cased character, and
# not case-ignorable either, so lowercasing the joined text lowercases each unit alone.
_SEPARATORS = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10"


@lru_cache(maxsize=1)
def _bmp() -> str:
    """Every BMP character, in order: the tables are made with one C-level map over it."""
    return "".join(map(chr, range(_BMP)))


@cache
def _is(method: Callable[[str], bool]) -> np.ndarray:
    """``method(c)`` of every BMP character (shared by the tables: do not modify)."""
    return np.fromiter(map(method, _bmp()), bool, _BMP)


@lru_cache(maxsize=1)
def char_table() -> np.ndarray:
    """Class flags of every BMP code point (characters above it count as "other")."""
    alpha, upper, digit = _is(str.isalpha), _is(str.isupper), _is(str.isdigit)
    space = _is(str.isspace).copy()
    space[[0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]] = True
    punct = np.fromiter((c[0] in "PS" for c in map(unicodedata.category, _bmp())), bool, _BMP)
    end = np.zeros(_BMP, bool)
    end[[ord(c) for c in _TERMINAL_CHARS]] = True
    return np.select(
        [alpha, digit, space, punct],
        [_ALPHA | upper * _UPPER, _DIGIT, _SPACE, _PUNCT | end * _END],
        0,
    ).astype(np.uint8)


@lru_cache(maxsize=1)
def _text_codes() -> np.ndarray:
    """char_table as codes 0..6 (one per class combination that occurs)."""
    lut = np.zeros(64, np.uint8)
    for flags, code in ((_ALPHA, _T_LOWER), (_ALPHA | _UPPER, _T_UPPER), (_DIGIT, _T_DIGIT),
                        (_SPACE, _T_SPACE), (_PUNCT, _T_PUNCT), (_PUNCT | _END, _T_END)):
        lut[flags] = code
    return lut[char_table()]


@lru_cache(maxsize=1)
def _text_fields() -> np.ndarray:
    """Per (code, next code) pair: is it alpha, upper, digit, punct, space, a sentence end
    (terminal punctuation followed by a space)."""
    this, nxt = np.divmod(np.arange(64), 8)
    return np.array([
        (this == _T_LOWER) | (this == _T_UPPER), this == _T_UPPER, this == _T_DIGIT,
        (this == _T_PUNCT) | (this == _T_END), this == _T_SPACE,
        (this == _T_END) & (nxt == _T_SPACE),
    ], np.uint8)


def _joined_code(c: str) -> int:
    """_joined_codes of one character (for those above the BMP)."""
    word = _J_WORD if c.isalnum() or c == "_" else 0
    if c.isupper():
        return word | _J_UPPER
    if c.islower():
        return word | _J_LOWER
    return word | (_J_TITLE if c.istitle() else 0)


@lru_cache(maxsize=1)
def _joined_codes() -> np.ndarray:
    """Word and case code of every BMP character, as the \\w regex and str.isupper,
    islower and istitle see it."""
    word = _is(str.isalnum).copy()
    word[ord("_")] = True
    case = np.select([_is(str.isupper), _is(str.islower), _is(str.istitle)],
                     [_J_UPPER, _J_LOWER, _J_TITLE], 0)
    return (word * _J_WORD | case).astype(np.uint8)


@lru_cache(maxsize=1)
def _joined_fields() -> np.ndarray:
    """Per (previous code, code) pair: does a \\w run start here, does str.istitle fail
    here (a capital after a cased character, or a small letter after an uncased one), is
    the character upper, is it lower or title case."""
    prev, this = np.divmod(np.arange(64), 8)
    prev_cased = (prev & _J_CASE) != 0
    case = this & _J_CASE
    capital = (case == _J_UPPER) | (case == _J_TITLE)
    return np.array([
        ((this & _J_WORD) != 0) & ((prev & _J_WORD) == 0),
        capital & prev_cased | (case == _J_LOWER) & ~prev_cased,
        case == _J_UPPER,
        (case == _J_LOWER) | (case == _J_TITLE),
    ], np.uint8)


def _edge_flags(c: str) -> int:
    """_edge_table of one character (for those above the BMP, and stripped units)."""
    flags = (c.isupper() * _E_UPPER | c.islower() * _E_LOWER | c.isdigit() * _E_DIGIT
             | c.isalnum() * _E_ALNUM | c.isspace() * _E_SPACE)
    return flags | sum(flag for flag, chars in _E_CHARS.items() if c in chars)


@lru_cache(maxsize=1)
def _lower_table() -> np.ndarray:
    """str.lower of every BMP code point whose lowercase is one character (all but
    U+0130; the context-dependent final sigma of U+03A3 is not covered either)."""
    chars = _bmp().replace("\u0130", "\0")
    return np.fromiter(map(ord, map(str.lower, chars)), np.uint32, _BMP)


@lru_cache(maxsize=1)
def _edge_table() -> np.ndarray:
    """What the first or last character of a unit tells, for every BMP character."""
    table = (_is(str.isupper) * _E_UPPER | _is(str.islower) * _E_LOWER
             | _is(str.isdigit) * _E_DIGIT | _is(str.isalnum) * _E_ALNUM
             | _is(str.isspace) * _E_SPACE).astype(np.uint16)
    for flag, chars in _E_CHARS.items():
        table[[ord(c) for c in chars]] |= flag
    return table


def _lookup(table: np.ndarray, cps: np.ndarray, exact: Callable[[str], int]) -> np.ndarray:
    """table[cps], with ``exact(chr(cp))`` for code points above the BMP."""
    if not len(cps) or int(cps.max()) < _BMP:
        return table.take(cps)
    out = table.take(np.minimum(cps, _BMP - 1))
    above = np.flatnonzero(cps >= _BMP)
    values, inverse = np.unique(cps[above], return_inverse=True)
    out[above] = np.array([exact(chr(cp)) for cp in values.tolist()], out.dtype)[inverse]
    return out


def _codepoints(text: str) -> np.ndarray:
    """The code points of ``text`` (lone surrogates included) as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


@cache
def _packed(fields: Callable[[], np.ndarray], width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``fields()`` table packed ``width`` bits a field, as many fields as fit in a
    uint64 (one packed value per pair code), and each group's shifts (as a column)."""
    table = fields()
    per_sum = max(64 // width, 1)
    groups = []
    for first in range(0, len(table), per_sum):
        group = table[first : first + per_sum].astype(np.uint64)
        shifts = (np.arange(len(group)) * width).astype(np.uint64)[:, None]
        groups.append(((group << shifts).sum(axis=0, dtype=np.uint64), shifts))
    return groups


def _span_sums(
    pairs: np.ndarray, fields: Callable[[], np.ndarray], starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """(len(fields()), n) sums of ``fields()[k][pairs[i]]`` over i in [starts, ends).

    Fields are packed side by side into one uint64 per character, as wide as the longest
    span needs, so that one cumulative sum counts several of them at once (wrap-around of
    the running sum cancels out in the differences)."""
    width = max(int((ends - starts).max(initial=0)).bit_length(), 1)
    mask = np.uint64((1 << min(width, 64)) - 1)
    cum = np.zeros(len(pairs) + 1, np.uint64)
    out = []
    for packed, shifts in _packed(fields, width):
        np.cumsum(packed.take(pairs), out=cum[1:])
        out.append(((cum[ends] - cum[starts]) >> shifts) & mask)
    return (out[0] if len(out) == 1 else np.concatenate(out)).astype(np.int64)


def _class_counts(text: str, starts: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Per-unit counts of letters, capitals, digits, punctuation, spaces and sentence
    ends (terminal punctuation followed by a space or the end of the text)."""
    cps = _codepoints(text)
    if len(cps) and int(cps.max()) >= _BMP:
        cps = np.minimum(cps, _BMP - 1)
    codes = _text_codes().take(cps)
    pairs = np.empty(len(codes), np.uint8)
    if len(codes):
        np.left_shift(codes, 3, out=pairs)
        pairs[:-1] |= codes[1:]
        pairs[-1] |= _T_SPACE
    sums = _span_sums(pairs, _text_fields, starts, ends).astype(np.float32)
    return dict(zip(("alpha", "upper", "digit", "punct", "space", "sentences"), sums))


@lru_cache(maxsize=1024)
def _window_bounds(n: int, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and past-the-end row of the window around each of n rows, and its width
    (read-only, shared)."""
    idx = np.arange(n)
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, n)
    bounds = lo, hi, hi - lo
    for array in bounds:
        array.flags.writeable = False
    return bounds


def _window(values: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of rows i-half .. i+half (clipped at the document's ends), and how many rows
    each sum holds."""
    n = len(values)
    lo, hi, width = _window_bounds(n, half)
    cum = np.zeros((n + 1,) + values.shape[1:], np.float64)
    np.cumsum(values, axis=0, out=cum[1:])
    return cum[hi] - cum[lo], width.reshape((-1,) + (1,) * (values.ndim - 1))


def window_mean(values: np.ndarray, half: int) -> np.ndarray:
    """Mean of rows i-half .. i+half (clipped at the document's ends)."""
    sums, width = _window(values, half)
    return (sums / width).astype(np.float32)


def window_sum(values: np.ndarray, half: int) -> np.ndarray:
    """Sum of rows i-half .. i+half (clipped at the document's ends)."""
    return _window(values, half)[0]


class DocFeatures:
    """Dense and hashed features of one document's units."""

    __slots__ = ("dense", "_words", "word_counts", "word_info", "word_bytes", "first_words",
                 "last_words", "heads", "tails")

    def __init__(
        self,
        dense: np.ndarray,
        words: list[str] | str,
        word_counts: np.ndarray,
        word_info: np.ndarray,
        word_bytes: np.ndarray,
        first_words: list[str],
        last_words: list[str],
        heads: list[str],
        tails: list[str],
    ):
        self.dense = dense
        # The tokens, or a string of them between whitespace: prediction never reads them
        # (only their crc32 and sizes), so featurize leaves splitting them to ``words``.
        self._words = words
        self.word_counts = word_counts
        """How many of ``words`` each unit has."""
        self.word_info = word_info
        """Per word: its crc32 (see ``hashed``) times 2, plus 1 if it is a stopword."""
        self.word_bytes = word_bytes
        """Per word: its length in UTF-8 (hashed n-grams of words are made from it)."""
        self.first_words = first_words
        """Each unit's first token ("" if none)."""
        self.last_words = last_words
        self.heads = heads
        """The first three characters of each stripped unit, lowercased."""
        self.tails = tails
        """The last three characters of each stripped unit, lowercased."""

    @property
    def words(self) -> list[str]:
        """All casefolded ``\\w+`` tokens of the document, unit after unit."""
        if isinstance(self._words, str):
            self._words = self._words.split()
        return self._words

    @property
    def tokens(self) -> list[list[str]]:
        """Casefolded ``\\w+`` tokens of each unit."""
        ends = np.cumsum(self.word_counts)
        return _slices(self.words, ends - self.word_counts, ends)

    @property
    def edges(self) -> list[str]:
        """Head and tail of each unit, interleaved."""
        return [e for pair in zip(self.heads, self.tails) for e in pair]

    def __len__(self) -> int:
        return len(self.dense)


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


def _slices(seq: Sequence, a: np.ndarray, b: np.ndarray) -> list:
    """seq[a[i]:b[i]] for each i, without a Python-level loop."""
    return list(map(seq.__getitem__, map(slice, a.tolist(), b.tolist())))


#: Characters in a unit's head and in its tail.
_EDGE_CHARS = 3


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


#: Memoised crc32 of feature strings (unlike ``hash()``, the same in every process), by
#: kind; each is emptied when it outgrows its limit (entries take 100-150 bytes), which
#: bounds them to about 100 MB together on the longest runs.
_HASH_CACHE_MAX = {"word": 1 << 19, "<": 1 << 17, ">": 1 << 17}
_CACHES: dict[str, dict] = {kind: {} for kind in _HASH_CACHE_MAX}


def _cached(kind: str, keys: Sequence, value: Callable[[Any], int]) -> np.ndarray:
    """``value(key)`` for each of ``keys``, memoised by key."""
    cache = _CACHES[kind]
    out = np.fromiter(map(cache.get, keys, itertools.repeat(-1)), np.int64, len(keys))
    missing = np.flatnonzero(out < 0)
    if len(missing):
        if len(cache) > _HASH_CACHE_MAX[kind]:
            cache.clear()
        for i in missing.tolist():
            key = keys[i]
            out[i] = cache[key] = value(key)
    return out


_crc = crc.crc
_ENCODE = operator.methodcaller("encode", "utf-8", "surrogatepass")


#: Longest word (in UTF-8 bytes) whose crc32 is made in numpy; longer ones, rare, by zlib.
_MAX_TABLE_WORD = 64
#: Longest stopword in UTF-8 bytes; up to 4 bytes, a word's crc32 and length tell it apart
#: from every other word of its length (the CRC is injective on 32-bit messages).
_LONGEST_STOPWORD = max(len(w.encode("utf-8")) for w in STOPWORDS)
_CRC_EXACT_BYTES = 4
_LENGTH_BITS = 4


@lru_cache(maxsize=1)
def _crc_tables() -> tuple[np.ndarray, np.ndarray]:
    """CRC-32 by parts: zlib.crc32(m) is the xor of ``empty[len(m)]`` and, for each byte b
    of m with d bytes after it, ``byte[d, b]`` (the CRC is affine in the message)."""
    byte = np.stack([crc.shift(crc._byte_table(), np.full(256, d))
                     for d in range(_MAX_TABLE_WORD)]).astype(np.uint32)
    empty = np.array([crc.crc("\0" * n) for n in range(_MAX_TABLE_WORD + 1)], np.uint32)
    return byte.reshape(-1), empty


#: Bits of a word's crc32 that index the stopword lookup table.
_STOP_INDEX_BITS = 16


@lru_cache(maxsize=1)
def _stopword_table() -> tuple[int, np.ndarray, np.ndarray]:
    """(shift, index, keys): stopword ``index[(key >> shift) & mask]`` of ``keys`` (0: none)
    is the only one that a word's key (its crc32 and length, see _word_infos) can match,
    for a shift that gives every stopword an index of its own."""
    words = sorted(STOPWORDS)
    crcs = np.array([crc.crc(w) for w in words], np.int64)
    sizes = np.array([len(w.encode("utf-8")) for w in words], np.int64)
    keys = np.concatenate([[-1], crcs << _LENGTH_BITS | sizes])
    mask = (1 << _STOP_INDEX_BITS) - 1
    for shift in range(_LENGTH_BITS, _LENGTH_BITS + 32 - _STOP_INDEX_BITS + 1):
        slots = (keys[1:] >> shift) & mask
        if len(np.unique(slots)) == len(slots):
            index = np.zeros(mask + 1, np.uint16)
            index[slots] = np.arange(1, len(keys))
            return shift, index, keys
    raise AssertionError("no collision-free stopword table")  # never for these stopwords


def _word_infos(
    spaced: str, starts: np.ndarray, stops: np.ndarray, in_bmp: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``_word_info`` and word_bytes of each word of ``spaced`` (\\w runs between spaces;
    word i is ``spaced[starts[i]:stops[i]]``), in a few numpy passes over its bytes rather
    than a dict lookup or a CRC per word. ``in_bmp``: no character of ``spaced`` is above
    the BMP."""
    raw = np.frombuffer((" " + spaced + " ").encode("utf-8"), np.uint8)
    in_word = raw != 0x20
    # Byte i + 1 starts or ends a word where in_word changes between bytes i and i + 1.
    bounds = np.flatnonzero(in_word[1:] != in_word[:-1])
    before, last = bounds[0::2], bounds[1::2]
    sizes = last - before
    pos = np.flatnonzero(in_word)
    after = np.repeat(last, sizes) - pos
    np.minimum(after, _MAX_TABLE_WORD - 1, out=after)
    byte, empty = _crc_tables()
    parts = byte.take(after * 256 + raw.take(pos))
    # Each word's xor of parts, as the running xor at its end and the one before it
    # (cheaper than a reduceat, whose cost goes with the number of words).
    end = np.cumsum(sizes)
    first = end - sizes
    running = np.bitwise_xor.accumulate(parts)
    crcs = running.take(end - 1).astype(np.int64)
    crcs[1:] ^= running.take(end[:-1] - 1)
    crcs ^= empty.take(np.minimum(sizes, _MAX_TABLE_WORD))
    for i in np.flatnonzero(sizes > _MAX_TABLE_WORD).tolist():
        crcs[i] = _crc(spaced[starts[i] : stops[i]])
    key = crcs << _LENGTH_BITS | np.minimum(sizes, (1 << _LENGTH_BITS) - 1)
    shift, index, keys = _stopword_table()
    stop = keys.take(index.take((key >> shift) & (len(index) - 1))) == key
    for i in np.flatnonzero(stop & (sizes > _CRC_EXACT_BYTES)).tolist():
        stop[i] = spaced[starts[i] : stops[i]] in STOPWORDS
    return crcs << 1 | stop, sizes if in_bmp else _bmp_sizes(raw, pos, sizes, first)


def _bmp_sizes(
    raw: np.ndarray, pos: np.ndarray, sizes: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """Word sizes in bytes with each character above the BMP (4 bytes) counted as 3, as the
    model was trained (word ``i`` is ``raw[pos[first[i]:][:sizes[i]]]``)."""
    four = np.zeros(len(pos) + 1, np.int64)
    np.cumsum(raw.take(pos) >= 0xF0, out=four[1:])
    return sizes - (four[first + sizes] - four[first])


def _word_info(word: str) -> int:
    return _crc(word) << 1 | (word in STOPWORDS)


def link_share(text: str) -> float:
    """The share of a unit's stripped text that Markdown links and images take (of a unit
    holding one: "](")."""
    stripped = text.strip()
    return sum(map(len, _MD_LINK.findall(stripped))) / len(stripped)


def _flag_columns(columns: dict[str, int]) -> tuple[list[int], np.ndarray]:
    """Own column indices of ``columns`` and their flags, for _set_flag_columns."""
    return [_COLUMN[name] for name in columns], np.array(list(columns.values()), np.uint16)


#: Own columns that tell whether a unit's last (or first) non-space character has a flag.
_LAST_FLAG_COLUMNS = _flag_columns({
    "end_terminal": _E_TERMINAL, "end_colon": _E_COLON, "end_close": _E_CLOSING,
    "end_digit": _E_DIGIT, "end_alnum": _E_ALNUM})
_FIRST_FLAG_COLUMNS = _flag_columns({
    "start_upper": _E_UPPER, "start_lower": _E_LOWER, "start_digit": _E_DIGIT,
    "md_heading": _E_HASH, "md_quote": _E_QUOTE})


def _set_flag_columns(
    own: np.ndarray, flags: np.ndarray, columns: tuple[list[int], np.ndarray]
) -> None:
    """Sets the own ``columns`` to whether ``flags`` has each column's flag: one numpy call
    for all of them (numpy calls per document are most of what a short document costs)."""
    at, masks = columns
    own[:, at] = (flags[:, None] & masks) != 0


def featurize(text: str, units: Sequence[Unit], rule_labels: Sequence[int]) -> DocFeatures:
    """Features of ``units`` of ``text``; ``rule_labels[i]`` is the label index of the rule
    that matched unit i, or -1."""
    return featurize_many([(text, units, rule_labels)])[0]


def _grouped_window_mean(
    values: np.ndarray, half: int, lo_bound: np.ndarray, hi_bound: np.ndarray
) -> np.ndarray:
    """window_mean of each document's rows, for rows of several documents (row i belongs to
    the document of rows lo_bound[i] .. hi_bound[i] - 1)."""
    n = len(values)
    cum = np.zeros((n + 1,) + values.shape[1:], np.float64)
    np.cumsum(values, axis=0, out=cum[1:])
    idx = np.arange(n)
    lo, hi = np.maximum(idx - half, lo_bound), np.minimum(idx + half + 1, hi_bound)
    return ((cum[hi] - cum[lo]) / (hi - lo)[:, None]).astype(np.float32)


def _section_markers(
    texts: Sequence[str], keys: Sequence[str], short: np.ndarray, joined: str
) -> list[int]:
    """Which of units ``short`` (indices into ``texts``) SECTION_MARKER finds something in.

    Only units whose ``keys`` (lowercased words joined by spaces) hold one of
    ``_MARKER_PIECES`` are searched: a match is a run of letters that each lowercase to
    the letter of the piece it matched (tests/test_features.py checks every code point),
    so the unit's lowercased words hold that piece. ``joined`` is all units' texts, in
    which the few letters for which that does not hold are looked for."""
    if any(c in joined for c in _MARKER_FOLDS):
        candidates = short.tolist()
    else:
        picked = list(map(keys.__getitem__, short.tolist()))
        lengths = np.fromiter(map(len, picked), np.int64, len(picked)) + 1
        starts = (np.cumsum(lengths) - lengths).tolist()
        held = _units_holding("\n".join(picked), _MARKER_PIECES, starts)
        candidates = short[held].tolist()
    search = SECTION_MARKER.search
    return [i for i in candidates if search(texts[i])]


def _ids(values: Sequence) -> np.ndarray:
    """A number for each value: equal values, equal numbers (below len(values))."""
    first: dict = {}
    return np.fromiter(map(first.setdefault, values, itertools.count()), np.int64, len(values))


def _counts_within(doc: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """For each i, how many j of the same document have ids[j] == ids[i]."""
    if not len(doc) or doc[0] == doc[-1]:  # one document
        return np.bincount(ids)[ids]
    _, inverse, counts = np.unique(doc * (len(doc) + 1) + ids, return_inverse=True,
                                   return_counts=True)
    return counts[inverse]


def _visible_char_pos(
    docs: Sequence[tuple[str, Sequence[Unit], Sequence[int]]], text_len: np.ndarray,
    starts: np.ndarray, doc: np.ndarray, doc_start: np.ndarray,
) -> np.ndarray:
    """Where each unit starts, as a share of its text, both measured without Markdown link
    targets: one 100 KB ``data:`` image would otherwise put every unit near the top."""
    pos = starts.astype(np.float64)
    size = text_len.astype(np.float64)
    for d, (text, _, _) in enumerate(docs):
        spans = link_target_spans(text)
        if not spans:
            continue
        bounds = np.array(spans, np.int64)
        ends = bounds[:, 1]
        hidden = np.zeros(len(spans) + 1, np.int64)
        np.cumsum(ends - bounds[:, 0], out=hidden[1:])
        rows = slice(doc_start[d], doc_start[d] + len(docs[d][1]))
        pos[rows] -= hidden[np.searchsorted(ends, starts[rows], side="right")]
        size[d] -= hidden[-1]
    return np.maximum(pos, 0) / np.maximum(size, 1)[doc]


def featurize_many(
    docs: Sequence[tuple[str, Sequence[Unit], Sequence[int]]],
) -> list[DocFeatures]:
    """``featurize(text, units, rule_labels)`` of each of ``docs``, computed together: the
    numpy calls are the same for one document or a thousand, so a batch spends far less
    time per document."""
    docs = list(docs)
    sizes = np.array([len(units) for _, units, _ in docs], np.int64)
    n = int(sizes.sum())
    if n == 0:
        return [DocFeatures(np.zeros((0, len(DENSE_NAMES)), np.float32), [],
                            np.zeros(0, np.int64), np.zeros(0, np.int64),
                            np.zeros(0, np.int64), [], [], [], [])
                for _ in docs]
    col = _COLUMN
    dense = np.zeros((n, len(DENSE_NAMES)), np.float32)
    own = dense[:, : len(OWN_NAMES)]
    doc_end = np.cumsum(sizes)
    doc_start = doc_end - sizes
    doc = np.repeat(np.arange(len(docs)), sizes)
    unit_start, unit_end = doc_start[doc], doc_end[doc]
    n_doc = sizes[doc]
    texts, starts_, ends_, _, _, paragraphs = zip(
        *itertools.chain.from_iterable(units for _, units, _ in docs))
    if any("](" in text for text, _, _ in docs):  # units are slices of their texts
        texts = tuple(mask_link_targets(t) if "](" in t else t for t in texts)
    starts = np.array(starts_, np.int64)
    ends = np.array(ends_, np.int64)
    # The documents' texts, one after the other with a newline between them: terminal
    # punctuation at the end of one then ends a sentence, as at the end of a text.
    text_len = np.array([len(text) for text, _, _ in docs], np.int64)
    text_start = np.cumsum(text_len + 1) - text_len - 1
    counts = _class_counts("\n".join(text for text, _, _ in docs),
                           starts + text_start[doc], ends + text_start[doc])
    chars = (ends - starts).astype(np.float32) - counts["space"]
    safe_chars = np.maximum(chars, 1)

    # The units' own texts, joined: unit i is joined[js[i]:je[i]], a separator follows.
    joined, sep = _join(texts)
    lengths = np.fromiter(map(len, texts), np.int64, n)
    je = np.cumsum(lengths + 1) - 1
    js = je - lengths
    cps = _codepoints(joined)
    in_bmp = int(cps.max()) < _BMP
    codes = _joined_codes().take(cps) if in_bmp else _lookup(_joined_codes(), cps, _joined_code)
    pairs = np.empty(len(codes), np.uint8)
    pairs[0] = codes[0]
    np.left_shift(codes[:-1], 3, out=pairs[1:])
    pairs[1:] |= codes[1:]
    word_starts, title_breaks, n_upper, n_lower_title = _span_sums(
        pairs, _joined_fields, js, je)

    # First and last non-space character of each unit (the stripped unit's ends).
    blank = lengths == 0
    first, last = js.copy(), np.maximum(je - 1, 0)
    flags = _lookup(_edge_table(), cps[np.concatenate([first, last])], _edge_flags)
    first_flags, last_flags = flags[:n], flags[n:]
    for i in np.flatnonzero(~blank & ((first_flags | last_flags) & _E_SPACE != 0)).tolist():
        t = texts[i]
        body = t.strip()
        if not body:
            blank[i] = True
            continue
        first[i] = js[i] + len(t) - len(t.lstrip())
        last[i] = first[i] + len(body) - 1
        first_flags[i], last_flags[i] = _edge_flags(body[0]), _edge_flags(body[-1])
    first_flags[blank] = last_flags[blank] = 0
    first[blank] = last[blank] = 0

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
    n_words = word_counts.astype(np.float32)
    has_words = word_counts > 0

    own[:, col["log_chars"]] = np.log1p(chars)
    own[:, col["log_words"]] = np.log1p(n_words)
    own[:, col["alpha_frac"]] = counts["alpha"] / safe_chars
    own[:, col["digit_frac"]] = counts["digit"] / safe_chars
    own[:, col["upper_frac"]] = counts["upper"] / np.maximum(counts["alpha"], 1)
    own[:, col["punct_frac"]] = counts["punct"] / safe_chars
    _set_flag_columns(own, last_flags, _LAST_FLAG_COLUMNS)
    _set_flag_columns(own, first_flags, _FIRST_FLAG_COLUMNS)
    own[:, col["start_other"]] = (first_flags & _E_ALNUM) == 0
    stop_cum = np.zeros(len(word_info) + 1, np.int64)
    np.cumsum(word_info & 1, out=stop_cum[1:])
    stops = (stop_cum[word_end] - stop_cum[word_start]).astype(np.float32)
    own[:, col["stop_frac"]] = stops / np.maximum(n_words, 1)
    own[:, col["log_sentences"]] = np.log1p(counts["sentences"])
    own[:, col["mean_word_len"]] = counts["alpha"] / np.maximum(n_words, 1) / 10
    cased = (n_upper + n_lower_title) > 0
    own[:, col["title_case"]] = cased & (title_breaks == 0)
    own[:, col["all_upper"]] = (n_upper > 0) & (n_lower_title == 0)
    bullet = (first_flags & _E_BULLET) != 0
    spaced_bullet = np.flatnonzero(first_flags & _E_BULLET_SPACE)
    after = first[spaced_bullet] + 1
    bullet[spaced_bullet] = (after <= last[spaced_bullet]) & (cps[after] == 0x20)
    own[:, col["md_bullet"]] = bullet
    at_units = lowered_starts.tolist()
    link_frac = np.zeros(n, np.float32)
    for i in np.flatnonzero(_units_holding(lowered, ("](",), at_units)).tolist():
        link_frac[i] = link_share(texts[i])
    own[:, col["md_link_frac"]] = link_frac
    own[:, col["md_image"]] = _units_holding(lowered, ("![",), at_units)
    own[:, col["has_pipe"]] = _units_holding(lowered, ("|",), at_units)
    own[:, col["has_copyright"]] = _units_holding(lowered, ("\u00a9", "(c)"), at_units)
    own[:, col["has_url_or_at"]] = _units_holding(lowered, ("http", "@", "www."), at_units)

    # Index in the document.
    idx = (np.arange(n) - unit_start).astype(np.float32)
    own[:, col["rel_pos"]] = idx / np.maximum(n_doc - 1, 1).astype(np.float32)
    own[:, col["log_index"]] = np.log1p(idx)
    own[:, col["log_index_from_end"]] = np.log1p((n_doc - 1).astype(np.float32) - idx)
    own[:, col["char_pos"]] = _visible_char_pos(docs, text_len, starts, doc, doc_start)

    par = np.array(paragraphs, np.int64)
    blank_before = np.ones(n, bool)
    blank_after = np.ones(n, bool)
    np.not_equal(par[1:], par[:-1], out=blank_before[1:])
    blank_before[doc_start[sizes > 0]] = True
    blank_after[:-1] = blank_before[1:]
    own[:, col["blank_before"]] = blank_before
    own[:, col["blank_after"]] = blank_after
    if (par < par[unit_start]).any():  # as np.bincount does for one document
        raise ValueError("a unit's paragraph is before its document's first one")
    if len(docs) == 1:
        par_sizes = np.bincount(par - par[0])[par - par[0]]
    else:
        par_sizes = _counts_within(doc, _ids(par.tolist()))
    own[:, col["log_paragraph_units"]] = np.log1p(par_sizes)
    row = np.arange(n)
    first_in_par = np.maximum.accumulate(np.where(blank_before, row, 0))
    in_par = (row - first_in_par).astype(np.float32)
    own[:, col["index_in_paragraph"]] = np.minimum(in_par, 10) / 10

    ids = _ids(keys)
    own[:, col["log_duplicates"]] = np.log(_counts_within(doc, ids).astype(np.float32))
    key_len = np.fromiter(map(len, keys), np.int64, n)
    # Neighbours at distance 1 and 2 in the same document: (left, right) pairs.
    index = np.arange(n)
    left = np.concatenate([index[:-1], index[:-2]])
    right = np.concatenate([index[1:], index[2:]])
    if len(docs) > 1:
        in_doc = doc[left] == doc[right]
        left, right = left[in_doc], right[in_doc]
    same = (ids[left] == ids[right]) & has_words[left]
    duplicate = np.zeros(n, bool)
    duplicate[left[same]] = duplicate[right[same]] = True
    # inner in outer, for both orders; x in y with x != y needs y longer than x, so only
    # such pairs are searched.
    inner = np.concatenate([left, right])
    outer = np.concatenate([right, left])
    candidate = np.flatnonzero(
        (key_len[inner] >= MIN_CONTAIN_CHARS) & (key_len[outer] > key_len[inner]))
    inner, outer = inner[candidate], outer[candidate]
    found = np.fromiter(
        map(str.__contains__, map(keys.__getitem__, outer.tolist()),
            map(keys.__getitem__, inner.tolist())),
        bool, len(candidate))
    contained = np.zeros(n, bool)
    contains = np.zeros(n, bool)
    contained[inner[found]] = True
    contains[outer[found]] = True
    own[:, col["duplicate_nearby"]] = duplicate
    own[:, col["contained_in_neighbour"]] = contained
    own[:, col["contains_neighbour"]] = contains

    nonempty = doc_start[sizes > 0]
    longest = np.zeros(len(docs), np.float32)
    longest[sizes > 0] = np.maximum.reduceat(chars, nonempty)
    own[:, col["rel_len"]] = chars / np.maximum(longest, 1)[doc]
    own[:, col["doc_log_units"]] = np.log1p(n_doc)
    terminal = np.zeros(len(docs), np.float32)
    terminal[sizes > 0] = np.add.reduceat(own[:, col["end_terminal"]], nonempty)
    own[:, col["doc_terminal_frac"]] = (terminal / np.maximum(sizes, 1).astype(np.float32))[doc]
    own[:, col["log_first_word_repeats"]] = np.log(
        _counts_within(doc, _ids(first_words)).astype(np.float32))
    own[:, col["log_last_word_repeats"]] = np.log(
        _counts_within(doc, _ids(last_words)).astype(np.float32))
    # A run of units of the same shape (a list of links, a teaser grid) is rarely prose.
    shape = np.minimum(n_words, 12) + 100 * own[:, col["end_terminal"]]
    new_run = np.ones(n, bool)
    np.greater(np.abs(np.diff(shape)), 1, out=new_run[1:])
    new_run[nonempty] = True
    run_id = np.cumsum(new_run)
    own[:, col["log_shape_run"]] = np.log(np.bincount(run_id)[run_id])
    rule = np.concatenate([np.asarray(labels, np.int64).reshape(-1) for _, _, labels in docs])
    hit = rule >= 0
    own[np.nonzero(hit)[0], col[f"rule_{LABELS[0]}"] + rule[hit]] = 1
    short = np.flatnonzero(has_words & (word_counts <= MARKER_MAX_WORDS))
    own[_section_markers(texts, keys, short, joined), col["section_marker"]] = 1

    context = own[:, _CONTEXT_COLUMNS]
    width = len(_CONTEXT_COLUMNS)
    at = len(OWN_NAMES)
    several = len(docs) > 1  # (one document, as from clean: no rows to zero or group)
    for k in NEIGHBOURS:  # zero where the neighbour is in another document
        if k > 0 and k < n:
            dense[: n - k, at : at + width] = context[k:]
            if several:
                dense[: n - k, at : at + width][doc[k:] != doc[: n - k]] = 0
        elif k < 0 and -k < n:
            dense[-k:, at : at + width] = context[: n + k]
            if several:
                dense[-k:, at : at + width][doc[: n + k] != doc[-k:]] = 0
        at += width
    dense[:, at:] = (_grouped_window_mean(context, WINDOW, unit_start, unit_end) if several
                     else window_mean(context, WINDOW))
    word_bound = np.concatenate([[0], word_end])[np.concatenate([[0], doc_end])].tolist()
    bound = [0, *doc_end.tolist()]
    if isinstance(words, str):  # each document's stretch of the spaced text
        char_bound = np.concatenate([[0], je + 1])[np.concatenate([[0], doc_end])].tolist()
        doc_words = list(map(words.__getitem__, map(slice, char_bound, char_bound[1:])))
    else:
        doc_words = list(map(words.__getitem__, map(slice, word_bound, word_bound[1:])))
    return [
        DocFeatures(dense[a:b], doc_words[i], word_counts[a:b], word_info[w0:w1],
                    word_bytes[w0:w1],
                    first_words[a:b], last_words[a:b], heads[a:b], tails[a:b])
        for i, (a, b, w0, w1) in enumerate(zip(bound, bound[1:], word_bound, word_bound[1:]))
    ]


_CRC_CARET, _CRC_DOLLAR, _CRC_SPACE = crc.crc("^"), crc.crc("$"), crc.crc(" ")
_CRC_NO_BIGRAM = crc.crc("^^")


@cache
def _prefix_shifts(prefix_crc: int) -> np.ndarray:
    """``crc.shift(prefix_crc, n)`` for every n up to ``crc.MAX_TABLE_SHIFT``: the crc32
    of a fixed prefix followed by an n-byte word is this xor the word's crc32."""
    lengths = np.arange(crc.MAX_TABLE_SHIFT + 1)
    return crc.shift(np.full(len(lengths), prefix_crc), lengths)


def _prefixed(prefix_crc: int, word_crc: np.ndarray, size: np.ndarray) -> np.ndarray:
    """crc32 of a fixed prefix + each word (``crc.joined``), by one table lookup."""
    if len(size) and int(size.max()) > crc.MAX_TABLE_SHIFT:  # rare: words of 256+ bytes
        return crc.joined(np.full(len(size), prefix_crc), word_crc, size)
    return word_crc ^ _prefix_shifts(prefix_crc).take(size)


def _edge_word_hashes(
    counts: np.ndarray, word_crc: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, ...]:
    """crc32 of "^" + first word, "$" + last word and "^" + first + " " + second word (or
    "^^") of every unit, from the crc32 and UTF-8 length of each word (both with a 0 for
    the empty word in front) and the units' word ``counts``."""
    # Word i + 1 of word_crc and size; 0 (the empty word) where a unit has no such word.
    end = np.cumsum(counts)
    first = np.where(counts > 0, end - counts + 1, 0)
    last = np.where(counts > 0, end, 0)
    second = np.where(counts > 1, first + 1, 0)
    caret = _prefixed(_CRC_CARET, word_crc[first], size[first])
    dollar = _prefixed(_CRC_DOLLAR, word_crc[last], size[last])
    bigram = np.full(len(counts), _CRC_NO_BIGRAM, np.int64)
    two = np.flatnonzero(counts > 1)
    if len(two):
        # "^" + first, then " " + second: the latter's crc32 by the prefix table, so the
        # pair takes one shift of the register rather than one per part.
        second_size = size[second[two]]
        spaced_second = _prefixed(_CRC_SPACE, word_crc[second[two]], second_size)
        bigram[two] = crc.joined(caret[two], spaced_second, second_size + 1)
    return caret, dollar, bigram


def hashed_parts(
    docs: Sequence[DocFeatures], n_bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of the canonical CSR matrix ``hashed`` returns (every row
    has at least one entry), for callers that can do without a scipy matrix."""
    mask = (1 << n_bits) - 1
    chain = itertools.chain.from_iterable
    # Each word's crc32 and size, after a 0 for the empty word (see _edge_word_hashes).
    word_crc = np.concatenate([np.zeros(1, np.int64)] + [d.word_info >> 1 for d in docs])
    size = np.concatenate([np.zeros(1, np.int64)] + [d.word_bytes for d in docs])
    counts = np.concatenate([np.zeros(0, np.int64)] + [d.word_counts for d in docs])
    caret, dollar, bigram = _edge_word_hashes(counts, word_crc, size)
    col = np.concatenate([
        word_crc[1:],
        _cached("<", list(chain(d.heads for d in docs)), lambda e: _crc("<" + e)),
        _cached(">", list(chain(d.tails for d in docs)), lambda e: _crc(">" + e)),
        caret,
        dollar,
        bigram,
    ])
    offset = len(counts)
    unit_ids = np.arange(offset, dtype=np.int64)
    row = np.concatenate([np.repeat(unit_ids, counts), np.tile(unit_ids, 5)])
    key = (row << n_bits) | (col & mask)
    # Sorted and with duplicates summed, like scipy's COO conversion, which costs more than
    # all the rest for one document.
    key.sort()
    new = np.empty(len(key), bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    first = np.flatnonzero(new)
    repeats = np.empty(len(first), np.int64)  # (np.diff with append= costs more here)
    np.subtract(first[1:], first[:-1], out=repeats[:-1])
    repeats[-1:] = len(key) - first[-1:]
    key = key[first]
    row = key >> n_bits
    data = ((1.0 / np.sqrt((counts + 5).astype(np.float32)))[row] * repeats).astype(np.float32)
    indptr = np.zeros(offset + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=offset), out=indptr[1:])
    index = np.int32 if max(offset, 1 << n_bits, len(key)) < 2**31 else np.int64
    return indptr.astype(index), (key & mask).astype(index), data


def hashed(docs: Sequence[DocFeatures], n_bits: int) -> sp.csr_matrix:
    """Hashed word unigrams, first bigram, edge words and edge character trigrams of every
    unit of ``docs`` (one row per unit), L2-normalised per unit."""
    indptr, indices, data = hashed_parts(docs, n_bits)
    return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, 1 << n_bits))
