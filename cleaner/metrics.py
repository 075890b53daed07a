"""Quality measures: the article-level word-shingle F1 of public extraction benchmarks,
and per-label precision / recall / F1 with a confusion matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from .labels import LABELS

#: Shingle length in word tokens.
SHINGLE = 4
_WORD = regex.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """The multiset of n-token shingles of ``text`` (casefolded ``\\w+`` tokens). A text
    with fewer than n tokens but at least one has one shingle: all its tokens."""
    tokens = _WORD.findall(text.casefold())
    if 0 < len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def shingle_pr(gold: str, output: str) -> tuple[float, float]:
    """Precision and recall of one document's output shingles against its gold ones.

    Empty output scores precision 1 (it asserted nothing wrong) and recall 0, unless the
    gold is empty too, which scores 1 and 1.
    """
    g, o = shingles(gold), shingles(output)
    if not g and not o:
        return 1.0, 1.0
    overlap = sum((g & o).values())
    precision = overlap / sum(o.values()) if o else 1.0
    recall = overlap / sum(g.values()) if g else 1.0
    return precision, recall


@dataclass
class ShingleScore:
    precision: float
    recall: float
    f1: float
    documents: int


def shingle_f1(pairs: Iterable[tuple[str, str]]) -> ShingleScore:
    """Article-level shingle F1 over (gold, output) documents: precision and recall are
    averaged over documents, then combined."""
    ps, rs = [], []
    for gold, output in pairs:
        p, r = shingle_pr(gold, output)
        ps.append(p)
        rs.append(r)
    if not ps:
        return ShingleScore(0.0, 0.0, 0.0, 0)
    p, r = sum(ps) / len(ps), sum(rs) / len(rs)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return ShingleScore(p, r, f1, len(ps))


@dataclass
class LabelReport:
    labels: tuple[str, ...]
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    confusion: list[list[int]]
    """confusion[i][j]: lines of gold label i predicted as label j."""

    def format(self) -> str:
        width = max(len(x) for x in self.labels) + 2
        out = [f"{'label':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'lines':>10}"]
        for label in self.labels:
            out.append(
                f"{label:<{width}}{self.precision[label]:>10.3f}{self.recall[label]:>10.3f}"
                f"{self.f1[label]:>10.3f}{self.support[label]:>10d}"
            )
        out.append("")
        out.append("confusion (rows: gold, columns: predicted)")
        short = [label[:6] for label in self.labels]
        out.append(" " * width + "".join(f"{s:>8}" for s in short))
        for label, row in zip(self.labels, self.confusion, strict=True):
            out.append(f"{label:<{width}}" + "".join(f"{n:>8d}" for n in row))
        return "\n".join(out)


def label_report(gold: Sequence[str], predicted: Sequence[str]) -> LabelReport:
    index = {label: i for i, label in enumerate(LABELS)}
    k = len(LABELS)
    confusion = [[0] * k for _ in range(k)]
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predicted ones")
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    precision, recall, f1, support = {}, {}, {}, {}
    for i, label in enumerate(LABELS):
        tp = confusion[i][i]
        predicted_n = sum(confusion[j][i] for j in range(k))
        gold_n = sum(confusion[i])
        precision[label] = tp / predicted_n if predicted_n else 0.0
        recall[label] = tp / gold_n if gold_n else 0.0
        s = precision[label] + recall[label]
        f1[label] = 2 * precision[label] * recall[label] / s if s else 0.0
        support[label] = gold_n
    return LabelReport(LABELS, precision, recall, f1, support, confusion)
