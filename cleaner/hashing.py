"""Words -> hashed n-grams: stage 1's input.

Per unit a sparse row (``hashed``): its words, its first word pair, its first and last word
and the three characters at each of its ends, hashed by crc32. Every word's crc32 and
stopword flag are made while featurizing (``_word_infos``: numpy passes over the words'
UTF-8 bytes, CRC-32 being affine in the message), and the edge n-grams' crc32 follow from
the words' by CRC algebra (``crc.joined``) rather than be hashed anew. A trained model's
stage 1 depends on these exact columns.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from . import crc
from .stopwords import STOPWORDS

if TYPE_CHECKING:
    import scipy.sparse as sp

    from .features import DocFeatures

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
#: Up to 4 bytes, a word's crc32 and length tell it apart from every other word of its
#: length (the CRC is injective on 32-bit messages).
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
    import scipy.sparse as sp  # here, not at import: cleaning with the C extension never
    # builds one, and scipy.sparse is a third of the package's import time

    indptr, indices, data = hashed_parts(docs, n_bits)
    return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, 1 << n_bits))
