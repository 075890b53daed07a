"""Networks stored as plain arrays: the softmax and the forward pass that the model's
stages, the distilled student and the recurrent network all use.

A model file holds numpy arrays, never code, so prediction runs these few lines rather
than scikit-learn's. Every trained model depends on the softmax's exact bits
(``tests/test_features.py``), so there is one softmax, here, shared by every module that
needs it; this module imports nothing from the package, so any module may import it.
"""

from __future__ import annotations

import numpy as np

#: Rows up to this long are summed by numpy left to right (longer ones pairwise, in
#: blocks of 8), so summing them down the columns of the transpose gives the same bits.
_SEQUENTIAL_SUM_MAX = 7


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax of each row of ``z`` (a new C-ordered array)."""
    if z.shape[1] > _SEQUENTIAL_SUM_MAX:
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z
    # On the transpose (labels, rows): numpy reduces a short last axis one row at a time,
    # which for a few labels costs more than the exp; over the first axis the same
    # maximum and the same left-to-right sum are a few passes over whole rows.
    t = z.T.copy()
    t -= t.max(axis=0)
    np.exp(t, out=t)
    t /= t.sum(axis=0)
    return np.ascontiguousarray(t.T)


def _forward(net: tuple[np.ndarray, ...], X2: np.ndarray) -> np.ndarray:
    """Label probabilities from a one-hidden-layer ReLU network stored as plain arrays."""
    w1, b1, w2, b2 = net
    return _softmax(np.maximum(X2 @ w1 + b1, 0) @ w2 + b2)
