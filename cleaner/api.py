"""The public entry points: ``clean``, ``classify`` and the ``Cleaner`` that runs them.

The flow, from text to kept lines:

    text -> segment() -> units -> rules (near-certain cases) ---------------> label
                              \\-> featurize() -> LineClassifier (the rest) -> label
    kept units -> join_units() -> cleaned text
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from operator import itemgetter

import numpy as np

from . import fastcore
from .decode import decide
from .errors import ModelError
from .features import DocFeatures, featurize_many
from .labels import DEFAULT_KEEP, LABEL_INDEX, LABELS, check_labels
from .model import LineClassifier
from .modelfile import load_model
from .repeats import RepeatRule, match_repeats
from .rules import RULES, match_rules
from .segment import Unit, join_kept, join_units, segment

#: File name of the shipped model (in the top-level ``models/`` directory).
MODEL_FILE = "cleaner.npz"
#: Environment variable naming a model file to use instead of the shipped one.
MODEL_ENV = "CLEANER_MODEL"
#: The word that ``decided_by`` holds when the learned model labelled a unit.
MODEL = "model"
_TEXT = itemgetter(0)  # a Unit's text


@dataclass(frozen=True)
class LineResult:
    """What ``classify`` says about one unit."""

    unit: Unit
    label: str
    probability: float
    """How sure the decider was of ``label``: the model's probability, or for a rule its
    precision as measured when the model was trained (1.0 if unmeasured)."""
    decided_by: str
    """The name of the rule that fired, or ``"model"``."""
    probabilities: tuple[float, ...]
    """The model's probability of every label, in ``LABELS`` order."""

    @property
    def text(self) -> str:
        return self.unit.text


def default_model_path() -> str:
    """The model ``Cleaner()`` loads: ``$CLEANER_MODEL``, else the shipped one."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return env
    shipped = resources.files("cleaner.models").joinpath(MODEL_FILE)
    return str(shipped)


def prepare(text: str, units: Sequence[Unit]) -> tuple[list[str | None], DocFeatures]:
    """The rule that fires on each unit (or None) and the units' features."""
    return prepare_many([(text, units)])[0]


def prepare_many(
    docs: Sequence[tuple[str, Sequence[Unit]]],
) -> list[tuple[list[str | None], DocFeatures]]:
    """``prepare`` of several documents: their features are computed in one batch, which
    costs far less per document than one at a time."""
    fired = [_rules_of(units) for _, units in docs]
    feats = featurize_many([(text, units, labels) for (text, units), (_, labels)
                            in zip(docs, fired)])
    return [(names, f) for (names, _), f in zip(fired, feats)]


def _rules_of(units: Sequence[Unit]) -> tuple[list[str | None], list[int]]:
    """The name of the line rule that fires on each unit (or None), and its label index
    (or -1)."""
    fired = match_rules(list(map(_TEXT, units)))
    return ([rule.name if rule else None for rule in fired],
            [LABEL_INDEX[rule.label] if rule else -1 for rule in fired])


def predict_many(
    model: LineClassifier, docs: Sequence[tuple[str, Sequence[Unit], Sequence[int]]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The model's probabilities and the word counts of the units of each document
    (``(text, units, rule labels)``, at least one unit each): in C where the extension is
    built and takes the text, else with numpy, batched."""
    done = fastcore.predict(model, docs) if fastcore.usable(model) else [None] * len(docs)
    rest = [i for i, result in enumerate(done) if result is None]
    if rest:
        feats = featurize_many([docs[i] for i in rest])
        for i, f, proba in zip(rest, feats, model.predict_proba(feats)):
            done[i] = (proba, f.word_counts)
    return done  # type: ignore[return-value]


#: Texts cleaned together by ``clean_many`` (features and predictions in one batch).
BATCH_SIZE = 32


def _checked(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    return text


class Cleaner:
    """A loaded model and the settings to clean with; safe to share between threads
    (it holds no state that changes after loading)."""

    def __init__(
        self,
        model: str | os.PathLike[str] | LineClassifier | None = None,
        keep: Sequence[str] = DEFAULT_KEEP,
    ):
        self.keep = check_labels(keep)
        if isinstance(model, LineClassifier):
            self.model, self.meta = model, {}
            self.model_path: str | None = None
        else:
            path = os.fspath(model) if model is not None else default_model_path()
            self.model, self.meta = load_model(path)
            self.model_path = path
        precision = self.meta.get("info", {}).get("rule_precision", {})
        self.rule_precision: dict[str, float] = {
            rule.name: float(precision.get(rule.name, 1.0)) for rule in RULES
        }

    def classify(self, text: str) -> list[LineResult]:
        """One result per unit of ``text``, in document order."""
        return self.classify_units(text, segment(_checked(text)))

    def classify_units(self, text: str, units: Sequence[Unit]) -> list[LineResult]:
        """Results for given ``units`` of ``text`` (e.g. one per labelled line)."""
        if not units:
            return []
        return self._results(units, self._decide(text, units))

    def _results(self, units: Sequence[Unit], decided) -> list[LineResult]:
        labels, names, repeats, proba = decided
        rows = map(tuple, proba.tolist())  # (floats made in one call, not one per value)
        return [self._result(*args) for args in zip(units, labels, names, repeats, rows)]

    def _decide(self, text: str, units: Sequence[Unit]):
        """Label index, line rule, repeat rule and model probabilities of every unit."""
        return self._decide_many([(text, units)])[0]

    def _decide_many(self, docs: Sequence[tuple[str, Sequence[Unit]]]):
        """``_decide`` of several documents, with one batch of features and one of model
        predictions (empty documents must be left out by the caller)."""
        fired = [_rules_of(units) for _, units in docs]
        predicted = predict_many(self.model, [(text, units, labels) for (text, units), (_, labels)
                                              in zip(docs, fired)])
        out = []
        for (_, units), (names, labels), (proba, words) in zip(docs, fired, predicted):
            repeats = match_repeats(units)
            out.append((decide(proba, labels, repeats, words, self.model.body_calibration_),
                        names, repeats, proba))
        return out

    def classify_many(self, texts: Sequence[str]) -> list[list[LineResult]]:
        """``classify`` of each text, computed in one batch (faster per text)."""
        docs = [(text, segment(_checked(text))) for text in texts]
        full = [doc for doc in docs if doc[1]]
        decided = iter(self._decide_many(full) if full else [])
        results: list[list[LineResult]] = []
        for _, units in docs:
            if not units:
                results.append([])
                continue
            results.append(self._results(units, next(decided)))
        return results

    def _result(
        self, unit: Unit, label: int, rule: str | None, repeat: RepeatRule | None,
        probabilities: tuple[float, ...],
    ) -> LineResult:
        if rule is not None:
            return LineResult(unit, LABELS[label], self.rule_precision[rule], rule,
                              probabilities)
        if repeat is not None:
            # The rule chose the labels; how sure: the model's share among them.
            allowed = sum(probabilities[LABEL_INDEX[name]] for name in repeat.labels)
            share = probabilities[label] / allowed if allowed > 0 else 1.0
            return LineResult(unit, LABELS[label], share, repeat.name, probabilities)
        return LineResult(unit, LABELS[label], probabilities[label], MODEL, probabilities)

    def clean(self, text: str, keep: Sequence[str] | None = None) -> str:
        """The units of ``text`` whose label is in ``keep`` (default: this Cleaner's),
        in their original order and spelling, one blank line between paragraphs."""
        return self._clean_batch([text], keep)[0]

    def _clean_batch(self, texts: Sequence[str], keep: Sequence[str] | None) -> list[str]:
        """``clean`` of each text, decided in one batch."""
        chosen = {LABEL_INDEX[label] for label in
                  (check_labels(keep) if keep is not None else self.keep)}
        return [join_kept(text, units, labels, chosen)
                for text, (units, labels) in zip(texts, self.label_many(texts))]

    def label_many(self, texts: Sequence[str]) -> list[tuple[list[Unit], list[int]]]:
        """The units of each text and their label indexes (into ``LABELS``), decided in
        one batch: what ``clean`` and the CLI's summary need, without building a
        ``LineResult`` per unit."""
        docs = [segment(_checked(text)) for text in texts]
        decided = iter(self._decide_many([(text, units) for text, units in zip(texts, docs)
                                          if units]))
        return [(units, next(decided)[0] if units else []) for units in docs]

    def clean_and_explain(
        self, text: str, keep: Sequence[str] | None = None
    ) -> tuple[str, list[LineResult]]:
        """The cleaned text and the per-unit results it was made from."""
        return self.clean_and_explain_many([text], keep)[0]

    def clean_and_explain_many(
        self, texts: Sequence[str], keep: Sequence[str] | None = None
    ) -> list[tuple[str, list[LineResult]]]:
        """``clean_and_explain`` of each text, computed in one batch (faster per text)."""
        chosen = set(check_labels(keep) if keep is not None else self.keep)
        return [
            (join_units(text, [r.unit for r in results if r.label in chosen]), results)
            for text, results in zip(texts, self.classify_many(texts))
        ]

    def clean_many(
        self, texts: Iterable[str], keep: Sequence[str] | None = None, n_jobs: int = 1
    ) -> list[str]:
        """``clean`` every text, in input order, on ``n_jobs`` processes (``-1``: all
        cores); this model is sent to each worker once. The result does not depend on
        ``n_jobs``. Texts are processed in batches of ``BATCH_SIZE``."""
        if n_jobs != 1:
            from .parallel import clean_many

            return clean_many(texts, keep if keep is not None else self.keep, n_jobs,
                              model=self)
        texts = list(texts)
        out: list[str] = []
        for i in range(0, len(texts), BATCH_SIZE):
            out += self._clean_batch(texts[i : i + BATCH_SIZE], keep)
        return out


_default: Cleaner | None = None
_default_lock = threading.Lock()


def default_cleaner() -> Cleaner:
    """The process-wide Cleaner with the default model, loaded on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Cleaner()
    return _default


def clean(text: str, keep: Sequence[str] = DEFAULT_KEEP) -> str:
    """Remove everything but the article: the units of ``text`` labelled with one of
    ``keep`` (default: title and body), one blank line between paragraphs, ending in a
    newline; "" when nothing is kept."""
    return default_cleaner().clean(text, keep)


def classify(text: str) -> list[LineResult]:
    """Label every unit of ``text``, saying which rule or the model decided, and how sure."""
    return default_cleaner().classify(text)


__all__ = [
    "Cleaner", "LineResult", "ModelError", "classify", "clean", "default_model_path",
]
