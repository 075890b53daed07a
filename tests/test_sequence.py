"""The bidirectional GRU over a page's units (cleaner/sequence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cleaner.sequence import SequenceNet


def _numeric_gradient(net: SequenceNet, name: str, X, T, w, lengths) -> np.ndarray:
    a = getattr(net, name)
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + 1e-6
        plus, _ = net.loss_and_gradients(X, T, w, lengths)
        a[i] = old - 1e-6
        minus, _ = net.loss_and_gradients(X, T, w, lengths)
        a[i] = old
        out[i] = (plus - minus) / 2e-6
    return out


def test_gradients_match_finite_differences() -> None:
    rng = np.random.RandomState(1)
    lengths = np.array([5, 3, 7, 1])
    X = rng.randn(lengths.sum(), 4)
    T = np.eye(3)[rng.randint(0, 3, lengths.sum())]
    w = rng.rand(lengths.sum()) + 0.5
    net = SequenceNet(hidden=5, recurrent=3)
    net._init(4, 3, rng)
    for name in net._PARAMS:  # in float64, so that finite differences are exact enough
        setattr(net, name, getattr(net, name).astype(np.float64))
    _, grads = net.loss_and_gradients(X, T, w, lengths)
    for name, analytic in zip(net._PARAMS, grads):
        numeric = _numeric_gradient(net, name, X, T, w, lengths)
        assert np.abs(numeric - analytic).max() <= 1e-6 * np.abs(numeric).max() + 1e-9, name


def _marker_pages(rng: np.random.RandomState, pages: int):
    """Pages whose units are body until a marker unit and comments after it: every unit
    but the marker looks the same, so only the page before it tells them apart."""
    X, y, lengths = [], [], []
    for _ in range(pages):
        n = rng.randint(20, 60)
        at = rng.randint(3, n - 3)
        x = rng.randn(n, 3).astype(np.float32) * 0.1
        x[at, 0] = 3.0
        X.append(x)
        y.append((np.arange(n) > at).astype(int))
        lengths.append(n)
    return np.concatenate(X), np.concatenate(y), np.array(lengths)


def test_learns_what_only_the_page_before_a_unit_shows() -> None:
    rng = np.random.RandomState(0)
    X, y, lengths = _marker_pages(rng, 200)
    net = SequenceNet(hidden=8, recurrent=8, epochs=30, learning_rate=1e-2,
                      batch_units=800).fit(X, y, lengths)
    Xt, yt, lt = _marker_pages(rng, 50)
    accuracy = (net.predict(Xt, lt) == yt).mean()
    majority = max(yt.mean(), 1 - yt.mean())  # the best a reader of one unit can do
    assert majority < 0.7
    assert accuracy > 0.95


def test_a_page_is_read_the_same_whatever_pages_share_its_batch() -> None:
    rng = np.random.RandomState(2)
    X, y, lengths = _marker_pages(rng, 12)
    net = SequenceNet(hidden=6, recurrent=4, epochs=2, batch_units=200).fit(X, y, lengths)
    together = net.predict_proba(X, lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    alone = np.concatenate([net.predict_proba(X[s:s + n], [n])
                            for s, n in zip(starts, lengths)])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(together.sum(axis=1), 1, atol=1e-5)


def test_same_data_and_seed_give_the_same_network() -> None:
    rng = np.random.RandomState(3)
    X, y, lengths = _marker_pages(rng, 20)
    weights = rng.rand(len(y)) + 0.5
    first, second = (SequenceNet(hidden=6, recurrent=4, epochs=3).fit(X, y, lengths, weights)
                     for _ in range(2))
    for name, array in first.get_arrays().items():
        np.testing.assert_array_equal(array, second.get_arrays()[name])
    copy = SequenceNet(hidden=6, recurrent=4).set_arrays(first.get_arrays())
    np.testing.assert_array_equal(copy.predict_proba(X, lengths),
                                  first.predict_proba(X, lengths))


def test_lengths_must_cover_the_rows() -> None:
    with pytest.raises(ValueError, match="lengths"):
        SequenceNet().fit(np.zeros((5, 2)), np.zeros(5, int), [2, 2])


def test_train_with_sequence_is_deterministic_and_refuses_a_bad_width(capsys, tmp_path):
    """`cleaner train --sequence G`: the file holds the recurrent network, its card the
    parameter, and the same data gives the same file; `--sequence 0` is a usage error."""
    from helpers import FIXTURES_DIR, assert_no_traceback, run

    from cleaner.modelfile import load_model

    args = ["--holdout", "0", "--hash-bits", "12", "--sequence", "4"]
    paths = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for path in paths:
        code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", path, *args)
        assert code == 0, err
    (a, meta), (b, _) = (load_model(str(p)) for p in paths)
    assert meta["params"]["sequence"] == 4
    assert a.sequence_ is not None and a.sequence_.recurrent == 4
    one, two = a.to_arrays(), b.to_arrays()
    assert "sequence_fw_h_" in one
    for name in one:
        assert np.array_equal(one[name], two[name]), name
    code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", tmp_path / "c.npz",
                         "--sequence", "0")
    assert code == 2 and "--sequence" in err
    assert_no_traceback(err)


def test_adapting_keeps_the_recurrent_network(tiny_sequence_model):
    from test_train_eval import _relabelled_fixtures

    from cleaner.modelfile import load_model
    from cleaner.train import featurize_docs

    base, _ = load_model(tiny_sequence_model)
    new, _ = _relabelled_fixtures(4)
    X, y = featurize_docs(new)
    adapted = base.adapt(X, y, groups=[d.id for d in new])
    for name, array in base.sequence_.get_arrays().items():
        np.testing.assert_array_equal(adapted.sequence_.get_arrays()[name], array)
    assert adapted.stage1_counts_.sum() > base.stage1_counts_.sum()


def test_a_constant_input_in_training_cannot_blow_up_a_prediction() -> None:
    """An input that never varied in training gets no weight once the scaling is folded
    in: a value never seen there does not change the probabilities."""
    rng = np.random.RandomState(4)
    X, y, lengths = _marker_pages(rng, 10)
    X = np.hstack([X, np.ones((len(X), 1), np.float32)])
    net = SequenceNet(hidden=4, recurrent=3, epochs=2).fit(X, y, lengths)
    odd = X.copy()
    odd[:, -1] = 1e6
    np.testing.assert_array_equal(net.predict_proba(odd, lengths),
                                  net.predict_proba(X, lengths))
