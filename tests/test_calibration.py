"""A model's own calibration table: fitted on held-out pages, carried in its file, used
by the decision."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import FIXTURES_DIR, assert_no_traceback, rewrite_model, run

from cleaner import Cleaner, ModelError
from cleaner.calibration import PRIOR_WORDS, fit_table, held_out_split, word_sums
from cleaner.decode import _BODY, BODY_CALIBRATION, CALIBRATION_KNOTS
from cleaner.modelfile import load_model, save_model
from cleaner.segment import segment

DEFAULT = np.array(BODY_CALIBRATION)


def _sums(region: int, knot: int, body: float, words: float) -> np.ndarray:
    sums = np.zeros((3, CALIBRATION_KNOTS + 1, 2))
    sums[region, knot] = body, words
    return sums


def test_without_evidence_the_table_is_the_default():
    assert np.allclose(fit_table(np.zeros((3, CALIBRATION_KNOTS + 1, 2))), DEFAULT)


def test_much_evidence_outweighs_the_default_and_little_does_not():
    # Inside the run (region 1), at P(body) 0.5, the default says 0.57 body.
    much = fit_table(_sums(1, 10, 1e6, 1e6))
    assert much[1, 10] > 0.999
    little = fit_table(_sums(1, 10, PRIOR_WORDS / 10, PRIOR_WORDS / 10))
    assert abs(little[1, 10] - DEFAULT[1, 10]) < 0.1
    # The table never falls as P(body) rises: the knots above are raised to it, the
    # knots below and the other regions are untouched.
    assert (np.diff(much, axis=1) >= 0).all()
    assert (much[1, 11:] > 0.999).all()
    assert np.allclose(much[1, :10], DEFAULT[1, :10])
    assert np.allclose(much[[0, 2]], DEFAULT[[0, 2]])


def test_the_prior_must_be_positive():
    with pytest.raises(ValueError, match="prior"):
        fit_table(np.zeros((3, CALIBRATION_KNOTS + 1, 2)), prior=0)


def test_word_sums_reads_regions_knots_and_gold():
    text = "Menu\nA long paragraph of the article with many words in it\nFooter"
    units = segment(text)
    proba = np.full((3, 7), 0.05, np.float32)
    proba[:, _BODY] = [0.1, 0.9, 0.2]
    sums = word_sums([(units, proba, np.array([1, 11, 1]), ["boilerplate", "body", "body"])])
    assert sums[0, 2].tolist() == [0, 2]  # "Menu": before the run, P 0.1, not body
    assert sums[1, 18].tolist() == [12, 12]  # the paragraph is the run: P 0.9, body
    assert sums[2, 4].tolist() == [2, 2]  # "Footer": after it, P 0.2, gold body
    assert sums[..., 1].sum() == 16


def test_held_out_split_keeps_a_page_s_renderings_together():
    groups = [f"source:{page}" for page in range(300) for _ in range(3)]
    docs = list(range(len(groups)))
    rest, held = held_out_split(docs, groups)
    assert sorted(rest + held) == docs
    held_groups = {groups[i] for i in held}
    assert not held_groups & {groups[i] for i in rest}
    assert 0.25 < len(held_groups) / 300 < 0.42  # about a third of the pages
    assert held_out_split(docs, groups) == (rest, held)


def test_training_fits_the_model_s_own_table(tiny_model):
    model, meta = load_model(tiny_model)
    table = model.body_calibration_
    assert table is not None and table.shape == DEFAULT.shape
    assert (np.diff(table, axis=1) >= 0).all()
    assert not np.allclose(table, DEFAULT)  # the fixtures moved it
    assert meta["info"]["calibration"]["held_out_documents"] >= 1


def test_the_table_decides_how_much_body_a_page_keeps(tiny_model, articles):
    """A table that calls every unit surely body keeps every candidate; the decision reads
    the model's table, not the module's."""
    cleaner = Cleaner(tiny_model)
    sure = Cleaner(tiny_model)
    sure.model = load_model(tiny_model)[0]
    sure.model.body_calibration_ = np.ones_like(DEFAULT)
    longer = [len(sure.clean(text, keep=("body",))) - len(cleaner.clean(text, keep=("body",)))
              for text in articles.values()]
    assert min(longer) >= 0 and max(longer) > 0


def test_the_table_survives_the_file_and_adapting(tiny_model, tmp_path, articles):
    model, meta = load_model(tiny_model)
    save_model(str(tmp_path / "copy.npz"), model, meta["info"])
    copy, _ = load_model(str(tmp_path / "copy.npz"))
    assert np.array_equal(copy.body_calibration_, model.body_calibration_)
    from cleaner.fixture_format import read_fixture
    from cleaner.train import featurize_docs

    doc = read_fixture(str(FIXTURES_DIR / "en-news-fullpage.tsv"))
    X, y = featurize_docs([doc])
    assert np.array_equal(model.adapt(X, y).body_calibration_, model.body_calibration_)


def test_a_file_without_a_table_decides_with_the_default(tiny_model, tmp_path, articles):
    """Files written before models carried a table still load, and decide as they did."""
    old = tmp_path / "old.npz"
    rewrite_model(tiny_model, old, lambda meta, arrays: arrays.pop("body_calibration_"))
    assert load_model(str(old))[0].body_calibration_ is None
    default = Cleaner(tiny_model)
    default.model = load_model(tiny_model)[0]
    default.model.body_calibration_ = DEFAULT.copy()
    for text in articles.values():
        assert [r.label for r in Cleaner(old).classify(text)] == [
            r.label for r in default.classify(text)]


@pytest.mark.parametrize("edit", ["shape", "falling", "above one", "nan"])
def test_a_bad_table_is_refused(tiny_model, tmp_path, edit):
    def change(meta, arrays):
        table = arrays["body_calibration_"].copy()
        if edit == "shape":
            table = table[:, :5]
        elif edit == "falling":
            table[1] = table[1][::-1]
        elif edit == "above one":
            table[2, -1] = 1.5
        else:
            table[0, 3] = np.nan
        arrays["body_calibration_"] = table

    bad = tmp_path / "bad.npz"
    rewrite_model(tiny_model, bad, change)
    with pytest.raises(ModelError, match="body_calibration_"):
        Cleaner(bad)


def test_train_cli_fits_the_table_unless_told_not_to(capsys, tmp_path, tiny_env):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", tmp_path / "a.npz",
                             "--holdout", "0", "--hash-bits", "12")
        assert code == 0, err
        assert "calibration: training on" in err
        card = (tmp_path / "a.md").read_text(encoding="utf-8")
        assert "Calibration table: fitted on" in card
        code, out, err = run(capsys, "train", FIXTURES_DIR, "-o", tmp_path / "b.npz",
                             "--holdout", "0", "--hash-bits", "12", "--no-calibrate")
        assert code == 0, err
    assert Cleaner(tmp_path / "b.npz").model.body_calibration_ is None
    assert "Calibration table: the default one" in (tmp_path / "b.md").read_text()
    assert Cleaner(tmp_path / "b.npz").meta["info"]["calibration"] is None


def test_no_calibrate_with_init_is_a_usage_error(capsys, tmp_path, tiny_model, tiny_env):
    code, _, err = run(capsys, "train", FIXTURES_DIR / "en-news-fullpage.tsv", "-o",
                       tmp_path / "m.npz", "--init", tiny_model, "--no-calibrate")
    assert code == 2
    assert "--no-calibrate" in err
    assert_no_traceback(err)
    assert not (tmp_path / "m.npz").exists()
