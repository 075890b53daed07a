"""Shared test fixtures: a tiny model trained on the fixtures, and article texts."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import cleaner.api

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small model trained on ``fixtures/`` in seconds (path to its ``.npz``)."""
    from cleaner.train import save, train

    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning at max_iter=30
        result = train(
            [str(FIXTURES)], holdout=0, params={"n_hash_bits": 14, "max_iter": 30, "n_folds": 2}
        )
    save(result, str(path))
    return str(path)


@pytest.fixture(scope="session")
def tiny_sequence_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny model with the recurrent network beside stage 2 (``sequence``)."""
    from cleaner.train import save, train

    path = tmp_path_factory.mktemp("model") / "tiny-sequence.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train([str(FIXTURES)], holdout=0, params={
            "n_hash_bits": 14, "max_iter": 30, "n_folds": 2, "sequence": 4})
    save(result, str(path))
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def default_model(request: pytest.FixtureRequest):
    """Until the shipped model exists (and unless $CLEANER_MODEL names one), the tiny
    model is the default for the whole session, so that ``clean()`` works everywhere.
    Once it exists, tests of the shipped model (e.g. the seed article) get the real one."""
    shipped = os.path.join(REPO, "models", cleaner.api.MODEL_FILE)
    if os.environ.get(cleaner.api.MODEL_ENV) or os.path.exists(shipped):
        yield
        return
    os.environ[cleaner.api.MODEL_ENV] = request.getfixturevalue("tiny_model")
    cleaner.api._default = None
    yield
    os.environ.pop(cleaner.api.MODEL_ENV, None)
    cleaner.api._default = None


@pytest.fixture
def tiny_env(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny model as the default model ($CLEANER_MODEL, so also for subprocesses) for
    one test: CLI tests are then quick and independent of the shipped model."""
    monkeypatch.setenv(cleaner.api.MODEL_ENV, tiny_model)
    monkeypatch.setattr(cleaner.api, "_default", None)
    return tiny_model


@pytest.fixture(scope="session")
def articles() -> dict[str, str]:
    """The plain text of every fixture article, by file stem."""
    from cleaner.fixture_format import read_fixture

    return {p.stem: read_fixture(str(p)).text for p in sorted(FIXTURES.glob("*.tsv"))}
