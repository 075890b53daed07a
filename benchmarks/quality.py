"""Quality of a model on labelled documents, against the C4 line filter and doing nothing.

    python benchmarks/quality.py [--data ../shared/corpus/dev.jsonl.gz] [--model MODEL]

Prints the article-level word-shingle F1 (gold: each document's body lines; the cleaner
keeps body only) overall, per corpus variant and per source, for the model and for the two
baselines run on the same documents; then per-label precision/recall/F1 and the confusion
matrix of the model's line labels; and the gap between the best and the worst variant.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from cleaner import Cleaner
from cleaner.baselines import c4_clean
from cleaner.evaluate import evaluate, score_function
from cleaner.labelled import read_labelled

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "corpus", "dev.jsonl.gz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=[DEFAULT_DATA])
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    args = parser.parse_args()
    if not all(os.path.exists(p) for p in args.data):
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    docs = list(read_labelled(args.data))
    cleaner = Cleaner(args.model)
    start = time.perf_counter()
    result = evaluate(cleaner, docs)
    seconds = time.perf_counter() - start
    c4, c4_groups = score_function(c4_clean, docs)
    nothing, nothing_groups = score_function(lambda text: text, docs)

    print(f"{len(docs)} documents from {', '.join(args.data)}; model {cleaner.model_path}")
    print(f"evaluated in {seconds:.0f} s\n")
    print(f"{'group':<32} {'cleaner':>8} {'C4':>8} {'nothing':>8}")
    print(f"{'all':<32} {result.shingles.f1:8.4f} {c4.f1:8.4f} {nothing.f1:8.4f}")
    for name in sorted(result.by_group):
        print(f"{name:<32} {result.by_group[name].f1:8.4f} {c4_groups[name].f1:8.4f} "
              f"{nothing_groups[name].f1:8.4f}")
    s = result.shingles
    print(f"\ncleaner: precision {s.precision:.4f} recall {s.recall:.4f}")
    variants = {k: v.f1 for k, v in result.by_group.items() if k.startswith("variant=")}
    if variants:
        best, worst = max(variants, key=variants.get), min(variants, key=variants.get)
        print(f"variant gap: {variants[best] - variants[worst]:.4f} "
              f"(best {best} {variants[best]:.4f}, worst {worst} {variants[worst]:.4f})")
    print()
    print(result.labels.format())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
