"""Stage 2's inputs: what a unit's neighbours and its section say about it.

Stage 1 reads each unit's words alone, and words are not enough: a sentence-like line in a
block of links, or a comment that reads like prose, gives itself away only by what lies
around it. So stage 2 reads, beside a unit's own measures, the stage-1 probabilities of
its neighbours, their means near and far, where the text stage 1 believes is body lies,
and whether a comment or review section has begun. This is the numpy specification, used
in training and wherever the C extension is not; ``cleaner/_fastcore.c`` computes the same
columns for prediction (``fastcore.py`` checks the constants it copies from here).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np

from .features import DENSE_NAMES, window_mean, window_sum
from .labels import LABEL_INDEX

#: Offsets of the neighbours whose stage-1 probabilities stage 2 sees.
STAGE2_NEIGHBOURS = (-3, -2, -1, 1, 2, 3)
#: Half-width of the window of averaged stage-1 probabilities stage 2 sees.
STAGE2_WINDOW = 8
#: Offsets of the neighbours whose linear stage-1 probabilities stage 2 sees (and their
#: mean over the same window).
LINEAR_NEIGHBOURS = (-2, -1, 1, 2)
#: Blocks of stage-1 probabilities in a stage-2 row: own, neighbours, windowed mean, and
#: the decayed means before and after the unit.
_STAGE2_BLOCKS = 4 + len(STAGE2_NEIGHBOURS)
#: Columns of body position (4) and section-marker state (4) after those blocks.
_STAGE2_TAIL = 8
#: Half-life, in units, of the decayed means of stage-1 probabilities before and after a
#: unit: a long memory of what kind of section the unit sits in (comments, product
#: details, a list of teasers), which the +-8 window is too short to see.
DECAY_HALF_LIFE = 15
#: Half-width of the window in which section markers are counted.
MARKER_WINDOW = 8
_MARKER = DENSE_NAMES.index("section_marker")
_BODY = LABEL_INDEX["body"]
#: Blocks of linear stage-1 probabilities: own, neighbours, windowed mean.
_LINEAR_BLOCKS = 2 + len(LINEAR_NEIGHBOURS)


def stage2_inputs(dense: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Stage-2 inputs of one document (after its scaled dense measures): the stage-1
    probabilities of the unit, its neighbours, their windowed and long-range means, where
    the unit lies relative to the text stage 1 believes is body, and whether it follows a
    comment or review section marker."""
    out = np.zeros((len(proba), _stage2_width(proba.shape[1], False)), np.float32)
    _fill_stage2(out, dense, proba)
    return out


def _stage2_width(k: int, linear: bool) -> int:
    return _STAGE2_BLOCKS * k + _STAGE2_TAIL + (_LINEAR_BLOCKS * k if linear else 0)


@cache  # one entry per chunk length: at most 16 * half_life of them
def _decay_powers(decay: float, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """decay**-j and decay**j for j < m - 1, and decay**j for j < m (as columns), as
    decayed_mean_before uses them for a chunk of m rows (made once: powers cost more
    than the rest of a short document's chunk). Read-only, as they are shared."""
    steps = np.arange(m, dtype=np.float64)
    powers = ((decay ** -steps[:-1])[:, None], (decay ** steps[:-1])[:, None],
              (decay**steps)[:, None])
    for array in powers:
        array.flags.writeable = False
    return powers


@lru_cache(maxsize=1024)
def _decay_norms(decay: float, n: int) -> np.ndarray:
    """Sum of decay**j for j < i, for each i < n, as a column (read-only, shared)."""
    index = np.arange(n, dtype=np.float64)
    norm = ((1.0 - decay**index) / (1.0 - decay))[:, None]
    norm.flags.writeable = False
    return norm


def decayed_mean_before(values: np.ndarray, half_life: float) -> np.ndarray:
    """Row i: the mean of rows 0..i-1 weighted by 2**(-distance / half_life), distance
    counted from i-1 (zeros for row 0). Computed in chunks short enough that the
    rescaling by powers of the decay stays within float range."""
    n = len(values)
    out = np.zeros(values.shape, np.float64)
    if n < 2:
        return out.astype(values.dtype)
    decay = 0.5 ** (1.0 / half_life)
    chunk = int(half_life * 16)  # decay**chunk ~ 1.5e-5: powers stay near 1e5 at most
    carry = np.zeros(values.shape[1], np.float64)  # the weighted sum before the chunk
    for start in range(0, n, chunk):
        block = values[start : start + chunk].astype(np.float64)
        m = len(block)
        down, up, powers = _decay_powers(decay, m)
        # Row start+j: decay**j * carry + decay**(j-1) * sum_{k<j} decay**-k * block[k].
        sums = out[start : start + m]
        np.cumsum(block[:-1] * down, axis=0, out=sums[1:])
        sums[1:] *= up
        sums += powers * carry
        carry = sums[-1] * decay + block[-1]
    out[1:] /= _decay_norms(decay, n)[1:]
    return out.astype(values.dtype)


def _fill_context(out: np.ndarray, proba: np.ndarray, shifts: Sequence[int]) -> int:
    """Write the unit's probabilities, its neighbours' at ``shifts`` and their mean over
    ``STAGE2_WINDOW`` into the first columns of ``out``; return the next free column."""
    n, k = proba.shape
    out[:, :k] = proba
    at = k
    for shift in shifts:  # zero where the neighbour is outside the document
        if 0 < shift < n:
            out[: n - shift, at : at + k] = proba[shift:]
        elif 0 < -shift < n:
            out[-shift:, at : at + k] = proba[: n + shift]
        at += k
    out[:, at : at + k] = window_mean(proba, STAGE2_WINDOW)
    return at + k


def _fill_stage2(out: np.ndarray, dense: np.ndarray, proba: np.ndarray) -> None:
    """Write ``stage2_inputs(dense, proba)`` into ``out`` (zeros, one row per unit): no
    pieces to stack, as this runs for every document."""
    n, k = proba.shape
    at = _fill_context(out, proba, STAGE2_NEIGHBOURS)
    if not n:
        return
    # Before and after (before, in reverse order) in one pass: columns are independent.
    both = decayed_mean_before(np.hstack([proba, proba[::-1]]), DECAY_HALF_LIFE)
    out[:, at : at + k] = both[:, :k]
    out[:, at + k : at + 2 * k] = both[::-1, k:]
    at += 2 * k
    body = proba[:, _BODY]
    mass = body * np.maximum(np.expm1(dense[:, 1]), 0)
    total = max(float(mass.sum()), 1e-6)
    before = (np.cumsum(mass) - mass) / total
    out[:, at] = before
    out[:, at + 1] = 1.0 - before - mass / total
    strong = body > 0.5  # strong body before the unit, and after it
    out[1:, at + 2] = np.logical_or.accumulate(strong[:-1])
    out[:-1, at + 3] = np.logical_or.accumulate(strong[:0:-1])[::-1]
    at += 4
    # Comment and review sections: has a marker been seen, how long ago, how many near.
    marker = dense[:, _MARKER] > 0
    row = np.arange(n)
    last = np.maximum.accumulate(np.where(marker, row, -1))
    seen = np.empty(n, np.int64)  # the last marker before each unit (-1: none)
    seen[0] = -1
    seen[1:] = last[:-1]
    out[:, at] = seen >= 0
    out[:, at + 1] = np.where(seen >= 0, np.log1p(row - seen) / 5, 0)
    out[:, at + 2] = np.minimum(window_sum(marker, MARKER_WINDOW), 3) / 3
    counts = np.cumsum(marker)
    out[:, at + 3] = counts / max(int(counts[-1]), 1)
