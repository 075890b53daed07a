"""Scoring a cleaner on labelled documents: per-label scores and the shingle F1."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .labelled import LabelledDoc
from .metrics import LabelReport, ShingleScore, label_report, shingle_f1
from .segment import units_of_lines

#: The labels the shingle F1 keeps: the gold article of a corpus document is its body.
EVAL_KEEP = ("body",)


def gold_text(doc: LabelledDoc) -> str:
    return "\n".join(line for line, label in zip(doc.lines, doc.labels) if label == "body")


@dataclass
class Evaluation:
    labels: LabelReport
    shingles: ShingleScore
    by_group: dict[str, ShingleScore] = field(default_factory=dict)

    def format(self) -> str:
        s = self.shingles
        out = [
            f"shingle F1 {s.f1:.4f} (precision {s.precision:.4f}, recall {s.recall:.4f}, "
            f"{s.documents} documents)",
        ]
        for name, score in sorted(self.by_group.items()):
            out.append(f"  {name:<28} F1 {score.f1:.4f}  P {score.precision:.4f}  "
                       f"R {score.recall:.4f}  docs {score.documents}")
        out.append("")
        out.append(self.labels.format())
        return "\n".join(out)


def evaluate(
    cleaner, docs: Iterable[LabelledDoc], group_keys: tuple[str, ...] = ("variant", "source")
) -> Evaluation:
    """Line labels of ``docs`` against gold, and shingle F1 of ``cleaner.clean(text,
    keep=("body",))`` against each document's body lines."""
    gold_labels: list[str] = []
    predicted: list[str] = []
    pairs: list[tuple[str, str]] = []
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for doc in docs:
        text, units = units_of_lines(doc.lines, doc.labels)
        results = cleaner.classify_units(text, units)
        gold_labels.extend(label for label in doc.labels if label)
        predicted.extend(r.label for r in results)
        pair = (gold_text(doc), cleaner.clean(text, keep=EVAL_KEEP))
        pairs.append(pair)
        for key in group_keys:
            if key in doc.meta:
                grouped[f"{key}={doc.meta[key]}"].append(pair)
    return Evaluation(
        label_report(gold_labels, predicted),
        shingle_f1(pairs),
        {name: shingle_f1(p) for name, p in grouped.items()},
    )


def score_function(
    clean: Callable[[str], str], docs: Iterable[LabelledDoc],
    group_keys: tuple[str, ...] = ("variant", "source"),
) -> tuple[ShingleScore, dict[str, ShingleScore]]:
    """Shingle F1 of any text -> text cleaner (e.g. a baseline) on ``docs``."""
    pairs: list[tuple[str, str]] = []
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for doc in docs:
        pair = (gold_text(doc), clean(doc.text))
        pairs.append(pair)
        for key in group_keys:
            if key in doc.meta:
                grouped[f"{key}={doc.meta[key]}"].append(pair)
    return shingle_f1(pairs), {name: shingle_f1(p) for name, p in grouped.items()}
