"""The seed article: the first acceptance test of the whole product."""

from __future__ import annotations

import pathlib

import pytest

from cleaner import classify, clean
from cleaner.fixture_format import read_fixture

SEED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "seed"
ROOT = pathlib.Path(__file__).resolve().parents[1]

needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="../shared/seed is absent")


@needs_seed
def test_clean_gives_expected_output_exactly():
    article = (SEED / "article.txt").read_text(encoding="utf-8")
    expected = (SEED / "expected.txt").read_text(encoding="utf-8")
    assert clean(article) == expected


@needs_seed
def test_classify_gives_the_seed_labels():
    article = (SEED / "article.txt").read_text(encoding="utf-8")
    gold = read_fixture(str(SEED / "labels.tsv"))
    expected = [(label, line) for line, label in zip(gold.lines, gold.labels) if label]
    got = [(r.label, r.text) for r in classify(article)]
    assert got == expected


@needs_seed
def test_nothing_in_the_package_is_keyed_to_the_seed_article():
    # Words that only this article has: a rule or feature mentioning them would be a
    # special case for the acceptance test, not a cleaner.
    words = ["Zelensky", "Kursk", "Manchin", "Sinema", "KCNA", "KNS", "Pyongyang",
             "Labor Unions", "Ukraine conflict"]
    sources = [p for p in (ROOT / "cleaner").rglob("*.py")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for word in words:
            assert word not in text, f"{path.name} mentions {word!r}"
