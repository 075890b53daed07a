"""The model file: safe to load, checked, and the same model after a round trip."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import rewrite_model

from cleaner import Cleaner, ModelError
from cleaner.modelfile import FORMAT_VERSION, load_model, save_model

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "cleaner.npz"


@pytest.mark.parametrize("which", ["tiny_model", "tiny_sequence_model"])
def test_round_trip_gives_the_same_predictions(which, articles, tmp_path, request):
    """Also with the recurrent network of ``sequence`` (its arrays saved and loaded)."""
    tiny_model = request.getfixturevalue(which)
    model, meta = load_model(tiny_model)
    assert (model.sequence_ is not None) == (which == "tiny_sequence_model")
    copy = tmp_path / "copy.npz"
    save_model(str(copy), model, meta["info"])
    for text in articles.values():
        a = Cleaner(tiny_model).classify(text)
        b = Cleaner(copy).classify(text)
        assert [r.label for r in a] == [r.label for r in b]
        assert np.allclose([r.probabilities for r in a], [r.probabilities for r in b])


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found") as e:
        Cleaner(tmp_path / "nope.npz")
    assert "nope.npz" in str(e.value)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_corrupt_file(tmp_path, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(ModelError) as e:
        Cleaner(bad)
    assert "bad.npz" in str(e.value)


def test_truncated_model(tiny_model, tmp_path):
    data = Path(tiny_model).read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        Cleaner(bad)


def test_npz_without_metadata(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ModelError, match="not a cleaner model"):
        Cleaner(other)


def test_future_format_version_is_refused(tiny_model, tmp_path):
    newer = tmp_path / "newer.npz"
    rewrite_model(tiny_model, newer,
                  lambda meta, arrays: meta.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelError, match="version"):
        Cleaner(newer)


def test_other_label_set_is_refused(tiny_model, tmp_path):
    other = tmp_path / "labels.npz"
    rewrite_model(tiny_model, other, lambda meta, arrays: meta.update(labels=["body", "junk"]))
    with pytest.raises(ModelError, match="labels"):
        Cleaner(other)


def test_other_features_are_refused(tiny_model, tmp_path):
    other = tmp_path / "features.npz"
    rewrite_model(tiny_model, other, lambda meta, arrays: meta["dense_names"].append("new"))
    with pytest.raises(ModelError, match="features"):
        Cleaner(other)


def test_wrong_array_shapes_are_refused(tiny_model, tmp_path):
    other = tmp_path / "shapes.npz"

    def shrink(meta, arrays):
        arrays["pass1_w1"] = arrays["pass1_w1"][:5]

    rewrite_model(tiny_model, other, shrink)
    with pytest.raises(ModelError, match="incompatible"):
        Cleaner(other)


def test_pickled_objects_are_never_loaded(tiny_model, tmp_path):
    # An object array in the file would need pickle to load; that could run code.
    evil = tmp_path / "evil.npz"

    def add_object(meta, arrays):
        arrays["stage1_prior_"] = np.array([object()] * 7, dtype=object)

    with np.load(tiny_model, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    add_object({}, arrays)
    np.savez(evil, **arrays)
    with pytest.raises(ModelError):
        Cleaner(evil)
    # And a plain pickle is not a model file either.
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelError):
        Cleaner(pickled)


def test_model_file_holds_only_plain_arrays(tiny_model):
    with zipfile.ZipFile(tiny_model) as z:
        for name in z.namelist():
            header = z.read(name)[:128]
            assert b"|O" not in header, f"{name} is an object array"
    with np.load(tiny_model, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype.kind in "fu", name


def test_shipped_model_loads_and_has_a_card():
    if not SHIPPED.exists():
        pytest.skip("no shipped model yet")
    model, meta = load_model(str(SHIPPED))
    card = SHIPPED.with_suffix(".md").read_text(encoding="utf-8")
    assert meta["info"]["command"] in card
    assert meta["info"]["command"].startswith("cleaner train ")
    assert "shingle F1" in card


def test_shipped_model_reference_predictions():
    """The shipped model gives the predictions recorded when it was trained, whatever
    scikit-learn and numpy are installed (prediction uses plain arrays only)."""
    reference = SHIPPED.with_name("reference.json")
    if not SHIPPED.exists() or not reference.exists():
        pytest.skip("no shipped model yet")
    expected = json.loads(reference.read_text(encoding="utf-8"))
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    from cleaner.fixture_format import read_fixture

    cleaner = Cleaner(SHIPPED)
    for name, rows in expected.items():
        text = read_fixture(str(fixtures / name)).text
        got = cleaner.classify(text)
        assert [r.label for r in got] == [row[0] for row in rows], name
        assert np.allclose([r.probability for r in got], [row[1] for row in rows], atol=1e-4)


def test_save_is_atomic_on_failure(tiny_model, tmp_path):
    model, meta = load_model(tiny_model)
    target = tmp_path / "missing-dir" / "m.npz"
    with pytest.raises(ModelError):
        save_model(str(target), model)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_cleaning_does_not_import_scikit_learn():
    """Prediction is numpy only: the shipped model cannot depend on how a scikit-learn
    release pickles or computes its estimators."""
    import subprocess
    import sys

    code = ("import sys, cleaner; cleaner.Cleaner(sys.argv[1]).clean('Some text.\\n'); "
            "print('sklearn' in sys.modules)")
    model = str(SHIPPED) if SHIPPED.exists() else None
    if model is None:
        pytest.skip("no shipped model yet")
    out = subprocess.run([sys.executable, "-c", code, model], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_missing_linear_stage1_arrays_are_refused(tiny_model, tmp_path):
    other = tmp_path / "nolinear.npz"
    rewrite_model(tiny_model, other, lambda meta, arrays: arrays.pop("stage1_coef_"))
    with pytest.raises(ModelError, match="stage1_coef_"):
        Cleaner(other)


def test_a_model_from_before_the_linear_stage1_still_loads(tmp_path, articles):
    """A file written before stage 1 had a linear half (no such parameter, no such
    arrays, narrower stage-2 weights) loads and predicts as it did."""
    import warnings

    from cleaner.train import save, train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train([str(Path(__file__).resolve().parent.parent / "fixtures")], holdout=0,
                       params={"n_hash_bits": 12, "max_iter": 10, "n_folds": 2,
                               "linear_alpha": None})
    path = tmp_path / "plain.npz"
    save(result, str(path))
    old = tmp_path / "old.npz"

    def forget_linear(meta, arrays):
        del meta["params"]["linear_alpha"], meta["params"]["linear_epochs"]
        assert "stage1_coef_" not in arrays

    rewrite_model(str(path), old, forget_linear)
    text = articles[sorted(articles)[0]]
    a, b = Cleaner(path).classify(text), Cleaner(old).classify(text)
    assert [r.probabilities for r in a] == [r.probabilities for r in b]


def test_the_recurrent_network_changes_the_probabilities(tiny_sequence_model, articles):
    """Its probabilities are averaged with stage 2's: the same model without it (stage 2
    as trained) gives other probabilities."""
    from cleaner.api import _rules_of
    from cleaner.features import featurize_many
    from cleaner.segment import segment

    model, _ = load_model(tiny_sequence_model)
    text = next(iter(articles.values()))
    units = segment(text)
    feats = featurize_many([(text, units, _rules_of(units)[1])])
    with_it = model.predict_proba(feats)[0]
    model.sequence_ = None
    without = model.predict_proba(feats)[0]
    assert np.abs(with_it - without).max() > 1e-3


@pytest.mark.parametrize("edit", ["missing", "shape"])
def test_bad_recurrent_network_arrays_are_refused(tiny_sequence_model, tmp_path, edit):
    other = tmp_path / "sequence.npz"

    def change(meta, arrays):
        if edit == "missing":
            arrays.pop("sequence_fw_h_")
        else:
            arrays["sequence_w_out_"] = arrays["sequence_w_out_"][:3]

    rewrite_model(tiny_sequence_model, other, change)
    with pytest.raises(ModelError, match="sequence_"):
        Cleaner(other)
