"""Distilled stage 2 (``LineClassifier(distill_hidden=...)``): one small network trained to
reproduce the merged ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import FIXTURES_DIR, assert_no_traceback, run

from cleaner import Cleaner
from cleaner.distill import _distill, _fit_trees, _tree_logits, _tree_target
from cleaner.model import LineClassifier
from cleaner.network import _softmax

pytestmark = pytest.mark.usefixtures("tiny_env")


def _synthetic():
    rng = np.random.default_rng(0)
    X2 = rng.random((2000, 6)).astype(np.float32)
    y = (X2[:, 0] + X2[:, 1] > 1).astype(np.int64) * 6  # body or boilerplate
    y[X2[:, 2] > 0.9] = 4  # and some promo
    return X2, y


def _logits(net, X2):
    w1, b1, w2, b2 = net
    return np.maximum(X2 @ w1 + b1, 0) @ w2 + b2


def test_distilled_network_reproduces_the_merged_ones():
    """The student's probabilities are the teacher's at the temperature (its cross-entropy
    against them comes down to their own entropy), its labels the teacher's on nearly
    every row, and the same data gives the same student. (On 2,000 rows one epoch is 4
    steps of Adam, so the test takes many epochs.)"""
    X2, y = _synthetic()
    w = np.ones(len(y))
    model = LineClassifier(n_nets=3, max_iter=20, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        teacher = model._fit_nets(X2, y, w)
    student = _distill(teacher, X2, w, hidden=8, temperature=2.0, random_state=7,
                       epochs=1000)
    assert student[0].shape == (6, 8) and student[2].shape == (8, 7)
    assert all(part.dtype == np.float32 for part in student)
    q = _softmax(_logits(teacher, X2) / 2.0)
    p = _softmax(_logits(student, X2))
    entropy = -(q * np.log(q + 1e-12)).sum(axis=1).mean()
    cross_entropy = -(q * np.log(p + 1e-12)).sum(axis=1).mean()
    assert cross_entropy - entropy < 0.01
    assert (q.argmax(axis=1) == p.argmax(axis=1)).mean() > 0.9
    again = _distill(teacher, X2, w, hidden=8, temperature=2.0, random_state=7,
                     epochs=1000)
    assert all(np.array_equal(a, b) for a, b in zip(student, again))


def test_train_distilled_is_deterministic_and_its_file_predicts_the_same(capsys, tmp_path):
    """`cleaner train --distill N` ships one network of N hidden units; trained twice, the
    files hold the same arrays; loaded, it predicts what the fitted model does."""
    from cleaner.labelled import read_labelled
    from cleaner.modelfile import load_model
    from cleaner.train import featurize_docs, train

    paths = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for path in paths:
        code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", path, "--holdout", "0",
                             "--hash-bits", "12", "--distill", "8")
        assert code == 0, err
        assert_no_traceback(err)
    a, b = (load_model(str(p)) for p in paths)
    assert a[1]["params"]["distill_hidden"] == 8
    assert len(a[0].stages_) == 1 and a[0].stages_[0][0].shape[1] == 8
    arrays_a, arrays_b = a[0].to_arrays(), b[0].to_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        assert np.array_equal(arrays_a[name], arrays_b[name]), name
    assert Cleaner(str(paths[0])).classify("Some text\n")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = train([str(FIXTURES_DIR)], holdout=0,
                       params={"n_hash_bits": 12, "distill_hidden": 8}).model
    X, _ = featurize_docs(list(read_labelled([str(FIXTURES_DIR)])))
    for p, q in zip(fitted.predict_proba(X), a[0].predict_proba(X)):
        assert np.array_equal(p, q)


def test_a_model_file_without_distillation_parameters_loads_as_undistilled(tiny_model):
    """Files written before distillation existed have no ``distill_*`` parameters."""
    from cleaner.modelfile import load_model

    model, meta = load_model(tiny_model)
    params = {k: v for k, v in meta["params"].items() if not k.startswith("distill")}
    old = LineClassifier.from_arrays(params, model.to_arrays())
    assert old.distill_hidden is None
    assert old.stages_[0][0].shape[1] == old.n_nets * old.hidden


@pytest.mark.parametrize("params, match", [
    ({"distill_hidden": 0}, "distill"), ({"distill_hidden": 2.5}, "distill"),
    ({"distill_hidden": 8, "distill_temperature": 0.0}, "distill"),
    ({"teacher_trees": 10}, "teacher_trees needs distill_hidden"),
    ({"teacher_trees": -1, "distill_hidden": 8}, "teacher_trees must be"),
])
def test_bad_distillation_parameters_are_refused(params, match):
    from cleaner.labelled import read_labelled
    from cleaner.train import featurize_docs

    X, y = featurize_docs(list(read_labelled([str(FIXTURES_DIR / "en-news-fullpage.tsv")])))
    with pytest.raises(ValueError, match=match):
        LineClassifier(n_hash_bits=12, **params).fit(X, y)


def test_train_refuses_a_bad_distill_width(capsys, tmp_path):
    code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", tmp_path / "m.npz",
                         "--distill", "0")
    assert code == 2 and "--distill" in err
    assert_no_traceback(err)


def test_a_distilled_model_adapts_to_new_labels_without_forgetting(tmp_path):
    """The shipped model is distilled: updating it (``cleaner train --init``) must still
    learn new labels and keep the rest, its one network held by the penalty unscaled."""
    from test_train_eval import _accuracy, _relabelled_fixtures

    from cleaner.train import featurize_docs, train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = train([str(FIXTURES_DIR)], holdout=0,
                     params={"n_hash_bits": 12, "distill_hidden": 8}).model
    assert base._merged_nets() == 1.0
    new, rest = _relabelled_fixtures(4)
    X, y = featurize_docs(new)
    adapted = base.adapt(X, y, groups=[d.id for d in new])
    assert adapted.stages_[0][0].shape == base.stages_[0][0].shape
    assert _accuracy(adapted, new) > _accuracy(base, new) + 0.1
    assert _accuracy(adapted, rest) > _accuracy(base, rest) - 0.1


def test_trees_teach_over_all_labels():
    """The trees' probabilities cover all seven labels (those absent from the data get
    none), follow the threshold rule the data was made by, soften with the temperature,
    and come out the same from the same data; with two labels too."""
    X2, y = _synthetic()
    w = np.ones(len(y))
    q = _tree_target(X2, y, w, rounds=30, temperature=1.0, random_state=0)
    assert q.shape == (len(y), 7) and q.dtype == np.float32
    assert np.allclose(q.sum(axis=1), 1, atol=1e-5)
    assert q[:, [1, 2, 3, 5]].max() < 1e-6  # title, caption, credit, meta: never seen
    assert (q.argmax(axis=1) == y).mean() > 0.97
    soft = _tree_target(X2, y, w, rounds=30, temperature=2.0, random_state=0)
    assert soft.max(axis=1).mean() < q.max(axis=1).mean()
    assert np.array_equal(q, _tree_target(X2, y, w, rounds=30, temperature=1.0,
                                          random_state=0))
    two = np.where(y == 4, 6, y)
    q2 = _tree_target(X2, two, w, rounds=30, temperature=1.0, random_state=0)
    assert (q2.argmax(axis=1) == two).mean() > 0.97
    assert np.allclose(q2[:, [0, 6]].sum(axis=1), 1, atol=1e-5)


def test_trees_teach_out_of_fold():
    """With folds, each row is taught by trees that never saw it: where the labels are
    noise, trees fitted on all rows recall them and out-of-fold trees cannot; each fold's
    rows get exactly the probabilities of trees fitted on the other folds."""
    rng = np.random.default_rng(1)
    X2 = rng.random((1200, 4)).astype(np.float32)
    y = rng.choice([0, 6], size=1200)  # no rule: what trees get right, they remember
    w = np.ones(len(y))
    rows = np.arange(len(y))
    folds = [(rows[rows % 3 != k], rows[rows % 3 == k]) for k in range(3)]
    inside = _tree_target(X2, y, w, rounds=30, temperature=1.0, random_state=0)
    outside = _tree_target(X2, y, w, rounds=30, temperature=1.0, random_state=0,
                           folds=folds)
    assert (inside.argmax(axis=1) == y).mean() > 0.8
    assert abs((outside.argmax(axis=1) == y).mean() - 0.5) < 0.06
    train, test = folds[1]
    trees = _fit_trees(X2[train], y[train], w[train], 30, 0)
    assert np.allclose(outside[test], _softmax(_tree_logits(trees, X2[test])), atol=1e-6)
    assert np.array_equal(outside, _tree_target(X2, y, w, rounds=30, temperature=1.0,
                                                random_state=0, folds=folds))


def test_train_with_teacher_trees_ships_only_the_student(capsys, tmp_path):
    """`--teacher-trees N` changes what the student learns, not what the file holds: the
    same arrays as a plain distilled model, different weights, the same file twice."""
    from cleaner.modelfile import load_model

    args = ["--holdout", "0", "--hash-bits", "12", "--distill", "8"]
    paths = [tmp_path / "plain.npz", tmp_path / "a.npz", tmp_path / "b.npz"]
    for path, extra in zip(paths, ([], ["--teacher-trees", "10"], ["--teacher-trees", "10"])):
        code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", path, *args, *extra)
        assert code == 0, err
        assert_no_traceback(err)
    (plain, _), (a, meta), (b, _) = (load_model(str(p)) for p in paths)
    assert meta["params"]["teacher_trees"] == 10
    arrays = [m.to_arrays() for m in (plain, a, b)]
    assert {k: v.shape for k, v in arrays[0].items()} == {k: v.shape for k, v in arrays[1].items()}
    assert not np.array_equal(arrays[0]["pass1_w1"], arrays[1]["pass1_w1"])
    for name in arrays[1]:
        assert np.array_equal(arrays[1][name], arrays[2][name]), name


def test_train_refuses_teacher_trees_without_distill(capsys, tmp_path):
    code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", tmp_path / "m.npz",
                         "--teacher-trees", "10")
    assert code == 2 and "--teacher-trees" in err
    assert_no_traceback(err)
