"""How much of the error left is on lines whose labels the corpus trusts least.

    python benchmarks/reliable_labels.py [--data ../shared/corpus/dev.jsonl.gz] [--model M]

The corpus README ranks how each line's label was made (its ``how`` field): ``gold`` and
``snippet`` lines are the most reliable, DOM and text rules next; ``silver`` (trafilatura's
output, for trafilatura-eval pages), ``position``, ``default`` (non-body for want of any
signal), ``context`` and ``unaligned`` (converter lines that the whole-page rendering
hid: menus, modals, forms; labelled by text matching alone) the least. This prints the
shingle F1 twice, by variant and by source: on every line (the yardstick of
``quality.py``; the same numbers) and on the reliable lines alone (gold and output both
cut to them, each kept unit's text counted line by line). Then the words the cleaner got
wrong, split by the ``how`` of their lines. A diagnostic, not a second yardstick: the
targets are on every line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner import Cleaner  # noqa: E402
from cleaner.evaluate import EVAL_KEEP  # noqa: E402
from cleaner.metrics import shingle_f1  # noqa: E402
from cleaner.segment import Unit, units_of_lines  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "corpus" / "dev.jsonl.gz"
#: ``how`` kinds (the part before ``+`` and ``:``) the corpus README ranks least reliable.
UNRELIABLE = frozenset({"silver", "position", "default", "context", "unaligned"})


def how_kind(how: str) -> str:
    return how.split("+", 1)[0].split(":", 1)[0] or "blank"


def kept_per_line(cleaner: Cleaner, text: str, lines: list[Unit]) -> dict[int, list[str]]:
    """The text the cleaner keeps (``EVAL_KEEP``) on each of the labelled ``lines`` (units of
    ``text``, one per line), as pieces of the cleaner's own units (a paragraph of wrapped
    lines, or a piece of a long one), by line index."""
    by_index = {line.line: line for line in lines}
    out: dict[int, list[str]] = defaultdict(list)
    for result in cleaner.classify(text):
        if result.label not in EVAL_KEEP:
            continue
        unit = result.unit
        for i in range(unit.line, unit.last_line + 1):
            line = by_index.get(i)
            if line is None:  # a blank line inside the unit
                continue
            piece = text[max(unit.start, line.start):min(unit.end, line.end)]
            if piece.strip():
                out[i].append(piece)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    cleaner = Cleaner(args.model)
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    wrong: Counter[tuple[str, str]] = Counter()  # (kept/lost, how kind) -> words
    with gzip.open(args.data, "rt", encoding="utf-8") as f:
        for record in map(json.loads, f):
            lines = record["lines"]
            texts = [line["text"] for line in lines]
            text, line_units = units_of_lines(texts, [line["label"] for line in lines])
            kept = kept_per_line(cleaner, text, line_units)
            views = (("all lines", [True] * len(lines)),
                    ("reliable lines", [how_kind(line["how"]) not in UNRELIABLE
                                        for line in lines]))
            for view, mask in views:
                gold = "\n".join(t for t, line, m in zip(texts, lines, mask)
                                 if m and line["label"] == "body")
                out = "\n".join(piece for i, m in enumerate(mask) if m for piece in kept[i])
                for group in ("all", f"variant={record.get('variant')}",
                              f"source={record.get('source')}"):
                    pairs[(view, group)].append((gold, out))
            for i, line in enumerate(lines):
                body, words = line["label"] == "body", len(line["text"].split())
                if body != bool(kept[i]):
                    wrong[("lost" if body else "kept", how_kind(line["how"]))] += words

    for view in ("all lines", "reliable lines"):
        scores = {group: shingle_f1(p) for (v, group), p in pairs.items() if v == view}
        variants = {g: s.f1 for g, s in scores.items() if g.startswith("variant=")}
        best, worst = max(variants, key=variants.get), min(variants, key=variants.get)
        gap = (f"; variant gap {variants[best] - variants[worst]:.4f} ({best} - {worst})"
               if len(variants) > 1 else "")
        print(f"{view}: shingle F1 {scores['all'].f1:.4f} (P {scores['all'].precision:.4f}, "
              f"R {scores['all'].recall:.4f}){gap}")
        for group in sorted(g for g in scores if g != "all"):
            s = scores[group]
            print(f"  {group:<26} F1 {s.f1:.4f}  P {s.precision:.4f}  R {s.recall:.4f}")
    print("\nwords the cleaner got wrong, by how their line was labelled:")
    for side in ("kept", "lost"):
        total = sum(v for (s, _), v in wrong.items() if s == side)
        shady = sum(v for (s, k), v in wrong.items() if s == side and k in UNRELIABLE)
        print(f"  {side} wrongly: {total} words, {shady / max(total, 1):.0%} on unreliable lines")
        for (s, kind), v in wrong.most_common():
            if s == side:
                print(f"    {kind:<24} {v:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
