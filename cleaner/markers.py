"""Section markers: the lines that open a comment or review section, found cheaply.

The pattern costs a few microseconds a unit, so ``_section_markers`` runs it only on short
units whose words hold one of ``_MARKER_PIECES``; ``fastcore.py`` hands the same pieces to
``_fastcore.c``, which picks the same candidates. Stage 2 reads the ``section_marker``
feature (``context.stage2_inputs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import regex

from .tokens import _units_holding

#: The kinds of line that open a comment or review section ("Comments", "3 Kommentare",
#: "Leave a reply", "47 people found this review helpful", "Reply"), read with (?ix).
#: Everything after such a line tends not to be the article, however much it reads like
#: prose: stage 2 sees where the last one was (see ``context.stage2_inputs``). On dev, 1.5%
#: of matching lines are body.
_MARKER_BRANCHES = (
    # The line is a section's name, perhaps with a count.
    r"""^\W*(?:\d+\s+)?(?:
      comments?|kommentare?|commentaires?|comentarios?|commenti|komentarze|reviews?
      |customer\ reviews|bewertungen|kundenbewertungen|avis|reseñas|recensioni|responses?
      |replies|antworten|diskussion|discussion
    )\W*(?:\(\d+\))?\W*$""",
    # It starts with a call to write one.
    r"""^\W*(?:leave\ a\ (?:reply|comment)|write\ a\ review|add\ a\ comment|post\ a\ comment
      |join\ the\ discussion|schreibe?\ (?:einen\ )?kommentar|kommentar\ schreiben
      |laisser\ un\ commentaire|deja\ un\ comentario|dejar\ un\ comentario)""",
    # It asks for votes on a review, anywhere in it.
    r"""found\ this\ (?:review\ )?helpful|fanden\ diese|was\ this\ (?:review\ )?helpful""",
    # It ends with a reply button or a commenter's "says:".
    r"""(?:^|\s)(?:reply|antworten|répondre|responder|rispondi)\W*$""",
    r"""\b(?:says|sagt|dit|dice)\s*:\s*$""",
)
#: A short line that opens a comment or review section: any of the branches above.
SECTION_MARKER = regex.compile("(?ix)" + "|".join(_MARKER_BRANCHES))
# The same question asked in three parts, by where a branch can match: the two anchored at
# the start only there (``match``), the two anchored at the end from the end (reverse
# search). A fifth to a third less time than the one pattern, whose search tries every
# branch at every position (dev's candidate lines); tests/test_features.py checks that
# both say the same.
_AT_START = regex.compile("(?ix)" + "|".join(_MARKER_BRANCHES[:2])).match
_ANYWHERE = regex.compile("(?ix)" + _MARKER_BRANCHES[2]).search
_AT_END = regex.compile("(?ixr)" + "|".join(_MARKER_BRANCHES[3:])).search


def is_section_marker(text: str) -> bool:
    """Whether SECTION_MARKER finds something in ``text``."""
    return bool(_AT_START(text) or _ANYWHERE(text) or _AT_END(text))


#: Longer lines are not section markers (a sentence may end in "reply").
MARKER_MAX_WORDS = 12
#: Lowercase pieces of which every SECTION_MARKER match holds one, each inside one word
#: ("omment" for comment, Kommentar, commentaire and commenti, "omentar" for comentario
#: and komentarze, "ussion" for discussion and Diskussion, "respon" for response and
#: responder, ...): the regex, at some 8 microseconds a unit, runs only on units whose
#: words hold one of them. Not "ment" for all the comment words: half the short units of
#: dev holding a piece held only that one (statement, government, moment), which no
#: marker word does. Add a piece here for every word added there.
_MARKER_PIECES = (
    "omment", "omentar", "review", "bewertungen", "avis", "reseñas", "recensioni", "respon",
    "répondre", "repl", "antworten", "ussion", "helpful", "fanden", "rispondi", "says",
    "sagt", "dit", "dice")
#: The only characters that SECTION_MARKER's case-insensitive matching takes for a letter
#: of those pieces but that str.lower() makes another letter (or two characters):
#: U+0130 (matches "i") and U+017F, long s (matches "s"). Where one occurs, every unit
#: is searched.
_MARKER_FOLDS = "\u0130\u017f"


def _section_markers(
    texts: Sequence[str], keys: Sequence[str], short: np.ndarray, joined: str
) -> list[int]:
    """Which of units ``short`` (indices into ``texts``) SECTION_MARKER finds something in.

    Only units whose ``keys`` (lowercased words joined by spaces) hold one of
    ``_MARKER_PIECES`` are searched: a match is a run of letters that each lowercase to
    the letter of the piece it matched (tests/test_features.py checks every code point),
    so the unit's lowercased words hold that piece. ``joined`` is all units' texts, in
    which the few letters for which that does not hold are looked for."""
    if any(c in joined for c in _MARKER_FOLDS):
        candidates = short.tolist()
    else:
        picked = list(map(keys.__getitem__, short.tolist()))
        lengths = np.fromiter(map(len, picked), np.int64, len(picked)) + 1
        starts = (np.cumsum(lengths) - lengths).tolist()
        held = _units_holding("\n".join(picked), _MARKER_PIECES, starts)
        candidates = short[held].tolist()
    return [i for i in candidates if is_section_marker(texts[i])]
