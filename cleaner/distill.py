"""Stage 2 distilled: a large teacher that is fitted and thrown away, a small student
that ships.

Several networks merged into one predict better than one network (+0.01 shingle F1), but
stage 2's first layer is the largest product of prediction. One small network trained on
the teacher's probabilities at a temperature keeps nearly all of that gain at a quarter of
the cost, and gradient-boosted trees can join the teacher without ever being shipped
(``docs/algorithm.md``, section 4, items 3 and 4). The student is trained in numpy
(scikit-learn's MLP takes no soft targets) from one seed, so the same data gives the same
network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .adam import Adam
from .labels import LABELS
from .network import _softmax

#: Distilling stage 2 (``LineClassifier(distill_hidden=...)``): passes of minibatch Adam
#: over the training units, their size, the learning rate (decayed linearly to 0 over the
#: run) and the L2 penalty, as in the teacher's networks.
DISTILL_EPOCHS = 40
DISTILL_BATCH = 512
DISTILL_LEARNING_RATE = 1e-3
DISTILL_ALPHA = 1e-4
#: The gradient-boosted trees that join the teacher with ``teacher_trees`` rounds: their
#: learning rate, leaves per tree and L2 penalty.
TREE_LEARNING_RATE = 0.2
TREE_LEAVES = 63
TREE_L2 = 1.0


def _teacher_target(
    teacher: tuple[np.ndarray, ...], X2: np.ndarray, temperature: float
) -> np.ndarray:
    """The teacher network's softmax at ``temperature`` on the rows of ``X2``."""
    target = np.empty((X2.shape[0], teacher[2].shape[1]), np.float32)
    for a in range(0, X2.shape[0], 65536):  # a block at a time
        target[a : a + 65536] = _softmax(
            (np.maximum(X2[a : a + 65536] @ teacher[0] + teacher[1], 0) @ teacher[2]
             + teacher[3]) / np.float32(temperature))
    return target


def _fit_trees(X2: np.ndarray, target: np.ndarray, weights: np.ndarray, rounds: int,
               random_state: int):
    """Gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``) of
    ``rounds`` rounds fitted to ``target`` on the rows of ``X2``. They only teach (see
    ``_tree_target``): trees cut the measures at thresholds where the networks bend
    smoothly, and the two disagree where each alone errs."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    trees = HistGradientBoostingClassifier(
        max_iter=rounds, learning_rate=TREE_LEARNING_RATE, max_leaf_nodes=TREE_LEAVES,
        l2_regularization=TREE_L2, early_stopping=False, random_state=random_state)
    return trees.fit(X2, target, sample_weight=weights / max(float(weights.mean()), 1e-12))


def _tree_logits(trees, X2: np.ndarray) -> np.ndarray:
    """The trees' logits on the rows of ``X2`` over all labels (-30 for those they never
    saw)."""
    logits = np.full((X2.shape[0], len(LABELS)), -30.0, np.float32)
    for a in range(0, X2.shape[0], 65536):
        raw = trees.decision_function(X2[a : a + 65536])
        if raw.ndim == 1:  # two labels: one logit, of the second against the first
            raw = np.stack([np.zeros_like(raw), raw], axis=1)
        logits[a : a + 65536, trees.classes_] = raw
    return logits


def _tree_target(
    X2: np.ndarray, target: np.ndarray, weights: np.ndarray, rounds: int,
    temperature: float, random_state: int,
    folds: Sequence[tuple[np.ndarray | slice, np.ndarray | slice]] | None = None,
) -> np.ndarray:
    """The softmax at ``temperature`` of trees on the rows of ``X2``: with ``folds``
    ((training rows, held-out rows) by page), each row's from trees that never saw its
    page; without, from trees fitted on all rows. Out-of-fold, the trees teach how sure
    they are on unseen pages: trees fitted on the rows they teach are surer than that,
    and a student of those kept less of their gain (held-out pages: +0.0016 against
    +0.0024 by place, ``docs/algorithm.md`` section 4)."""
    everything = slice(None)  # (a view: no copy of the 1.4M training rows)
    logits = np.empty((X2.shape[0], len(LABELS)), np.float32)
    for rows_train, rows_test in folds or [(everything, everything)]:
        trees = _fit_trees(X2[rows_train], target[rows_train], weights[rows_train], rounds,
                           random_state)
        logits[rows_test] = _tree_logits(trees, X2[rows_test])
    return _softmax(logits / np.float32(temperature))


def _distill(
    teacher: tuple[np.ndarray, ...], X2: np.ndarray, weights: np.ndarray, hidden: int,
    temperature: float, random_state: int, epochs: int = DISTILL_EPOCHS,
) -> tuple[np.ndarray, ...]:
    """A network of ``hidden`` ReLU units trained to reproduce the ``teacher`` network
    on the rows of ``X2`` (see ``_distill_to``)."""
    return _distill_to(_teacher_target(teacher, X2, temperature), X2, weights, hidden,
                       random_state, epochs)


def _distill_to(
    target: np.ndarray, X2: np.ndarray, weights: np.ndarray, hidden: int,
    random_state: int, epochs: int = DISTILL_EPOCHS,
) -> tuple[np.ndarray, ...]:
    """A network of ``hidden`` ReLU units trained to reproduce a teacher on the rows of
    ``X2``: minimising the ``weights``-weighted cross-entropy of its softmax against
    ``target``, the teacher's softmax at the distillation temperature, by
    minibatch Adam with a linearly decaying learning rate, in numpy from one seed, so the
    same data gives the same network. The student is used as it comes out, so its logits
    are about the teacher's divided by the temperature: its probabilities are softer."""
    rows, n_in = X2.shape
    k = target.shape[1]
    unit = (weights / max(float(np.mean(weights)), 1e-12)).astype(np.float32)[:, None]
    rng = np.random.RandomState(random_state)
    # scikit-learn's initialisation for ReLU layers (Glorot, uniform).
    bound = np.sqrt(6.0 / (n_in + hidden))
    w1 = rng.uniform(-bound, bound, (n_in, hidden)).astype(np.float32)
    b1 = rng.uniform(-bound, bound, hidden).astype(np.float32)
    bound = np.sqrt(6.0 / (hidden + k))
    w2 = rng.uniform(-bound, bound, (hidden, k)).astype(np.float32)
    b2 = rng.uniform(-bound, bound, k).astype(np.float32)
    adam = Adam([w1, b1, w2, b2], DISTILL_LEARNING_RATE,
                epochs * -(-rows // DISTILL_BATCH))
    for _ in range(epochs):
        order = rng.permutation(rows)
        for a in range(0, rows, DISTILL_BATCH):
            idx = order[a : a + DISTILL_BATCH]
            x = X2[idx]
            pre = x @ w1 + b1
            h = np.maximum(pre, 0)
            # d(mean weighted cross-entropy)/d(logits) = weight * (p - q) / batch
            dz = _softmax(h @ w2 + b2)
            dz -= target[idx]
            dz *= unit[idx] / np.float32(len(idx))
            dh = (dz @ w2.T) * (pre > 0)
            decay = np.float32(DISTILL_ALPHA / len(idx))
            adam.step((x.T @ dh + decay * w1, dh.sum(axis=0), h.T @ dz + decay * w2,
                       dz.sum(axis=0)))
    return w1, b1, w2, b2
