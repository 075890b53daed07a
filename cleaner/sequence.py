"""A bidirectional GRU over a document's units, in numpy: stage 2 as a sequence model.

Stage 2's network reads each unit with a fixed window of context (neighbours at ±1..3,
means over ±8 units, decayed means). A recurrent layer reads the whole document in both
directions and learns what to carry along: that a comment section began forty lines ago,
that the menu has not ended yet. On held-out training pages it errs in other places than
the window network does, so the two are worth more together than either alone
(``benchmarks/stage2_trial.py --sequence``); on dev they were not, so the shipped model
has none (docs/algorithm.md, section 4, item 5).

The network: ``h = relu(X @ w_in + b_in)``; a GRU forwards and one backwards over ``h``
(PyTorch's gate convention); logits from ``[h, forwards, backwards]``. Trained on hard
labels with the weighted cross-entropy by Adam over batches of whole documents (of about
``batch_units`` units, of similar lengths), the learning rate decaying linearly to 0, from
one seed: the same data gives the same network. Inputs are standardised for training and
the scaling folded into ``w_in`` afterwards, so the fitted network reads raw inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .adam import Adam
from .network import _softmax

#: The recurrent network beside stage 2 (``LineClassifier(sequence=G)``, G recurrent
#: units each way): its first layer's width per recurrent unit (64 for G = 32 and 32 for
#: G = 16, the two shapes measured) and its passes over the training pages. Its
#: probabilities and stage 2's are averaged.
SEQUENCE_HIDDEN_PER_UNIT = 2
SEQUENCE_EPOCHS = 15
#: Inputs whose spread in training is below this are constant to the network: their
#: weights are zeroed when the scaling is folded in, so that a value never seen in
#: training cannot be multiplied by 1 / spread.
_MIN_SCALE = 1e-3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(0.5) * (np.tanh(np.float32(0.5) * x) + np.float32(1.0))


def _batch_softmax(logits: np.ndarray) -> np.ndarray:
    """``network._softmax`` over the last axis of a (T, B, K) batch."""
    return _softmax(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)


@dataclass
class _Trace:
    """What one direction's forward pass keeps for the backward pass."""

    prev: np.ndarray  # (T, B, G) state before each step
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    hn: np.ndarray  # prev @ w_hn + b_hn, before the reset gate


def gru_forward(
    a: np.ndarray, w_h: np.ndarray, b_h: np.ndarray, keep: bool = False,
) -> tuple[np.ndarray, _Trace | None]:
    """States of a GRU over time-major input projections ``a`` (T, B, 3G), which already
    hold ``x @ w_x + b_x``; ``w_h`` (G, 3G) and ``b_h`` (3G) are the recurrent weights.
    Gates in the order reset, update, new."""
    steps, batch, three = a.shape
    g = three // 3
    out = np.empty((steps, batch, g), dtype=a.dtype)
    trace = _Trace(*(np.empty((steps, batch, g), dtype=a.dtype) for _ in range(5))) \
        if keep else None
    h = np.zeros((batch, g), dtype=a.dtype)
    for t in range(steps):
        rec = h @ w_h + b_h
        r = _sigmoid(a[t, :, :g] + rec[:, :g])
        z = _sigmoid(a[t, :, g:2 * g] + rec[:, g:2 * g])
        hn = rec[:, 2 * g:]
        n = np.tanh(a[t, :, 2 * g:] + r * hn)
        if trace is not None:
            trace.prev[t], trace.r[t], trace.z[t], trace.n[t], trace.hn[t] = h, r, z, n, hn
        h = n + z * (h - n)
        out[t] = h
    return out, trace


def gru_backward(
    d_out: np.ndarray, trace: _Trace, w_h: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the loss with respect to the input projections (T, B, 3G), ``w_h``
    and ``b_h``, given its gradient with respect to every state, ``d_out`` (T, B, G)."""
    steps, batch, g = d_out.shape
    d_a = np.empty((steps, batch, 3 * g), dtype=d_out.dtype)
    d_w = np.zeros_like(w_h)
    d_b = np.zeros(3 * g, dtype=d_out.dtype)
    d_rec = np.empty((batch, 3 * g), dtype=d_out.dtype)
    dh = np.zeros((batch, g), dtype=d_out.dtype)
    for t in range(steps - 1, -1, -1):
        prev, r, z, n, hn = (trace.prev[t], trace.r[t], trace.z[t], trace.n[t],
                             trace.hn[t])
        dh = dh + d_out[t]
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (prev - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        d_a[t, :, :g], d_a[t, :, g:2 * g], d_a[t, :, 2 * g:] = dr, dz, dn
        d_rec[:, :g], d_rec[:, g:2 * g], d_rec[:, 2 * g:] = dr, dz, dn * r
        d_w += prev.T @ d_rec
        d_b += d_rec.sum(axis=0)
        dh = dh * z + d_rec @ w_h.T
    return d_a, d_w, d_b


def _padded(X: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows of ``X`` as a time-major batch (T, B, D), zeros after each document's end."""
    out = np.zeros((int(lengths.max()), len(lengths), X.shape[1]), dtype=X.dtype)
    for j, (s, n) in enumerate(zip(starts, lengths)):
        out[:n, j] = X[s:s + n]
    return out


def _unpadded(P: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The inverse of ``_padded``: a (T, B, K) batch back to document rows."""
    return np.concatenate([P[:n, j] for j, n in enumerate(lengths)])


class SequenceNet:
    """Label probabilities of units from their features and the whole document around
    them (scikit-learn's conventions: parameters in ``__init__``, fitted arrays with a
    trailing underscore; documents are given as ``lengths``, the unit counts of
    consecutive documents in ``X``)."""

    def __init__(
        self, hidden: int = 64, recurrent: int = 32, epochs: int = 15,
        learning_rate: float = 2e-3, batch_units: int = 6000, random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.recurrent = recurrent
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_units = batch_units
        self.random_state = random_state

    # -- parameters -------------------------------------------------------------------
    def _init(self, n_in: int, n_out: int, rng: np.random.RandomState) -> None:
        def uniform(bound: float, *shape: int) -> np.ndarray:
            return rng.uniform(-bound, bound, shape).astype(np.float32)

        h, g = self.hidden, self.recurrent
        glorot = np.sqrt(6.0 / (n_in + h))
        gate = 1.0 / np.sqrt(g)
        out = np.sqrt(6.0 / (h + 2 * g + n_out))
        self.w_in_, self.b_in_ = uniform(glorot, n_in, h), uniform(glorot, h)
        self.fw_x_, self.fw_bx_ = uniform(gate, h, 3 * g), uniform(gate, 3 * g)
        self.fw_h_, self.fw_bh_ = uniform(gate, g, 3 * g), uniform(gate, 3 * g)
        self.bw_x_, self.bw_bx_ = uniform(gate, h, 3 * g), uniform(gate, 3 * g)
        self.bw_h_, self.bw_bh_ = uniform(gate, g, 3 * g), uniform(gate, 3 * g)
        self.w_out_, self.b_out_ = uniform(out, h + 2 * g, n_out), uniform(out, n_out)

    _PARAMS = ("w_in_", "b_in_", "fw_x_", "fw_bx_", "fw_h_", "fw_bh_",
               "bw_x_", "bw_bx_", "bw_h_", "bw_bh_", "w_out_", "b_out_")

    def shapes(self, n_in: int, n_out: int) -> dict[str, tuple[int, ...]]:
        """The shape of every fitted array (``_PARAMS`` order) for ``n_in`` inputs and
        ``n_out`` labels."""
        h, g = self.hidden, self.recurrent
        one_way = [(h, 3 * g), (3 * g,), (g, 3 * g), (3 * g,)]
        return dict(zip(self._PARAMS, [(n_in, h), (h,), *one_way, *one_way,
                                       (h + 2 * g, n_out), (n_out,)]))

    def get_arrays(self) -> dict[str, np.ndarray]:
        """The fitted arrays by name, for a model file."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> SequenceNet:
        for name in self._PARAMS:
            setattr(self, name, np.asarray(arrays[name], dtype=np.float32))
        return self

    # -- the network ------------------------------------------------------------------
    def _batch_logits(self, x: np.ndarray, lengths: np.ndarray, keep: bool = False,
                      ) -> tuple[np.ndarray, tuple]:
        """Logits (T, B, K) of a padded batch ``x`` (T, B, D), and what backward needs."""
        pre = x @ self.w_in_ + self.b_in_
        h = np.maximum(pre, 0)
        fw, fw_trace = gru_forward(h @ self.fw_x_ + self.fw_bx_, self.fw_h_, self.fw_bh_,
                                   keep)
        h_rev = _reverse_within(h, lengths)
        bw_rev, bw_trace = gru_forward(h_rev @ self.bw_x_ + self.bw_bx_, self.bw_h_,
                                       self.bw_bh_, keep)
        bw = _reverse_within(bw_rev, lengths)
        joined = np.concatenate([h, fw, bw], axis=2)
        logits = joined @ self.w_out_ + self.b_out_
        return logits, (x, pre, h, h_rev, joined, fw_trace, bw_trace)

    def _gradients(self, d_logits: np.ndarray, lengths: np.ndarray, kept) -> list:
        """Gradients of the loss in ``_PARAMS`` order, from its gradient with respect to
        the logits and what ``_batch_logits`` kept."""
        x, pre, h, h_rev, joined, fw_trace, bw_trace = kept
        width, g = self.hidden, self.recurrent
        d_joined = d_logits @ self.w_out_.T
        d_fw_in, *fw_grads = _direction_backward(
            d_joined[..., width:width + g], fw_trace, h, self.fw_x_, self.fw_h_)
        d_bw_in, *bw_grads = _direction_backward(
            _reverse_within(d_joined[..., width + g:], lengths), bw_trace, h_rev,
            self.bw_x_, self.bw_h_)
        dh = d_joined[..., :width] + d_fw_in + _reverse_within(d_bw_in, lengths)
        return [*_dense_gradients(x, dh * (pre > 0)), *fw_grads, *bw_grads,
                *_dense_gradients(joined, d_logits)]

    def loss_and_gradients(self, X: np.ndarray, target: np.ndarray, weights: np.ndarray,
                           lengths: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """The weighted mean cross-entropy of documents ``lengths`` against ``target``
        (rows of label probabilities) and its gradients, in ``_PARAMS`` order."""
        lengths = np.asarray(lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        x = _padded(X, starts, lengths)
        q = _padded(target, starts, lengths)
        wt = _padded(weights[:, None], starts, lengths)  # zero after each document's end
        logits, kept = self._batch_logits(x, lengths, keep=True)
        p = _batch_softmax(logits)
        total = float(wt.sum())
        loss = float(-(wt * q * np.log(np.maximum(p, 1e-30))).sum()) / total
        return loss, self._gradients((p - q) * wt / total, lengths, kept)

    # -- estimator --------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, lengths: np.ndarray,
            sample_weight: np.ndarray | None = None, n_labels: int | None = None,
            ) -> SequenceNet:
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.sum() != len(X) or len(y) != len(X):
            raise ValueError("lengths must add up to the rows of X and y")
        k = int(n_labels if n_labels is not None else y.max() + 1)
        target = np.zeros((len(y), k), dtype=np.float32)
        target[np.arange(len(y)), y] = 1
        weights = np.ones(len(y), np.float32) if sample_weight is None else \
            np.asarray(sample_weight, np.float32) / np.float32(np.mean(sample_weight))
        rng = np.random.RandomState(self.random_state)
        mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        spread = X.std(axis=0, dtype=np.float64).astype(np.float32)
        scale = np.maximum(spread, np.float32(_MIN_SCALE))
        X = (X - mean) / scale
        self._init(X.shape[1], k, rng)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        batches = _length_batches(lengths, self.batch_units)
        adam = Adam([getattr(self, name) for name in self._PARAMS], self.learning_rate,
                    self.epochs * len(batches))
        self.loss_curve_ = []
        for _ in range(self.epochs):
            total = 0.0
            for b in rng.permutation(len(batches)):
                docs = batches[b]
                rows = np.concatenate([np.arange(starts[d], starts[d] + lengths[d])
                                       for d in docs])
                loss, grads = self.loss_and_gradients(X[rows], target[rows], weights[rows],
                                                      lengths[docs])
                total += loss
                adam.step(grads)
            self.loss_curve_.append(total / len(batches))
        self.w_in_ /= scale[:, None]
        self.w_in_[spread < _MIN_SCALE] = 0
        self.b_in_ -= mean @ self.w_in_
        return self

    def predict_proba(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        out = np.empty((len(X), self.b_out_.shape[0]), dtype=np.float32)
        for docs in _length_batches(lengths, self.batch_units):
            x = _padded(X, starts[docs], lengths[docs])
            logits, _ = self._batch_logits(x, lengths[docs])
            P = _unpadded(_batch_softmax(logits), lengths[docs])
            at = 0
            for d in docs:
                out[starts[d]:starts[d] + lengths[d]] = P[at:at + lengths[d]]
                at += lengths[d]
        return out

    def predict(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.predict_proba(X, lengths).argmax(axis=1)


def _dense_gradients(inputs: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of a layer ``inputs @ w + b`` over a (T, B, ...) batch: of ``w``, of ``b``."""
    flat_in = inputs.reshape(-1, inputs.shape[-1])
    flat_out = d_out.reshape(-1, d_out.shape[-1])
    return flat_in.T @ flat_out, flat_out.sum(axis=0)


def _direction_backward(d_states: np.ndarray, trace: _Trace, inputs: np.ndarray,
                        w_x: np.ndarray, w_h: np.ndarray) -> tuple[np.ndarray, ...]:
    """One direction's gradients: of its ``inputs``, then of ``w_x``, ``b_x``, ``w_h``
    and ``b_h``."""
    d_a, d_h, d_bh = gru_backward(d_states, trace, w_h)
    return (d_a @ w_x.T, *_dense_gradients(inputs, d_a), d_h, d_bh)


def _reverse_within(a: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each document's steps of a time-major batch (T, B, ...) in reverse order, the
    padding staying after its end."""
    out = np.zeros_like(a)
    for j, n in enumerate(lengths):
        out[:n, j] = a[n - 1::-1, j] if n else a[:0, j]
    return out


def _length_batches(lengths: np.ndarray, units: int) -> list[np.ndarray]:
    """Documents grouped by similar length into batches of about ``units`` units, so
    that little of a padded batch is padding."""
    order = np.argsort(lengths, kind="stable")
    batches, current, size = [], [], 0
    for d in order:
        current.append(d)
        size += int(lengths[d])
        if size >= units:
            batches.append(np.array(current))
            current, size = [], 0
    if current:
        batches.append(np.array(current))
    return batches
