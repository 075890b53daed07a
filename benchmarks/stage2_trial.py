"""Try a stage-2 learner on held-out training pages in minutes instead of a retrain.

    python benchmarks/stage2_trial.py --work DIR [--trees N [--students]] [--sequence]

Uses the split and model A of ``benchmarks/calibrate.py`` (run that first with the same
``--work``). Stage 1 is fitted in seconds; what takes a retrain its 20 minutes is stage 2.
So this script keeps stage 2's inputs: those of the pages model A was trained on, from
out-of-fold stage-1 probabilities exactly as ``LineClassifier.fit`` makes them, and those
of the held-out pages from model A's stage 1 (cached in DIR as .npy). Then it scores on
the held-out pages, as calibrate.py does (by place alone; with the calibrated choice, the
table cross-fitted by halves): model A's own stage 2, and with ``--trees N`` gradient-
boosted trees of N rounds (the teacher trees of ``distill.py``) and the mean of the two.
With ``--students`` also students as ``fit`` distils them (64 units, seed 0, in about a
minute each), from model A's stage 2 alone (a control) and from its mean with the trees,
fitted on all training rows and out of fold by page (as ``fit`` does with
``teacher_trees``), and the calibration table of the out-of-fold student (the one a
model trained so would use). The networks' half of the target is model A's stage 2, not the
four networks it was distilled from: its logits are about theirs at temperature 2, and
retraining them would take the 20 minutes this script saves. With ``--sequence`` also the
bidirectional GRU of ``cleaner/sequence.py`` (fitted on the training pages' inputs, on
hard labels) and the mean of its probabilities and model A's stage 2.
Edit ``trials`` below to try another learner on the same inputs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import calibrate  # noqa: E402

from cleaner.blas import one_thread  # noqa: E402
from cleaner.distill import _distill_to, _fit_trees, _tree_logits, _tree_target  # noqa: E402
from cleaner.features import featurize_many  # noqa: E402
from cleaner.hashing import hashed  # noqa: E402
from cleaner.labelled import read_labelled  # noqa: E402
from cleaner.model import LineClassifier, _fold_rows  # noqa: E402
from cleaner.modelfile import load_model  # noqa: E402
from cleaner.network import _forward, _softmax  # noqa: E402
from cleaner.sequence import SEQUENCE_EPOCHS, SEQUENCE_HIDDEN_PER_UNIT, SequenceNet  # noqa: E402
from cleaner.train import featurize_docs  # noqa: E402


class _Inputs(Exception):
    """Carries stage 2's inputs out of ``fit`` when they are ready."""


def training_inputs(rest: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage-2 inputs, labels and weights of the training pages, as ``fit`` makes them."""
    docs = list(read_labelled([str(rest)]))
    X, y = featurize_docs(docs)
    model = LineClassifier()

    def grab(X2, target, weights):
        raise _Inputs(X2, target, weights)

    model._fit_stage = grab  # the instance's own: fit stops where stage 2 would start
    try:
        model.fit(X, y, [d.group for d in docs])
    except _Inputs as ready:
        return ready.args
    raise AssertionError("fit never reached stage 2")


def held_out_inputs(model: LineClassifier, rows: list[dict]) -> np.ndarray:
    use = [r for r in rows if r["units"]]
    feats = featurize_many([(r["doc"].text, r["units"], r["rules"]) for r in use])
    offsets = np.cumsum([0] + [len(f) for f in feats])
    proba, linear = model._stage1(hashed(feats, model.n_hash_bits))
    with one_thread():
        return model._stage2_matrix(feats, proba, offsets, linear)


def with_proba(rows: list[dict], P: np.ndarray) -> list[dict]:
    """Copies of ``rows`` whose probabilities are the rows of ``P``, in order."""
    scored, at = [], 0
    for row in rows:
        row = dict(row)
        if row["units"]:
            row["proba"] = P[at:at + len(row["units"])].astype(np.float32)
            at += len(row["units"])
        scored.append(row)
    return scored


def score(rows: list[dict], P: np.ndarray, name: str) -> None:
    scored = with_proba(rows, P)
    crossed = calibrate.cross_fitted(scored)
    print(f"{name:<22} by place {calibrate.score([(scored, None)], 0, 0)}\n"
          f"{'':<22} chosen   {calibrate.score(crossed, 1.4, 5)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--trees", type=int, default=0, metavar="N")
    parser.add_argument("--students", action="store_true",
                        help="also distil students from model A's stage 2 and the trees")
    parser.add_argument("--sequence", action="store_true",
                        help="also fit the bidirectional GRU over each page's units")
    parser.add_argument("--epochs", type=int, default=SEQUENCE_EPOCHS, help="the GRU's passes")
    parser.add_argument("--recurrent", type=int, default=32, help="the GRU's units each way")
    parser.add_argument("--hidden", type=int, default=None,
                        help="the GRU network's input layer (default: as cleaner train's)")
    args = parser.parse_args()
    if args.students and not args.trees:
        parser.error("--students needs --trees N")
    rest, held = args.work / "train-rest.jsonl.gz", args.work / "held-out.jsonl.gz"
    model_a = str(args.work / "model-a.npz")
    start = time.time()
    cache = {name: args.work / f"stage2-{name}.npy" for name in ("X", "y", "w", "Xh")}
    if not all(path.exists() for path in cache.values()):
        for name, value in zip(("X", "y", "w"), training_inputs(rest)):
            np.save(cache[name], value)
    rows = calibrate.cached_predictions(model_a, held)
    model, _ = load_model(model_a)
    if not cache["Xh"].exists():
        np.save(cache["Xh"], held_out_inputs(model, rows))
    X2, y, w, X2h = (np.load(cache[name]) for name in ("X", "y", "w", "Xh"))
    print(f"inputs: {X2.shape[0]} training units, {X2h.shape[0]} held-out, "
          f"{X2.shape[1]} columns ({time.time() - start:.0f} s)", flush=True)

    reference = _forward(model.stages_[0], X2h)
    score(rows, reference, "model A's stage 2")
    trials = {}
    if args.trees:
        trees = _fit_trees(X2, y, w, args.trees, random_state=0)
        tree_p = _softmax(_tree_logits(trees, X2h))
        trials[f"trees, {args.trees} rounds"] = tree_p
        trials["mean of the two"] = (tree_p + reference) / 2
    docs = list(read_labelled([str(rest)])) if args.sequence or args.students else []
    lengths = [sum(1 for label in doc.labels if label) for doc in docs]  # rows of X2
    if args.sequence:
        held_lengths = [len(row["units"]) for row in rows if row["units"]]
        started = time.time()
        hidden = args.hidden or SEQUENCE_HIDDEN_PER_UNIT * args.recurrent
        net = SequenceNet(hidden=hidden, recurrent=args.recurrent, epochs=args.epochs,
                          ).fit(X2, y, lengths, w, n_labels=reference.shape[1])
        print(f"GRU fitted in {time.time() - started:.0f} s, loss by pass "
              f"{' '.join(f'{x:.3f}' for x in net.loss_curve_)}", flush=True)
        sequence_p = net.predict_proba(X2h, held_lengths)
        trials["bidirectional GRU"] = sequence_p
        trials["mean of GRU and A"] = (sequence_p + reference) / 2
    for name, P in trials.items():
        score(rows, P, name)
    if args.sequence:
        print("the mean's table (a model trained with --sequence reads its probabilities):")
        print(calibrate.format_table(calibrate.fit(with_proba(rows, trials["mean of GRU and A"]))))
    if args.students:
        students(rows, docs, lengths, X2, y, w, X2h, model, args.trees)
    return 0


def students(rows, docs, lengths, X2, y, w, X2h, model, rounds) -> None:
    """Students of model A's stage 2 alone and with the trees (in-sample, out of fold)."""
    offsets = np.cumsum([0] + lengths)
    folds = list(_fold_rows(offsets, [doc.group for doc in docs], model.n_folds))
    temperature = model.distill_temperature
    nets = _forward(model.stages_[0], X2)
    targets = {"student of A's stage 2": lambda: nets}
    for name, fold in (("+ trees, in-sample", None), ("+ trees, out of fold", folds)):
        targets[name] = lambda fold=fold: (nets + _tree_target(
            X2, y, w, rounds, temperature, model.random_state, fold)) / np.float32(2)
    for name, target in targets.items():
        P = _forward(_distill_to(target(), X2, w, 64, model.random_state), X2h)
        score(rows, P, name)
    print("the out-of-fold student's table:")
    print(calibrate.format_table(calibrate.fit(with_proba(rows, P))))


if __name__ == "__main__":
    raise SystemExit(main())
