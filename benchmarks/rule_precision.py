"""Measure each rule's precision against the corpus labels, and match_rule's throughput.

A rule earns its place only if nearly every line it fires on carries the rule's label in
the corpus (target: precision >= 0.95 on train); this script is how that is checked.

Usage: python benchmarks/rule_precision.py [--data PATH ...] [--examples N] [--min-precision P]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner.labels import LABELS  # noqa: E402
from cleaner.rules import RULES, match_rule, match_rule_reference  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "corpus" / "train.jsonl.gz"


def iter_lines(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (text, gold label) for every non-blank line of a corpus file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            doc = json.loads(raw)
            for line in doc["lines"]:
                if line["label"]:
                    yield line["text"], line["label"]


def evaluate(paths: list[Path], examples: int, min_precision: float, check: bool) -> int:
    """Print the per-rule table and the coverage; return the number of rules below target."""
    hits: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    wrong_text: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    gold_total: Counter[str] = Counter()
    gold_covered: Counter[str] = Counter()
    lines: list[str] = []
    for path in paths:
        for text, gold in iter_lines(path):
            lines.append(text)
            gold_total[gold] += 1
            rule = match_rule(text)
            if check and rule is not match_rule_reference(text):
                print(f"MISMATCH fast={rule} reference={match_rule_reference(text)}: {text!r}")
            if rule is None:
                continue
            hits[rule.name] += 1
            if rule.label == gold:
                correct[rule.name] += 1
                gold_covered[gold] += 1
            else:
                wrong[rule.name][gold] += 1
                if examples:
                    wrong_text[rule.name][(gold, text.strip()[:90])] += 1

    below = 0
    print(f"{'rule':32} {'label':11} {'hits':>7} {'prec':>6}  wrong labels")
    for rule in RULES:
        n = hits[rule.name]
        prec = correct[rule.name] / n if n else float("nan")
        flag = "" if not n or prec >= min_precision else "  <-- below target"
        below += bool(flag)
        top = ", ".join(f"{lab} {k}" for lab, k in wrong[rule.name].most_common(3))
        print(f"{rule.name:32} {rule.label:11} {n:7d} {prec:6.3f}  {top}{flag}")
        for (gold, text), k in wrong_text[rule.name].most_common(examples):
            print(f"{'':45}{k:5d} {gold:11} {text!r}")

    total = sum(gold_total.values())
    fired = sum(hits.values())
    good = sum(correct.values())
    print(
        f"\noverall: {fired} of {total} lines matched ({fired / max(total, 1):.2%}), "
        f"precision {good / max(fired, 1):.3f}"
    )
    print(f"{'label':11} {'gold lines':>10} {'covered':>8} {'coverage':>8}")
    for label in LABELS:
        g = gold_total[label]
        print(f"{label:11} {g:10d} {gold_covered[label]:8d} {gold_covered[label] / max(g, 1):8.2%}")

    if lines:
        benchmark(lines)
    return below


def benchmark(lines: list[str], repeat: int = 3) -> None:
    """Throughput of match_rule over the corpus lines (best of ``repeat`` passes)."""
    chars = sum(len(line) for line in lines)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for line in lines:
            match_rule(line)
        best = min(best, time.perf_counter() - start)
    print(
        f"\nmatch_rule throughput: {len(lines) / best:,.0f} lines/s, "
        f"{chars / best / 1e6:.1f} MB/s of text ({len(lines):,} lines, best of {repeat})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, default=[DEFAULT_DATA])
    parser.add_argument("--examples", type=int, default=0, help="show N wrong lines per rule")
    parser.add_argument("--min-precision", type=float, default=0.95)
    parser.add_argument(
        "--check", action="store_true", help="also compare match_rule with the slow reference"
    )
    args = parser.parse_args(argv)
    paths = [p for p in args.data if p.exists()]
    for missing in sorted(set(args.data) - set(paths)):
        print(f"corpus file not found, skipping: {missing}")
    if not paths:
        print("no corpus data available; nothing to measure")
        return 0
    below = evaluate(paths, args.examples, args.min_precision, args.check)
    print(f"\nrules below precision {args.min_precision}: {below}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
