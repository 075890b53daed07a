"""Measure each rule's precision against the corpus labels, and match_rule's throughput.

A rule earns its place only if nearly every line it fires on carries the rule's label in
the corpus (target: precision >= 0.95 on train); this script is how that is checked. Tune
on train only: dev is for the final evaluation.

Usage: python benchmarks/rule_precision.py [--data PATH ...] [--examples N]
           [--min-precision P] [--check] [--no-timing]

``--data`` takes corpus files (.jsonl[.gz]), fixture files (.tsv) or directories of them.
The exit status is 1 if a rule that fired is below the target, else 0 (also when no data
is available, so that the script can run on a machine without ../shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner.labelled import read_labelled  # noqa: E402
from cleaner.labels import LABELS  # noqa: E402
from cleaner.rules import RULES, match_rule, match_rule_reference  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "corpus" / "train.jsonl.gz"


def iter_lines(paths: Iterable[Path]) -> Iterator[tuple[str, str]]:
    """Yield (text, gold label) for every non-blank line of the labelled files."""
    for doc in read_labelled(str(path) for path in paths):
        for text, label in zip(doc.lines, doc.labels, strict=True):
            if label:
                yield text, label


@dataclass
class Tally:
    """What the rules did on a set of labelled lines."""

    hits: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    wrong: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    wrong_text: dict[str, Counter[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    gold_total: Counter[str] = field(default_factory=Counter)
    gold_covered: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0

    def precision(self, name: str) -> float:
        n = self.hits[name]
        return self.correct[name] / n if n else float("nan")


def tally(lines: Iterable[tuple[str, str]], check: bool) -> tuple[Tally, list[str]]:
    """Run match_rule on every line; with ``check``, compare it with the reference."""
    t = Tally()
    texts: list[str] = []
    for text, gold in lines:
        texts.append(text)
        t.gold_total[gold] += 1
        rule = match_rule(text)
        if check:
            reference = match_rule_reference(text)
            if rule is not reference:
                t.mismatches += 1
                fast_name = rule.name if rule else None
                ref_name = reference.name if reference else None
                print(f"MISMATCH fast={fast_name} reference={ref_name}: {text!r}")
        if rule is None:
            continue
        t.hits[rule.name] += 1
        if rule.label == gold:
            t.correct[rule.name] += 1
            t.gold_covered[gold] += 1
        else:
            t.wrong[rule.name][gold] += 1
            t.wrong_text[rule.name][(gold, text.strip()[:90])] += 1
    return t, texts


def report(t: Tally, examples: int, min_precision: float) -> int:
    """Print the per-rule table (lowest precision first) and the coverage per label;
    return the number of rules that fired and are below ``min_precision``."""
    below = 0
    fired = [rule for rule in RULES if t.hits[rule.name]]
    silent = [rule for rule in RULES if not t.hits[rule.name]]
    fired.sort(key=lambda rule: (t.precision(rule.name), -t.hits[rule.name]))
    print(f"{'rule':32} {'label':11} {'hits':>7} {'prec':>6}  wrong labels")
    for rule in fired:
        prec = t.precision(rule.name)
        flag = "" if prec >= min_precision else "  <-- below target"
        below += bool(flag)
        top = ", ".join(f"{lab} {k}" for lab, k in t.wrong[rule.name].most_common(3))
        print(f"{rule.name:32} {rule.label:11} {t.hits[rule.name]:7d} {prec:6.3f}  {top}{flag}")
        for (gold, text), k in t.wrong_text[rule.name].most_common(examples):
            print(f"{'':45}{k:5d} {gold:11} {text!r}")
    for rule in silent:
        print(f"{rule.name:32} {rule.label:11} {0:7d} {'-':>6}")

    total = sum(t.gold_total.values())
    hits = sum(t.hits.values())
    good = sum(t.correct.values())
    print(
        f"\noverall: {hits} of {total} lines matched ({hits / max(total, 1):.2%}), "
        f"precision {good / max(hits, 1):.3f}"
    )
    print(f"{'label':11} {'gold lines':>10} {'covered':>8} {'coverage':>8}")
    for label in LABELS:
        g = t.gold_total[label]
        c = t.gold_covered[label]
        print(f"{label:11} {g:10d} {c:8d} {c / max(g, 1):8.2%}")
    return below


def benchmark(lines: list[str], repeat: int = 3) -> None:
    """Throughput of match_rule over the lines (best of ``repeat`` warm passes)."""
    chars = sum(len(line) for line in lines)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for line in lines:
            match_rule(line)
        best = min(best, time.perf_counter() - start)
    print(
        f"\nmatch_rule: {best / max(len(lines), 1) * 1e6:.2f} us/line, "
        f"{len(lines) / best:,.0f} lines/s, {chars / best / 1e6:.1f} MB/s of text "
        f"({len(lines):,} lines, best of {repeat} warm passes)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, default=[DEFAULT_DATA])
    parser.add_argument("--examples", type=int, default=0, help="show N wrong lines per rule")
    parser.add_argument("--min-precision", type=float, default=0.95)
    parser.add_argument(
        "--check", action="store_true", help="also compare match_rule with the slow reference"
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the throughput pass")
    args = parser.parse_args(argv)
    paths = [p for p in args.data if p.exists()]
    for missing in [p for p in args.data if not p.exists()]:
        print(f"data not found, skipping: {missing}")
    if not paths:
        print("no labelled data available; nothing to measure")
        return 0
    t, texts = tally(iter_lines(paths), args.check)
    below = report(t, args.examples, args.min_precision)
    if args.check:
        print(f"\nmatch_rule vs match_rule_reference: {t.mismatches} mismatches")
    if texts and not args.no_timing:
        benchmark(texts)
    print(f"\nrules below precision {args.min_precision}: {below}")
    return 1 if below or t.mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
