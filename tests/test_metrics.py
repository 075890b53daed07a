"""Quality measures and the C4 baseline.

The shingle F1 is the number the README and model card report and that benchmarks are
compared on, so its definition is pinned here: per document, the casefolded 4-token word
shingles of gold and output as multisets; precision and recall per document, averaged
over documents; F1 of the two averages.
"""

from __future__ import annotations

from collections import Counter

import pytest

from cleaner.baselines import c4_clean, c4_keep
from cleaner.labels import LABELS
from cleaner.metrics import (
    SHINGLE,
    ShingleScore,
    label_report,
    shingle_f1,
    shingle_pr,
    shingles,
)

# -------------------------------------------------------------------------- shingles


def test_shingles_are_four_word_windows() -> None:
    assert SHINGLE == 4
    assert shingles("The cat sat on the mat.") == Counter({
        ("the", "cat", "sat", "on"): 1,
        ("cat", "sat", "on", "the"): 1,
        ("sat", "on", "the", "mat"): 1,
    })


def test_shingles_ignore_punctuation_spacing_and_line_breaks() -> None:
    assert shingles("The cat, sat -- on\nthe   mat!") == shingles("the cat sat on the mat")


def test_shingles_are_casefolded() -> None:
    assert shingles("BREAKING NEWS FROM BERLIN") == shingles("breaking news from berlin")
    # casefold, not lower: the German sharp s matches its capitalised spelling.
    assert shingles("Die Stra\u00dfe ist sehr lang") == shingles("DIE STRASSE IST SEHR LANG")


def test_repeated_shingles_count_as_often_as_they_occur() -> None:
    text = "one two three four " * 3
    assert shingles(text)[("one", "two", "three", "four")] == 3
    assert sum(shingles(text).values()) == 12 - SHINGLE + 1


def test_texts_of_fewer_than_four_words_have_one_shingle() -> None:
    assert shingles("Hello, World") == Counter({("hello", "world"): 1})
    assert shingles("Three words here") == Counter({("three", "words", "here"): 1})
    assert shingles("Word") == Counter({("word",): 1})


@pytest.mark.parametrize("text", ["", "   \n\t", "... -- !!", "\u200b"])
def test_texts_without_words_have_no_shingles(text: str) -> None:
    assert shingles(text) == Counter()


def test_non_latin_words_are_words() -> None:
    assert shingles("Это основной текст статьи") == Counter({
        ("это", "основной", "текст", "статьи"): 1,
    })
    assert len(shingles("هذا هو النص الرئيسي للمقال")) == 2


# ------------------------------------------------------------ per-document P and R


def test_identical_texts_score_one() -> None:
    text = "The council approved the budget on Tuesday after a long debate."
    assert shingle_pr(text, text) == (1.0, 1.0)
    assert shingle_pr(text, text.upper().replace(" ", "\n")) == (1.0, 1.0)


def test_precision_and_recall_of_a_partial_output() -> None:
    gold = "a b c d e f"  # shingles: abcd bcde cdef
    assert shingle_pr(gold, "a b c d e") == (1.0, 2 / 3)  # abcd bcde: all right, 2 of 3
    assert shingle_pr(gold, "a b c d e f x y") == (3 / 5, 1.0)  # + defx efxy: 3 of 5 right
    assert shingle_pr(gold, "x y z w") == (0.0, 0.0)


def test_shingles_are_matched_as_multisets() -> None:
    # A paragraph printed twice in the output is not twice as right: of its 5 shingles
    # (4 distinct) the gold has only one, once.
    gold = "one two three four"
    assert shingle_pr(gold, "one two three four one two three four") == (1 / 5, 1.0)
    assert shingle_pr("one two three four " * 2, gold) == (1.0, 1 / 5)
    twice = "one two three four five " * 2
    assert shingle_pr(twice, twice) == (1.0, 1.0)
    assert shingle_pr(twice, "one two three four five") == (1.0, 2 / 7)


def test_empty_output_and_empty_gold() -> None:
    gold = "The council approved the budget on Tuesday."
    # Empty output asserts nothing wrong but finds nothing: precision 1, recall 0.
    assert shingle_pr(gold, "") == (1.0, 0.0)
    # Output for a document without an article: all wrong, nothing to find.
    assert shingle_pr("", gold) == (0.0, 1.0)
    # Nothing to find, nothing found: perfect.
    assert shingle_pr("", "") == (1.0, 1.0)
    assert shingle_pr(" \n", "...") == (1.0, 1.0)


def test_short_texts_are_compared_whole() -> None:
    assert shingle_pr("Hello world", "hello, WORLD!") == (1.0, 1.0)
    assert shingle_pr("Hello world", "Hello there") == (0.0, 0.0)


# ----------------------------------------------------------------- corpus-level F1


def test_f1_combines_precision_and_recall_averaged_over_documents() -> None:
    pairs = [
        ("a b c d e f", "a b c d e"),  # P 1,   R 2/3
        ("a b c d e f", "a b c d e f x y"),  # P 3/5, R 1
        ("g h i j", ""),  # P 1,   R 0
    ]
    score = shingle_f1(pairs)
    p = (1 + 3 / 5 + 1) / 3
    r = (2 / 3 + 1 + 0) / 3
    assert score.documents == 3
    assert score.precision == pytest.approx(p)
    assert score.recall == pytest.approx(r)
    assert score.f1 == pytest.approx(2 * p * r / (p + r))
    # Not the mean of per-document F1s (which would be lower here) ...
    per_doc = [2 * a * b / (a + b) if a + b else 0.0 for a, b in (shingle_pr(*x) for x in pairs)]
    assert score.f1 != pytest.approx(sum(per_doc) / len(per_doc))
    # ... and not micro-averaged over shingles: every document weighs the same.
    long_doc = " ".join(f"w{i}" for i in range(400))
    weighted = shingle_f1([(long_doc, long_doc), ("a b c d e f", "x y z w")])
    assert weighted.precision == pytest.approx(0.5) and weighted.recall == pytest.approx(0.5)


def test_f1_accepts_any_iterable_and_handles_no_documents() -> None:
    assert shingle_f1(iter([("a b c d", "a b c d")])) == ShingleScore(1.0, 1.0, 1.0, 1)
    assert shingle_f1([]) == ShingleScore(0.0, 0.0, 0.0, 0)
    assert shingle_f1([("a b c d", "x y z w")]) == ShingleScore(0.0, 0.0, 0.0, 1)


# ------------------------------------------------------------------- label report


def test_label_report_counts_and_scores() -> None:
    gold = ["body", "body", "body", "title", "promo", "boilerplate"]
    pred = ["body", "body", "promo", "title", "body", "boilerplate"]
    report = label_report(gold, pred)
    assert report.labels == LABELS
    assert report.support == {"body": 3, "title": 1, "caption": 0, "credit": 0, "promo": 1,
                              "meta": 0, "boilerplate": 1}
    assert report.precision["body"] == pytest.approx(2 / 3)
    assert report.recall["body"] == pytest.approx(2 / 3)
    assert report.f1["title"] == 1.0
    assert report.precision["promo"] == 0.0 and report.recall["promo"] == 0.0
    assert report.f1["caption"] == 0.0  # no gold, no prediction: 0, not a division error
    body, promo = LABELS.index("body"), LABELS.index("promo")
    assert report.confusion[body][promo] == 1 and report.confusion[promo][body] == 1
    assert sum(map(sum, report.confusion)) == len(gold)
    text = report.format()
    assert "confusion (rows: gold, columns: predicted)" in text
    assert all(label in text for label in LABELS)


def test_label_report_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predicted"):
        label_report(["body", "body"], ["body"])


# ----------------------------------------------------------------------- C4 baseline


@pytest.mark.parametrize(
    "line",
    [
        "The council approved the budget on Tuesday.",
        "Did the council approve the budget this week?",
        "The council approved the budget, finally!",
        'The mayor said: "We approved the budget."',
        "  Surrounding whitespace does not count here.  ",
        "\u201cWe approved the whole budget,\u201d she said.",
    ],
)
def test_c4_keeps_sentences(line: str) -> None:
    assert c4_keep(line)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("The council approved the budget on Tuesday", "no terminal punctuation"),
        ("The council approved the budget:", "no terminal punctuation"),
        ("Share this article", "no terminal punctuation"),
        ("Budget approved today.", "fewer than 5 words"),
        ("Read more here!", "fewer than 5 words"),
        ("", "empty"),
        ("Please enable JavaScript to view the comments.", "javascript"),
        ("Your browser does not support javascript at all.", "javascript"),
        ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "lorem ipsum"),
        ("function show() { return the whole budget; }.", "curly bracket"),
        ("By using this site you agree to our Cookie Policy.", "cookie policy"),
        ("Read our privacy policy and terms of use here.", "privacy policy"),
        ("This website uses cookies to improve your experience.", "uses cookies"),
        ("We use cookies to give you the best experience.", "use cookies"),
    ],
)
def test_c4_drops_lines(line: str, rule: str) -> None:
    assert not c4_keep(line), rule


def test_c4_word_count_boundary() -> None:
    assert not c4_keep("One two three four.")
    assert c4_keep("One two three four five.")


def test_c4_clean_keeps_the_passing_lines_in_order() -> None:
    text = (
        "Home | News | Sport\n"
        "The council approved the budget on Tuesday.\n"
        "\n"
        "We use cookies to give you the best experience.\n"
        "Critics said the plan does not go far enough.\n"
        "Share\n"
    )
    assert c4_clean(text) == (
        "The council approved the budget on Tuesday.\n"
        "Critics said the plan does not go far enough."
    )
    assert c4_clean("") == ""
