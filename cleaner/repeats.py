"""Rules for lines printed twice: a caption repeated with its credit, a teaser headline
repeated with its section name.

Web pages often render one element twice, and text converters keep both: an image's
caption as alt text and again with the photo credit after it, a related story's headline
once on its own and once with its section name ("Politics") in front. Neither line alone
says much — a caption looks like a body sentence, a headline like a subheading — but the
pair is unmistakable. Each rule is data: a name, the labels both lines may get, the
pattern the *difference* between the two lines must match, and on which side that
difference is. Where a rule allows several labels (a line repeated after a short name is
a teaser card or a navigation item, never the article), the model chooses among them.

The lines must be adjacent units of one paragraph (no blank line between them).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import regex

from .segment import Unit

try:  # the pairs worth a look, found in C (see cleaner/_fastcore.c)
    from ._fastcore import repeat_pairs as _repeat_pairs
except ImportError:  # built without a C compiler
    _repeat_pairs = None

#: The shorter line of a pair must have at least this many characters.
MIN_REPEAT_CHARS = 20
#: The added credit or section name has at most this many characters.
MAX_AFFIX_CHARS = 100


@dataclass(frozen=True)
class RepeatRule:
    """Two adjacent lines, the longer being the shorter plus an ``affix`` that matches
    ``pattern`` on the ``side`` given; both lines get one of ``labels``."""

    name: str
    labels: tuple[str, ...]
    side: str  # "suffix" or "prefix": where the longer line adds its affix
    pattern: regex.Pattern[str]
    description: str
    headline_only: bool = False
    """The shorter line must not end like a sentence (teaser headlines do not)."""


_CREDIT_MARK = (
    r"(?:©|\(c\)|Copyright\b|Photo\b|Photos\b|Foto\b|Fotos\b|Bild\b|Image\b|Credit\b|"
    r"Crédit\b|Source\b|Quelle\b|Imagen\b|Immagine\b|Getty\b|AFP\b|Reuters\b|AP\b|dpa\b|"
    r"EPA\b|EFE\b|ANSA\b)"
)

#: Punctuation the longer print may add right after the shorter one, before its affix.
_CLOSE_PUNCT = ".,;:"

REPEAT_RULES: tuple[RepeatRule, ...] = (
    RepeatRule(
        name="caption_repeated_with_credit",
        labels=("caption",),
        side="suffix",
        # After the caption (closed with a full stop the first print lacked, or not):
        # dashes, bars or slashes, then the credit.
        pattern=regex.compile(rf"[{_CLOSE_PUNCT}]?[\s\p{{Pd}}|/]*{_CREDIT_MARK}.*",
                              regex.IGNORECASE),
        description="a caption printed twice, the second time followed by a photo credit",
    ),
    RepeatRule(
        name="teaser_repeated_with_section",
        labels=("promo", "boilerplate"),
        side="prefix",
        # One to three capitalised words: the section or topic name of a teaser card.
        pattern=regex.compile(r"\p{Lu}[\p{L}\p{M}'’.&-]*(?:\s+[\p{Lu}&][\p{L}\p{M}'’.&-]*){0,2}"),
        description="a teaser headline printed twice, the second time after its section name",
        headline_only=True,
    ),
)

_SENTENCE_END = tuple(".!?…:;")


def _affix(short: str, long: str, side: str) -> str | None:
    """What ``long`` adds to ``short`` on ``side``, or None if it is not such a repeat."""
    if side == "suffix" and long.startswith(short) and (
        long[len(short)].isspace()
        or (long[len(short)] in _CLOSE_PUNCT and long[len(short) + 1 : len(short) + 2].isspace())
    ):
        return long[len(short):].strip()
    if side == "prefix" and long.endswith(short) and long[-len(short) - 1].isspace():
        return long[: len(long) - len(short)].strip()
    return None


def _pairs(units: Sequence[Unit]) -> list[int]:
    """Each i where units i and i + 1 may be a repeat: adjacent in one paragraph, the
    shorter (stripped) at least MIN_REPEAT_CHARS long, the longer adding at most
    MAX_AFFIX_CHARS and a separator, and starting or ending with the shorter."""
    if _repeat_pairs is not None and isinstance(units, list):
        return _repeat_pairs(units, MIN_REPEAT_CHARS, MAX_AFFIX_CHARS + 2)
    return pairs_reference(units)


def pairs_reference(units: Sequence[Unit]) -> list[int]:
    """``_pairs`` in numpy (the C version is tested against it)."""
    stripped = list(map(str.strip, map(operator.attrgetter("text"), units)))
    lengths = np.fromiter(map(len, stripped), np.int64, len(units))
    paragraphs = np.fromiter(map(operator.attrgetter("paragraph"), units), np.int64, len(units))
    shorter = np.minimum(lengths[:-1], lengths[1:])
    added = np.abs(lengths[1:] - lengths[:-1])
    candidates = np.flatnonzero(
        (paragraphs[1:] == paragraphs[:-1]) & (added > 0) & (shorter >= MIN_REPEAT_CHARS)
        & (added <= MAX_AFFIX_CHARS + 2))
    pairs = []
    for i in candidates.tolist():
        first, second = stripped[i], stripped[i + 1]
        short, long = (first, second) if len(first) < len(second) else (second, first)
        if long.startswith(short) or long.endswith(short):
            pairs.append(i)
    return pairs


def match_repeats(units: Sequence[Unit]) -> list[RepeatRule | None]:
    """The repeat rule that decides each unit, or None."""
    found: list[RepeatRule | None] = [None] * len(units)
    if len(units) < 2:
        return found
    for i in _pairs(units):
        first, second = units[i].text.strip(), units[i + 1].text.strip()
        short, long = (first, second) if len(first) < len(second) else (second, first)
        for rule in REPEAT_RULES:
            affix = _affix(short, long, rule.side)
            if not affix or rule.headline_only and (
                short.endswith(_SENTENCE_END) or len(short.split()) < 4
            ):
                continue
            if rule.pattern.fullmatch(affix):
                found[i] = found[i + 1] = rule
                break
    return found
