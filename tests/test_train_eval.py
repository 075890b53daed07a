"""``cleaner train`` and ``cleaner eval`` on the fixtures (small and quick)."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from helpers import FIXTURES_DIR, assert_no_traceback, run

from cleaner import Cleaner

pytestmark = pytest.mark.usefixtures("tiny_env")


def test_train_writes_model_and_card(capsys, tmp_path):
    model = tmp_path / "m.npz"
    argv = ["train", str(FIXTURES_DIR), "-o", str(model), "--holdout", "0.3",
            "--hash-bits", "12", "--seed", "3"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "shingle F1" in out  # the report on the held-out documents
    assert f"model written to {model}" in out
    card = tmp_path / "m.md"
    assert f"model card written to {card}" in out
    assert f"`cleaner {shlex.join(argv)}`" in card.read_text(encoding="utf-8")
    assert "n_hash_bits=12" in card.read_text(encoding="utf-8")  # the estimator's parameters
    assert Cleaner(model).model.get_params()["n_hash_bits"] == 12
    assert Cleaner(model).model.get_params()["random_state"] == 3
    assert_no_traceback(err)


def test_train_init_adapts(capsys, tmp_path, tiny_model):
    model = tmp_path / "adapted.npz"
    code, out, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv", "-o", model,
                         "--init", tiny_model, "--holdout", "0")
    assert code == 0, err
    assert "Adapted from: `tiny.npz`" in (tmp_path / "adapted.md").read_text()
    assert Cleaner(model).classify("Some text\n")


def test_train_init_penalty_none_updates_the_word_counts_only(capsys, tmp_path, tiny_model):
    import numpy as np

    model = tmp_path / "counts.npz"
    code, _, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv", "-o", model,
                       "--init", tiny_model, "--holdout", "0", "--penalty", "none")
    assert code == 0, err
    base, new = Cleaner(tiny_model).model, Cleaner(model).model
    for before, after in zip(base.stages_[0], new.stages_[0]):
        assert np.array_equal(before, after)
    assert new.stage1_counts_.sum() > base.stage1_counts_.sum()
    # Stage 2 learns from held-out pages: it needs two of them at least.
    code, _, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv",
                       FIXTURES_DIR / "de-news-fullpage.tsv", "-o", tmp_path / "tuned.npz",
                       "--init", tiny_model, "--holdout", "0", "--penalty", "0.5")
    assert code == 0, err
    tuned = Cleaner(tmp_path / "tuned.npz").model
    assert not np.array_equal(tuned.stages_[0][0], base.stages_[0][0])


@pytest.mark.parametrize("args", [["--penalty", "-1"], ["--penalty", "lots"], ["--penalty", "1"]])
def test_train_penalty_needs_init_and_a_valid_value(capsys, tmp_path, tiny_model, args):
    init = ["--init", tiny_model] if args[1] != "1" else []  # "1" is valid but lacks --init
    code, _, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv", "-o",
                       tmp_path / "m.npz", "--holdout", "0", *init, *args)
    assert code == 2
    assert "--penalty" in err
    assert_no_traceback(err)
    assert not (tmp_path / "m.npz").exists()


def test_train_bad_data(capsys, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("body\tfine\nnonsense\tline two\n", encoding="utf-8")
    code, out, err = run(capsys, "train", bad, "-o", tmp_path / "m.npz")
    assert code == 1 and f"{bad}:2: unknown label 'nonsense'" in err
    assert not (tmp_path / "m.npz").exists()
    code, _, err = run(capsys, "train", tmp_path / "nothing.tsv", "-o", tmp_path / "m.npz")
    assert code == 1 and "nothing.tsv" in err
    assert_no_traceback(err)


def test_eval(capsys, tiny_model):
    code, out, err = run(capsys, "eval", FIXTURES_DIR, "--model", tiny_model)
    assert code == 0, err
    assert "shingle F1" in out and "12 documents" in out
    for label in ("body", "boilerplate", "promo"):
        assert label in out


def test_eval_default_model_and_bad_model(capsys, tmp_path):
    code, out, _ = run(capsys, "eval", FIXTURES_DIR / "de-wirtschaft-article.tsv")
    assert code == 0 and "shingle F1" in out
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"garbage")
    code, out, err = run(capsys, "eval", FIXTURES_DIR, "--model", bad)
    assert code == 1 and "x.npz" in err
    assert_no_traceback(err)


def test_train_weighted_data(capsys, tmp_path):
    model = tmp_path / "w.npz"
    code, out, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv",
                         "--weighted", FIXTURES_DIR / "de-news-fullpage.tsv", "5",
                         "-o", model, "--holdout", "0", "--hash-bits", "12")
    assert code == 0, err
    card = (tmp_path / "w.md").read_text()
    assert "`de-news-fullpage.tsv`, each document counting 5 times" in card
    code, out, err = run(capsys, "train", FIXTURES_DIR, "--weighted", FIXTURES_DIR, "zero",
                         "-o", tmp_path / "x.npz")
    assert code == 2 and "positive weight" in err
    assert_no_traceback(err)


def test_training_is_deterministic(tmp_path):
    """Same data and seed, same model: every array of the file is identical."""
    import warnings

    import numpy as np

    from cleaner.train import train

    models = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter=10
            result = train([str(FIXTURES_DIR)], holdout=0,
                           params={"n_hash_bits": 12, "max_iter": 10, "n_folds": 2})
        models.append(result.model.to_arrays())
    assert models[0].keys() == models[1].keys()
    for name in models[0]:
        assert np.array_equal(models[0][name], models[1][name]), name


def _relabelled_fixtures(n_new: int):
    """The fixtures split in new documents relabelled to a convention they never had (all
    boilerplate: a site whose text we never want) and the rest, as they are."""
    from cleaner.fixture_format import read_fixture

    docs = [read_fixture(str(p)) for p in sorted(FIXTURES_DIR.glob("*.tsv"))]
    new = [type(d)(d.id, d.lines, ["boilerplate" if label else "" for label in d.labels],
                   d.meta) for d in docs[:n_new]]
    return new, docs[n_new:]


def _accuracy(model, docs):
    from cleaner.train import featurize_docs

    X, y = featurize_docs(docs)
    pairs = [(p, g) for ps, gs in zip(model.predict(X), y) for p, g in zip(ps, gs)]
    return sum(p == g for p, g in pairs) / len(pairs)


@pytest.mark.parametrize(("kwargs", "gain"), [
    ({"penalty": None}, 0.0),  # stage-1 counts alone
    ({"count_weight": 0.0}, 0.1),  # stage-2 fine-tuning alone
    ({}, 0.1),  # the default: both
])
def test_adapt_learns_new_labels_without_forgetting(tiny_model, kwargs, gain):
    """Updating with documents' labels moves the model towards them (each of its two
    parts does on its own), and leaves the other documents' predictions mostly as they
    were."""
    from cleaner.modelfile import load_model
    from cleaner.train import featurize_docs

    base, _ = load_model(tiny_model)
    new, rest = _relabelled_fixtures(4)
    X, y = featurize_docs(new)
    adapted = base.adapt(X, y, groups=[d.id for d in new], **kwargs)
    assert _accuracy(adapted, new) > _accuracy(base, new) + gain
    assert _accuracy(adapted, rest) > _accuracy(base, rest) - 0.1


def test_adapt_is_deterministic_and_penalty_holds_stage2(tiny_model):
    """Same data, same update; a huge penalty leaves stage 2 as it was, the default one
    moves it; without fine-tuning, stage 2 is untouched and stage 1 adds the counts."""
    import numpy as np

    from cleaner.modelfile import load_model
    from cleaner.train import featurize_docs

    base, _ = load_model(tiny_model)
    new, _ = _relabelled_fixtures(4)
    X, y = featurize_docs(new)
    groups = [d.id for d in new]
    one, two = (base.adapt(X, y, groups=groups).to_arrays() for _ in range(2))
    for name in one:
        assert np.array_equal(one[name], two[name]), name
    held = base.adapt(X, y, groups=groups, penalty=1e9).stages_[0]
    for before, stiff in zip(base.stages_[0], held):
        assert np.allclose(before, stiff, atol=1e-4)
    moved = [one[f"pass1_{part}"] for part in ("w1", "b1", "w2", "b2")]
    assert max(float(np.abs(b - m).max()) for b, m in zip(base.stages_[0], moved)) > 1e-2
    counts_only = base.adapt(X, y, groups=groups, penalty=None)
    assert counts_only.stage1_counts_.sum() > base.stage1_counts_.sum()
    for before, after in zip(base.stages_[0], counts_only.stages_[0]):
        assert np.array_equal(before, after)


def test_adapt_refuses_a_bad_penalty(tiny_model):
    from cleaner.modelfile import load_model
    from cleaner.train import featurize_docs

    base, _ = load_model(tiny_model)
    new, _ = _relabelled_fixtures(2)
    X, y = featurize_docs(new)
    for penalty in (-1.0, "strong"):
        with pytest.raises(ValueError, match="penalty"):
            base.adapt(X, y, penalty=penalty)


@pytest.mark.parametrize("labels", [("body", "boilerplate"), ("body", "boilerplate", "promo")])
def test_linear_stage1_reads_the_words_and_leaves_absent_labels_out(labels):
    """The linear half of stage 1: each unit's one word tells its label; labels never
    seen in training get no probability."""
    import scipy.sparse as sp

    from cleaner.labels import LABEL_INDEX
    from cleaner.model import LineClassifier, _table_proba

    rng = np.random.default_rng(0)
    y = np.array([LABEL_INDEX[labels[i % len(labels)]] for i in range(300)])
    columns = y * 10 + rng.integers(0, 3, len(y))  # three words per label
    H = sp.csr_matrix((np.ones(len(y), np.float32), (np.arange(len(y)), columns)),
                      shape=(len(y), 128))
    model = LineClassifier(random_state=0)
    coef, bias = model._fit_linear(H, y, np.ones(len(y)))
    proba = _table_proba(H, coef, bias)
    assert (proba.argmax(axis=1) == y).all()
    absent = [LABEL_INDEX[name] for name in LABEL_INDEX if name not in labels]
    assert proba[:, absent].max() < 1e-6
    again = model._fit_linear(H, y, np.ones(len(y)))
    assert np.array_equal(coef, again[0]) and np.array_equal(bias, again[1])


def test_a_fitted_model_and_its_file_predict_exactly_the_same(tmp_path):
    """The linear weights are stored at half precision (most of the file); the fitted
    model already holds them so, so the report printed by `cleaner train` is the file's."""
    import warnings

    from cleaner.modelfile import load_model, save_model
    from cleaner.train import featurize_docs, train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter=10
        result = train([str(FIXTURES_DIR)], holdout=0,
                       params={"n_hash_bits": 12, "max_iter": 10, "n_folds": 2})
    path = tmp_path / "m.npz"
    save_model(str(path), result.model)
    with np.load(path, allow_pickle=False) as data:
        assert data["stage1_coef_"].dtype == np.float16
    loaded, _ = load_model(str(path))
    from cleaner.labelled import read_labelled

    X, _ = featurize_docs(list(read_labelled([str(FIXTURES_DIR)])))
    for a, b in zip(result.model.predict_proba(X), loaded.predict_proba(X)):
        assert np.array_equal(a, b)
