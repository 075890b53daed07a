"""Measure the decision's PRECISION_WEIGHT and MIN_ADDED_WORDS, and print a calibration
table (decode.BODY_CALIBRATION, the default one), on training pages held out of a model
trained on the rest (never on dev). ``cleaner train`` fits each model's own table the
same way (``cleaner/calibration.py``: the same split, the same fit).

    python benchmarks/calibrate.py [--train ../shared/corpus/train.jsonl.gz]
                                   [--work DIR] [--distill 64 [--teacher-trees N]]
                                   [--model MODEL_A]

1. Splits the training pages: a page (all its renderings) is held out when
   crc32("<source>:<page-id>") % 3 == 0 (1,937 of 6,003 documents).
2. Trains model A on the other pages, as ``cleaner train DIR/train-rest.jsonl.gz
   --holdout 0 --no-calibrate [--distill N] -o DIR/model-a.npz`` does (about 15 minutes),
   unless --model names one.
   Train it as the shipped model is (its card says how): the table reads its
   probabilities, and a distilled network's are softer than the merged ones'.
3. Fits the table on the held-out pages (per region against the article run, the share of
   body words among units whose P(body) lies within half a knot of each knot, drawn
   towards the default table by a few words, made non-decreasing) and prints it.
4. Prints held-out shingle F1 of the decision by place alone and with the calibrated choice,
   the table fitted on one half of the held-out pages and scored on the other (by page).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner import decode  # noqa: E402
from cleaner.api import Cleaner  # noqa: E402
from cleaner.calibration import HELD_OUT_EVERY, fit_table, predicted, word_sums  # noqa: E402
from cleaner.evaluate import gold_text  # noqa: E402
from cleaner.labelled import read_labelled  # noqa: E402
from cleaner.metrics import shingle_f1  # noqa: E402
from cleaner.repeats import match_repeats  # noqa: E402
from cleaner.segment import join_units  # noqa: E402

DEFAULT_TRAIN = REPO.parent / "shared" / "corpus" / "train.jsonl.gz"


def split(train: Path, work: Path) -> tuple[Path, Path]:
    """The training pages not held out, and those held out (JSONL, gzipped)."""
    rest, held = work / "train-rest.jsonl.gz", work / "held-out.jsonl.gz"
    if not held.exists():
        with gzip.open(train, "rt", encoding="utf-8") as f, \
                gzip.open(rest, "wt", encoding="utf-8") as a, \
                gzip.open(held, "wt", encoding="utf-8") as b:
            for line in f:
                page = json.loads(line)["id"].rsplit(":", 1)[0]
                (b if zlib.crc32(page.encode()) % HELD_OUT_EVERY == 0 else a).write(line)
    return rest, held


def cached_predictions(model: str, held: Path) -> list[dict]:
    """Per held-out document: its units, rule labels, repeats, probabilities, word counts
    and per-line gold labels (with all C paths as in clean())."""
    rows = []
    for doc, units, rules, proba, words in predicted(Cleaner(model).model,
                                                     list(read_labelled([str(held)]))):
        row = {"doc": doc, "units": units, "gold": gold_text(doc)}
        if units:
            row.update(rules=rules, repeats=match_repeats(units), proba=proba, words=words)
        rows.append(row)
    return rows


def fit(rows: list[dict]) -> np.ndarray:
    """The calibration table of ``rows`` (as ``cleaner train`` fits a model's)."""
    return fit_table(word_sums((row["units"], row["proba"], row["words"], row["doc"].labels)
                               for row in rows if row["units"]))


def format_table(table: np.ndarray) -> str:
    """``table`` as the ``BODY_CALIBRATION`` assignment to paste into decode.py."""
    return "\n".join(["BODY_CALIBRATION = ("]
                     + ["    (" + ", ".join(f"{v:.4f}" for v in region) + ")," for region in table]
                     + [")"])


def cross_fitted(rows: list[dict]) -> list[tuple[list[dict], np.ndarray]]:
    """The held-out pages in two halves (by page), each with the table fitted on the
    other: scores that never read a table fitted on the pages they score."""
    half = [zlib.crc32(row["doc"].group.encode()) % 2 for row in rows]
    halves = [[row for row, h in zip(rows, half) if h == k] for k in (0, 1)]
    return [(halves[0], fit(halves[1])), (halves[1], fit(halves[0]))]


def score(parts: list[tuple[list[dict], np.ndarray | None]], weight: float,
          min_words: int) -> str:
    """Shingle F1 over all documents of ``parts``, each part decided with its own table
    (None: by place alone, as before the calibrated choice)."""
    saved = decode.PRECISION_WEIGHT, decode.MIN_ADDED_WORDS, decode._choose_body
    decode.PRECISION_WEIGHT, decode.MIN_ADDED_WORDS = weight, min_words
    pairs = []
    try:
        for rows, table in parts:
            decode._choose_body = (lambda *args: None) if table is None else saved[2]
            for row in rows:
                labels = decode.decide_reference(row["proba"], row["rules"], row["repeats"],
                                                 row["words"], table) if row["units"] else []
                kept = [u for u, label in zip(row["units"], labels) if label == decode._BODY]
                pairs.append((row["gold"], join_units(row["doc"].text, kept)))
    finally:
        decode.PRECISION_WEIGHT, decode.MIN_ADDED_WORDS, decode._choose_body = saved
    s = shingle_f1(pairs)
    return f"F1 {s.f1:.4f} (P {s.precision:.4f}, R {s.recall:.4f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--work", type=Path, default=Path("calibration-work"))
    parser.add_argument("--distill", type=int, default=None, metavar="N",
                        help="train model A with a distilled stage 2 of N units")
    parser.add_argument("--teacher-trees", type=int, default=None, metavar="N",
                        help="with --distill: trees of N rounds join the teacher")
    parser.add_argument("--model", default=None, help="model A, if already trained")
    args = parser.parse_args()
    if args.teacher_trees and not args.distill:
        parser.error("--teacher-trees needs --distill: the trees only teach")
    args.work.mkdir(parents=True, exist_ok=True)
    rest, held = split(args.train, args.work)
    model = args.model
    if model is None:
        from cleaner.train import save, train

        model = str(args.work / "model-a.npz")
        if not os.path.exists(model):
            distill = f" --distill {args.distill}" if args.distill else ""
            params = {"distill_hidden": args.distill} if args.distill else None
            if args.teacher_trees:
                distill += f" --teacher-trees {args.teacher_trees}"
                params = {**(params or {}), "teacher_trees": args.teacher_trees}
            print(f"training model A: cleaner train {rest} --holdout 0 --no-calibrate"
                  f"{distill} -o {model}", flush=True)
            save(train([str(rest)], holdout=0, params=params, calibrate=False), model)
    rows = cached_predictions(model, held)
    print(f"{len(rows)} held-out documents, model A {model}\n")
    print(format_table(fit(rows)) + "\n")
    crossed = cross_fitted(rows)
    print(f"by place alone (the bars)           {score([(rows, None)], 0, 0)}")
    for weight in (1.2, 1.4, 1.6):
        for min_words in (0, decode.MIN_ADDED_WORDS):
            print(f"weight {weight}, adding from {min_words} words  "
                  f"{score(crossed, weight, min_words)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
