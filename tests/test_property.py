"""Properties of ``Cleaner.clean`` on arbitrary text: it never raises, and it only ever
removes: each output line is an input line or a contiguous part of one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cleaner
from cleaner import Cleaner
from cleaner.segment import newline_of


@pytest.fixture(scope="module")
def model(tiny_model) -> Cleaner:
    return Cleaner(tiny_model)


WORDS = st.sampled_from([
    "Home", "Share", "the", "council", "voted", "Photo:", "©", "AFP", "Read", "more:",
    "|", "•", ".", "!", "?", "Menu", "Subscribe", "2026", "Zum", "Inhalt", "café", "日本",
    "\t", "  ", "\u200b", "»", "—", "#", "*", "[link](https://x.example/)",
])
LINE = st.one_of(
    st.text(max_size=80),
    st.lists(WORDS, max_size=30).map(" ".join),
    st.lists(WORDS, min_size=250, max_size=500).map(" ".join),  # split into sentences
)
#: Any code point (also lone surrogates), with line breaks and separators made common.
ANY_CHAR = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from("\n\n\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029 \t."),
)
DOCUMENT = st.one_of(
    st.text(),
    st.lists(LINE, max_size=30).map("\n".join),
    st.lists(LINE, max_size=20).map("\r\n".join),
)


def is_part_of_a_line(piece: str, lines: list[str]) -> bool:
    return any(piece in line for line in lines)


def assert_only_removes(text: str, cleaned: str) -> None:
    assert isinstance(cleaned, str)
    if not cleaned:
        return
    assert cleaned.endswith(newline_of(text))
    input_lines = text.split("\n")
    for piece in cleaned.split(newline_of(text)):
        if piece:
            assert is_part_of_a_line(piece, input_lines), piece


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.data_too_large])
@given(DOCUMENT)
def test_clean_never_raises_and_only_removes(model, text):
    assert_only_removes(text, model.clean(text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.data_too_large])
@given(st.text(alphabet=ANY_CHAR, max_size=400))
def test_api_clean_on_any_unicode(text):
    """``cleaner.clean`` itself (the default model) on arbitrary code points: lone
    surrogates, controls, and every line separator that str.splitlines knows."""
    assert_only_removes(text, cleaner.clean(text))


@settings(max_examples=40, deadline=None)
@given(DOCUMENT)
def test_keeping_every_label_keeps_every_unit(model, text):
    everything = ("body", "title", "caption", "credit", "promo", "meta", "boilerplate")
    kept = model.clean(text, keep=everything)
    removed = set("".join(text.split())) - set("".join(kept.split()))
    # Only blank (whitespace or zero-width) lines and the " | " or " • " separators that a
    # long line is split at can disappear.
    assert removed <= {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "|", "\u2022", "\u00b7"}
