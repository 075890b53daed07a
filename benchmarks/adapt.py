"""Does updating a model with a few labelled documents from a new source help there,
without forgetting the rest?

    python benchmarks/adapt.py [--source readability] [--labelled 20] [--max-train 1500]

1. Train a base model on the corpus train split *without* one source.
2. Score it on that source's dev documents, and on the other sources' dev documents.
3. Label 20 documents of the held-out source (taken from the train split, so none of
   them are scored) and update the base model with them (``LineClassifier.adapt``, the
   same as ``cleaner train NEW --init BASE``).
4. Score the updated model on the same dev documents.

Also trains a model from scratch on only the 20 documents, to show what the base model's
general knowledge is worth. Prints shingle F1 (keep body) for each.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings

from cleaner import Cleaner
from cleaner.corpus_format import read_corpus
from cleaner.evaluate import evaluate
from cleaner.model import LineClassifier
from cleaner.train import featurize_docs

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--source", default="readability", help="the source held out")
    parser.add_argument("--labelled", type=int, default=20, help="new documents labelled")
    parser.add_argument("--max-train", type=int, default=1500,
                        help="documents of the other sources the base model is trained on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train_path = os.path.join(args.corpus, "train.jsonl.gz")
    dev_path = os.path.join(args.corpus, "dev.jsonl.gz")
    if not os.path.exists(train_path):
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore")
    rng = random.Random(args.seed)

    train = list(read_corpus(train_path))
    dev = list(read_corpus(dev_path))
    others = [d for d in train if d.meta.get("source") != args.source]
    rng.shuffle(others)
    others = others[: args.max_train]
    held = [d for d in train if d.meta.get("source") == args.source]
    # The labelled documents come from distinct pages, one rendering each.
    by_page: dict[str, list] = {}
    for doc in held:
        by_page.setdefault(doc.group, []).append(doc)
    pages = sorted(by_page)
    rng.shuffle(pages)
    new = [by_page[page][rng.randrange(len(by_page[page]))] for page in pages[: args.labelled]]
    dev_held = [d for d in dev if d.meta.get("source") == args.source]
    dev_other = [d for d in dev if d.meta.get("source") != args.source]
    print(f"held-out source {args.source!r}: {len(new)} labelled documents, "
          f"{len(dev_held)} dev documents; base trained on {len(others)} documents of "
          f"other sources, {len(dev_other)} dev documents of them")

    t = time.perf_counter()
    X, y = featurize_docs(others)
    base = LineClassifier().fit(X, y, [d.group for d in others])
    print(f"base model trained in {time.perf_counter() - t:.0f} s")
    Xn, yn = featurize_docs(new)
    t = time.perf_counter()
    adapted = base.adapt(Xn, yn, groups=[d.group for d in new])
    print(f"adapted in {time.perf_counter() - t:.1f} s")
    scratch = LineClassifier(n_folds=2).fit(Xn, yn, [d.group for d in new])

    rows = [("base (without the source)", base), ("base + 20 labelled (adapt)", adapted),
            ("only the 20 labelled", scratch)]
    print(f"\n{'model':<30} {args.source + ' dev':>18} {'other sources dev':>18}")
    for name, model in rows:
        held_f1 = evaluate(Cleaner(model), dev_held).shingles.f1
        other_f1 = evaluate(Cleaner(model), dev_other).shingles.f1
        print(f"{name:<30} {held_f1:18.4f} {other_f1:18.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
