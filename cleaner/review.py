"""``cleaner classify`` output: the same per-unit results as terminal text, as an editable
fixture TSV, as JSONL, or as an HTML page to review in a browser."""

from __future__ import annotations

import html
import json
import os
import unicodedata
from collections import Counter
from collections.abc import Sequence

from .api import LineResult
from .fixture_format import format_fixture
from .labelled import LabelledDoc
from .labels import DEFINITIONS, LABELS
from .segment import newline_of, split_lines

FORMATS = ("text", "tsv", "jsonl", "html")

#: Terminal colours (ANSI SGR) and HTML colours per label.
_ANSI = {"body": "", "title": "1", "caption": "36", "credit": "35", "promo": "33",
         "meta": "34", "boilerplate": "2"}
_COLOURS = {"body": "#ffffff", "title": "#c8e6c9", "caption": "#b3e5fc", "credit": "#e1bee7",
            "promo": "#ffe0b2", "meta": "#bbdefb", "boilerplate": "#eeeeee"}


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\u2060\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (wide characters count two), with "…"."""
    total = 0
    for i, ch in enumerate(text):
        total += _char_width(ch)
        if total > width:
            out, used = [], 0
            for c in text[:i]:
                w = _char_width(c)
                if used + w > width - 1:
                    break
                out.append(c)
                used += w
            return "".join(out) + "…"
    return text


def _printable(text: str) -> str:
    """One display line: line breaks shown as ↵, other control characters as spaces."""
    text = text.replace("\r\n", "\n").replace("\n", " ↵ ")
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def format_text(
    results: Sequence[LineResult], keep: Sequence[str], width: int | None = None,
    colour: bool = False,
) -> str:
    """Aligned columns: line, kept (+) or removed (-), label, probability, deciding rule
    or "model", text; lines cut to ``width`` columns when given."""
    rule_width = min(max([len(r.decided_by) for r in results] + [5]), 28)
    line_width = max(len(str(max([r.unit.line + 1 for r in results] + [1]))), 4)
    out = [f"{'line':>{line_width}}   {'label':<11} {'prob':>4}  "
           f"{'decided by':<{rule_width}}  text"]
    for r in results:
        mark = "+" if r.label in keep else "-"
        rule = r.decided_by
        if len(rule) > rule_width:
            rule = rule[: rule_width - 1] + "…"
        head = (f"{r.unit.line + 1:>{line_width}} {mark} {r.label:<11} {r.probability:4.2f}  "
                f"{rule:<{rule_width}}  ")
        body = _printable(r.text)
        if width is not None:
            body = fit(body, max(width - len(head), 10))
        if colour and _ANSI[r.label]:
            out.append(f"\x1b[{_ANSI[r.label]}m{head}{body}\x1b[0m")
        else:
            out.append(head + body)
    return "\n".join(out) + "\n"


def line_labels(text: str, results: Sequence[LineResult]) -> tuple[list[str], list[str]]:
    """Every line of ``text`` (without its terminator) and one label for it: the label of
    the unit that covers most of its characters (a hard-wrapped unit gives all its lines
    its label); "" for blank lines. ``newline_of(text).join(lines)`` is ``text``."""
    spans = split_lines(text)
    if not text or text.endswith(newline_of(text)[-1]):  # the empty line after the last
        spans.append((len(text), len(text)))
    lines = [text[a:b] for a, b in spans]
    cover: list[Counter[str]] = [Counter() for _ in lines]
    for r in results:
        for i in range(r.unit.line, r.unit.last_line + 1):
            a, b = spans[i]
            overlap = min(b, r.unit.end) - max(a, r.unit.start)
            cover[i][r.label] += max(overlap, 1)
    labels = []
    for line, counts in zip(lines, cover, strict=True):
        if counts:
            labels.append(counts.most_common(1)[0][0])
        elif line.strip():  # only zero-width characters: no unit, but not blank for a fixture
            labels.append("boilerplate")
        else:
            labels.append("")
    return lines, labels


def format_tsv(text: str, results: Sequence[LineResult], meta: dict[str, str]) -> str:
    """The fixture format (``LABEL<TAB>TEXT`` per line), ready to correct and train on."""
    lines, labels = line_labels(text, results)
    return format_fixture(LabelledDoc(meta.get("id", "document"), lines, labels, dict(meta)))


def format_jsonl(results: Sequence[LineResult], keep: Sequence[str]) -> str:
    """One JSON object per unit; ``line`` is 1-based, ``start``/``end`` are character
    offsets into the input text."""
    rows = [
        json.dumps({
            "text": r.text, "label": r.label, "probability": round(r.probability, 4),
            "decided_by": r.decided_by, "kept": r.label in keep, "line": r.unit.line + 1,
            "start": r.unit.start, "end": r.unit.end,
        }, ensure_ascii=False)
        for r in results
    ]
    return "".join(row + "\n" for row in rows)


_CSS = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.6em 1em}
h1{font-size:1.1em;margin:0 0 .4em}
.legend span{display:inline-block;margin:.1em .3em;padding:0 .4em;border:1px solid #bbb}
main{max-width:52em;margin:1em auto;padding:0 1em;background:#fff}
p{margin:.8em 0}
.u{display:block;padding:0 .3em;border-left:4px solid transparent;white-space:pre-wrap}
.u:hover{outline:1px solid #888}
.removed{opacity:.5;text-decoration:line-through}
.hide-removed .removed{display:none}
""" + "".join(
    f".label-{label}{{background:{colour}}}\n" for label, colour in _COLOURS.items()
) + ".label-title{font-weight:bold;font-size:1.2em}\n.label-body{border-left-color:#4caf50}\n"

_JS = """
document.getElementById('hide').addEventListener('change', function (e) {
  document.body.classList.toggle('hide-removed', e.target.checked);
});
"""


def format_html(
    text: str, results: Sequence[LineResult], keep: Sequence[str], title: str = "document"
) -> str:
    """A self-contained page (inline CSS and JS, nothing fetched): the document with each
    unit coloured by label, its probability and rule on hover, removed units struck out."""
    counts = Counter(r.label for r in results)
    legend = "".join(
        f'<span class="label-{label}" title="{html.escape(DEFINITIONS[label])}">'
        f"{label} ({counts[label]}){'' if label in keep else ' ✗'}</span>"
        for label in LABELS
    )
    paragraphs: list[list[str]] = []
    last = None
    for r in results:
        if r.unit.paragraph != last:
            paragraphs.append([])
            last = r.unit.paragraph
        kept = r.label in keep
        tip = f"{r.label} {r.probability:.2f} ({r.decided_by}), line {r.unit.line + 1}"
        cls = f"u label-{r.label}" + ("" if kept else " removed")
        paragraphs[-1].append(
            f'<span class="{cls}" title="{html.escape(tip)}">{html.escape(r.text)}</span>'
        )
    body = "\n".join(f"<p>{''.join(spans)}</p>" for spans in paragraphs)
    name = html.escape(os.path.basename(title))
    kept_units = sum(counts[label] for label in keep)
    return f"""<!DOCTYPE html>
<html lang="und"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cleaner: {name}</title>
<style>{_CSS}</style></head>
<body><header><h1>{name}: {kept_units} of {len(results)} units kept</h1>
<div class="legend">{legend}
<label><input type="checkbox" id="hide"> hide removed</label></div></header>
<main>
{body}
</main>
<script>{_JS}</script>
</body></html>
"""
