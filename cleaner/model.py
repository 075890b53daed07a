"""The learned line classifier: two stages over a document's units.

Stage 1 is a Naive-Bayes model over each unit's hashed n-grams: it reads the words.
Stage 2 is a small neural network (``MLPClassifier``) over the dense measures plus the
stage-1 probabilities of the unit and its neighbours: it reads the page's layout, so that a
sentence-like line inside a block of links is not called body. Stage 2 is trained on
out-of-fold stage-1 predictions, so it learns how stage 1 behaves on unseen pages.

Prediction needs only numpy: the fitted weights are plain arrays (see ``to_arrays``), so a
model file never holds code and keeps working across scikit-learn releases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .features import DENSE_NAMES, DocFeatures, _shift, hashed, window_mean
from .labels import LABEL_INDEX, LABELS

#: Offsets of the neighbours whose stage-1 probabilities stage 2 sees.
STAGE2_NEIGHBOURS = (-3, -2, -1, 1, 2, 3)
#: Half-width of the window of averaged stage-1 probabilities stage 2 sees.
STAGE2_WINDOW = 8
#: Passes over the new data, and the step size, when adapting a fitted model.
ADAPT_EPOCHS = 5
ADAPT_LEARNING_RATE = 1e-3
#: How much one new labelled unit counts in stage 1, against one of the original data.
ADAPT_COUNT_WEIGHT = 20.0
_BODY = LABEL_INDEX["body"]


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


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def stage2_inputs(dense: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Stage-2 inputs of one document: scaled dense measures, the stage-1 probabilities of
    the unit and its neighbours, their windowed mean, and where the unit lies relative to
    the text stage 1 believes is body."""
    body = proba[:, _BODY]
    words = np.expm1(dense[:, 1]) if dense.size else np.zeros(0)
    mass = body * np.maximum(words, 0)
    total = max(float(mass.sum()), 1e-6)
    before = (np.cumsum(mass) - mass) / total
    after = 1.0 - before - mass / total
    strong = (body > 0.5).astype(np.float32)
    seen_before = np.maximum.accumulate(np.r_[0.0, strong[:-1]]) if len(strong) else strong
    seen_after = (
        np.maximum.accumulate(np.r_[strong[:0:-1], 0.0])[::-1] if len(strong) else strong
    )
    return np.hstack(
        [proba]
        + [_shift(proba, k) for k in STAGE2_NEIGHBOURS]
        + [window_mean(proba, STAGE2_WINDOW)]
        + [np.column_stack([before, after, seen_before, seen_after]).astype(np.float32)]
    )


class LineClassifier:
    """Labels every unit of a document with one of ``LABELS``.

    Follows scikit-learn's conventions, with documents as samples: ``X`` is a sequence of
    ``DocFeatures`` (one per document) and ``y`` a sequence of per-unit label lists.
    """

    def __init__(
        self,
        n_hash_bits: int = 18,
        smoothing: float = 1.0,
        hidden: int = 64,
        n_folds: int = 3,
        weighting: str = "sqrt",
        max_iter: int = 40,
        random_state: int = 0,
    ):
        self.n_hash_bits = n_hash_bits
        self.smoothing = smoothing
        self.hidden = hidden
        self.n_folds = n_folds
        self.weighting = weighting
        self.max_iter = max_iter
        self.random_state = random_state

    # scikit-learn's get_params/set_params, without requiring BaseEstimator at run time.
    def get_params(self, deep: bool = True) -> dict:
        return {
            name: getattr(self, name)
            for name in ("n_hash_bits", "smoothing", "hidden", "n_folds", "weighting",
                         "max_iter", "random_state")
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

    def fit(
        self,
        X: Sequence[DocFeatures],
        y: Sequence[Sequence[str]],
        groups: Sequence[str] | None = None,
    ) -> LineClassifier:
        from sklearn.model_selection import GroupKFold
        from sklearn.neural_network import MLPClassifier

        if len(X) != len(y):
            raise ValueError("X and y hold different numbers of documents")
        for doc, labels in zip(X, y):
            if len(doc) != len(labels):
                raise ValueError("a document's labels do not match its units")
        target = np.array([LABEL_INDEX[label] for labels in y for label in labels], np.int64)
        if len(np.unique(target)) < 2:
            raise ValueError("training data must hold at least two different labels")
        weights = unit_weights(X, self.weighting)
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
        if n_folds >= 2:
            doc_index = np.arange(len(X))
            for train_docs, test_docs in GroupKFold(n_splits=n_folds).split(
                doc_index, groups=groups
            ):
                rows_train = np.concatenate(
                    [np.arange(offsets[i], offsets[i + 1]) for i in train_docs])
                rows_test = np.concatenate(
                    [np.arange(offsets[i], offsets[i + 1]) for i in test_docs])
                table, log_prior = self._evidence(*self._count_stage1(
                    H[rows_train], target[rows_train], weights[rows_train]))
                oof[rows_test] = _softmax(np.asarray(H[rows_test] @ table) + log_prior)
        self.stage1_counts_, self.stage1_prior_ = self._count_stage1(H, target, weights)
        if n_folds < 2:
            table, log_prior = self._stage1_table()
            oof = _softmax(np.asarray(H @ table) + log_prior)
        del H

        X2 = self._stage2_matrix(X, oof, offsets)
        mlp = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            alpha=1e-4,
            batch_size=512,
            learning_rate_init=1e-3,
            max_iter=self.max_iter,
            early_stopping=True,
            n_iter_no_change=4,
            random_state=self.random_state,
        )
        mlp.fit(X2, target, sample_weight=weights)
        self._set_stage2(mlp)
        self.classes_ = np.array(LABELS)
        return self

    def _stage2_matrix(
        self, X: Sequence[DocFeatures], proba: np.ndarray, offsets: np.ndarray
    ) -> np.ndarray:
        parts = []
        for i, doc in enumerate(X):
            scaled = (doc.dense - self.dense_mean_) / self.dense_scale_
            p = proba[offsets[i] : offsets[i + 1]]
            parts.append(np.hstack([scaled, stage2_inputs(doc.dense, p)]))
        return np.vstack(parts).astype(np.float32)

    def _set_stage2(self, mlp) -> None:
        w1, w2 = mlp.coefs_
        b1, b2 = mlp.intercepts_
        k = len(LABELS)
        # Labels absent from the training data get a score that is never chosen.
        out_w = np.zeros((w2.shape[0], k), np.float32)
        out_b = np.full(k, -30.0, np.float32)
        classes = mlp.classes_
        if len(classes) == 2:  # one logistic output: softmax over (0, z) is the same
            out_w[:, classes[1]] = w2[:, 0]
            out_b[classes[0]] = 0.0
            out_b[classes[1]] = b2[0]
        else:
            out_w[:, classes] = w2
            out_b[classes] = b2
        self.stage2_w1_ = w1.astype(np.float32)
        self.stage2_b1_ = b1.astype(np.float32)
        self.stage2_w2_ = out_w
        self.stage2_b2_ = out_b

    def adapt(
        self,
        X: Sequence[DocFeatures],
        y: Sequence[Sequence[str]],
        epochs: int = ADAPT_EPOCHS,
        learning_rate: float = ADAPT_LEARNING_RATE,
        count_weight: float = ADAPT_COUNT_WEIGHT,
        **ignored: object,
    ) -> LineClassifier:
        """A copy of this fitted model, trained further on new labelled documents.

        Stage 1 adds the new data's n-gram counts (weighted up, as they are few) to the
        counts it was built from; stage 2 starts from the current weights and takes a few
        small steps on the new data only. So it learns the new sites' patterns while
        staying close to what it knew, without needing the original training data.
        """
        from sklearn.neural_network import MLPClassifier

        target = np.array([LABEL_INDEX[label] for labels in y for label in labels], np.int64)
        if len(target) == 0:
            raise ValueError("no labelled units to adapt to")
        weights = unit_weights(X, self.weighting)
        new = LineClassifier(**self.get_params())
        for name in self.ARRAYS:
            setattr(new, name, getattr(self, name).copy())
        new.classes_ = np.array(LABELS)
        all_classes = np.arange(len(LABELS))
        rng = np.random.RandomState(self.random_state)

        counts, prior = self._count_stage1(hashed(X, self.n_hash_bits), target, weights)
        new.stage1_counts_ = new.stage1_counts_ + count_weight * counts
        new.stage1_prior_ = new.stage1_prior_ + count_weight * prior

        offsets = np.cumsum([0] + [len(d) for d in X])
        X2 = new._stage2_matrix(X, new.stage1_proba(X), offsets)
        mlp = MLPClassifier(
            hidden_layer_sizes=(self.hidden,), alpha=1e-4, batch_size=256,
            learning_rate_init=learning_rate, random_state=self.random_state,
        )
        mlp.partial_fit(X2[:1], target[:1], classes=all_classes)
        mlp.coefs_ = [new.stage2_w1_.astype(np.float64), new.stage2_w2_.astype(np.float64)]
        mlp.intercepts_ = [new.stage2_b1_.astype(np.float64),
                           new.stage2_b2_.astype(np.float64)]
        for _ in range(epochs):
            order = rng.permutation(len(target))
            mlp.partial_fit(X2[order], target[order], sample_weight=weights[order])
        new._set_stage2(mlp)
        return new

    # ----- prediction (numpy only) -----------------------------------------------------

    def stage1_proba(self, X: Sequence[DocFeatures]) -> np.ndarray:
        table, log_prior = self._stage1_table()
        z = hashed(X, self.n_hash_bits) @ table
        return _softmax(np.asarray(z) + log_prior)

    def _stage1_table(self) -> tuple[np.ndarray, np.ndarray]:
        """The evidence table, made from the counts once per loaded model."""
        cached = self.__dict__.get("_table")
        if cached is None:
            cached = self._evidence(self.stage1_counts_, self.stage1_prior_)
            self.__dict__["_table"] = cached
        return cached

    def predict_proba(self, X: Sequence[DocFeatures]) -> list[np.ndarray]:
        """Per document, an (n_units, 7) array of label probabilities (order: LABELS)."""
        if not X:
            return []
        offsets = np.cumsum([0] + [len(d) for d in X])
        if offsets[-1] == 0:
            return [np.zeros((0, len(LABELS)), np.float32) for _ in X]
        p1 = self.stage1_proba(X)
        X2 = self._stage2_matrix(X, p1, offsets)
        h = np.maximum(X2 @ self.stage2_w1_ + self.stage2_b1_, 0)
        p2 = _softmax(h @ self.stage2_w2_ + self.stage2_b2_)
        return [p2[offsets[i] : offsets[i + 1]] for i in range(len(X))]

    def predict(self, X: Sequence[DocFeatures]) -> list[list[str]]:
        return [[LABELS[j] for j in p.argmax(axis=1)] for p in self.predict_proba(X)]

    # ----- plain arrays, for the model file --------------------------------------------

    ARRAYS = (
        "dense_mean_", "dense_scale_", "stage1_counts_", "stage1_prior_",
        "stage2_w1_", "stage2_b1_", "stage2_w2_", "stage2_b2_",
    )

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def from_arrays(cls, params: dict, arrays: dict[str, np.ndarray]) -> LineClassifier:
        model = cls(**params)
        d = len(DENSE_NAMES)
        expected = {
            "dense_mean_": (d,),
            "dense_scale_": (d,),
            "stage1_counts_": (len(LABELS), 1 << model.n_hash_bits),
            "stage1_prior_": (len(LABELS),),
            "stage2_b2_": (len(LABELS),),
        }
        for name in cls.ARRAYS:
            if name not in arrays:
                raise ValueError(f"missing array {name!r}")
            value = np.asarray(arrays[name], np.float32)
            if name in expected and value.shape != expected[name]:
                raise ValueError(f"array {name!r} has shape {value.shape}, "
                                 f"expected {expected[name]}")
            setattr(model, name, value)
        n_in = model.stage2_w1_.shape[0]
        if n_in != d + len(LABELS) * (2 + len(STAGE2_NEIGHBOURS)) + 4:
            raise ValueError("stage-2 weights do not fit this version's features")
        if model.stage2_w2_.shape != (model.stage2_w1_.shape[1], len(LABELS)):
            raise ValueError("stage-2 output weights have the wrong shape")
        model.classes_ = np.array(LABELS)
        return model
