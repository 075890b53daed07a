"""Reference cleaners the benchmarks compare against, run on the same inputs."""

from __future__ import annotations

import regex

#: C4's line filter: minimum words in a kept line.
C4_MIN_WORDS = 5
_C4_TERMINAL = ('.', '!', '?', '"', "'", "\u201d", "\u2019")
_C4_BAD = regex.compile(
    r"javascript|lorem ipsum|\{|cookie policy|privacy policy|terms of use|use cookies|"
    r"uses cookies|use of cookies",
    regex.IGNORECASE,
)


def c4_keep(line: str) -> bool:
    """C4's line filter: terminal punctuation, at least 5 words, no code or policy text."""
    s = line.strip()
    return (
        s.endswith(_C4_TERMINAL)
        and len(s.split()) >= C4_MIN_WORDS
        and _C4_BAD.search(s) is None
    )


def c4_clean(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if c4_keep(line))
