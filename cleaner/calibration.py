"""A model's body calibration table: what its P(body) means, learned on pages it never saw.

The decision (``decode._choose_body``) weighs each page's expected precision against its
expected recall, so it needs the chance that a unit is body, and a model's P(body) is not
that: it depends on the model (a distilled network's probabilities are softer than the
merged networks' it learned from) and on where the unit lies against the article run.
So ``cleaner train`` holds a third of the training pages out (by page), trains a model
the same way on the rest, runs it on the held-out pages as ``clean()`` does, and fits the
table there; the model trained on all pages carries it in its file.

The table (``decode.BODY_CALIBRATION``'s shape): per region (before, inside, after the
article run) and per knot k / ``CALIBRATION_KNOTS``, the share of body words among
held-out units whose P(body) lay within half a knot of it, drawn towards the default table
by ``PRIOR_WORDS`` words (a few dozen pages leave most knots nearly empty), and made
non-decreasing along P(body).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .decode import _BODY, _CALIBRATION, CALIBRATION_KNOTS, article_run
from .segment import Unit, segment

if TYPE_CHECKING:
    from .labelled import LabelledDoc
    from .model import LineClassifier

#: A page (all its renderings, by group) is held out when crc32(group) % this == 0.
HELD_OUT_EVERY = 3
#: How many words of evidence the default table counts for at every knot: where a knot
#: saw far more held-out words (the corpus: thousands at most knots) the data decides,
#: where it saw few the table stays near the default.
PRIOR_WORDS = 100.0

_Doc = TypeVar("_Doc")


def held_out_split(docs: Sequence[_Doc], groups: Sequence[str]) -> tuple[list[_Doc], list[_Doc]]:
    """The documents to train on and those held out (every rendering of a page, one
    ``group``, on one side; the same groups always give the same split)."""
    rest: list[_Doc] = []
    held: list[_Doc] = []
    for doc, group in zip(docs, groups):
        (held if zlib.crc32(group.encode()) % HELD_OUT_EVERY == 0 else rest).append(doc)
    return rest, held


def predicted(
    model: LineClassifier, docs: Sequence[LabelledDoc], batch: int = 32,
) -> Iterator[tuple[LabelledDoc, list[Unit], list[int], np.ndarray | None, np.ndarray | None]]:
    """Each document with its units as ``clean()`` makes them, the label index of the line
    rule firing on each (or -1), and the model's probabilities and word counts (None for
    a document without units)."""
    from .api import _rules_of, predict_many

    for at in range(0, len(docs), batch):
        todo = [(doc, segment(doc.text)) for doc in docs[at:at + batch]]
        rules = [_rules_of(units)[1] for _, units in todo]
        full = [i for i, (_, units) in enumerate(todo) if units]
        done = dict(zip(full, predict_many(
            model, [(todo[i][0].text, todo[i][1], rules[i]) for i in full])))
        for i, ((doc, units), labels) in enumerate(zip(todo, rules)):
            proba, words = done.get(i, (None, None))
            yield doc, units, labels, proba, words


def word_sums(
    docs: Iterable[tuple[Sequence[Unit], np.ndarray, np.ndarray, Sequence[str]]],
) -> np.ndarray:
    """Per region and knot, the words (+ 1 per unit) of body units and of all units, over
    documents given as (units, the model's probabilities, word counts, gold label of each
    line). A unit over several lines (a hard-wrapped paragraph) has no one gold label and
    is left out."""
    sums = np.zeros((3, CALIBRATION_KNOTS + 1, 2))
    for units, proba, words, gold in docs:
        if not len(units):
            continue
        body = proba[:, _BODY].astype(np.float64)
        start, stop = article_run(body, words)
        region = np.full(len(units), 2)
        region[:start], region[start:stop] = 0, 1
        knot = np.minimum(np.floor(body * CALIBRATION_KNOTS + 0.5).astype(np.int64),
                          CALIBRATION_KNOTS)
        weight = np.asarray(words, np.float64) + 1
        one_line = np.array([unit.line == unit.last_line for unit in units])
        is_body = np.array([gold[unit.line] == "body" for unit in units], np.float64)
        np.add.at(sums, (region[one_line], knot[one_line], 0), (weight * is_body)[one_line])
        np.add.at(sums, (region[one_line], knot[one_line], 1), weight[one_line])
    return sums


def fit_table(sums: np.ndarray, prior: float = PRIOR_WORDS) -> np.ndarray:
    """The calibration table from ``word_sums``' counts."""
    if not prior > 0:
        raise ValueError(f"the prior must be a positive number of words, not {prior}")
    share = (sums[..., 0] + prior * _CALIBRATION) / (sums[..., 1] + prior)
    return np.maximum.accumulate(share, axis=1)
