"""How much would more labelled pages help? Dev scores of models trained on shares of the
training pages.

    python benchmarks/learning_curve.py [--shares 0.25 0.5] [--full models/cleaner.npz]
                                        [--distill 64] [--work DIR]

For each share, trains a model as the shipped one is trained (``--distill 64``, its own
calibration table) on the training pages whose crc32("<source>:<page-id>") falls in that
share (all renderings of a page together; a larger share holds every page of a smaller
one), and scores it on dev with the shipped decision. ``--full`` adds the model trained on
all pages (the shipped one: its card command is this script's with share 1) without
retraining it. Prints shingle F1 overall and per source, and the gain per doubling of
the pages between consecutive shares. A model takes about 20 minutes times its share on
one core; models already in ``--work`` are reused.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner import Cleaner  # noqa: E402
from cleaner.evaluate import evaluate  # noqa: E402
from cleaner.labelled import read_labelled  # noqa: E402
from cleaner.modelfile import save_model  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
#: Pages are placed by crc32 of their group modulo this, then kept below share x it.
BUCKETS = 1000


def train_share(docs: list, share: float, distill: int) -> tuple[object, int, int]:
    """A model trained as the shipped one is, on the pages of ``share``; its documents
    and pages."""
    from cleaner.train import fit_new

    cut = int(share * BUCKETS)
    chosen = [d for d in docs if zlib.crc32(d.group.encode()) % BUCKETS < cut]
    model, _ = fit_new(chosen, {"distill_hidden": distill})
    return model, len(chosen), len({d.group for d in chosen})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=CORPUS / "train.jsonl.gz")
    parser.add_argument("--dev", type=Path, default=CORPUS / "dev.jsonl.gz")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5])
    parser.add_argument("--full", default=None, help="the model trained on all pages")
    parser.add_argument("--distill", type=int, default=64)
    parser.add_argument("--work", type=Path, default=Path("learning-curve-work"))
    args = parser.parse_args()
    if not args.train.exists() or not args.dev.exists():
        print(f"no corpus at {args.train.parent}", file=sys.stderr)
        return 1
    if not all(0 < share < 1 for share in args.shares):
        parser.error("shares lie between 0 and 1 (the full model is --full)")
    args.work.mkdir(parents=True, exist_ok=True)
    docs = list(read_labelled([str(args.train)]))
    dev = list(read_labelled([str(args.dev)]))
    points = []
    for share in sorted(args.shares):
        path = args.work / f"share-{share:g}-distill-{args.distill}.npz"
        if not path.exists():
            started = time.time()
            model, n_docs, n_pages = train_share(docs, share, args.distill)
            save_model(str(path), model, {"documents": n_docs, "pages": n_pages})
            print(f"share {share:g}: {n_pages} pages, {n_docs} documents, trained in "
                  f"{time.time() - started:.0f} s", flush=True)
        points.append((share, str(path)))
    if args.full:
        points.append((1.0, args.full))
    rows = []
    for share, path in points:
        result = evaluate(Cleaner(path), dev)
        sources = {k.split("=", 1)[1]: v.f1 for k, v in result.by_group.items()
                   if k.startswith("source=")}
        rows.append((share, result.shingles.f1, sources))
    names = sorted(rows[0][2])
    print(f"\n{'share':>6} {'dev F1':>7} {'per doubling':>13}  "
          + " ".join(f"{n:>16}" for n in names))
    for i, (share, f1, sources) in enumerate(rows):
        step = ""
        if i:
            before_share, before_f1 = rows[i - 1][0], rows[i - 1][1]
            step = f"{(f1 - before_f1) / math.log2(share / before_share):+.4f}"
        print(f"{share:6g} {f1:7.4f} {step:>13}  "
              + " ".join(f"{sources[n]:16.4f}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
