"""Does updating the model with a few labelled pages of a site help on that site's other
pages?

    python benchmarks/adapt_site.py [--min-pages 5] [--distill 64]

``adapt.py`` holds a whole source out; this holds out sites. The sites are the hosts of
the training split with at least ``--min-pages`` pages (2026-12: 13 sites, 5 to 12 pages
each: shops, documentation, news). A base model is trained, as the shipped one is but
without its own table, on the training pages of every other site (about 20 minutes).
Then, for each site, its pages are split in two halves (by page hash); the model is
updated with the documents of one half (every rendering: what a user labelling their
own site's pages in their own renderings would have) and scored on the other half, then
the other way round: counts only (``penalty=None``) and the default update, as ``cleaner
train NEW --init BASE`` makes it. Prints shingle F1 (keep body) per site and over all
scored documents.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.parse
import warnings
import zlib
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from cleaner import Cleaner  # noqa: E402
from cleaner.corpus_format import read_corpus  # noqa: E402
from cleaner.evaluate import EVAL_KEEP, gold_text  # noqa: E402
from cleaner.metrics import shingle_f1  # noqa: E402
from cleaner.model import LineClassifier  # noqa: E402
from cleaner.train import featurize_docs, fit_new  # noqa: E402

CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus")
#: Hosts that are not one site: no URL, or an archive of many sites.
NOT_SITES = {"", "web.archive.org"}
UPDATES = {"counts only": {"penalty": None}, "default update": {}}


def site_of(doc) -> str:
    return urllib.parse.urlparse(doc.meta.get("url") or "").netloc.removeprefix("www.")


def pairs(model: LineClassifier, docs: list) -> list[tuple[str, str]]:
    cleaner = Cleaner(model)
    return [(gold_text(d), cleaner.clean(d.text, keep=EVAL_KEEP)) for d in docs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--min-pages", type=int, default=5)
    parser.add_argument("--distill", type=int, default=64)
    args = parser.parse_args()
    path = os.path.join(args.corpus, "train.jsonl.gz")
    if not os.path.exists(path):
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 1
    train = list(read_corpus(path))
    doc_sites = [site_of(doc) for doc in train]
    by_site: dict[str, list] = defaultdict(list)
    for doc, site in zip(train, doc_sites):
        by_site[site].append(doc)
    pages = {site: {d.group for d in docs} for site, docs in by_site.items()}
    sites = sorted((s for s, p in pages.items() if len(p) >= args.min_pages
                    and s not in NOT_SITES), key=lambda s: (-len(pages[s]), s))
    held = set(sites)
    others = [d for d, site in zip(train, doc_sites) if site not in held]  # in corpus order
    print(f"{len(sites)} sites of {args.min_pages}+ pages held out "
          f"({sum(len(pages[s]) for s in sites)} pages); base trained on {len(others)} "
          f"documents of the other sites", flush=True)
    started = time.time()
    base, _ = fit_new(others, {"distill_hidden": args.distill or None}, calibrate=False)
    print(f"base trained in {time.time() - started:.0f} s\n", flush=True)

    scored: dict[str, list[tuple[str, str]]] = defaultdict(list)
    print(f"{'site':<26} {'pages':>5} {'base':>7} " + " ".join(f"{n:>15}" for n in UPDATES))
    for site in sites:
        docs = by_site[site]
        half = {d.group: zlib.crc32(d.group.encode()) % 2 for d in docs}
        if len(set(half.values())) < 2:  # every page on one side: split by order instead
            half = {g: i % 2 for i, g in enumerate(sorted(half))}
        site_scores: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for side in (0, 1):
            labelled = [d for d in docs if half[d.group] == side]
            rest = [d for d in docs if half[d.group] != side]
            site_scores["base"] += pairs(base, rest)
            Xn, yn = featurize_docs(labelled)
            for name, kwargs in UPDATES.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = base.adapt(Xn, yn, groups=[d.group for d in labelled], **kwargs)
                site_scores[name] += pairs(model, rest)
        for name, got in site_scores.items():
            scored[name] += got
        print(row(site, len(pages[site]), site_scores), flush=True)
    print(row("all scored documents", sum(len(pages[s]) for s in sites), scored))
    return 0


def row(name: str, n_pages: int, scores: dict[str, list[tuple[str, str]]]) -> str:
    """One line of the table: the base model's score, then each update's."""
    return f"{name:<26} {n_pages:5d} " + " ".join(
        f"{shingle_f1(scores[n]).f1:{7 if n == 'base' else 15}.4f}" for n in ["base", *UPDATES])


if __name__ == "__main__":
    raise SystemExit(main())
