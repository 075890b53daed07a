"""Units -> numbers: the dense measures of each unit and of its neighbours (``featurize``).

Per unit, the columns of ``DENSE_NAMES``: measures of its own text, its position, its
repeats in the document, the document's, rule hits and the section marker, and some of
these copied from its neighbours and averaged over a window. Speed matters (the cleaner
must handle 10+ MB/s), so the work is done per document, or per batch of documents
(``featurize_many``), not per unit or token; ``featurize_many`` runs the stages below it
in turn, on what these modules give:

- ``chartable``: the classes of every character, by table (per-unit counts are
  differences of cumulative sums);
- ``tokens``: each unit's lowercased words, its first and last words and characters, and
  its words joined (its key);
- ``markers``: the section-marker pattern and the pieces that pick the units it runs on;
- ``hashing``: stage 1's hashed n-grams (``hashed``), made from ``DocFeatures``' words.

A trained model depends on these exact values: any change here or there must leave
``featurize`` and ``hashed`` outputs unchanged (or the model be retrained);
``_fastcore.c`` computes the same for prediction (see ``fastcore.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .chartable import (
    _BMP,
    _E_ALNUM,
    _E_BULLET,
    _E_BULLET_SPACE,
    _E_CLOSING,
    _E_COLON,
    _E_DIGIT,
    _E_HASH,
    _E_LOWER,
    _E_QUOTE,
    _E_SPACE,
    _E_TERMINAL,
    _E_UPPER,
    _class_counts,
    _codepoints,
    _edge_flags,
    _edge_table,
    _joined_code,
    _joined_codes,
    _joined_fields,
    _lookup,
    _span_sums,
)
from .labels import LABELS
from .markdown import link_share, link_target_spans, mask_link_targets
from .markers import MARKER_MAX_WORDS, _section_markers
from .segment import Unit
from .tokens import Tokens, _join, _units_holding, unit_tokens

#: Neighbour offsets whose measures are copied into a unit's row.
NEIGHBOURS = (-2, -1, 1, 2)
#: Half-width of the window over which neighbour measures are averaged.
WINDOW = 5
#: Units whose normalised text is at least this long take part in containment checks.
MIN_CONTAIN_CHARS = 16

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
        """Per word: its crc32 (see ``hashing.hashed``) times 2, plus 1 if it is a stopword."""
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


def _slices(seq: Sequence, a: np.ndarray, b: np.ndarray) -> list:
    """seq[a[i]:b[i]] for each i, without a Python-level loop."""
    return list(map(seq.__getitem__, map(slice, a.tolist(), b.tolist())))


def featurize(text: str, units: Sequence[Unit], rule_labels: Sequence[int]) -> DocFeatures:
    """Features of ``units`` of ``text``; ``rule_labels[i]`` is the label index of the rule
    that matched unit i, or -1."""
    return featurize_many([(text, units, rule_labels)])[0]


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
    several = len(docs) > 1  # (one document, as from clean: no rows to zero or group)
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
    blank, first, last, first_flags, last_flags = _stripped_ends(texts, cps, lengths, js, je)
    tokens = unit_tokens(joined, sep, cps, codes, in_bmp, word_starts, js, je, blank, first,
                         last)
    n_words = tokens.word_counts.astype(np.float32)
    has_words = tokens.word_counts > 0

    _line_measures(own, counts, chars, n_words, first_flags, last_flags, tokens.word_info,
                   tokens.word_start, tokens.word_end, title_breaks, n_upper, n_lower_title)
    _markup_measures(own, texts, cps, first, last, first_flags, tokens.lowered,
                     tokens.lowered_starts)
    _position_measures(own, docs, paragraphs, starts, text_len, sizes, doc, doc_start,
                       unit_start, n_doc, several)
    _repetition_measures(own, tokens.keys, has_words, doc, several)
    _document_measures(own, chars, n_words, tokens.first_words, tokens.last_words, sizes, doc,
                       doc_start, n_doc)
    rule = np.concatenate([np.asarray(labels, np.int64).reshape(-1) for _, _, labels in docs])
    hit = rule >= 0
    own[np.nonzero(hit)[0], col[f"rule_{LABELS[0]}"] + rule[hit]] = 1
    short = np.flatnonzero(has_words & (tokens.word_counts <= MARKER_MAX_WORDS))
    own[_section_markers(texts, tokens.keys, short, joined), col["section_marker"]] = 1
    _context_measures(dense, own, doc, unit_start, unit_end, several)
    return _per_document(dense, tokens, doc_end, je)


def _stripped_ends(
    texts: Sequence[str], cps: np.ndarray, lengths: np.ndarray, js: np.ndarray, je: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First and last non-space character of each unit (the stripped unit's ends): which
    units are blank, where the others start and end in the joined text (unit i is
    ``texts[i]``, its code points ``cps[js[i]:je[i]]``) and the flags of those
    characters (``chartable._edge_table``; 0 for a blank unit)."""
    n = len(js)
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
    return blank, first, last, first_flags, last_flags


def _line_measures(
    own: np.ndarray, counts: dict[str, np.ndarray], chars: np.ndarray, n_words: np.ndarray,
    first_flags: np.ndarray, last_flags: np.ndarray, word_info: np.ndarray,
    word_start: np.ndarray, word_end: np.ndarray, title_breaks: np.ndarray,
    n_upper: np.ndarray, n_lower_title: np.ndarray,
) -> None:
    """Sets the measures of each unit's own text: its length, shares of letters, digits,
    capitals and punctuation, how it ends and starts, its share of stopwords, sentences,
    mean word length, title case and capitals only."""
    col = _COLUMN
    safe_chars = np.maximum(chars, 1)
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


def _markup_measures(
    own: np.ndarray, texts: Sequence[str], cps: np.ndarray, first: np.ndarray,
    last: np.ndarray, first_flags: np.ndarray, lowered: str, lowered_starts: np.ndarray,
) -> None:
    """Sets the Markdown measures (bullet, share of link text, image), table pipes, the
    copyright sign, URLs and @ of each unit."""
    col = _COLUMN
    n = len(own)
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


def _position_measures(
    own: np.ndarray, docs: Sequence[tuple[str, Sequence[Unit], Sequence[int]]],
    paragraphs: Sequence[int], starts: np.ndarray, text_len: np.ndarray, sizes: np.ndarray,
    doc: np.ndarray, doc_start: np.ndarray, unit_start: np.ndarray, n_doc: np.ndarray,
    several: bool,
) -> None:
    """Sets where each unit is: in its document, by units and by characters, and in its
    paragraph (with blank lines before and after it)."""
    col = _COLUMN
    n = len(own)
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
    if several:
        par_sizes = _counts_within(doc, _ids(par.tolist()))
    else:
        par_sizes = np.bincount(par - par[0])[par - par[0]]
    own[:, col["log_paragraph_units"]] = np.log1p(par_sizes)
    row = np.arange(n)
    first_in_par = np.maximum.accumulate(np.where(blank_before, row, 0))
    in_par = (row - first_in_par).astype(np.float32)
    own[:, col["index_in_paragraph"]] = np.minimum(in_par, 10) / 10


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


def _repetition_measures(
    own: np.ndarray, keys: list[str], has_words: np.ndarray, doc: np.ndarray, several: bool
) -> None:
    """Sets how often each unit's words (its ``keys``) recur in its document, and whether a
    neighbour has the same, holds them or is held in them."""
    col = _COLUMN
    n = len(own)
    ids = _ids(keys)
    own[:, col["log_duplicates"]] = np.log(_counts_within(doc, ids).astype(np.float32))
    key_len = np.fromiter(map(len, keys), np.int64, n)
    # Neighbours at distance 1 and 2 in the same document: (left, right) pairs.
    index = np.arange(n)
    left = np.concatenate([index[:-1], index[:-2]])
    right = np.concatenate([index[1:], index[2:]])
    if several:
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


def _document_measures(
    own: np.ndarray, chars: np.ndarray, n_words: np.ndarray, first_words: list[str],
    last_words: list[str], sizes: np.ndarray, doc: np.ndarray, doc_start: np.ndarray,
    n_doc: np.ndarray,
) -> None:
    """Sets the measures of each unit against the rest of its document: its length against
    the longest unit's, the document's units and share of them ending a sentence, how often
    its first and last words begin and end other units, and the run of units of its
    shape."""
    col = _COLUMN
    n = len(own)
    nonempty = doc_start[sizes > 0]
    longest = np.zeros(len(sizes), np.float32)
    longest[sizes > 0] = np.maximum.reduceat(chars, nonempty)
    own[:, col["rel_len"]] = chars / np.maximum(longest, 1)[doc]
    own[:, col["doc_log_units"]] = np.log1p(n_doc)
    terminal = np.zeros(len(sizes), np.float32)
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


def _context_measures(
    dense: np.ndarray, own: np.ndarray, doc: np.ndarray, unit_start: np.ndarray,
    unit_end: np.ndarray, several: bool,
) -> None:
    """Sets the ``CONTEXT_NAMES`` measures of the neighbours at ``NEIGHBOURS`` (0 past the
    ends of a document) and their mean over the ``WINDOW``, after each unit's own."""
    n = len(dense)
    context = own[:, _CONTEXT_COLUMNS]
    width = len(_CONTEXT_COLUMNS)
    at = len(OWN_NAMES)
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


def _per_document(
    dense: np.ndarray, tokens: Tokens, doc_end: np.ndarray, je: np.ndarray
) -> list[DocFeatures]:
    """``dense`` and ``tokens`` cut into each document's ``DocFeatures`` (document d's units
    end at ``doc_end[d]``, unit i's text at ``je[i]`` in the joined text)."""
    words, word_counts, word_end = tokens.words, tokens.word_counts, tokens.word_end
    word_info, word_bytes = tokens.word_info, tokens.word_bytes
    first_words, last_words, heads, tails = (
        tokens.first_words, tokens.last_words, tokens.heads, tokens.tails)
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
