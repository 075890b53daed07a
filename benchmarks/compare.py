"""Is model B better than model A on labelled documents, or is the difference noise?

    python benchmarks/compare.py MODEL_A MODEL_B [--data ../shared/corpus/dev.jsonl.gz]

Prints each model's shingle F1 (the article-level metric of ``quality.py``), their
difference, and its standard error and 95% interval from a bootstrap over *pages* (all
renderings of a page are drawn together: they are not independent evidence), overall and
per variant. On dev (172 pages) the standard error of a difference between two models of
the shipped design is about 0.003: a difference under about 0.007 is not evidence either
way (docs/algorithm.md, section 4, item 5).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

import numpy as np

from cleaner import Cleaner
from cleaner.evaluate import gold_text
from cleaner.labelled import read_labelled
from cleaner.metrics import shingle_pr

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "corpus", "dev.jsonl.gz")
#: Bootstrap draws, and the seed that makes the interval the same on every run.
DRAWS = 2000
SEED = 0


def page_of(doc_id: str) -> str:
    """``source:page:variant`` ids: a page's renderings share everything before the last
    colon (an id without a variant is a page of its own)."""
    return doc_id.rsplit(":", 1)[0] if doc_id.count(":") >= 2 else doc_id


def macro_f1(pr: np.ndarray) -> float:
    """F1 of the mean precision and mean recall over documents (rows of ``pr``)."""
    p, r = pr[:, 0].mean(), pr[:, 1].mean()
    return 2 * p * r / (p + r) if p + r else 0.0


def bootstrap(a: np.ndarray, b: np.ndarray, pages: list[str],
              draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """F1(b) - F1(a) on ``draws`` resamples of whole pages."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        rows[page].append(i)
    groups = [np.array(r) for r in rows.values()]
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for k in range(draws):
        idx = np.concatenate([groups[j] for j in rng.integers(0, len(groups), len(groups))])
        out[k] = macro_f1(b[idx]) - macro_f1(a[idx])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_a")
    parser.add_argument("model_b")
    parser.add_argument("--data", nargs="+", default=[DEFAULT_DATA])
    args = parser.parse_args()
    if not all(os.path.exists(p) for p in args.data):
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    docs = list(read_labelled(args.data))
    scores = []
    for path in (args.model_a, args.model_b):
        cleaner = Cleaner(path)
        scores.append(np.array([shingle_pr(gold_text(d), cleaner.clean(d.text, keep=("body",)))
                                for d in docs]))
    a, b = scores
    pages = [page_of(d.id) for d in docs]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        groups["all"].append(i)
        if d.meta.get("variant"):
            groups[f"variant={d.meta['variant']}"].append(i)
    print(f"{len(docs)} documents of {len(set(pages))} pages; A {args.model_a}, "
          f"B {args.model_b}; bootstrap over pages, {DRAWS} draws\n")
    print(f"{'group':<22} {'A':>7} {'B':>7} {'B - A':>8} {'s.e.':>7}  95% interval")
    for name, idx in groups.items():
        idx = np.array(idx)
        draws = bootstrap(a[idx], b[idx], [pages[i] for i in idx])
        low, high = np.percentile(draws, [2.5, 97.5])
        print(f"{name:<22} {macro_f1(a[idx]):7.4f} {macro_f1(b[idx]):7.4f} "
              f"{macro_f1(b[idx]) - macro_f1(a[idx]):+8.4f} {draws.std():7.4f}  "
              f"[{low:+.4f}, {high:+.4f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
