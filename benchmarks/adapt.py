"""Does updating a model with a few labelled documents from a new source help there,
without forgetting the rest?

    python benchmarks/adapt.py [--sources readability,trafilatura-eval,modern-2025]
                               [--draws 3] [--labelled 20] [--max-train 1500]
                               [--distill 64]

For each held-out source:

1. Train a base model on 1500 documents of the corpus train split *without* that source,
   its stage 2 distilled to ``--distill`` units as the shipped model's is (0: not), with
   its own calibration table as ``cleaner train`` fits one.
2. Score it on that source's dev documents, and on the other sources' dev documents.
3. For each draw: label 20 documents of the held-out source — 20 distinct pages of its
   *train* split, one random rendering each, so no page is both labelled and scored —
   and update the base model with them (``LineClassifier.adapt``, the same as
   ``cleaner train NEW --init BASE``). Score the updated model on the same dev documents.

Rows per draw: stage-1 counts only (``penalty=None``), the default update (counts plus
stage 2 fine-tuned with an L2 pull back to its weights, ``ADAPT_PENALTY``), with
``--fixed`` each penalty of ``ADAPT_PENALTIES`` and ``"auto"`` (slow), and a model trained
from scratch on only the 20 documents (what the base model's general knowledge is worth),
with the default calibration table and with its own (``cleaner train NEW`` fits one; with
20 pages, from a model trained on about 13 of them).
Prints shingle F1 (keep body), and the mean over draws.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings

import numpy as np

from cleaner import Cleaner
from cleaner.corpus_format import read_corpus
from cleaner.evaluate import evaluate
from cleaner.model import ADAPT_PENALTIES, ADAPT_PENALTY, LineClassifier
from cleaner.train import featurize_docs, fit_calibration, fit_new

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus")


def _quiet(message: str) -> None:
    """fit_calibration's log, unprinted."""


def draw_pages(held: list, n: int, seed: int) -> list:
    """``n`` documents of distinct pages, one random rendering of each."""
    rng = random.Random(1000 + seed)
    by_page: dict[str, list] = {}
    for doc in held:
        by_page.setdefault(doc.group, []).append(doc)
    pages = sorted(by_page)
    rng.shuffle(pages)
    return [by_page[page][rng.randrange(len(by_page[page]))] for page in pages[:n]]


def scores(model: LineClassifier, held: list, other: list) -> tuple[float, float]:
    """Shingle F1 (keep body) on the held-out source's and the other sources' documents."""
    return (evaluate(Cleaner(model), held).shingles.f1,
            evaluate(Cleaner(model), other).shingles.f1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--sources", default="readability,trafilatura-eval,modern-2025",
                        help="the sources held out, one at a time (comma-separated)")
    parser.add_argument("--draws", type=int, default=3, help="random draws of the labelled")
    parser.add_argument("--labelled", type=int, default=20, help="new documents labelled")
    parser.add_argument("--distill", type=int, default=64,
                        help="distil the base model's stage 2 to N units (0: do not)")
    parser.add_argument("--max-train", type=int, default=1500,
                        help="documents of the other sources the base model is trained on")
    parser.add_argument("--fixed", action="store_true",
                        help=f"also update with the penalties {ADAPT_PENALTIES} and auto")
    args = parser.parse_args()
    train_path = os.path.join(args.corpus, "train.jsonl.gz")
    dev_path = os.path.join(args.corpus, "dev.jsonl.gz")
    if not os.path.exists(train_path):
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore")
    train = list(read_corpus(train_path))
    dev = list(read_corpus(dev_path))
    summary: list[tuple[str, str, float, float]] = []

    for source in args.sources.split(","):
        others = [d for d in train if d.meta.get("source") != source]
        random.Random(0).shuffle(others)
        others = others[: args.max_train]
        held = [d for d in train if d.meta.get("source") == source]
        dev_held = [d for d in dev if d.meta.get("source") == source]
        dev_other = [d for d in dev if d.meta.get("source") != source]
        print(f"\n== held-out source {source!r}: {len(dev_held)} dev documents of it, "
              f"{len(dev_other)} of the others; base trained on {len(others)} documents "
              f"of the others", flush=True)
        t = time.perf_counter()
        base, _ = fit_new(others, {"distill_hidden": args.distill or None})
        print(f"base model trained in {time.perf_counter() - t:.0f} s", flush=True)

        base_scores = scores(base, dev_held, dev_other)
        print(f"\n{'draw':<5} {'model':<34} {source + ' dev':>20} {'other sources dev':>18}")
        print(f"{'-':<5} {'base (without the source)':<34} {base_scores[0]:20.4f} "
              f"{base_scores[1]:18.4f}", flush=True)
        summary.append((source, "base (without the source)", *base_scores))
        for draw in range(args.draws):
            new = draw_pages(held, args.labelled, draw)
            Xn, yn = featurize_docs(new)
            groups = [d.group for d in new]
            rows: list[tuple[str, object]] = [
                ("+ counts only", {"penalty": None}),
                (f"+ counts, stage 2 (default, {ADAPT_PENALTY:g})", {}),
            ]
            if args.fixed:
                rows += [(f"+ counts, stage 2 (penalty {p:g})", {"penalty": p})
                         for p in ADAPT_PENALTIES if p != ADAPT_PENALTY]
                rows.append(("+ counts, stage 2 (penalty auto)", {"penalty": "auto"}))
            rows.append(("only the labelled (from scratch)", None))
            rows.append(("  the same, its own table", "own"))
            for name, kwargs in rows:
                t = time.perf_counter()
                if kwargs is None:
                    model = LineClassifier(n_folds=2).fit(Xn, yn, groups)
                elif kwargs == "own":  # the scratch model of the row before, its own table
                    model.body_calibration_ = fit_calibration(new, [], [], {"n_folds": 2},
                                                              _quiet)[0]
                else:
                    model = base.adapt(Xn, yn, groups=groups, **kwargs)
                seconds = time.perf_counter() - t
                f1 = scores(model, dev_held, dev_other)
                summary.append((source, name, *f1))
                print(f"{draw:<5} {name:<34} {f1[0]:20.4f} {f1[1]:18.4f}   ({seconds:.0f} s)",
                      flush=True)

    print(f"\nMean over draws ({args.draws} draws of {args.labelled} documents):")
    print(f"{'held-out source':<18} {'model':<34} {'held-out dev':>13} {'others dev':>11}")
    seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for source, name, held_f1, other_f1 in summary:
        seen.setdefault((source, name), []).append((held_f1, other_f1))
    for (source, name), values in seen.items():
        mean = np.mean(values, axis=0)
        print(f"{source:<18} {name:<34} {mean[0]:13.4f} {mean[1]:11.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
