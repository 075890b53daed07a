"""zlib's CRC-32 of joined strings, from the CRCs of their parts, for many at once.

CRC-32 is linear over GF(2): ``crc(a + b) == crc(b) ^ shift(crc(a), len(b))``, where
``shift`` runs the CRC register over ``len(b)`` zero bytes (``zlib.crc32_combine``). So
the CRC of "^" + first word + " " + second word follows from the CRCs and UTF-8 lengths
of the words alone: a few table lookups per unit in numpy, where building each string and
hashing it in Python cost a dict lookup or a CRC per unit.
"""

from __future__ import annotations

import zlib
from functools import cache

import numpy as np

#: Longest shift with a table of its own; longer ones are done in steps of this.
MAX_TABLE_SHIFT = 256

_POLY = 0xEDB88320  # zlib's (reflected) CRC-32 polynomial
_tables = np.zeros((0, 4, 256), np.int64)


def crc(text: str) -> int:
    """The CRC-32 of ``text`` as the features hash it (UTF-8, lone surrogates kept)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


@cache
def _byte_table() -> np.ndarray:
    """The register after one zero byte, for each value of its low byte."""
    table = np.arange(256, dtype=np.int64)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ _POLY, table >> 1)
    return table


def _shift_tables(longest: int) -> np.ndarray:
    """(n, 4, 256) tables: shifting by ``n`` bytes maps byte ``k`` of the register, of
    value ``b``, to ``tables[n, k, b]`` (the shift is linear: the four parts are xored)."""
    global _tables
    if len(_tables) <= longest:
        byte = _byte_table()
        grown = [*_tables] or [np.arange(256, dtype=np.int64) << (8 * np.arange(4))[:, None]]
        while len(grown) <= min(max(longest, 2 * len(_tables)), MAX_TABLE_SHIFT):
            last = grown[-1]
            grown.append(byte[last & 0xFF] ^ (last >> 8))
        _tables = np.stack(grown)
    return _tables


def shift(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each CRC of ``values`` run over as many zero bytes as ``lengths`` says."""
    values = np.asarray(values, np.int64)
    lengths = np.asarray(lengths, np.int64)
    if not len(values):
        return values.copy()
    longest = int(lengths.max())
    if longest > MAX_TABLE_SHIFT:  # rare: shift the longest ones in steps first
        values, lengths = values.copy(), lengths.copy()
        while (over := lengths > MAX_TABLE_SHIFT).any():
            values[over] = shift(values[over], np.full(int(over.sum()), MAX_TABLE_SHIFT))
            lengths[over] -= MAX_TABLE_SHIFT
        longest = int(lengths.max())
    flat = _shift_tables(longest).reshape(-1)
    base = lengths * 1024
    return (flat[base + (values & 0xFF)] ^ flat[base + 256 + ((values >> 8) & 0xFF)]
            ^ flat[base + 512 + ((values >> 16) & 0xFF)] ^ flat[base + 768 + (values >> 24)])


def joined(first: np.ndarray, second: np.ndarray, second_len: np.ndarray) -> np.ndarray:
    """CRC of each string a + b, from crc(a) (``first``), crc(b) and b's length in bytes."""
    return np.asarray(second, np.int64) ^ shift(first, second_len)
