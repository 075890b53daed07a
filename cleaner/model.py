"""The learned line classifier: two stages over a document's units.

Stage 1 reads the words: a Naive-Bayes model over each unit's hashed n-grams (counts, so
updating with new labels adds counts) and, beside it, a logistic model over the same
n-grams (discriminative, so it weighs n-grams that Naive Bayes counts twice).
Stage 2 is a small neural network (``n_nets`` ``MLPClassifier``s merged into one) over the
dense measures plus the stage-1 probabilities of the unit, its neighbours and its section:
it reads the page's layout, so that a sentence-like line inside a block of links or a
comment thread is not called body. Stage 2 is trained on out-of-fold stage-1 predictions,
so it learns how stage 1 behaves on unseen pages. With ``passes=2`` a further network of
the same kind reads stage 2's probabilities (measured: +0.003 shingle F1 for 6.6x the
training time, so the shipped model uses one pass). With ``distill_hidden`` each pass
ships one smaller network trained to reproduce the merged ones (knowledge distillation):
stage 2's first layer, the largest product of prediction, shrinks with it; with
``teacher_trees`` gradient-boosted trees teach beside the networks, and never ship. With
``sequence`` a bidirectional GRU over the page's units (``sequence.SequenceNet``) reads
the last pass's inputs too, and its probabilities are averaged with the pass's.

Prediction needs only numpy: the fitted weights are plain arrays (see ``to_arrays``), so a
model file never holds code and keeps working across scikit-learn releases.

This module is the estimator, ``LineClassifier``: fitting, prediction, ``adapt`` and the
arrays of a model file. What it builds on has a module of its own:

- ``network``: the softmax and forward pass of plain-array networks, one copy for every
  module that runs a network, as each model depends on their exact bits;
- ``context``: stage 2's inputs (neighbours, section, body position, markers), the numpy
  specification that the C hot path (``_fastcore.c``) is held to;
- ``distill``: the teacher and the student of ``distill_hidden``, needed only in training;
- ``sequence``: the recurrent network of ``sequence``, imported only for a model with one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .blas import one_thread
from .context import _BODY, LINEAR_NEIGHBOURS, _fill_context, _fill_stage2, _stage2_width
from .decode import CALIBRATION_KNOTS
from .features import DENSE_NAMES, DocFeatures
from .hashing import hashed
from .labels import LABEL_INDEX, LABELS
from .network import _forward, _softmax

if TYPE_CHECKING:  # imported when a model has one: the shipped model does not
    import scipy.sparse as sp

    from .sequence import SequenceNet

#: How much one new labelled unit counts in stage 1, against one of the original data.
ADAPT_COUNT_WEIGHT = 20.0
#: Strength of the pull of stage 2's weights back to the ones it had, when adapting: an L2
#: penalty on the change, against the mean cross-entropy over the new units. Measured in
#: benchmarks/adapt.py (20 documents of a held-out source, 3 draws, 3 sources): 10 keeps
#: the other sources' scores and gains most where the new labels differ from the old.
ADAPT_PENALTY = 10.0
#: The candidates of ``penalty="auto"`` (None, no fine-tuning, is one too).
ADAPT_PENALTIES = (100.0, 10.0, 1.0)
#: Folds of the new documents when adapting, for out-of-fold stage-1 probabilities and
#: for choosing the penalty.
ADAPT_FOLDS = 5
#: Iterations of L-BFGS when fine-tuning stage 2.
ADAPT_MAX_ITER = 200
#: The linear stage-1 weights are stored at half precision: they are most of the model
#: file, and rounding them moved dev shingle F1 by less than 0.0001.
COEF_FILE_DTYPE = np.float16


def unit_weights(docs: Sequence[DocFeatures], weighting: str) -> np.ndarray:
    """Training weight of each unit: the quality metric counts words, not lines."""
    words = np.concatenate([np.expm1(d.dense[:, 1]) for d in docs])
    if weighting == "none":
        return np.ones_like(words)
    if weighting == "sqrt":
        return np.sqrt(1.0 + words)
    if weighting == "words":
        return 1.0 + words
    raise ValueError(f"unknown weighting {weighting!r}")


def _fold_rows(offsets: np.ndarray, groups: Sequence[str], n_folds: int):
    """(training rows, held-out rows) of each fold, whole documents of a group together."""
    from sklearn.model_selection import GroupKFold

    doc_index = np.arange(len(offsets) - 1)
    for train_docs, test_docs in GroupKFold(n_splits=n_folds).split(doc_index, groups=groups):
        yield (np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in train_docs]),
               np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in test_docs]))


def _array(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A model file's array ``name`` as float32, refused if missing or not of ``shape``."""
    if name not in arrays:
        raise ValueError(f"missing array {name!r}")
    value = np.asarray(arrays[name], np.float32)
    if value.shape != shape:
        raise ValueError(f"array {name!r} has shape {value.shape}, expected {shape}")
    return value


def _calibration_table(value: np.ndarray) -> np.ndarray:
    """A model file's calibration table, refused unless it is one: the decision's shape,
    probabilities that do not fall as P(body) rises."""
    table = np.asarray(value, np.float64)
    shape = (3, CALIBRATION_KNOTS + 1)
    if table.shape != shape:
        raise ValueError(f"array 'body_calibration_' has shape {table.shape}, expected {shape}")
    if not (np.isfinite(table).all() and (table >= 0).all() and (table <= 1).all()
            and (np.diff(table, axis=1) >= 0).all()):
        raise ValueError("array 'body_calibration_' is not a calibration table "
                         "(probabilities from 0 to 1, not falling along each row)")
    return table


def _table_proba(H: sp.csr_matrix, table: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Label probabilities of the rows of ``H`` from a (buckets, labels) table and a bias
    per label: either half of stage 1."""
    return _softmax(np.asarray(H @ table) + bias)


def _over_all_labels(
    weights: np.ndarray, bias: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Output weights (inputs, n_outputs) and biases that scikit-learn fitted for
    ``classes``, spread over all seven labels: an absent label gets a bias of -30, never
    chosen; with two classes the one output is the second class's log-odds (softmax over
    (0, z) is the logistic)."""
    k = len(LABELS)
    out_w = np.zeros((weights.shape[0], k), np.float32)
    out_b = np.full(k, -30.0, np.float32)
    if len(classes) == 2:
        out_w[:, classes[1]] = weights[:, 0]
        out_b[classes[0]] = 0.0
        out_b[classes[1]] = bias[0]
    else:
        out_w[:, classes] = weights
        out_b[classes] = bias
    return out_w, out_b


def check_penalty(penalty: object) -> None:
    """Refuse a penalty ``adapt`` cannot use: a number >= 0, None or "auto"."""
    if not (penalty is None or penalty == "auto"
            or (isinstance(penalty, (int, float)) and penalty >= 0)):
        raise ValueError(f"penalty must be a number >= 0, None or 'auto', not {penalty!r}")


def _fine_tune(
    net: tuple[np.ndarray, ...], X2: np.ndarray, target: np.ndarray, weights: np.ndarray,
    penalty: float, start: tuple[np.ndarray, ...] | None = None,
) -> tuple[np.ndarray, ...]:
    """Stage-2 weights that minimise the weighted mean cross-entropy on ``(X2, target)``
    plus ``penalty / 2`` times the squared distance to ``net``'s weights (an L2 pull back
    to what the network knew), by L-BFGS from ``start`` (default ``net``). Full batch, so
    the result does not depend on a random order."""
    from scipy.optimize import minimize

    shapes = [a.shape for a in net]
    anchor = np.concatenate([a.ravel() for a in net]).astype(np.float64)
    x0 = anchor if start is None else np.concatenate([a.ravel() for a in start]).astype(
        np.float64)
    X2 = X2.astype(np.float64)
    w = weights.astype(np.float64) / max(float(weights.sum()), 1e-12)
    rows = np.arange(len(target))

    def unpack(theta: np.ndarray) -> list[np.ndarray]:
        parts, i = [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            parts.append(theta[i : i + n].reshape(shape))
            i += n
        return parts

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w1, b1, w2, b2 = unpack(theta)
        a = X2 @ w1 + b1
        h = np.maximum(a, 0)
        z = h @ w2 + b2
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        d = theta - anchor
        value = -float(w @ logp[rows, target]) + 0.5 * penalty * float(d @ d)
        dz = np.exp(logp)
        dz[rows, target] -= 1.0
        dz *= w[:, None]
        dh = (dz @ w2.T) * (a > 0)
        grad = np.concatenate([(X2.T @ dh).ravel(), dh.sum(axis=0), (h.T @ dz).ravel(),
                               dz.sum(axis=0)]) + penalty * d
        return value, grad

    with one_thread():  # the same update on any machine
        result = minimize(loss, x0, jac=True, method="L-BFGS-B",
                          options={"maxiter": ADAPT_MAX_ITER})
    return tuple(part.astype(np.float32) for part in unpack(result.x))



class LineClassifier:
    """Labels every unit of a document with one of ``LABELS``.

    Follows scikit-learn's conventions, with documents as samples: ``X`` is a sequence of
    ``DocFeatures`` (one per document) and ``y`` a sequence of per-unit label lists.
    """

    #: The recurrent network averaged with stage 2 (``sequence``), or None.
    sequence_: SequenceNet | None = None
    #: The table that turns this model's P(body) into the chance that a unit is body
    #: (``decode.BODY_CALIBRATION``'s shape), or None for that default. Not made by
    #: ``fit``: it is fitted on pages held out of a model trained the same way on the
    #: rest (``cleaner.calibration``), which ``cleaner train`` does.
    body_calibration_: np.ndarray | None = None

    def __init__(
        self,
        n_hash_bits: int = 18,
        smoothing: float = 1.0,
        hidden: int = 64,
        n_folds: int = 3,
        weighting: str = "sqrt",
        max_iter: int = 40,
        passes: int = 1,
        n_nets: int = 4,
        linear_alpha: float | None = 1e-6,
        linear_epochs: int = 5,
        random_state: int = 0,
        distill_hidden: int | None = None,
        distill_temperature: float = 2.0,
        teacher_trees: int = 0,
        sequence: int = 0,
    ):
        self.n_hash_bits = n_hash_bits
        self.smoothing = smoothing
        self.hidden = hidden
        self.n_folds = n_folds
        self.weighting = weighting
        self.max_iter = max_iter
        self.passes = passes
        self.n_nets = n_nets
        self.linear_alpha = linear_alpha
        self.linear_epochs = linear_epochs
        self.random_state = random_state
        self.distill_hidden = distill_hidden
        self.distill_temperature = distill_temperature
        self.teacher_trees = teacher_trees
        self.sequence = sequence

    # scikit-learn's get_params/set_params, without requiring BaseEstimator at run time.
    def get_params(self, deep: bool = True) -> dict:
        return {
            name: getattr(self, name)
            for name in ("n_hash_bits", "smoothing", "hidden", "n_folds", "weighting",
                         "max_iter", "passes", "n_nets", "linear_alpha", "linear_epochs",
                         "random_state", "distill_hidden", "distill_temperature",
                         "teacher_trees", "sequence")
        }

    def set_params(self, **params: object) -> LineClassifier:
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"LineClassifier({args})"

    # ----- fitting ---------------------------------------------------------------------

    def _count_stage1(self, H: sp.csr_matrix, y: np.ndarray, w: np.ndarray):
        """Weighted counts of each hashed n-gram per label, and of each label: the
        Naive-Bayes evidence of stage 1 is made from them. Counting is one pass, so
        stage 1 trains in seconds, and adapting to new labels just adds counts."""
        onehot = np.zeros((len(y), len(LABELS)), np.float64)
        onehot[np.arange(len(y)), y] = w
        counts = np.asarray(H.T @ onehot).T  # (labels, buckets)
        return counts.astype(np.float32), onehot.sum(axis=0).astype(np.float32)

    def _evidence(self, counts: np.ndarray, prior: np.ndarray):
        """(buckets, labels) table of log P(n-gram | label), centred over labels, and the
        log prior of each label."""
        a = self.smoothing
        counts = counts.astype(np.float64)
        log_p = np.log(counts + a) - np.log(counts.sum(axis=1, keepdims=True)
                                            + a * counts.shape[1])
        log_p -= log_p.mean(axis=0, keepdims=True)
        log_prior = np.where(
            prior > 0, np.log(np.maximum(prior, 1e-12) / max(prior.sum(), 1e-12)), -30.0)
        return np.ascontiguousarray(log_p.T, np.float32), log_prior.astype(np.float32)

    def _fit_linear(
        self, H: sp.csr_matrix, y: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The linear half of stage 1: a logistic model (one-vs-rest, SGD) over the hashed
        n-grams, as a (buckets, labels) weight table and a bias per label. A label absent
        from ``y`` gets a bias of -30 (probability ~0). Weights are normalised to a mean
        of 1, so the learning rate does not depend on their scale."""
        from sklearn.linear_model import SGDClassifier

        present = np.unique(y)
        if len(present) < 2:  # nothing to tell apart: the one label, always
            return _over_all_labels(np.zeros((H.shape[1], 1)), np.zeros(1), present)
        sgd = SGDClassifier(loss="log_loss", alpha=self.linear_alpha,
                            max_iter=self.linear_epochs, tol=None,
                            random_state=self.random_state)
        sgd.fit(H, y, sample_weight=w / max(float(w.mean()), 1e-12))
        return _over_all_labels(sgd.coef_.T, sgd.intercept_, sgd.classes_)

    def fit(
        self,
        X: Sequence[DocFeatures],
        y: Sequence[Sequence[str]],
        groups: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> LineClassifier:
        """Fit on documents ``X`` with per-unit labels ``y``. ``groups`` keeps renderings
        of one page in one cross-validation fold; ``sample_weight`` (one per document)
        multiplies the weights of that document's units."""

        if len(X) != len(y):
            raise ValueError("X and y hold different numbers of documents")
        for doc, labels in zip(X, y):
            if len(doc) != len(labels):
                raise ValueError("a document's labels do not match its units")
        if self.distill_hidden is not None and not (
                int(self.distill_hidden) == self.distill_hidden >= 1
                and self.distill_temperature > 0):
            raise ValueError("distill_hidden must be a whole number >= 1 and "
                             "distill_temperature > 0")
        if not int(self.teacher_trees) == self.teacher_trees >= 0:
            raise ValueError("teacher_trees must be a whole number >= 0")
        if self.teacher_trees and self.distill_hidden is None:
            raise ValueError("teacher_trees needs distill_hidden: the trees only teach")
        if not int(self.sequence) == self.sequence >= 0:
            raise ValueError("sequence must be a whole number >= 0")
        target = np.array([LABEL_INDEX[label] for labels in y for label in labels], np.int64)
        if len(np.unique(target)) < 2:
            raise ValueError("training data must hold at least two different labels")
        weights = unit_weights(X, self.weighting)
        if sample_weight is not None:
            if len(sample_weight) != len(X):
                raise ValueError("sample_weight needs one weight per document")
            weights = weights * np.repeat(
                np.asarray(sample_weight, np.float64), [len(d) for d in X])
        dense = np.vstack([d.dense for d in X])
        self.dense_mean_ = dense.mean(axis=0).astype(np.float32)
        self.dense_scale_ = np.maximum(dense.std(axis=0), 1e-3).astype(np.float32)
        del dense
        H = hashed(X, self.n_hash_bits)
        offsets = np.cumsum([0] + [len(d) for d in X])

        # Out-of-fold stage-1 probabilities: stage 2 must learn from honest predictions.
        groups = list(groups) if groups is not None else [str(i) for i in range(len(X))]
        n_folds = min(self.n_folds, len(set(groups)))
        oof = np.zeros((len(target), len(LABELS)), np.float32)
        linear = np.zeros_like(oof) if self.linear_alpha is not None else None
        if n_folds >= 2:
            for rows_train, rows_test in _fold_rows(offsets, groups, n_folds):
                table, log_prior = self._evidence(*self._count_stage1(
                    H[rows_train], target[rows_train], weights[rows_train]))
                oof[rows_test] = _table_proba(H[rows_test], table, log_prior)
                if linear is not None:
                    linear[rows_test] = _table_proba(H[rows_test], *self._fit_linear(
                        H[rows_train], target[rows_train], weights[rows_train]))
        self.stage1_counts_, self.stage1_prior_ = self._count_stage1(H, target, weights)
        if linear is not None:
            coef, self.stage1_intercept_ = self._fit_linear(H, target, weights)
            # Kept at the precision the model file stores it in (it is most of the file):
            # the fitted model and the file it is saved to predict the same.
            self.stage1_coef_ = coef.astype(COEF_FILE_DTYPE).astype(np.float32)
        self.__dict__.pop("_table", None)
        if n_folds < 2:
            oof, linear = self._stage1(H)
        del H

        # Stage 2, and with ``passes=2`` a second pass that reads the stage-2 labels of
        # the neighbours (trained, like stage 2, on out-of-fold predictions).
        # One BLAS thread, as in prediction: the same model whatever the machine's cores.
        # With ``sequence``, the recurrent network reads the last pass's inputs too.
        proba = oof
        self.stages_ = []
        self.sequence_ = None
        self.body_calibration_ = None  # a table of the old fit would not read the new one
        folds = (list(_fold_rows(offsets, groups, n_folds))
                 if self.teacher_trees and n_folds >= 2 else None)  # the trees' folds
        with one_thread():
            for done in range(self.passes):
                X2 = self._stage2_matrix(X, proba, offsets, linear)
                self.stages_.append(self._fit_stage(X2, target, weights, folds))
                if done < self.passes - 1:
                    proba = (self._oof_mlp(X2, target, weights, groups, offsets, n_folds)
                             if n_folds >= 2 else _forward(self.stages_[-1], X2))
                elif self.sequence:
                    self.sequence_ = self._sequence_net().fit(
                        X2, target, np.diff(offsets), weights, n_labels=len(LABELS))
                del X2
        self.classes_ = np.array(LABELS)
        return self

    def _sequence_net(self) -> SequenceNet:
        """The (unfitted) recurrent network of ``sequence``."""
        from .sequence import SEQUENCE_EPOCHS, SEQUENCE_HIDDEN_PER_UNIT, SequenceNet

        g = int(self.sequence)
        return SequenceNet(hidden=SEQUENCE_HIDDEN_PER_UNIT * g, recurrent=g,
                           epochs=SEQUENCE_EPOCHS, random_state=self.random_state)

    def _stage2_matrix(
        self,
        X: Sequence[DocFeatures],
        proba: np.ndarray,
        offsets: np.ndarray,
        linear: np.ndarray | None,
    ) -> np.ndarray:
        """Stage-2 inputs of all units of ``X``: scaled dense measures, then the context
        of the stage-1 (or previous pass's) ``proba``, then that of the ``linear``
        stage-1 probabilities (if the model has a linear part)."""
        d = len(self.dense_mean_)
        k = proba.shape[1]
        end = d + _stage2_width(k, False)
        out = np.zeros((int(offsets[-1]), d + _stage2_width(k, linear is not None)),
                       np.float32)
        for i, doc in enumerate(X):
            a, b = offsets[i], offsets[i + 1]
            rows = out[a:b]
            np.divide(np.subtract(doc.dense, self.dense_mean_, out=rows[:, :d]),
                      self.dense_scale_, out=rows[:, :d])
            _fill_stage2(rows[:, d:end], doc.dense, proba[a:b])
            if linear is not None:
                _fill_context(rows[:, end:], linear[a:b], LINEAR_NEIGHBOURS)
        return out

    def _mlp(self, **overrides):
        from sklearn.neural_network import MLPClassifier

        params = dict(
            hidden_layer_sizes=(self.hidden,),
            alpha=1e-4,
            batch_size=512,
            learning_rate_init=1e-3,
            max_iter=self.max_iter,
            early_stopping=True,
            n_iter_no_change=4,
            random_state=self.random_state,
        )
        params.update(overrides)
        return MLPClassifier(**params)

    def _oof_mlp(self, X2, target, weights, groups, offsets, n_folds) -> np.ndarray:
        """Out-of-fold probabilities of a stage-2 network, for the next pass to learn from."""
        proba = np.zeros((len(target), len(LABELS)), np.float32)
        for rows_train, rows_test in _fold_rows(offsets, groups, n_folds):
            net = self._fit_stage(X2[rows_train], target[rows_train], weights[rows_train])
            proba[rows_test] = _forward(net, X2[rows_test])
        return proba

    def _fit_stage(self, X2: np.ndarray, target: np.ndarray, weights: np.ndarray,
                   folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None):
        """One pass of stage 2: the merged networks of ``_fit_nets`` or, with
        ``distill_hidden``, one network of that many units distilled from them (see
        ``_distill_to``): a quarter of the prediction cost at 64 units. With
        ``teacher_trees``, the teacher is the mean of the networks' and gradient-boosted
        trees' probabilities (``_tree_target``, out-of-fold over ``folds`` when given):
        the student ships, the trees do not."""
        net = self._fit_nets(X2, target, weights)
        if self.distill_hidden is None:
            return net
        from .distill import _distill_to, _teacher_target, _tree_target  # training only

        soft = _teacher_target(net, X2, self.distill_temperature)
        if self.teacher_trees:
            soft += _tree_target(X2, target, weights, int(self.teacher_trees),
                                 self.distill_temperature, self.random_state, folds)
            soft /= np.float32(2)
        return _distill_to(soft, X2, weights, int(self.distill_hidden), self.random_state)

    def _fit_nets(self, X2: np.ndarray, target: np.ndarray, weights: np.ndarray):
        """``n_nets`` networks from different random starts, merged into one network
        whose output is the mean of theirs before the softmax: their hidden units side by
        side, each one's output weights divided by ``n_nets``. One network's labels move
        by +-0.004 shingle F1 with its seed; the mean of three was 0.01 above any one of
        them on dev, and predicts with one matrix product."""
        nets = [
            self._net(self._mlp(random_state=self.random_state + i).fit(
                X2, target, sample_weight=weights))
            for i in range(self.n_nets)
        ]
        k = len(nets)
        return (np.hstack([n[0] for n in nets]), np.concatenate([n[1] for n in nets]),
                np.vstack([n[2] for n in nets]) / np.float32(k),
                (np.sum([n[3] for n in nets], axis=0) / np.float32(k)).astype(np.float32))

    @staticmethod
    def _net(mlp) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The fitted network as plain arrays (w1, b1, w2, b2) over all seven labels."""
        w1, w2 = mlp.coefs_
        b1, b2 = mlp.intercepts_
        out_w, out_b = _over_all_labels(w2, b2, mlp.classes_)
        return (w1.astype(np.float32), b1.astype(np.float32), out_w, out_b)

    def adapt(
        self,
        X: Sequence[DocFeatures],
        y: Sequence[Sequence[str]],
        count_weight: float = ADAPT_COUNT_WEIGHT,
        penalty: float | str | None = ADAPT_PENALTY,
        groups: Sequence[str] | None = None,
        **ignored: object,
    ) -> LineClassifier:
        """A copy of this fitted model, trained further on new labelled documents.

        Stage 1 adds the new data's n-gram counts, each new unit counting
        ``count_weight`` original ones as they are few. Stage 2 (the first network) is
        fine-tuned on the new documents alone: L-BFGS on their mean cross-entropy plus
        ``penalty / 2`` times the squared distance of its weights from the current ones,
        so it learns the new sites' conventions without drifting far from what it knew,
        and the original training data is not needed. As in ``fit``, stage 2 learns from
        stage-1 probabilities of documents whose counts it has not seen: leave-fold-out
        over the ``groups`` of the new documents (at most ``ADAPT_FOLDS`` folds; renderings
        of one page must share a group). With fewer than two groups, or ``penalty=None``,
        only stage 1 changes. ``penalty="auto"`` picks one of ``ADAPT_PENALTIES`` or None
        by cross-validation over the groups (slow: minutes for 20 documents, and with 20
        pages its choice is noisy, so it is not the default). Deterministic. The recurrent
        network of ``sequence``, if the model has one, is kept as it is: it reads the
        layout, which the new labels' sites share with the rest, and fine-tuning it on a
        few dozen pages would need a penalty of its own.
        """
        target = np.array([LABEL_INDEX[label] for labels in y for label in labels], np.int64)
        if len(target) == 0:
            raise ValueError("no labelled units to adapt to")
        if len(X) != len(y) or any(len(d) != len(labels) for d, labels in zip(X, y)):
            raise ValueError("a document's labels do not match its units")
        check_penalty(penalty)
        weights = unit_weights(X, self.weighting)
        new = LineClassifier.from_arrays(self.get_params(), self.to_arrays())
        H = hashed(X, self.n_hash_bits)
        counts, prior = self._count_stage1(H, target, weights)
        new.stage1_counts_ = new.stage1_counts_ + count_weight * counts
        new.stage1_prior_ = new.stage1_prior_ + count_weight * prior
        if penalty is None:
            return new

        offsets = np.cumsum([0] + [len(d) for d in X])
        # The linear half of stage 1 is kept as it is (it has no counts to add to), and
        # has not seen these documents: its probabilities are already honest ones.
        linear = self._stage1(H)[1]
        groups = list(groups) if groups is not None else [str(i) for i in range(len(X))]
        group_index = np.unique(groups, return_inverse=True)[1]
        n_folds = min(ADAPT_FOLDS, int(group_index.max()) + 1)
        if n_folds < 2:  # nothing to hold out: stage 1's counts are all it can learn
            return new
        doc_fold = group_index % n_folds
        row_fold = np.repeat(doc_fold, np.diff(offsets))
        fold_counts = [
            self._count_stage1(H[row_fold == f], target[row_fold == f], weights[row_fold == f])
            for f in range(n_folds)
        ]

        def stage1_without(rows: np.ndarray, left_out: set[int]) -> np.ndarray:
            """Stage-1 probabilities of ``rows`` from counts without the folds left out."""
            c, p = new.stage1_counts_, new.stage1_prior_
            for f in left_out:
                c = c - count_weight * fold_counts[f][0]
                p = p - count_weight * fold_counts[f][1]
            return _table_proba(H[rows], *self._evidence(c, p))

        def oof(excluded: set[int]) -> np.ndarray:
            """Leave-fold-out stage-1 probabilities of every row, the ``excluded`` folds'
            counts never used."""
            proba = np.zeros((len(target), len(LABELS)), np.float32)
            for f in range(n_folds):
                if f not in excluded:
                    rows = row_fold == f
                    proba[rows] = stage1_without(rows, excluded | {f})
            return proba

        if penalty == "auto":
            penalty = self._choose_penalty(new, X, target, weights, offsets, doc_fold, oof,
                                           stage1_without, linear)
            if penalty is None:
                return new
        # Only the first network is fine-tuned; with passes=2 the second reads its output.
        X2 = new._stage2_matrix(X, oof(set()), offsets, linear)
        new.stages_[0] = _fine_tune(self.stages_[0], X2, target, weights,
                                    float(penalty) * self._merged_nets())
        return new

    def _merged_nets(self) -> float:
        """How many networks stage 2 merges (its width over ``hidden``); the penalty is
        multiplied by it. ``ADAPT_PENALTY`` was measured on one network: on four merged
        ones the same penalty let the fixture test forget (accuracy on the other fixtures
        0.88 -> 0.61), four times that penalty did not."""
        if self.distill_hidden is not None:  # one network, distilled from them
            return 1.0
        return max(self.stages_[0][0].shape[1] / max(self.hidden, 1), 1.0)

    def _choose_penalty(self, new, X, target, weights, offsets, doc_fold, oof,
                        stage1_without, linear) -> float | None:
        """The candidate penalty (or None: stage 2 unchanged) whose fine-tuning puts the
        most words of held-out new documents on the right side of body / not body."""
        candidates: list[float | None] = [None, *ADAPT_PENALTIES]
        errors = np.zeros(len(candidates))
        words = 1.0 + np.expm1(np.concatenate([d.dense[:, 1] for d in X]))
        row_fold = np.repeat(doc_fold, np.diff(offsets))
        for f in np.unique(doc_fold):
            held, rest = row_fold == f, row_fold != f
            X2 = new._stage2_matrix(X, oof({int(f)}), offsets, linear)
            held_docs = [X[i] for i in np.flatnonzero(doc_fold == f)]
            X2_held = new._stage2_matrix(held_docs, stage1_without(held, {int(f)}),
                                         np.cumsum([0] + [len(d) for d in held_docs]),
                                         None if linear is None else linear[held])
            net = self.stages_[0]
            for j, lam in enumerate(candidates):
                if lam is not None:  # weakening penalties, each from the last solution
                    net = _fine_tune(self.stages_[0], X2[rest], target[rest], weights[rest],
                                     lam * self._merged_nets(), start=net)
                wrong = (_forward(net, X2_held).argmax(axis=1) == _BODY) != (
                    target[held] == _BODY)
                errors[j] += float(words[held][wrong].sum())
        # Ties go to the earlier, more cautious candidate.
        return candidates[int(np.argmin(errors))]

    # ----- prediction (numpy only) -----------------------------------------------------

    def stage1_proba(self, X: Sequence[DocFeatures]) -> np.ndarray:
        """Naive-Bayes stage-1 probabilities of every unit of ``X``, one row per unit."""
        return self._stage1(hashed(X, self.n_hash_bits))[0]

    def _stage1(self, H: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray | None]:
        """Naive-Bayes and linear stage-1 probabilities of the rows of ``H`` (None: the
        model has no linear half), from one product with their tables side by side."""
        table, bias = self._stage1_table()
        z = np.asarray(H @ table) + bias
        k = len(LABELS)
        return _softmax(z[:, :k]), (_softmax(z[:, k:]) if z.shape[1] > k else None)

    def _stage1_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1's (buckets, labels) tables side by side, made once per loaded model:
        the Naive-Bayes evidence from the counts, then the linear half's weights (if the
        model has one); and their biases."""
        cached = self.__dict__.get("_table")
        if cached is None:
            table, bias = self._evidence(self.stage1_counts_, self.stage1_prior_)
            if self.linear_alpha is not None:
                table = np.ascontiguousarray(np.hstack([table, self.stage1_coef_]))
                bias = np.concatenate([bias, self.stage1_intercept_])
            cached = self.__dict__["_table"] = (table, bias)
        return cached

    def predict_proba(self, X: Sequence[DocFeatures]) -> list[np.ndarray]:
        """Per document, an (n_units, 7) array of label probabilities (order: LABELS)."""
        if not X:
            return []
        offsets = np.cumsum([0] + [len(d) for d in X])
        if offsets[-1] == 0:
            return [np.zeros((0, len(LABELS)), np.float32) for _ in X]
        proba, linear = self._stage1(hashed(X, self.n_hash_bits))
        with one_thread():
            for net in self.stages_:
                X2 = self._stage2_matrix(X, proba, offsets, linear)
                proba = _forward(net, X2)
            if self.sequence_ is not None:
                proba += self.sequence_.predict_proba(X2, np.diff(offsets))
                proba /= np.float32(2)
        return [proba[offsets[i] : offsets[i + 1]] for i in range(len(X))]

    def predict(self, X: Sequence[DocFeatures]) -> list[list[str]]:
        return [[LABELS[j] for j in p.argmax(axis=1)] for p in self.predict_proba(X)]

    # ----- plain arrays, for the model file --------------------------------------------

    _NET = ("w1", "b1", "w2", "b2")

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "dense_mean_": self.dense_mean_,
            "dense_scale_": self.dense_scale_,
            "stage1_counts_": self.stage1_counts_,
            "stage1_prior_": self.stage1_prior_,
        }
        if self.linear_alpha is not None:
            arrays["stage1_coef_"] = self.stage1_coef_.astype(COEF_FILE_DTYPE)
            arrays["stage1_intercept_"] = self.stage1_intercept_
        for i, net in enumerate(self.stages_):
            for part, value in zip(self._NET, net):
                arrays[f"pass{i + 1}_{part}"] = value
        if self.sequence_ is not None:
            for name, value in self.sequence_.get_arrays().items():
                arrays[f"sequence_{name}"] = value
        if self.body_calibration_ is not None:
            arrays["body_calibration_"] = np.asarray(self.body_calibration_, np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, params: dict, arrays: dict[str, np.ndarray]) -> LineClassifier:
        if "linear_alpha" not in params:  # written before stage 1 had a linear half
            params = {**params, "linear_alpha": None}
        model = cls(**params)
        d = len(DENSE_NAMES)
        k = len(LABELS)
        linear = model.linear_alpha is not None
        n_in = d + _stage2_width(k, linear)
        expected = {
            "dense_mean_": (d,),
            "dense_scale_": (d,),
            "stage1_counts_": (k, 1 << model.n_hash_bits),
            "stage1_prior_": (k,),
        }
        if linear:
            expected["stage1_coef_"] = (1 << model.n_hash_bits, k)
            expected["stage1_intercept_"] = (k,)
        for name, shape in expected.items():
            setattr(model, name, _array(arrays, name, shape))
        model.stages_ = []
        for i in range(model.passes):
            names = [f"pass{i + 1}_{part}" for part in cls._NET]
            missing = [name for name in names if name not in arrays]
            if missing:
                raise ValueError(f"missing array {missing[0]!r}")
            w1, b1, w2, b2 = (np.asarray(arrays[name], np.float32) for name in names)
            h = w1.shape[1] if w1.ndim == 2 else -1
            if w1.shape != (n_in, h) or b1.shape != (h,) or w2.shape != (h, k) or b2.shape != (k,):
                raise ValueError(f"pass-{i + 1} weights do not fit this version's features")
            model.stages_.append((w1, b1, w2, b2))
        model.sequence_ = None
        if model.sequence:
            net = model._sequence_net()
            model.sequence_ = net.set_arrays({
                name: _array(arrays, f"sequence_{name}", shape)
                for name, shape in net.shapes(n_in, k).items()})
        model.body_calibration_ = None  # (a file written before models carried a table)
        if "body_calibration_" in arrays:
            model.body_calibration_ = _calibration_table(arrays["body_calibration_"])
        model.classes_ = np.array(LABELS)
        return model
