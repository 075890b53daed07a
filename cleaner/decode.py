"""From probabilities to labels: rules first, then the model, then one headline.

Kept apart from the model so the choice is easy to read and to test: a line rule decides
outright; a repeat rule narrows the labels and the model picks among them; every other
unit takes the model's most probable label, except that body needs only
``BODY_MIN_PROBABILITY``: its six rivals split the rest, and the metric counts a lost
body word as much as a kept stray one. A pair that a repeat rule matched inside the
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
from .repeats import RepeatRule

#: The title pass ignores units whose title probability is below this.
TITLE_MIN_PROBABILITY = 0.005
#: A unit the model decides is body when P(body) is at least this, even if another label
#: is more probable. On dev, against the most probable label, it gained 0.002-0.006
#: shingle F1 for each of seven stage-2 networks measured (line units, no rules).
BODY_MIN_PROBABILITY = 0.4

_TITLE = LABEL_INDEX["title"]
_BODY = LABEL_INDEX["body"]


def decide(
    proba: np.ndarray,
    rule_labels: Sequence[int],
    repeats: Sequence[RepeatRule | None],
) -> list[int]:
    """The label index of each unit. ``rule_labels`` holds -1 where no line rule fired."""
    n = len(rule_labels)
    # Every unit's most probable label in one call; the few that rules decide are redone.
    likeliest = _most_probable(proba) if n else np.zeros(0, np.int64)
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
                labels[i] = int(_most_probable(p)[0])
    if len(free_units) and _TITLE not in labels:
        title = proba[free_units, _TITLE]
        if np.isnan(title).any():  # max() below keeps the first of incomparable values
            best = int(max(free_units.tolist(), key=lambda i: proba[i, _TITLE]))
        else:  # the first most likely, as max() picks
            best = int(free_units[title.argmax()])
        if proba[best, _TITLE] >= TITLE_MIN_PROBABILITY and _BODY not in labels[:best]:
            labels[best] = _TITLE
    return labels


def _most_probable(proba: np.ndarray) -> np.ndarray:
    """Each row's most probable label, or body where P(body) >= BODY_MIN_PROBABILITY."""
    best = proba.argmax(axis=1)
    best[proba[:, _BODY] >= BODY_MIN_PROBABILITY] = _BODY
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
