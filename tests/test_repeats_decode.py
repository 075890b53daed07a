"""Repeat rules (lines printed twice) and the decision from probabilities to labels."""

from __future__ import annotations

import numpy as np
import pytest

from cleaner import classify
from cleaner.decode import (
    TITLE_MIN_PROBABILITY,
    article_run,
    decide,
)
from cleaner.labels import LABEL_INDEX, LABELS
from cleaner.repeats import REPEAT_RULES, match_repeats
from cleaner.segment import segment

CAPTION = "Firefighters inspect the damaged roof of the station after the storm (file photo)."
HEADLINE = "City council approves new budget for school repairs after long debate"


def names(text: str) -> list[str | None]:
    return [r.name if r else None for r in match_repeats(segment(text))]


@pytest.mark.parametrize("credit", [
    "© AFP PHOTO/JOHN SMITH",
    "Photo: Jane Doe/Reuters",
    "Foto: dpa",
    "(c) Getty Images",
    "- Crédit : AFP",
    "| Imagen: EFE",
])
def test_caption_printed_twice_with_a_credit(credit):
    text = f"Body text of the story.\n\n{CAPTION}\n{CAPTION}\u00a0 {credit}\n\nMore body.\n"
    assert names(text) == [None, "caption_repeated_with_credit",
                           "caption_repeated_with_credit", None]


def test_caption_printed_twice_the_second_time_closed_with_a_full_stop_and_a_credit():
    # Alt text without a full stop, then the figcaption with one and the credit after it.
    caption = CAPTION.rstrip(".")
    text = f"Body text of the story.\n\n{caption}\n{caption}.  © HARBOUR LEDGER PHOTO/M. FENN\n"
    assert names(text) == [None, "caption_repeated_with_credit", "caption_repeated_with_credit"]
    # Glued to the next word, the full stop is part of the text, not the caption's end.
    assert names(f"{caption}\n{caption}.© AFP\n") == [None, None]


@pytest.mark.parametrize("section", ["Politics", "Labor Unions", "Energiewende", "Culture"])
def test_teaser_printed_twice_with_its_section(section):
    text = f"Body text.\n\n{HEADLINE}\n{section} {HEADLINE}\n\nMore body.\n"
    assert names(text)[1:3] == ["teaser_repeated_with_section"] * 2


@pytest.mark.parametrize("text", [
    # A heading followed by a paragraph that begins with the same words.
    "Infrastructure as a service (IaaS)\nInfrastructure as a service (IaaS) offers servers "
    "on demand.\n",
    # The same pair, but a blank line apart: two paragraphs, not one element printed twice.
    f"{CAPTION}\n\n{CAPTION} © AFP\n",
    # The added text is not a credit.
    f"{CAPTION}\n{CAPTION} And then the fire spread to the next house.\n",
    # A sentence, not a headline, repeated after a word.
    "The council approved the budget on Tuesday.\nUpdate The council approved the budget on "
    "Tuesday.\n",
    # The name is glued to the headline (a breadcrumb trail), not a section label.
    f"{HEADLINE}\nNews{HEADLINE}\n",
    # Too short to be sure.
    "Top stories\nNews Top stories\n",
    # Lower-case words in front: part of a sentence, not a section name.
    f"{HEADLINE}\nread about the {HEADLINE}\n",
])
def test_near_misses(text):
    assert names(text) == [None] * len(segment(text))


def test_rules_are_data():
    assert len({rule.name for rule in REPEAT_RULES}) == len(REPEAT_RULES)
    for rule in REPEAT_RULES:
        assert rule.labels and set(rule.labels) <= set(LABELS)
        assert rule.side in ("prefix", "suffix")
        assert rule.description


def test_classify_reports_the_repeat_rule():
    text = f"{HEADLINE}\n\nBody sentence one of the story is here.\n\n{CAPTION}\n" \
           f"{CAPTION} © AFP PHOTO\n"
    results = classify(text)
    assert [r.decided_by for r in results[2:]] == ["caption_repeated_with_credit"] * 2
    assert all(r.label == "caption" and r.probability == 1.0 for r in results[2:])


def _p(*rows: dict[str, float]) -> np.ndarray:
    out = np.full((len(rows), len(LABELS)), 1e-4)
    for i, row in enumerate(rows):
        for label, value in row.items():
            out[i, LABEL_INDEX[label]] = value
    return out / out.sum(axis=1, keepdims=True)


def test_line_rule_decides_outright():
    proba = _p({"body": 0.9}, {"body": 0.9})
    assert decide(proba, [LABEL_INDEX["credit"], -1], [None, None])[0] == LABEL_INDEX["credit"]


def test_repeat_rule_lets_the_model_choose_among_its_labels():
    teaser = next(r for r in REPEAT_RULES if r.name == "teaser_repeated_with_section")
    proba = _p({"body": 0.8, "promo": 0.05, "boilerplate": 0.15}, {"body": 0.9, "promo": 0.1})
    got = decide(proba, [-1, -1], [teaser, teaser])
    assert [LABELS[i] for i in got] == ["boilerplate", "promo"]


def test_article_run_is_the_stretch_with_most_body_evidence():
    # A short likely-body line, a long unlikely one, then two long likely ones.
    body = np.array([0.9, 0.05, 0.9, 0.8, 0.1])
    assert article_run(body, [5, 50, 100, 100, 3]) == (2, 4)
    # The short line joins when what parts it from the article costs less than it brings.
    assert article_run(body, [50, 5, 100, 100, 3]) == (0, 4)
    # Nothing likely body: still one unit, the least unlikely.
    assert article_run(np.array([0.01, 0.2, 0.05]), [10, 10, 10]) == (1, 2)


def test_calibration_reads_p_body_by_where_the_unit_lies():
    """The same P(body) means less after the article run (comments, related stories) than
    inside it; within a region more P(body) never means less."""
    from cleaner.decode import calibrated_body

    p = np.linspace(0, 1, 101, dtype=np.float32)
    before, inside, after = (calibrated_body(p, start, stop) for start, stop in
                             [(101, 101), (0, 101), (0, 0)])
    for curve in (before, inside, after):
        assert (np.diff(curve) >= 0).all() and 0 <= curve.min() and curve.max() <= 1
    assert (after[40:90] < inside[40:90]).all()


def test_a_line_rule_decides_outright():
    proba = _p({"body": 0.95}, {"body": 0.9, "meta": 0.1}, {"body": 0.95})
    got = decide(proba, [-1, LABEL_INDEX["meta"], -1], [None] * 3, [60, 12, 60])
    assert [LABELS[i] for i in got] == ["body", "meta", "body"]


def test_how_much_a_page_keeps_depends_on_how_sure_the_model_is_of_it():
    """A doubtful line next to an article the model is sure of would cost more precision
    than it brings recall; on a page where every line is that doubtful, the likeliest are
    the article and are kept."""
    doubtful = {"body": 0.45, "promo": 0.55}
    sure = _p({"body": 0.97}, {"body": 0.97}, doubtful, {"body": 0.97})
    got = decide(sure, [-1] * 4, [None] * 4, [80, 80, 20, 80])
    assert [LABELS[i] for i in got] == ["body", "body", "promo", "body"]
    unsure = _p(doubtful, doubtful, {"body": 0.5, "promo": 0.5}, doubtful)
    got = decide(unsure, [-1] * 4, [None] * 4, [20, 20, 20, 20])
    assert LABELS[got[2]] == "body"


def test_a_page_keeps_some_body_when_the_model_decides_any_unit():
    proba = _p({"boilerplate": 0.9, "body": 0.1}, {"promo": 0.8, "body": 0.2})
    got = decide(proba, [-1, -1], [None, None], [5, 5])
    assert "body" in [LABELS[i] for i in got]


def test_title_pass_names_one_headline_before_the_body():
    proba = _p({"boilerplate": 0.9, "title": 0.02}, {"body": 0.9, "title": 0.08},
               {"body": 0.99})
    got = [LABELS[i] for i in decide(proba, [-1] * 3, [None] * 3)]
    assert got == ["boilerplate", "title", "body"]


def test_title_pass_leaves_documents_that_have_a_title_or_no_candidate():
    has_title = _p({"title": 0.9}, {"body": 0.9, "title": 0.09})
    assert [LABELS[i] for i in decide(has_title, [-1, -1], [None, None])] == ["title", "body"]
    unlikely = _p({"body": 0.99, "title": TITLE_MIN_PROBABILITY / 10}, {"body": 0.99})
    assert [LABELS[i] for i in decide(unlikely, [-1, -1], [None, None])] == ["body", "body"]
    after_body = _p({"body": 0.99}, {"body": 0.5, "title": 0.4})
    assert [LABELS[i] for i in decide(after_body, [-1, -1], [None, None])] == ["body", "body"]


def test_one_headline_the_other_title_units_take_their_next_label():
    proba = _p({"title": 0.55, "promo": 0.4}, {"title": 0.9},
               {"title": 0.5, "boilerplate": 0.4}, {"body": 0.9})
    got = [LABELS[i] for i in decide(proba, [-1] * 4, [None] * 4)]
    assert got == ["promo", "title", "boilerplate", "body"]
    # A line rule's title is not the model's to take back.
    ruled = decide(proba, [LABEL_INDEX["title"], -1, -1, -1], [None] * 4)
    assert [LABELS[i] for i in ruled] == ["title", "title", "boilerplate", "body"]


def test_teaser_pair_inside_the_article_is_promo_and_amid_a_menu_is_the_models_choice():
    teaser = next(r for r in REPEAT_RULES if r.name == "teaser_repeated_with_section")
    pair = [{"boilerplate": 0.6, "promo": 0.4}, {"boilerplate": 0.6, "promo": 0.4}]
    inside = _p({"body": 0.9}, *pair, {"body": 0.9})
    repeats = [None, teaser, teaser, None]
    got = [LABELS[i] for i in decide(inside, [-1] * 4, repeats)]
    assert got == ["body", "promo", "promo", "body"]
    menu = _p({"boilerplate": 0.9}, *pair, {"body": 0.9})
    got = [LABELS[i] for i in decide(menu, [-1] * 4, repeats)]
    assert got[1:3] == ["boilerplate", "boilerplate"]
