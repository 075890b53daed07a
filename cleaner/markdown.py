"""Markdown links and images: their targets, and how much of a unit they take.

A target, the ``(...)`` after ``[text]`` or ``![alt]``, is markup, not text: a URL or a
whole image as a ``data:`` URI (html2text output holds base64 images of 100 KB and more).
Features read text with targets blanked, and the segmenter measures and cuts lines by their
text without them; the share of a unit that links and images take (``link_share``) is a
feature of its own.
"""

from __future__ import annotations

import re

try:  # pages of Markdown hold thousands of targets (see cleaner/_fastcore.c)
    from ._fastcore import link_target_spans as _link_target_spans
except ImportError:  # built without a C compiler
    _link_target_spans = None

LINK_TARGET = re.compile(r"\]\(([^)]*)\)")
_MD_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")


def mask_link_targets(text: str) -> str:
    """``text`` with the targets of Markdown links and images blanked (same length, so
    offsets hold): URL pieces are not words, and counted as words they made a linked
    sentence look like a menu and filled stage 1 with site-specific n-grams."""
    return LINK_TARGET.sub(lambda m: "](" + " " * len(m.group(1)) + ")", text)


def link_target_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every target in ``text``, brackets excluded."""
    if "](" not in text:
        return []
    if _link_target_spans is not None:
        return _link_target_spans(text)
    return [m.span(1) for m in LINK_TARGET.finditer(text)]


def link_share(text: str) -> float:
    """The share of a unit's stripped text that Markdown links and images take (of a unit
    holding one: "](")."""
    stripped = text.strip()
    return sum(map(len, _MD_LINK.findall(stripped))) / len(stripped)
