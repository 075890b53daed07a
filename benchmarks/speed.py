"""Throughput of ``Cleaner.clean`` on full pages, per stage, against C4's line filter.

Target: 10 MB/s of full-page text on one core, model load under 0.5 s, peak memory under
400 MB. Shared machines are noisy, so every pass is repeated and the best kept, and speeds
are also given as a ratio to the C4 line filter timed in the same process (the ratio
moves far less between machines and runs than MB/s does). MB = 10^6 bytes of UTF-8.

Pages the process has not seen cost more than pages cleaned again: the line rules keep
caches keyed by a line's text and its first characters (``cleaner/rules.py``), and most
lines of a new page are new to them. So "clean, unseen pages" times ``Cleaner.clean`` with
the rule caches as a process leaves them after cleaning ``--warm`` other pages (of the
training split, same variant; with no corpus, empty caches), restored before every
repeat: what a long run over new pages gets. "clean" times the same pages cleaned again,
as every pass after the first is: an upper bound, not what a user sees.

Data: the ``blocks`` variant (whole page) of the dev corpus, else the fixtures. Model:
``--model``, ``$CLEANER_MODEL``, the shipped model, else a tiny one trained on the
fixtures (load time then understates the shipped model's, whose size it depends on).

One core means one BLAS thread too: unless already set, OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS are set to 1 before numpy loads (on a busy machine, BLAS threads spinning
for the small matrices of one document make predict_proba several times slower).

Usage: python benchmarks/speed.py [--data PATH] [--variant blocks] [--repeat 3]
                                  [--limit N] [--model PATH] [--warm 600] [--json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import glob  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner import fastcore, rules  # noqa: E402
from cleaner.api import Cleaner, default_model_path  # noqa: E402
from cleaner.baselines import c4_clean  # noqa: E402
from cleaner.features import featurize  # noqa: E402
from cleaner.labels import LABEL_INDEX  # noqa: E402
from cleaner.modelfile import load_model  # noqa: E402
from cleaner.rules import match_rules  # noqa: E402
from cleaner.segment import segment  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "corpus" / "dev.jsonl.gz"
#: Where the pages that warm the rule caches come from (never the measured pages).
WARM_DATA = REPO.parent / "shared" / "corpus" / "train.jsonl.gz"
FIXTURES = REPO / "fixtures"
#: Documents per batch in the batched feature passes.
BATCH = 16


def corpus_pages(path: Path, variant: str) -> Iterator[str]:
    """The texts of the corpus file's documents of ``variant``, read as they are used."""
    from cleaner.corpus_format import read_corpus

    return (d.text for d in read_corpus(str(path)) if d.meta.get("variant") == variant)


def read_texts(data: Path, variant: str, limit: int | None) -> tuple[list[str], str]:
    """The documents to clean and a description of where they came from."""
    if data.exists():
        texts = list(corpus_pages(data, variant))
        source = f"{data.name}, variant {variant}"
    else:
        from cleaner.labelled import read_labelled

        texts = [d.text for d in read_labelled(sorted(glob.glob(str(FIXTURES / "*.tsv"))))]
        source = f"fixtures ({data} not found)"
    return texts[:limit] if limit else texts, source


def warm_texts(variant: str, limit: int) -> Iterator[str]:
    """Up to ``limit`` training pages of ``variant``, read as they are used (none without
    the corpus)."""
    if not WARM_DATA.exists() or limit <= 0:
        return iter(())
    return itertools.islice(corpus_pages(WARM_DATA, variant), limit)


def rule_caches() -> tuple[dict | set, ...]:
    """The line rules' caches, live (``cleaner/rules.py``: by line, by first characters,
    the keys met once)."""
    return rules._CACHES


def restore(saved: tuple[dict | set, ...]) -> None:
    """Put the rule caches back as they were when ``saved`` was copied."""
    for live, kept in zip(rule_caches(), saved):
        live.clear()
        live.update(kept)


def model_path(arg: str | None, tmp: str) -> tuple[str, str]:
    """The model file to benchmark and how it was chosen; trains a tiny one if needed."""
    if arg:
        return arg, "--model"
    path = default_model_path()
    if os.environ.get("CLEANER_MODEL"):
        return path, "$CLEANER_MODEL"
    if os.path.exists(path):
        return path, "shipped"
    from cleaner.modelfile import save_model
    from cleaner.train import train

    result = train([str(FIXTURES)], holdout=0, params={"n_hash_bits": 18})
    path = os.path.join(tmp, "tiny.npz")
    save_model(path, result.model, result.info)
    return path, "tiny, trained on the fixtures (n_hash_bits=18)"


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, first) wall time of ``repeat`` calls: the first shows cold caches."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), times[0]


def cold_load(path: str) -> dict[str, float]:
    """Import, model load and first clean in a fresh interpreter: what a new worker pays."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from cleaner.api import Cleaner; t1 = time.perf_counter()\n"
        f"c = Cleaner({path!r}); t2 = time.perf_counter()\n"
        "c.clean('Hello world. This is a short test page with one sentence.\\nHome | About')\n"
        "t3 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1, t3 - t2)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
        env=os.environ
    ).stdout.split()
    return dict(zip(("import_s", "load_s", "first_clean_s"), map(float, out)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--variant", default="blocks")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--model", default=None)
    parser.add_argument("--warm", type=int, default=600, metavar="N",
                        help="training pages cleaned before 'unseen pages' (default 600)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    texts, source = read_texts(args.data, args.variant, args.limit)
    if not texts:
        print("no documents to measure")
        return 0
    mb = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    repeat = max(args.repeat, 1)

    with tempfile.TemporaryDirectory() as tmp:
        path, how = model_path(args.model, tmp)
        load_s, _ = best_time(lambda: load_model(path), repeat)
        cleaner_s, _ = best_time(lambda: Cleaner(path), repeat)
        cold = cold_load(path)
        cleaner = Cleaner(path)
        model = cleaner.model
        # The rule caches of a process that has cleaned other pages, before any of these.
        measured = args.data.resolve() if args.data.exists() else None
        n_warm = 0
        if measured != WARM_DATA.resolve():
            for t in warm_texts(args.variant, args.warm):
                cleaner.clean(t)
                n_warm += 1
        warmed = tuple(cache.copy() for cache in rule_caches())

        # Stage inputs, made once so each stage is timed on its own.
        units = [segment(t) for t in texts]
        rule_labels = [
            [LABEL_INDEX[r.label] if r else -1 for r in match_rules([u.text for u in us])]
            for us in units
        ]
        feats = [featurize(t, us, rl) for t, us, rl in zip(texts, units, rule_labels)]
        bits = model.n_hash_bits
        items = list(zip(texts, units, rule_labels))
        fast = fastcore.usable(model)

        # BATCH pages as one text: what clean costs per byte with no cost per document.
        joined = ["\n\n".join(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]

        def rules() -> None:
            for us in units:
                [LABEL_INDEX[r.label] if r else -1 for r in match_rules([u.text for u in us])]

        def numpy_clean() -> None:
            with fastcore.disabled():
                [cleaner.clean(t) for t in texts]

        passes: dict[str, Callable[[], object]] = {
            "c4": lambda: [c4_clean(t) for t in texts],
            "clean, unseen pages": lambda: [cleaner.clean(t) for t in texts],
            "clean": lambda: [cleaner.clean(t) for t in texts],
            "clean, numpy only": numpy_clean,
            "clean_many": lambda: cleaner.clean_many(texts),
            f"clean joined/{BATCH}": lambda: [cleaner.clean(j) for j in joined],
            "segment": lambda: [segment(t) for t in texts],
            "rules": rules,
            "featurize": lambda: [
                featurize(t, us, rl) for t, us, rl in zip(texts, units, rule_labels)
            ],
            "predict_proba": lambda: [model.predict_proba([f]) for f in feats],
        }
        if fast:
            passes["C: features"] = lambda: [fastcore._doc_inputs(model, *i) for i in items]
            passes["C: predict"] = lambda: [fastcore.predict(model, [i]) for i in items]
        # Interleaved rounds: a slow spell of the machine hits every pass alike.
        best: dict[str, float] = dict.fromkeys(passes, float("inf"))
        first: dict[str, float] = {}
        for _ in range(repeat):
            for name, fn in passes.items():
                if name == "clean, unseen pages":
                    restore(warmed)
                t, _ = best_time(fn, 1)
                first.setdefault(name, t)
                best[name] = min(best[name], t)

        tracemalloc.start()
        for t in texts:
            cleaner.clean(t)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    c4 = mb / best["c4"]
    results = {
        "data": source,
        "c_extension": fast,
        "documents": len(texts),
        "warm_pages": n_warm,
        "mb": round(mb, 3),
        "model": how,
        "model_file_kb": round(os.path.getsize(path) / 1e3) if os.path.exists(path) else 0,
        "hash_bits": bits,
        "repeat": repeat,
        "mb_per_s": {k: round(mb / v, 2) for k, v in best.items()},
        "mb_per_s_cold": {k: round(mb / v, 2) for k, v in first.items()},
        "ratio_to_c4": {k: round(mb / v / c4, 4) for k, v in best.items()},
        "load_model_s": round(load_s, 4),
        "cleaner_init_s": round(cleaner_s, 4),
        "cold_process": {k: round(v, 3) for k, v in cold.items()},
        "peak_rss_mb": round(maxrss_mb, 1),
        "clean_traced_peak_mb": round(traced_peak / 1e6, 1),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{len(texts)} documents, {mb:.2f} MB ({source}); model: {how}, "
          f"{results['model_file_kb']} kB file, {bits} hash bits; best of {repeat}; "
          f"C extension {'used' if fast else 'NOT built: numpy only'}")
    print(f"{'pass':18} {'MB/s':>8} {'cold MB/s':>10} {'x C4':>8}")
    for name in passes:
        print(f"{name:18} {results['mb_per_s'][name]:8.2f} "
              f"{results['mb_per_s_cold'][name]:10.2f} {results['ratio_to_c4'][name]:8.4f}")
    print(f"(clean, unseen pages: with the rule caches of a process that has cleaned "
          f"{n_warm} other pages, restored before each repeat; clean: the same pages "
          "cleaned again)")
    print("(clean = segment + rules + C: predict (else featurize + predict_proba, numpy) + "
          "repeats + decide + join; predict_proba includes the hashed n-grams; C: predict "
          "includes C: features; /N: N documents per call; clean joined: N documents as one "
          "text, the cost per byte alone)")
    print(f"model load {load_s:.3f} s, Cleaner() {cleaner_s:.3f} s; fresh process: "
          f"import {cold['import_s']:.3f} s, load {cold['load_s']:.3f} s, "
          f"first clean {cold['first_clean_s']:.3f} s")
    print(f"peak RSS {maxrss_mb:.0f} MB (whole process, corpus included); "
          f"traced peak of one clean pass {traced_peak / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
