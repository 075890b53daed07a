"""From probabilities to labels: rules first, then the model, then one headline.

Kept apart from the model so the choice is easy to read and to test: a line rule decides
outright; a repeat rule narrows the labels and the model picks among them; every other
unit takes the model's most probable label, except for body, whose bar depends on where
the unit lies. An article is one run of text: the run of units with the most body
evidence (``article_run``) needs only ``BODY_MIN_PROBABILITY``, the units before it a
little more and those after it much more, where comments, reviews and related stories
read like prose (on held-out training pages, shingle F1 0.851 -> 0.858; dev 0.874 ->
0.878). A pair that a repeat rule matched inside the
article (body on both sides of it) takes the rule's first label: a teaser headline amid
the article's paragraphs is cross-promotion, the same pair amid a menu is navigation, and
the model picks that one only from the lines around. Last, the title pass: an article has one
headline. When the model called several units ``title``, the likeliest keeps it and the
others take their next most probable label (on dev, title F1 0.638 -> 0.661, shingle F1
unchanged; by gold label the demoted units were boilerplate 27, body 15, title 7).
When the model called no unit ``title``, the unit it found likeliest to be
the title becomes it, if it comes before the body and the model gave it at least
``TITLE_MIN_PROBABILITY``. On the corpus dev split this pass raises title F1 from 0.53 to
0.55 and leaves the body's shingle F1 unchanged, at every threshold from 0.002 to 0.1.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence

import numpy as np

from .labels import LABEL_INDEX
from .repeats import REPEAT_RULES, RepeatRule

try:  # the same decision in C (see cleaner/_fastcore.c)
    from ._fastcore import decide as _fast_decide
except ImportError:  # built without a C compiler
    _fast_decide = None

#: The title pass ignores units whose title probability is below this.
TITLE_MIN_PROBABILITY = 0.005
#: The article is one run of units: the run with the largest sum of
#: (words + 1) x (P(body) - ``RUN_BODY_PROBABILITY``). A unit likelier body than this
#: draws the run out to it; a long unit unlikely to be body pushes it back.
RUN_BODY_PROBABILITY = 0.35
#: Inside the article run a unit is body when P(body) is at least this, even if another
#: label is more probable: its six rivals share the rest, and the metric counts a lost
#: body word as much as a kept stray one.
BODY_MIN_PROBABILITY = 0.25
#: Before the article run, body needs this: a standfirst stands apart from the article,
#: beyond the byline and share buttons, and stage 2 is often unsure of it (P 0.4-0.6).
BEFORE_ARTICLE_BODY_PROBABILITY = 0.4
#: After the article run, body needs this: comments, reviews and related stories that
#: follow an article read like prose.
AFTER_ARTICLE_BODY_PROBABILITY = 0.6

#: Stage 2's P(body) is not the chance that a unit is body: on held-out training pages,
#: units it gave 0.85 were 75% body (by words), those it gave 0.15 were 24%, and where a
#: unit lies against the article run shifts that (0.55 after the run: 40%). So P(body) is
#: first made a probability again: by region (before, inside, after the run), linear
#: between knots at k / ``CALIBRATION_KNOTS``, the share of body words among units whose
#: P(body) was near the knot (made non-decreasing). Fitted on the third of the training
#: pages held out of a model trained on the rest (``cleaner/calibration.py``). A model
#: file carries the table fitted for its own probabilities (``cleaner train`` fits one);
#: this one, of the networks-only distilled design, serves a model that has none.
CALIBRATION_KNOTS = 20
BODY_CALIBRATION: tuple[tuple[float, ...], ...] = (
    (0.0165, 0.0246, 0.0564, 0.1060, 0.1934, 0.2376, 0.3186, 0.3747, 0.4594, 0.4937, 0.5422,
     0.6836, 0.6836, 0.6836, 0.8462, 0.8462, 0.9098, 1.0000, 1.0000, 1.0000, 1.0000),
    (0.0004, 0.0278, 0.0812, 0.1805, 0.2520, 0.3443, 0.3975, 0.4509, 0.5186, 0.5655, 0.6307,
     0.6839, 0.7282, 0.7681, 0.8056, 0.8547, 0.8957, 0.9302, 0.9578, 0.9792, 1.0000),
    (0.0328, 0.0496, 0.0840, 0.1342, 0.1894, 0.2284, 0.2513, 0.3224, 0.3297, 0.3592, 0.3772,
     0.4404, 0.4651, 0.5081, 0.5237, 0.8327, 0.8327, 0.8327, 0.8327, 0.8327, 0.8327),
)
#: Then each document keeps, of the units the model decides alone, the ones most likely
#: body up to the number that maximises PRECISION_WEIGHT x expected precision + expected
#: recall (with words + 1 as weights): the metric averages each over documents, so how
#: many units a page keeps depends on how sure the model is of that page. On held-out
#: training pages (cross-fitted, shipped model's design) shingle F1 0.8583 -> 0.8622;
#: weights 1.2 / 1.6 gave 0.8601 / 0.8613.
PRECISION_WEIGHT = 1.4
#: That choice may take a unit the bars by place left out only if it has at least this
#: many words: a shorter one moves a document's expected precision and recall by little,
#: and on held-out pages those added were mostly menus and form fields (letting it add
#: any unit: 0.8637, but, measured with the merged networks, 30% more non-body lines
#: kept; from five words: 4%).
MIN_ADDED_WORDS = 5

_TITLE = LABEL_INDEX["title"]
_BODY = LABEL_INDEX["body"]
_CALIBRATION = np.array(BODY_CALIBRATION, np.float64)


#: Each repeat rule's labels, in its order, as the C decision reads them.
_REPEAT_LABELS = np.array(
    [[LABEL_INDEX[label] for label in rule.labels] + [-1] * (len(LABEL_INDEX) - len(rule.labels))
     for rule in REPEAT_RULES], np.int8).reshape(-1, len(LABEL_INDEX))
_CONSTANTS = (RUN_BODY_PROBABILITY, BODY_MIN_PROBABILITY, BEFORE_ARTICLE_BODY_PROBABILITY,
              AFTER_ARTICLE_BODY_PROBABILITY, TITLE_MIN_PROBABILITY, PRECISION_WEIGHT,
              MIN_ADDED_WORDS)


def decide(
    proba: np.ndarray,
    rule_labels: Sequence[int],
    repeats: Sequence[RepeatRule | None],
    words: Sequence[int] | np.ndarray | None = None,
    calibration: np.ndarray | None = None,
) -> list[int]:
    """The label index of each unit. ``rule_labels`` holds -1 where no line rule fired;
    ``words`` counts each unit's words (None: every unit weighs the same);
    ``calibration`` is the model's table (None: ``BODY_CALIBRATION``)."""
    table = _table(calibration)
    if (_fast_decide is not None and isinstance(proba, np.ndarray)
            and proba.dtype == np.float32 and proba.flags.c_contiguous
            and isinstance(rule_labels, list) and isinstance(repeats, list)):
        labels = _fast_decide(
            proba, rule_labels, repeats, REPEAT_RULES, _REPEAT_LABELS,
            np.zeros(len(rule_labels), np.int64) if words is None
            else np.asarray(words, np.int64), table, _CONSTANTS)
        if labels is not None:  # (None: a NaN probability, or a repeat rule of another set)
            return labels
    return decide_reference(proba, rule_labels, repeats, words, table)


def decide_reference(
    proba: np.ndarray,
    rule_labels: Sequence[int],
    repeats: Sequence[RepeatRule | None],
    words: Sequence[int] | np.ndarray | None = None,
    calibration: np.ndarray | None = None,
) -> list[int]:
    """``decide`` in numpy and Python (the C version is tested against it)."""
    n = len(rule_labels)
    counts = np.zeros(n) if words is None else np.asarray(words, np.float64)
    start, stop = article_run(proba[:, _BODY], counts) if n else (0, 0)
    bars = _bars(n, start, stop)
    # Every unit's most probable label in one call; the few that rules decide are redone.
    likeliest = _most_probable(proba, bars) if n else np.zeros(0, np.int64)
    labels: list[int] = likeliest.tolist()
    ruled = np.asarray(rule_labels, np.int64).reshape(-1)
    free = ruled < 0  # units the model decided alone
    repeated = list(itertools.compress(
        itertools.count(), map(operator.is_not, repeats, itertools.repeat(None))))
    for i in repeated:
        if ruled[i] < 0:
            p = proba[i]
            labels[i] = max([LABEL_INDEX[label] for label in repeats[i].labels],
                            key=lambda j: p[j])
            free[i] = False
    for i in np.flatnonzero(ruled >= 0).tolist():
        labels[i] = int(ruled[i])
    if repeated:
        _inside_article(labels, repeats)
    free_units = np.flatnonzero(free)
    # Free units keep their most probable label: rules and repeats change only others.
    titles = free_units[likeliest[free_units] == _TITLE].tolist()
    if len(titles) > 1:  # one headline: the others take their next most probable label
        keep = max(titles, key=lambda i: proba[i, _TITLE])
        for i in titles:
            if i != keep:
                p = proba[i : i + 1].copy()
                p[0, _TITLE] = -1
                labels[i] = int(_most_probable(p, bars[i : i + 1])[0])
    if len(free_units) and _TITLE not in labels:
        title = proba[free_units, _TITLE]
        if np.isnan(title).any():  # max() below keeps the first of incomparable values
            best = int(max(free_units.tolist(), key=lambda i: proba[i, _TITLE]))
        else:  # the first most likely, as max() picks
            best = int(free_units[title.argmax()])
        if proba[best, _TITLE] >= TITLE_MIN_PROBABILITY and _BODY not in labels[:best]:
            labels[best] = _TITLE
    _choose_body(labels, proba, counts + 1, free, start, stop, _table(calibration))
    return labels


def _table(calibration: np.ndarray | None) -> np.ndarray:
    """The calibration table to decide with, as the C decision reads it."""
    if calibration is None:
        return _CALIBRATION
    table = np.ascontiguousarray(calibration, np.float64)
    if table.shape != _CALIBRATION.shape:
        raise ValueError(f"a calibration table has shape {_CALIBRATION.shape}, "
                         f"not {table.shape}")
    return table


def calibrated_body(body: np.ndarray, start: int, stop: int,
                    calibration: np.ndarray | None = None) -> np.ndarray:
    """P(body) made a probability (by ``calibration``, or ``BODY_CALIBRATION``), units
    before ``start`` of the article run, inside it up to ``stop`` and after it each by
    their own row of the table."""
    region = np.full(len(body), 2)
    region[:start] = 0
    region[start:stop] = 1
    t = body.astype(np.float64) * CALIBRATION_KNOTS
    knot = np.minimum(t.astype(np.int64), CALIBRATION_KNOTS - 1)
    table = _table(calibration)
    low, high = table[region, knot], table[region, knot + 1]
    return low + (high - low) * (t - knot)


def _choose_body(
    labels: list[int], proba: np.ndarray, weights: np.ndarray, free: np.ndarray, start: int,
    stop: int, calibration: np.ndarray,
) -> None:
    """Settle which of the ``free`` units (not the title; not made body by the bars and
    under MIN_ADDED_WORDS, neither) are body: the most likely ones, as many as maximise
    PRECISION_WEIGHT x expected precision + expected recall of the document (never none
    when there are some). The others that were body take their next most probable label
    but title. Sums run in order, as the C version's do."""
    if not labels:
        return
    p = calibrated_body(proba[:, _BODY], start, stop, calibration)
    mass = p * weights
    is_label = np.asarray(labels)
    candidate = free & (is_label != _TITLE) & (
        (is_label == _BODY) | (weights > MIN_ADDED_WORDS))  # (weights: words + 1)
    kept = kept_weight = 0.0  # the expected body words kept, and the words kept
    for i in np.flatnonzero((is_label == _BODY) & ~candidate).tolist():
        kept += mass[i]
        kept_weight += weights[i]
    total = float(np.cumsum(mass)[-1])
    total = total if total > 0 else 1e-9
    candidates = np.flatnonzero(candidate)
    order = candidates[np.argsort(-p[candidates], kind="stable")].tolist()
    best, take = -np.inf, 0
    for k in range(len(order) + 1):
        if k:
            kept += mass[order[k - 1]]
            kept_weight += weights[order[k - 1]]
        value = (PRECISION_WEIGHT * (kept / kept_weight) + kept / total if kept_weight > 0
                 else -1.0)
        if value > best:
            best, take = value, k
    for i in order[:take]:
        labels[i] = _BODY
    for i in order[take:]:
        if labels[i] == _BODY:
            q = proba[i].astype(np.float64)
            q[[_BODY, _TITLE]] = -np.inf
            labels[i] = int(q.argmax())


def article_run(body: np.ndarray, words: Sequence[int] | np.ndarray) -> tuple[int, int]:
    """Bounds ``[start, stop)`` of the run of units most likely to be the article (at least
    one unit): the largest sum of ``(words + 1) * (P(body) - RUN_BODY_PROBABILITY)``."""
    gain = (np.asarray(words, np.float64) + 1) * (body - RUN_BODY_PROBABILITY)
    reach = np.concatenate(([0.0], np.cumsum(gain)))
    # The run ending at unit i that gains most starts where ``reach`` was lowest before it.
    stop = int((reach[1:] - np.minimum.accumulate(reach[:-1])).argmax()) + 1
    return int(reach[:stop].argmin()), stop


def body_bars(body: np.ndarray, words: Sequence[int] | np.ndarray) -> np.ndarray:
    """The P(body) each unit needs to be body, by where it lies against the article run."""
    return _bars(len(body), *(article_run(body, words) if len(body) else (0, 0)))


def _bars(n: int, start: int, stop: int) -> np.ndarray:
    bars = np.full(n, AFTER_ARTICLE_BODY_PROBABILITY)
    bars[:start] = BEFORE_ARTICLE_BODY_PROBABILITY
    bars[start:stop] = BODY_MIN_PROBABILITY
    return bars


def _most_probable(proba: np.ndarray, bars: np.ndarray) -> np.ndarray:
    """Each row's most probable label, but body exactly where P(body) reaches the row's
    bar (a more probable body under it takes the next most probable label)."""
    best = proba.argmax(axis=1)
    body = proba[:, _BODY] >= bars
    under = (best == _BODY) & ~body
    if under.any():
        rivals = proba[under].copy()
        rivals[:, _BODY] = -np.inf
        best[under] = rivals.argmax(axis=1)
    best[body] = _BODY
    return best


def _inside_article(labels: list[int], repeats: Sequence[RepeatRule | None]) -> None:
    """Give each run of repeat-rule units with body on both sides the rule's first label."""
    i, n = 0, len(labels)
    while i < n:
        if repeats[i] is None:
            i += 1
            continue
        j = i
        while j < n and repeats[j] is repeats[i]:
            j += 1
        if 0 < i and j < n and labels[i - 1] == _BODY and labels[j] == _BODY:
            labels[i:j] = [LABEL_INDEX[repeats[i].labels[0]]] * (j - i)
        i = j
