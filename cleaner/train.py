"""Training a model from labelled articles, from scratch or on top of an existing model."""

from __future__ import annotations

import datetime
import hashlib
import os
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .api import BATCH_SIZE, Cleaner, prepare_many
from .calibration import fit_table, held_out_split, predicted, word_sums
from .errors import DataError
from .evaluate import Evaluation, evaluate
from .features import DocFeatures
from .labelled import LabelledDoc, expand_paths, read_labelled
from .model import LineClassifier
from .modelfile import load_model, save_model
from .rules import RULES
from .segment import units_of_lines

#: Share of documents (by page group) held out for the report when no dev data is given.
DEFAULT_HOLDOUT = 0.1


@dataclass
class TrainingResult:
    model: LineClassifier
    info: dict[str, Any]
    dev: Evaluation | None


def featurize_docs(docs: Sequence[LabelledDoc]) -> tuple[list[DocFeatures], list[list[str]]]:
    """Features and per-unit labels of labelled documents (one unit per labelled line),
    computed in batches (see ``prepare_many``)."""
    X: list[DocFeatures] = []
    for start in range(0, len(docs), BATCH_SIZE):
        batch = [units_of_lines(doc.lines, doc.labels) for doc in docs[start:start + BATCH_SIZE]]
        X += [feats for _, feats in prepare_many(batch)]
    return X, unit_labels(docs)


def unit_labels(docs: Sequence[LabelledDoc]) -> list[list[str]]:
    """Each document's labels, one per unit (per labelled line)."""
    return [[label for label in doc.labels if label] for doc in docs]


def rule_precision(docs: Sequence[LabelledDoc]) -> dict[str, dict[str, float]]:
    """How often each rule fires in ``docs`` and how often its label is the gold one (for a
    repeat rule: one of its labels)."""
    from .repeats import REPEAT_RULES, match_repeats
    from .rules import match_rule

    hits: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for doc in docs:
        text, units = units_of_lines(doc.lines, doc.labels)
        gold = [label for label in doc.labels if label]
        for unit, label, repeat in zip(units, gold, match_repeats(units)):
            rule = match_rule(unit.text)
            if rule is not None:
                hits[rule.name] += 1
                right[rule.name] += rule.label == label
            elif repeat is not None:
                hits[repeat.name] += 1
                right[repeat.name] += label in repeat.labels
    names = [rule.name for rule in RULES] + [rule.name for rule in REPEAT_RULES]
    return {
        name: {"hits": hits[name], "precision": round(right[name] / hits[name], 4)}
        for name in names
        if hits[name]
    }


def holdout_split(
    docs: list[LabelledDoc], share: float
) -> tuple[list[LabelledDoc], list[LabelledDoc]]:
    """Split by page group with a stable hash, so every rendering of a page stays on one
    side and the same data always gives the same split."""
    cut = int(share * 1000)
    train, dev = [], []
    for doc in docs:
        (dev if zlib.crc32(doc.group.encode()) % 1000 < cut else train).append(doc)
    return train, dev


def fit_new(
    docs: list[LabelledDoc], params: dict[str, Any] | None = None,
    extra_docs: Sequence[LabelledDoc] = (), extra_weights: Sequence[float] = (),
    calibrate: bool = True, log: Callable[[str], None] = lambda message: None,
) -> tuple[LineClassifier, dict[str, Any] | None]:
    """A model trained anew with ``params`` on ``docs`` (and the weighted ``extra_docs``),
    with its own calibration table unless not ``calibrate``; and what the table was fitted
    on (None when not ``calibrate``)."""
    table, calibration = (fit_calibration(docs, extra_docs, extra_weights, params, log)
                          if calibrate else (None, None))
    train_docs = [*docs, *extra_docs]
    X, y = featurize_docs(train_docs)
    model = LineClassifier(**(params or {})).fit(
        X, y, [doc.group for doc in train_docs], [1.0] * len(docs) + list(extra_weights))
    model.body_calibration_ = table
    return model, calibration


def fit_calibration(
    docs: list[LabelledDoc], extra_docs: Sequence[LabelledDoc], extra_weights: Sequence[float],
    params: dict[str, Any] | None, log: Callable[[str], None],
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The calibration table of a model trained with ``params`` on ``docs`` (and the
    weighted ``extra_docs``, never held out), and what it was fitted on; no table (the
    default one serves) when the documents are too few pages to hold a third out."""
    rest, held = held_out_split(docs, [doc.group for doc in docs])
    if not rest or not held:
        log("calibration: too few pages to hold a third out; the model gets the default table")
        return None, {"held_out_documents": 0}
    log(f"calibration: training on {len(rest)} documents to read {len(held)} held out")
    model, _ = fit_new(rest, params, extra_docs, extra_weights, calibrate=False)
    sums = word_sums((units, proba, words, doc.labels)
                     for doc, units, _, proba, words in predicted(model, held))
    return fit_table(sums), {"held_out_documents": len(held)}


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def train(
    data: Sequence[str],
    dev_data: Sequence[str] = (),
    holdout: float = DEFAULT_HOLDOUT,
    init: str | None = None,
    params: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda message: None,
    command: str | None = None,
    weighted: Sequence[tuple[str, float]] = (),
    calibrate: bool = True,
) -> TrainingResult:
    """Train on the labelled files ``data``; report on ``dev_data``, or on a held-out
    share of ``data`` when none is given (``holdout=0`` trains on everything and reports
    nothing). With ``init``, start from that model and adapt it to ``data`` (the model
    keeps its calibration table).

    With ``calibrate`` (and no ``init``), first fit the model's calibration table
    (``cleaner.calibration``): a model trained the same way on two thirds of the pages
    reads the other third first.

    ``weighted`` adds (data, weight) pairs: labelled files whose every document counts
    ``weight`` times, e.g. a few hand-labelled articles of the text shapes that matter most
    to you next to a large corpus. They are always trained on, never held out."""
    paths = expand_paths(data)
    docs = list(read_labelled(paths))
    if not docs:
        raise DataError("no labelled documents", ", ".join(data))
    extra_docs: list[LabelledDoc] = []
    extra_weights: list[float] = []
    for path, weight in weighted:
        if not weight > 0:
            raise DataError(f"weight must be positive, not {weight}", path)
        more_paths = expand_paths([path])
        paths += more_paths
        more = list(read_labelled(more_paths))
        extra_docs += more
        extra_weights += [float(weight)] * len(more)
    dev_paths = expand_paths(dev_data) if dev_data else []
    if dev_paths:
        dev_docs = list(read_labelled(dev_paths))
        train_docs = docs
    elif holdout > 0:
        train_docs, dev_docs = holdout_split(docs, holdout)
        if not train_docs:
            train_docs, dev_docs = docs, []
    else:
        train_docs, dev_docs = docs, []
    all_docs = train_docs + extra_docs
    log(f"training on {len(all_docs)} documents, reporting on {len(dev_docs)}")
    calibration = None
    if init is not None:
        X, y = featurize_docs(all_docs)
        base, _ = load_model(init)
        model = base.adapt(X, y, groups=[doc.group for doc in all_docs], **(params or {}))
        del X
        log(f"adapted {init} to the new labels")
    else:
        model, calibration = fit_new(train_docs, params, extra_docs, extra_weights,
                                     calibrate, log)
        y = unit_labels(all_docs)
    info: dict[str, Any] = {
        "trained": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command or " ".join(["cleaner", *sys.argv[1:]]),
        "data": {os.path.basename(p): file_digest(p) for p in paths},
        "documents": len(all_docs),
        "units": sum(len(labels) for labels in y),
        "labels": dict(Counter(label for labels in y for label in labels)),
        "init": os.path.basename(init) if init else None,
        "params": model.get_params(),
        "weighted": {os.path.basename(p): w for p, w in weighted},
        "calibration": calibration,
        "rule_precision": {
            name: value["precision"] for name, value in rule_precision(all_docs).items()
        },
    }
    result = None
    if dev_docs:
        result = evaluate(Cleaner(model), dev_docs)
        info["dev"] = {
            "data": [os.path.basename(p) for p in dev_paths] or f"holdout {holdout:g}",
            "documents": len(dev_docs),
            "shingle_f1": round(result.shingles.f1, 4),
            "label_f1": {k: round(v, 4) for k, v in result.labels.f1.items()},
            "by_group": {k: round(v.f1, 4) for k, v in result.by_group.items()},
        }
    return TrainingResult(model, info, result)


def save(result: TrainingResult, path: str) -> str:
    """Write the model and its card (``<model>.md``); returns the card's path."""
    from .card import write_card

    save_model(path, result.model, result.info)
    return write_card(path, result.info)
