"""Units -> numbers: dense measures of each unit and its neighbours, and hashed n-grams.

Speed matters (the cleaner must handle 10+ MB/s), so character-class counts are made once
per document with numpy over the whole text, and the per-unit Python work is a handful of
C-level string calls. The dense columns are listed in ``DENSE_NAMES``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .labels import LABELS
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
) + tuple(f"rule_{label}" for label in LABELS)
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


@lru_cache(maxsize=1)
def char_table() -> np.ndarray:
    """Class flags of every BMP code point (characters above it count as "other")."""
    table = np.zeros(0x10000, np.uint8)
    for cp in range(0x10000):
        c = chr(cp)
        if c.isalpha():
            table[cp] = _ALPHA | (_UPPER if c.isupper() else 0)
        elif c.isdigit():
            table[cp] = _DIGIT
        elif c.isspace() or cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF):
            table[cp] = _SPACE
        elif unicodedata.category(c)[0] in "PS":
            table[cp] = _PUNCT | (_END if c in _TERMINAL_CHARS else 0)
    return table


def _class_counts(text: str, starts: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Per-unit counts of letters, capitals, digits, punctuation, spaces and sentence
    ends (terminal punctuation followed by a space or the end of the unit)."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    classes = char_table()[np.minimum(cps, 0xFFFF)]
    cum = np.zeros(len(classes) + 1, np.int32)
    out = {}
    for name, flag in (("alpha", _ALPHA), ("upper", _UPPER), ("digit", _DIGIT),
                       ("punct", _PUNCT), ("space", _SPACE)):
        np.cumsum((classes & flag) != 0, out=cum[1:])
        out[name] = (cum[ends] - cum[starts]).astype(np.float32)
    ends_here = (classes & _END) != 0
    ends_here[:-1] &= (classes[1:] & _SPACE) != 0
    np.cumsum(ends_here, out=cum[1:])
    out["sentences"] = (cum[ends] - cum[starts]).astype(np.float32)
    return out


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    """values[i + k] for each row i, zero where that falls outside the document."""
    out = np.zeros_like(values)
    n = len(values)
    if k > 0 and k < n:
        out[: n - k] = values[k:]
    elif k < 0 and -k < n:
        out[-k:] = values[: n + k]
    return out


def window_mean(values: np.ndarray, half: int) -> np.ndarray:
    """Mean of rows i-half .. i+half (clipped at the document's ends)."""
    n = len(values)
    cum = np.zeros((n + 1,) + values.shape[1:], np.float64)
    np.cumsum(values, axis=0, out=cum[1:])
    idx = np.arange(n)
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, n)
    width = (hi - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return ((cum[hi] - cum[lo]) / width).astype(np.float32)


class DocFeatures:
    """Dense and hashed features of one document's units."""

    __slots__ = ("dense", "tokens", "edges")

    def __init__(self, dense: np.ndarray, tokens: list[list[str]], edges: list[str]):
        self.dense = dense
        self.tokens = tokens
        """Casefolded ``\\w+`` tokens of each unit."""
        self.edges = edges
        """The first and last three characters of each stripped unit, lowercased."""

    def __len__(self) -> int:
        return len(self.dense)


def _flags(values: list[bool]) -> np.ndarray:
    return np.fromiter(values, np.float32, len(values))


def featurize(text: str, units: Sequence[Unit], rule_labels: Sequence[int]) -> DocFeatures:
    """Features of ``units`` of ``text``; ``rule_labels[i]`` is the label index of the rule
    that matched unit i, or -1. Each measure is one pass of C-level string calls over all
    units, which is what keeps this fast."""
    n = len(units)
    if n == 0:
        return DocFeatures(np.zeros((0, len(DENSE_NAMES)), np.float32), [], [])
    col = _COLUMN
    own = np.zeros((n, len(OWN_NAMES)), np.float32)
    starts = np.fromiter((u.start for u in units), np.int64, n)
    ends = np.fromiter((u.end for u in units), np.int64, n)
    counts = _class_counts(text, starts, ends)
    chars = (ends - starts).astype(np.float32) - counts["space"]
    safe_chars = np.maximum(chars, 1)

    stripped = [u.text.strip() for u in units]
    lowered = [t.lower() for t in stripped]
    tokens = [_WORD.findall(t) for t in lowered]
    words = np.fromiter(map(len, tokens), np.float32, n)
    firsts = [t[:1] for t in stripped]
    lasts = [t[-1:] for t in stripped]
    edges = [e for t in lowered for e in (t[:3], t[-3:])]

    own[:, col["log_chars"]] = np.log1p(chars)
    own[:, col["log_words"]] = np.log1p(words)
    own[:, col["alpha_frac"]] = counts["alpha"] / safe_chars
    own[:, col["digit_frac"]] = counts["digit"] / safe_chars
    own[:, col["upper_frac"]] = counts["upper"] / np.maximum(counts["alpha"], 1)
    own[:, col["punct_frac"]] = counts["punct"] / safe_chars
    own[:, col["end_terminal"]] = _flags([c in _TERMINAL for c in lasts])
    own[:, col["end_colon"]] = _flags([c == ":" for c in lasts])
    own[:, col["end_close"]] = _flags([c in _CLOSING for c in lasts])
    own[:, col["end_digit"]] = _flags([c.isdigit() for c in lasts])
    own[:, col["end_alnum"]] = _flags([c.isalnum() for c in lasts])
    own[:, col["start_upper"]] = _flags([c.isupper() for c in firsts])
    own[:, col["start_lower"]] = _flags([c.islower() for c in firsts])
    own[:, col["start_digit"]] = _flags([c.isdigit() for c in firsts])
    own[:, col["start_other"]] = _flags([not c.isalnum() for c in firsts])
    stop = STOPWORDS.__contains__
    stops = np.fromiter([sum(map(stop, toks)) for toks in tokens], np.float32, n)
    own[:, col["stop_frac"]] = stops / np.maximum(words, 1)
    own[:, col["log_sentences"]] = np.log1p(counts["sentences"])
    own[:, col["mean_word_len"]] = counts["alpha"] / np.maximum(words, 1) / 10
    own[:, col["title_case"]] = _flags([t.istitle() for t in stripped])
    own[:, col["all_upper"]] = _flags([t.isupper() for t in stripped])
    own[:, col["md_heading"]] = _flags([c == "#" for c in firsts])
    own[:, col["md_bullet"]] = _flags([t.startswith(_BULLETS) for t in stripped])
    own[:, col["md_link_frac"]] = _flags([
        sum(map(len, _MD_LINK.findall(t))) / len(t) if "](" in t else 0.0 for t in stripped
    ])
    own[:, col["md_image"]] = _flags(["![" in t for t in stripped])
    own[:, col["md_quote"]] = _flags([c == ">" for c in firsts])
    own[:, col["has_pipe"]] = _flags(["|" in t for t in stripped])
    own[:, col["has_copyright"]] = _flags(["\u00a9" in t or "(c)" in t for t in lowered])
    own[:, col["has_url_or_at"]] = _flags(
        ["http" in t or "@" in t or "www." in t for t in lowered])

    idx = np.arange(n, dtype=np.float32)
    own[:, col["rel_pos"]] = idx / max(n - 1, 1)
    own[:, col["log_index"]] = np.log1p(idx)
    own[:, col["log_index_from_end"]] = np.log1p(n - 1 - idx)
    own[:, col["char_pos"]] = starts / max(len(text), 1)

    par = np.fromiter((u.paragraph for u in units), np.int64, n)
    change = np.diff(par) != 0
    blank_before = np.r_[True, change]
    own[:, col["blank_before"]] = blank_before
    own[:, col["blank_after"]] = np.r_[change, True]
    par_sizes = np.bincount(par - par[0])
    own[:, col["log_paragraph_units"]] = np.log1p(par_sizes[par - par[0]])
    first_in_par = np.maximum.accumulate(np.where(blank_before, idx, 0))
    own[:, col["index_in_paragraph"]] = np.minimum(idx - first_in_par, 10) / 10

    keys = [" ".join(toks) for toks in tokens]
    key_counts = Counter(keys)
    own[:, col["log_duplicates"]] = np.log(
        np.fromiter(map(key_counts.__getitem__, keys), np.float32, n))
    duplicate = np.zeros(n, bool)
    contained = np.zeros(n, bool)
    contains = np.zeros(n, bool)
    m = MIN_CONTAIN_CHARS
    for k in (1, 2):
        a, b = keys[:-k], keys[k:]
        same = np.fromiter([x == y and x != "" for x, y in zip(a, b)], bool, n - k)
        a_in_b = np.fromiter(
            [len(x) >= m and x != y and x in y for x, y in zip(a, b)], bool, n - k)
        b_in_a = np.fromiter(
            [len(y) >= m and x != y and y in x for x, y in zip(a, b)], bool, n - k)
        duplicate[:-k] |= same
        duplicate[k:] |= same
        contained[:-k] |= a_in_b
        contained[k:] |= b_in_a
        contains[:-k] |= b_in_a
        contains[k:] |= a_in_b
    own[:, col["duplicate_nearby"]] = duplicate
    own[:, col["contained_in_neighbour"]] = contained
    own[:, col["contains_neighbour"]] = contains

    own[:, col["rel_len"]] = chars / max(float(chars.max()), 1.0)
    own[:, col["doc_log_units"]] = np.log1p(n)
    own[:, col["doc_terminal_frac"]] = own[:, col["end_terminal"]].mean()
    first_words = [toks[0] if toks else "" for toks in tokens]
    last_words = [toks[-1] if toks else "" for toks in tokens]
    for name, values in (("log_first_word_repeats", first_words),
                         ("log_last_word_repeats", last_words)):
        repeats = Counter(values)
        own[:, col[name]] = np.log(np.fromiter(map(repeats.__getitem__, values), np.float32, n))
    # A run of units of the same shape (a list of links, a teaser grid) is rarely prose.
    shape = np.minimum(words, 12) + 100 * own[:, col["end_terminal"]]
    same_as_prev = np.r_[False, np.abs(np.diff(shape)) <= 1]
    run_id = np.cumsum(~same_as_prev)
    own[:, col["log_shape_run"]] = np.log(np.bincount(run_id)[run_id])
    rule = np.asarray(rule_labels, np.int64)
    hit = rule >= 0
    own[np.nonzero(hit)[0], col[f"rule_{LABELS[0]}"] + rule[hit]] = 1

    context = own[:, _CONTEXT_COLUMNS]
    dense = np.hstack(
        [own] + [_shift(context, k) for k in NEIGHBOURS] + [window_mean(context, WINDOW)]
    )
    return DocFeatures(dense, tokens, edges)


_HASH_CACHE: dict[str, int] = {}
_HASH_CACHE_MAX = 2_000_000


def _crc(feature: str) -> int:
    """A stable hash (crc32: unlike ``hash()``, the same in every process), memoised."""
    h = zlib.crc32(feature.encode("utf-8", "surrogatepass"))
    if len(_HASH_CACHE) > _HASH_CACHE_MAX:
        _HASH_CACHE.clear()
    _HASH_CACHE[feature] = h
    return h


def hashed(docs: Sequence[DocFeatures], n_bits: int) -> sp.csr_matrix:
    """Hashed word unigrams, first bigram, edge words and edge character trigrams of every
    unit of ``docs`` (one row per unit), L2-normalised per unit."""
    mask = (1 << n_bits) - 1
    rows: list[np.ndarray] = []
    feats: list[str] = []
    offset = 0
    for doc in docs:
        tokens, edges = doc.tokens, doc.edges
        n = len(tokens)
        lengths = np.fromiter(map(len, tokens), np.int64, n)
        feats.extend(itertools.chain.from_iterable(tokens))
        feats.extend(["<" + e for e in edges[0::2]])
        feats.extend([">" + e for e in edges[1::2]])
        feats.extend(["^" + t[0] if t else "^" for t in tokens])
        feats.extend(["$" + t[-1] if t else "$" for t in tokens])
        feats.extend(["^" + t[0] + " " + t[1] if len(t) > 1 else "^^" for t in tokens])
        unit_ids = np.arange(offset, offset + n)
        rows.append(np.repeat(unit_ids, lengths))
        rows.append(np.tile(unit_ids, 5))
        offset += n
    hashes = list(map(_HASH_CACHE.get, feats))
    if None in hashes:
        for i, h in enumerate(hashes):
            if h is None:
                hashes[i] = _crc(feats[i])
    cols = np.fromiter(hashes, np.int64, len(hashes)) & mask
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    per_unit = np.bincount(row, minlength=offset).astype(np.float32)
    values = 1.0 / np.sqrt(per_unit[row])
    return sp.csr_matrix((values, (row, cols)), shape=(offset, 1 << n_bits))
