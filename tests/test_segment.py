"""Segmentation: text -> units (what gets one label each) -> cleaned text.

Users rely on three things here: the output only ever holds their own text, spelled
exactly as it was; blank lines are layout (paragraph breaks), never content; and the unit
boundaries follow the shape of the text (one unit per line, per hard-wrapped paragraph, or
per sentence of a page that arrived on a single line).
"""

from __future__ import annotations

import textwrap

import pytest

from cleaner import LABELS, classify, clean
from cleaner.segment import (
    MAX_LINE_CHARS,
    MAX_PIECE_CHARS,
    PAGE_LINE_SHARE,
    SPLIT_MAX_LINES,
    Unit,
    is_blank,
    join_units,
    newline_of,
    segment,
    split_lines,
    units_of_lines,
    wrap_width,
)

# ---------------------------------------------------------------------------- helpers


def assert_spans_exact(text: str, units: list[Unit]) -> None:
    """Every unit is a slice of the text, in document order, without overlaps."""
    end = 0
    for u in units:
        assert text[u.start : u.end] == u.text
        assert u.start >= end
        assert u.line <= u.last_line
        end = u.end


def nonblank_lines(text: str) -> list[str]:
    """The non-blank lines of ``text`` (a CRLF terminator is not part of a line)."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    return [line for line in lines if not is_blank(line)]


def normalized(text: str) -> str:
    """``text`` as ``clean(text, keep=LABELS)`` must return it: every non-blank line in
    order and unchanged, runs of blank lines made one empty line, no leading or trailing
    blank lines, newline-terminated in the document's own line terminator."""
    nl = newline_of(text)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    paragraphs: list[list[str]] = [[]]
    for line in (line.removesuffix("\r") for line in lines):
        if is_blank(line):
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        return ""
    return (nl + nl).join(nl.join(p) for p in paragraphs) + nl


PARAGRAPHS = [
    "The city council voted on Tuesday to approve a new budget for the coming year, which "
    "includes funding for parks, roads and the library system that residents have long "
    "asked for.",
    "Critics said the plan does not go far enough in addressing the housing shortage, "
    "pointing out that rents have risen sharply over the past three years while wages "
    "have stayed flat.",
    "The mayor defended the budget, saying it was a balanced compromise that protected "
    "essential services and kept taxes stable for families and small businesses across "
    "the city.",
    "A final vote on the remaining items is expected next month, after a series of "
    "public hearings in each district where residents will be able to voice their "
    "concerns directly.",
]


def wrapped(paragraphs: list[str], width: int = 78, nl: str = "\n") -> str:
    """Paragraphs hard-wrapped like a Markdown converter does, blank line between."""
    return (nl + nl).join(textwrap.fill(p, width).replace("\n", nl) for p in paragraphs) + nl


# Texts whose every non-blank line must come back as one unit, byte for byte.
EXACT_TEXTS = {
    "lf": "Headline of the story\n\nFirst paragraph.\nSecond paragraph.\n",
    "crlf": "Headline of the story\r\n\r\nFirst paragraph.\r\nSecond paragraph.\r\n",
    "no-final-newline": "Headline of the story\n\nFirst paragraph.\nLast line, no newline",
    "tabs-and-spaces": "\tIndented by a tab\n    indented by spaces  \nName\tValue\tUnit\n",
    "nbsp": "Price:\u00a0100\u00a0\u20ac\n\u00a0Leading NBSP line\nTrailing NBSP\u00a0\n",
    "zero-width": "Zero\u200bwidth\u200c joiners\u200d inside\n\ufeffBOM-led\nword\u2060joiner\n",
    "markdown": (
        "# Title of the piece\n\n* [Home](https://x.example/)\n* [News](https://x.example/n)\n"
        "\n![A photo](https://x.example/p.jpg)\n\n> A quote from someone.\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode {\n}\n```\n"
    ),
    "cjk": "东京奥运会开幕式\n\n这是一个关于体育的新闻报道。它有两句话。\n日本語のテキストです。\n",
    "arabic": "عنوان المقال\n\nهذا هو النص الرئيسي للمقال، وهو مكتوب باللغة العربية.\n",
    "cyrillic": "Заголовок статьи\n\nЭто основной текст статьи на русском языке.\nЕщё строка.\n",
    "mixed-blank-lines": "One\n \n\t\n\u200b\n\u00a0\u3000\nTwo\n\n\n\nThree",
}


# ----------------------------------------------------------------- lines and blanks


@pytest.mark.parametrize("name", sorted(EXACT_TEXTS))
def test_every_nonblank_line_is_one_unit_spelled_exactly(name: str) -> None:
    text = EXACT_TEXTS[name]
    units = segment(text)
    assert_spans_exact(text, units)
    assert [u.text for u in units] == nonblank_lines(text)
    assert all(u.line == u.last_line for u in units)


@pytest.mark.parametrize("name", sorted(EXACT_TEXTS))
def test_joining_all_units_reproduces_the_text_with_normalised_blank_lines(name: str) -> None:
    text = EXACT_TEXTS[name]
    assert join_units(text, segment(text)) == normalized(text)


def test_crlf_terminators_are_not_part_of_units_and_are_kept_in_output() -> None:
    text = EXACT_TEXTS["crlf"]
    units = segment(text)
    assert not any("\r" in u.text for u in units)
    assert join_units(text, units) == text
    assert newline_of(text) == "\r\n" and newline_of("a\nb\r\n") == "\n"


@pytest.mark.parametrize(
    "line", ["", " ", "\t", "   \t  ", "\u200b", "\ufeff", "\u00a0", "\u3000", " \u200d\u2060 "]
)
def test_whitespace_and_zero_width_only_lines_are_blank(line: str) -> None:
    assert is_blank(line)
    text = f"First paragraph.\n{line}\nSecond paragraph.\n"
    units = segment(text)
    assert [u.text for u in units] == ["First paragraph.", "Second paragraph."]
    assert [u.paragraph for u in units] == [0, 1]
    assert join_units(text, units) == "First paragraph.\n\nSecond paragraph.\n"


@pytest.mark.parametrize("line", ["a", " x ", "\u200bx", "-", "\u00a0.", "中"])
def test_lines_with_any_visible_character_are_not_blank(line: str) -> None:
    assert not is_blank(line)
    assert [u.text for u in segment(line)] == [line]


def test_paragraph_index_counts_runs_of_nonblank_lines() -> None:
    text = "\n\nA\nB\n\n \n\u200b\nC\n\nD\nE\n\n"
    units = segment(text)
    assert [(u.text, u.line, u.paragraph) for u in units] == [
        ("A", 2, 0), ("B", 3, 0), ("C", 7, 1), ("D", 9, 2), ("E", 10, 2),
    ]


@pytest.mark.parametrize("text", ["", "\n", "\r\n", "\n\n\n", " \n\t\n\u200b", "\u00a0"])
def test_text_without_content_has_no_units(text: str) -> None:
    assert segment(text) == []
    assert join_units(text, segment(text)) == ""


def test_split_lines_gives_spans_without_terminators() -> None:
    assert split_lines("") == []
    assert split_lines("a") == [(0, 1)]
    assert split_lines("a\n") == [(0, 1)]
    assert split_lines("a\n\nbc") == [(0, 1), (2, 2), (3, 5)]
    assert split_lines("a\r\nbc\r\n") == [(0, 1), (3, 5)]
    assert split_lines("\n") == [(0, 0)]


# ------------------------------------------------------------------- hard-wrapped text


@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_hard_wrapped_paragraphs_are_one_unit_each(nl: str) -> None:
    text = wrapped(PARAGRAPHS, nl=nl)
    physical = text.split(nl)[:-1]
    assert wrap_width(physical) == 78
    units = segment(text)
    assert_spans_exact(text, units)
    assert len(units) == len(PARAGRAPHS)
    for unit, paragraph in zip(units, PARAGRAPHS):
        assert unit.text == textwrap.fill(paragraph, 78).replace("\n", nl)
        assert unit.last_line - unit.line == unit.text.count(nl) >= 2
    assert [u.paragraph for u in units] == [0, 1, 2, 3]
    assert join_units(text, units) == text


@pytest.mark.parametrize("width", range(60, 80))
def test_short_wrapped_texts_are_recognised_at_any_width(width: int) -> None:
    # Three paragraphs, nine lines: whether or not the longest line is unique, the text
    # is wrapped at (at most) ``width`` columns.
    text = wrapped(PARAGRAPHS[:3], width)
    longest = max(len(line) for line in text.split("\n"))
    assert wrap_width(text.split("\n")) == longest
    assert [u.text for u in segment(text)] == [textwrap.fill(p, width) for p in PARAGRAPHS[:3]]


def test_wrapped_lines_of_a_paragraph_are_kept_or_dropped_together() -> None:
    text = wrapped(PARAGRAPHS)
    units = segment(text)
    out = join_units(text, [units[1], units[3]])
    assert out == "\n\n".join(textwrap.fill(PARAGRAPHS[i], 78) for i in (1, 3)) + "\n"


def test_markdown_blocks_inside_wrapped_text_stay_separate_units() -> None:
    text = (
        "# Budget approved after a long night of debate\n\n"
        + wrapped(PARAGRAPHS[:2])
        + "\n* Parks: more money for playgrounds and trees\n"
        "* Roads: repairs on the ring road and in the old town\n\n"
        + wrapped(PARAGRAPHS[2:])
    )
    units = segment(text)
    assert_spans_exact(text, units)
    texts = [u.text for u in units]
    assert texts[0] == "# Budget approved after a long night of debate"
    assert "* Parks: more money for playgrounds and trees" in texts
    assert "* Roads: repairs on the ring road and in the old town" in texts
    assert len(units) == 3 + len(PARAGRAPHS)


def test_ordinary_text_gives_one_unit_per_line(articles: dict[str, str]) -> None:
    for name, text in articles.items():
        units = segment(text)
        assert [u.text for u in units] == nonblank_lines(text), name
        assert all(u.line == u.last_line for u in units), name


def test_capitalised_lines_of_similar_length_are_not_taken_for_wrapped_text() -> None:
    # A "most read" box: headlines of about the wrap width, each a line of its own.
    headlines = [
        "Council approves the budget after a long night of debate in the town hall",
        "Storm warning for the coast: residents are told to stay at home tonight",
        "Local football club signs a new striker from the second division side",
        "Museum reopens its west wing after three years of careful restoration",
        "Police search for witnesses after a break-in at the central post office",
        "New bakery on the market square draws long queues on its opening day",
        "School board delays its decision on the new timetable until next month",
        "Ferry service to the islands resumes after the engine repairs finished",
        "Students build a solar car and win the national engineering competition",
        "Hospital opens a children's ward funded by donations from local firms",
    ]
    text = "Most read\n" + "\n".join(headlines) + "\n"
    assert [u.text for u in segment(text)] == ["Most read", *headlines]


# ------------------------------------------------------------- a page on one long line


def one_line_page() -> tuple[str, list[str]]:
    menu = "Home | News | Sport | Weather"
    sentences = [
        f"Sentence {i} of the report says something useful about the budget." for i in range(40)
    ]
    footer = "Copyright 2026 Example Media. All rights reserved."
    return f"{menu}   {' '.join(sentences)}   {footer}", sentences


def test_a_page_on_one_line_is_split_into_sentences() -> None:
    text, sentences = one_line_page()
    assert "\n" not in text and len(text) > MAX_LINE_CHARS
    units = segment(text)
    assert_spans_exact(text, units)
    texts = [u.text for u in units]
    assert texts[:4] == ["Home", "News", "Sport", "Weather"]
    assert texts[4:-2] == sentences
    assert texts[-2:] == ["Copyright 2026 Example Media.", "All rights reserved."]
    assert all(u.line == u.last_line == 0 and u.paragraph == 0 for u in units)


def test_pieces_of_a_long_line_rejoin_exactly_and_dropped_pieces_break_the_line() -> None:
    text, sentences = one_line_page()
    units = segment(text)
    assert join_units(text, units) == text + "\n"
    body = [u for u in units if u.text.startswith("Sentence")]
    # Contiguous pieces keep the space between them: the body comes back as one line.
    assert join_units(text, body) == " ".join(sentences) + "\n"
    # A dropped piece in the middle is not glued over: the line breaks there.
    without_3 = [u for u in body if not u.text.startswith("Sentence 3 ")]
    expected = " ".join(sentences[:3]) + "\n" + " ".join(sentences[4:]) + "\n"
    assert join_units(text, without_3) == expected


def test_a_long_line_without_punctuation_is_cut_at_spaces() -> None:
    text = " ".join(f"word{i}" for i in range(1500))
    units = segment(text)
    assert len(units) > 1
    assert all(0 < len(u.text) <= MAX_PIECE_CHARS for u in units)
    assert all(not u.text.startswith(" ") and not u.text.endswith(" ") for u in units)
    assert join_units(text, units) == text + "\n"


def test_a_long_line_without_any_space_is_cut_without_losing_a_character() -> None:
    text = "x" * (MAX_LINE_CHARS + 500)
    units = segment(text)
    assert all(len(u.text) <= MAX_PIECE_CHARS for u in units)
    assert join_units(text, units) == text + "\n"


def test_a_cjk_page_on_one_line_is_split_at_its_full_stops() -> None:
    # CJK sentences end in 。！？ with no space after them.
    sentences = [f"这是第{i}个句子，它讲的是预算。" for i in range(150)]
    sentences[7] = "「你好吗？」"
    sentences[8] = "他们问道！"
    text = "".join(sentences)
    assert len(text) > MAX_LINE_CHARS
    units = segment(text)
    assert_spans_exact(text, units)
    assert [u.text for u in units] == sentences
    assert join_units(text, units) == text + "\n"


def test_arabic_and_cyrillic_long_lines_are_split_into_sentences() -> None:
    arabic = ["هل وافق المجلس على الميزانية؟", "نعم، وافق المجلس على الميزانية الجديدة."] * 40
    cyrillic = ["Совет утвердил бюджет.", "Критики недовольны!"] * 60
    for sentences in (arabic, cyrillic):
        text = " ".join(sentences)
        assert len(text) > MAX_LINE_CHARS
        units = segment(text)
        assert_spans_exact(text, units)
        assert [u.text for u in units] == sentences


def test_a_long_line_among_normal_lines_keeps_its_neighbours() -> None:
    text, sentences = one_line_page()
    doc = f"Headline\n\n{text}\nAfter the long line\n"
    units = segment(doc)
    assert_spans_exact(doc, units)
    assert units[0].text == "Headline" and units[-1].text == "After the long line"
    assert units[-1].line == 3 and units[-1].paragraph == 1
    assert {u.line for u in units[1:-1]} == {2}
    assert join_units(doc, [units[0], units[-1]]) == "Headline\n\nAfter the long line\n"


def test_a_long_line_among_many_lines_stays_one_unit() -> None:
    # A tag cloud or a 3,000-character paragraph is one element of a page with many lines:
    # it is labelled whole, as lines are in training; only a page that came as one line
    # (or a few) is cut into sentences.
    text, _ = one_line_page()
    lines = [f"Line {i} of the page, with a few words more in it." for i in range(40)]
    doc = "\n".join(lines[:4] + [text] + lines[4:])
    assert len(text) < PAGE_LINE_SHARE * len(doc)
    units = segment(doc)
    assert_spans_exact(doc, units)
    assert [u.text for u in units] == lines[:4] + [text] + lines[4:]
    few = "\n".join(lines[: SPLIT_MAX_LINES - 2] + [text])
    assert len(segment(few)) > SPLIT_MAX_LINES


def test_a_page_on_one_line_under_header_lines_is_split() -> None:
    # e.g. a scraped record: a dozen short header lines, then the whole page on one line.
    text, sentences = one_line_page()
    headers = [f"Header-{i}: value {i}" for i in range(12)]
    doc = "\n".join(headers + [text])
    assert len(text) >= PAGE_LINE_SHARE * len(doc)
    units = segment(doc)
    assert_spans_exact(doc, units)
    assert [u.text for u in units[:12]] == headers
    assert [u.text for u in units[16:-2]] == sentences


def _base64(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(alphabet[(i * 7919) % 64] for i in range(n))


def test_an_image_with_a_huge_data_uri_is_one_unit() -> None:
    # html2text prints inline images as data: URIs; 100 KB of base64 is one short line
    # of text (an image), not a page of 600-character "sentences".
    image = f"![Chart of the results](data:image/png;base64,{_base64(100_000)})"
    doc = f"# Headline\n\nFirst paragraph.\n\n{image}\n\nSecond paragraph.\n"
    units = segment(doc)
    assert_spans_exact(doc, units)
    assert [u.text for u in units] == ["# Headline", "First paragraph.", image, "Second paragraph."]


def test_a_link_that_opened_on_the_line_before_is_not_cut_either() -> None:
    # "[ ![alt\n](data:...) text" : the line starts inside the link, at its target.
    line = f"](data:image/jpeg;base64,{_base64(50_000)}) (C) Agency  Some teaser text here."
    units = segment(f"[ ![alt\n{line}\n")
    assert [u.text for u in units] == ["[ ![alt", line]


def test_a_long_line_of_links_is_split_but_never_inside_a_target() -> None:
    url = "https://example.com/" + "x" * 150
    links = [
        f"[Story number {i} about the budget]({url}/{i} \"Story {i}. Read.\")" for i in range(60)
    ]
    text = "Related:   " + " ".join(links)
    visible = sum(len(f"[Story number {i} about the budget]()") + 1 for i in range(60))
    assert visible > MAX_LINE_CHARS
    units = segment(text)
    assert_spans_exact(text, units)
    assert len(units) > 2
    for u in units:
        # every piece holds whole links: as many "](" as closing ")"
        assert u.text.count("](") == u.text.count(")"), u.text
    assert join_units(text, units) == text + "\n"


# ------------------------------------------------------------------------ join_units


def test_join_units_of_nothing_is_empty() -> None:
    assert join_units("Some text\n", []) == ""
    assert join_units("", []) == ""


def test_join_units_puts_exactly_one_blank_line_between_paragraphs() -> None:
    text = "A1\nA2\n\n\n\n  \nB1\n\nC1\nC2\n"
    units = segment(text)
    assert join_units(text, units) == "A1\nA2\n\nB1\n\nC1\nC2\n"
    by_text = {u.text: u for u in units}
    # Dropped lines leave no gap inside a paragraph, dropped paragraphs no extra blank.
    assert join_units(text, [by_text["A1"], by_text["C2"]]) == "A1\n\nC2\n"
    assert join_units(text, [by_text["A1"], by_text["A2"]]) == "A1\nA2\n"
    assert join_units(text, [by_text["B1"]]) == "B1\n"
    assert join_units(text, [by_text["A2"], by_text["C1"]]) == "A2\n\nC1\n"


def test_join_units_is_newline_terminated_in_the_documents_terminator() -> None:
    assert join_units("only line", segment("only line")) == "only line\n"
    crlf = "A\r\nB\r\n\r\nC"
    assert join_units(crlf, segment(crlf)) == "A\r\nB\r\n\r\nC\r\n"


# ---------------------------------------------------------------------- units_of_lines


def test_units_of_lines_gives_one_unit_per_labelled_line() -> None:
    long_line, _ = one_line_page()
    wrapped_lines = wrapped(PARAGRAPHS).split("\n")[:-1]
    lines = ["Title", "", *wrapped_lines, "", long_line, "  ", "Footer"]
    labels = ["title", "", *["" if not x else "body" for x in wrapped_lines], "",
              "boilerplate", "", "boilerplate"]
    text, units = units_of_lines(lines, labels)
    assert text == "\n".join(lines)
    assert_spans_exact(text, units)
    assert [u.text for u in units] == [line for line, label in zip(lines, labels) if label]
    assert [u.line for u in units] == [i for i, label in enumerate(labels) if label]
    assert all(u.line == u.last_line for u in units)
    paragraphs = [u.paragraph for u in units]
    assert paragraphs[0] == 0 and paragraphs[-1] == 2 + len(PARAGRAPHS)
    assert paragraphs == sorted(paragraphs)


def test_units_of_lines_without_labels_skips_blank_lines() -> None:
    lines = ["A", "\u200b", "B", " ", "", "C"]
    text, units = units_of_lines(lines)
    assert text == "A\n\u200b\nB\n \n\nC"
    assert [(u.text, u.line, u.paragraph) for u in units] == [
        ("A", 0, 0), ("B", 2, 1), ("C", 5, 2),
    ]
    assert_spans_exact(text, units)
    assert units_of_lines([]) == ("", [])


# ------------------------------------------------------------ through the public API


@pytest.mark.parametrize("name", sorted(EXACT_TEXTS))
def test_clean_keeping_every_label_returns_every_line_unchanged(name: str) -> None:
    text = EXACT_TEXTS[name]
    assert clean(text, keep=LABELS) == normalized(text)
    assert [r.text for r in classify(text)] == nonblank_lines(text)


def test_clean_keeping_every_label_returns_every_fixture_unchanged(
    articles: dict[str, str],
) -> None:
    for name, text in articles.items():
        assert clean(text, keep=LABELS) == normalized(text), name


def test_clean_keeps_or_drops_wrapped_paragraphs_whole() -> None:
    text = wrapped(PARAGRAPHS) + "\nShare this article\nSubscribe to our newsletter\n"
    results = classify(text)
    assert [r.text for r in results[: len(PARAGRAPHS)]] == [
        textwrap.fill(p, 78) for p in PARAGRAPHS
    ]
    assert clean(text, keep=LABELS) == text
    for label in LABELS:
        out = clean(text, keep=(label,))
        for p in PARAGRAPHS:
            lines = textwrap.fill(p, 78).split("\n")
            present = [line in out.split("\n") for line in lines]
            assert all(present) or not any(present), (label, p)


def test_clean_of_a_one_line_page_keeps_whole_sentences() -> None:
    text, sentences = one_line_page()
    assert clean(text, keep=LABELS) == text + "\n"
    results = classify(text)
    assert len(results) == len(segment(text))
    for label in LABELS:
        out = clean(text, keep=(label,))
        for r in results:
            assert (r.text in out) == (r.label == label)
