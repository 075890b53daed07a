"""Characters -> classes: what each character of a text is, by table.

Every measure of a unit's characters (letters, capitals, digits, punctuation, sentence ends,
word starts, case, its first and last character, its lowercase) is read from tables over
the BMP, made once from Python's own ``str`` methods: a batch's text is classified with one
numpy lookup per code point, and per-unit counts are differences of cumulative sums rather
than a Python call per character. ``fastcore.py`` hands the same tables to
``_fastcore.c``, so the C path classifies every character as numpy does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np

# Tables cover the BMP; the rare characters above it are looked up one by one (see
# _lookup), except in char_table, whose counts treat them as "other" (the model was
# trained that way).

_BMP = 0x10000
# Class flags of char_table, and the characters it flags as sentence ends.
_ALPHA, _UPPER, _DIGIT, _SPACE, _PUNCT, _END = 1, 2, 4, 8, 16, 32
_TERMINAL_CHARS = ".!?\u2026\u3002\uff01\uff1f"
# Text classes as small codes, so that a pair of neighbouring codes fits in one byte.
_T_OTHER, _T_LOWER, _T_UPPER, _T_DIGIT, _T_SPACE, _T_PUNCT, _T_END = range(7)
# Joined-text codes: \w (isalnum or "_") plus the case as str.isupper/islower/istitle see it.
_J_WORD, _J_UPPER, _J_LOWER, _J_TITLE = 1, 2, 4, 6
_J_CASE = 6
# Flags of a unit's first and last non-space characters.
_E_UPPER, _E_LOWER, _E_DIGIT, _E_ALNUM, _E_TERMINAL, _E_CLOSING, _E_SPACE = (
    1, 2, 4, 8, 16, 32, 64)
_E_HASH, _E_QUOTE, _E_COLON, _E_BULLET, _E_BULLET_SPACE = 128, 256, 512, 1024, 2048
# A unit's last character that ends a sentence or closes a quote or bracket, and the
# bullets that may open a Markdown list item (two-character ones: followed by a space).
_TERMINAL = frozenset(".!?\u2026\u3002\uff01\uff1f;")
_CLOSING = frozenset("\"'\u201d\u2019\u00bb)]")
_BULLETS = ("* ", "- ", "+ ", "\u2022", "\u00b7", "\u25cf", "\u25aa", "\u2013 ", "\u2014 ")
#: Characters with flags of their own, by flag.
_E_CHARS = {_E_TERMINAL: _TERMINAL, _E_CLOSING: _CLOSING, _E_HASH: "#", _E_QUOTE: ">",
            _E_COLON: ":", _E_BULLET: [b for b in _BULLETS if len(b) == 1],
            _E_BULLET_SPACE: [b[0] for b in _BULLETS if len(b) == 2]}


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
