"""The C hot path gives what the numpy specification gives: the same features, the same
stage-1 logits and, through the networks, the same probabilities and labels."""

from __future__ import annotations

import gzip
import json
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, fastcore
from cleaner.api import _rules_of
from cleaner.features import featurize_many
from cleaner.hashing import hashed
from cleaner.segment import Unit, segment, units_of_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl.gz"
SEED = ROOT.parent / "shared" / "seed" / "article.txt"


@pytest.fixture(scope="module")
def model(tiny_model):
    cleaner = Cleaner(tiny_model)
    if not fastcore.usable(cleaner.model):
        pytest.skip("the C extension is not built")
    return cleaner.model


@pytest.fixture(scope="module")
def shipped():
    cleaner = Cleaner()
    if not fastcore.usable(cleaner.model):
        pytest.skip("the C extension is not built")
    return cleaner


def _numpy(model, text, units, labels):
    feats = featurize_many([(text, units, labels)])
    table, bias = model._stage1_table()
    z = np.asarray(hashed(feats, model.n_hash_bits) @ table) + bias
    return feats[0], z, model.predict_proba(feats)[0]


def assert_same(model, text: str, units: list[Unit] | None = None) -> None:
    """The C path's features, stage-1 logits and probabilities are numpy's."""
    units = segment(text) if units is None else units
    if not units:
        return
    labels = _rules_of(units)[1]
    ref, z, proba = _numpy(model, text, units, labels)
    got = fastcore._doc_inputs(model, text, units, labels)
    assert got is not None
    dense, nb, linear, words = got
    # Counts, flags and logarithms of counts: equal but for the last bit of a libm call.
    np.testing.assert_allclose(dense, ref.dense, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(words, ref.word_counts)
    np.testing.assert_allclose(nb, z[:, :7], rtol=1e-5, atol=1e-5)
    if linear is not None:
        np.testing.assert_allclose(linear, z[:, 7:], rtol=1e-5, atol=1e-5)
    fast = fastcore.predict(model, [(text, units, labels)])[0]
    assert fast is not None
    np.testing.assert_allclose(fast[0], proba, atol=1e-5)
    np.testing.assert_array_equal(fast[1], ref.word_counts)


def test_fixture_articles(model, articles):
    for text in articles.values():
        assert_same(model, text)


def test_fixture_articles_with_the_recurrent_network(tiny_sequence_model, articles):
    model = Cleaner(tiny_sequence_model).model
    if not fastcore.usable(model):
        pytest.skip("the C extension is not built")
    assert model.sequence_ is not None
    for text in articles.values():
        assert_same(model, text)


def test_gru_is_the_numpy_one():
    if fastcore._fastcore is None:
        pytest.skip("the C extension is not built")
    from cleaner.sequence import gru_forward

    rng = np.random.RandomState(0)
    for g, n in ((1, 1), (3, 2), (16, 40), (32, 300)):
        a = rng.randn(n, 3 * g).astype(np.float32)
        w = (rng.randn(g, 3 * g) * 0.3).astype(np.float32)
        b = rng.randn(3 * g).astype(np.float32)
        for reverse in (False, True):
            out = np.empty((n, g), np.float32)
            fastcore._fastcore.gru(a, w, b, out, reverse)
            steps = a[::-1] if reverse else a
            ref = gru_forward(np.ascontiguousarray(steps)[:, None, :], w, b)[0][:, 0]
            np.testing.assert_allclose(out, ref[::-1] if reverse else ref, atol=2e-5)


def test_bias_relu_and_softmax_with_bias_are_numpy_s():
    """Stage 2's biases and ReLU in C give the bits numpy's did: NaN stays NaN, -0.0 stays
    -0.0, and a bias is one float32 addition an element."""
    if fastcore._fastcore is None:
        pytest.skip("the C extension is not built")
    from cleaner.network import _softmax

    rng = np.random.RandomState(0)
    for n, m in ((0, 3), (1, 1), (7, 64), (300, 33)):
        h = (rng.randn(n, m) * 4).astype(np.float32)
        if n:
            h[0, 0], h[-1, -1] = np.nan, -0.0
        b = rng.randn(m).astype(np.float32)
        b[-1] = 0.0
        expected = h + b
        np.maximum(expected, 0, out=expected)
        fastcore._fastcore.bias_relu(h, b)
        assert h.tobytes() == expected.tobytes()
        z = (rng.randn(n, 7) * 8).astype(np.float32)
        b2 = rng.randn(7).astype(np.float32)
        expected = z + b2  # then the C softmax alone, as before the bias moved into it
        fastcore._fastcore.softmax(expected)
        np.testing.assert_allclose(expected, _softmax(z + b2), rtol=1e-5, atol=1e-7)
        fastcore._fastcore.softmax(z, b2)
        assert z.tobytes() == expected.tobytes()


def test_bias_relu_and_softmax_refuse_arrays_of_another_shape_or_type():
    if fastcore._fastcore is None:
        pytest.skip("the C extension is not built")
    c = fastcore._fastcore
    with pytest.raises(ValueError, match="float32"):
        c.bias_relu(np.zeros((3, 4), np.float32), np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="float32"):
        c.bias_relu(np.zeros((3, 4), np.float64), np.zeros(4, np.float64))
    with pytest.raises(ValueError, match="float32"):
        c.softmax(np.zeros((3, 7), np.float32), np.zeros(6, np.float32))
    with pytest.raises(ValueError, match="float32"):
        c.softmax(np.zeros((3, 7), np.float64))


def test_gru_refuses_arrays_of_the_wrong_size():
    if fastcore._fastcore is None:
        pytest.skip("the C extension is not built")
    a, w, b = (np.zeros(s, np.float32) for s in ((5, 12), (4, 12), (12,)))
    with pytest.raises(ValueError, match="w_h"):
        fastcore._fastcore.gru(a, w[:3], b, np.zeros((5, 4), np.float32), False)
    with pytest.raises(ValueError, match="out"):
        fastcore._fastcore.gru(a, w, b, np.zeros((5, 3), np.float32), False)


@pytest.mark.parametrize("text", [
    # Characters above the BMP: emoji, mathematical letters (cased words), Deseret (its
    # own lowercase), CJK extension B, and a lone surrogate.
    "Big news 🎉🎉 today.\n\nThe 𝐁𝐎𝐋𝐃 claim was 𝐭𝐫𝐮𝐞 after all.\n𐐀𐐁𐐂 𐐨𐐩 text\n𠀀𠀁 字\n\ud800 x\n",
    # Whitespace the segmenter keeps inside units, zero-width characters, tabs, NBSP.
    "  Indented line with trailing space   \n\tTabbed\tline\u00a0here.\n\u200bZero width\u200b\n",
    # Markdown: links (their targets blanked), images, a data URI, bullets, headings, quotes.
    "# The title\n\n* [Home](https://example.com/) | [News](https://example.com/n)\n"
    "![A photo](data:image/png;base64," + "QUJD" * 500 + ")\n"
    "> A quote from the [report](https://example.com/r \"Report\").\n"
    "- item one\n+ item two\n• bullet\n1. numbered\n",
    # Rules, credits, copyright, URLs, pipes and section markers.
    "Photo: Getty Images\n© 2026 Example Media (c) all rights\nwww.example.com | @handle\n"
    "Read more: The other story\n3 Comments\nLeave a Reply\nAnna says:\nReply\n",
    # Title case, capitals, digits, sentence ends, closing quotes, colons.
    "THE HEADLINE IN CAPITALS\nA Title Case Line Here\n2026-12-02 10:00\n"
    "He said: \u201cIt is done.\u201d\nEnds with a colon:\nEnds (in a bracket)\n",
    # Duplicates, a line holding its neighbour, repeated first and last words.
    "The same line again\nThe same line again\nSection name The same line again and more\n"
    "Same start here\nSame start there\n",
    # A long paragraph (hundreds of hashed columns) and CRLF line ends.
    " ".join(f"word{i % 97} and the" for i in range(400)) + ".\r\nNext line.\r\n",
    # A text of one long line (split into sentences), and CR-only line ends.
    "First sentence here. " * 200,
    "Line one.\rLine two.\rLine three.\r",
    # Control characters, and a long s.
    "Bell\x07 and null\x00 in text\nCo\u017fts and \u017fays:\nA \x10 b\n",
])
def test_edge_cases(model, text):
    assert_same(model, text)


def test_units_of_lines_with_blank_labelled_lines(model):
    lines = ["Title of it", "   ", "Body text here.", "", "\u3000", "More body."]
    text, units = units_of_lines(lines, ["title", "body", "body", "", "meta", "body"])
    assert_same(model, text, units)


@pytest.mark.parametrize("text", [
    "DOTTED \u0130STANBUL\nA line.\n",         # U+0130 lowercases to two characters
    "\u03a3\u039f\u03a6\u0399\u0391 news\n",     # final sigma depends on its context
    "".join(map(chr, [*range(9), 14, 15, 16])) + " every separator\nsecond line\n",
])
def test_declined_texts_go_the_numpy_way(model, text):
    units = segment(text)
    labels = _rules_of(units)[1]
    assert fastcore._doc_inputs(model, text, units, labels) is None
    assert fastcore.predict(model, [(text, units, labels)]) == [None]
    cleaner = Cleaner(model)
    assert cleaner.classify(text)  # numpy labels it
    assert [r.label for r in cleaner.classify(text)] == [
        r.label for r in numpy_only(cleaner.classify, text)]


def numpy_only(method, *args):
    """``method(*args)`` with every C path switched off."""
    with fastcore.disabled():
        return method(*args)


def test_a_batch_mixing_declined_and_fast_documents(model, articles):
    texts = list(articles.values())[:3] + ["\u0130 line one\nline two\n"] + list(
        articles.values())[3:5]
    cleaner = Cleaner(model)
    assert cleaner.clean_many(texts) == numpy_only(cleaner.clean_many, texts)
    for got, want in zip(cleaner.classify_many(texts), numpy_only(cleaner.classify_many, texts)):
        assert [r.label for r in got] == [r.label for r in want]
        np.testing.assert_allclose([r.probabilities for r in got],
                                   [r.probabilities for r in want], atol=1e-5)


def test_units_that_are_not_spans_of_the_text_are_declined(model):
    text = "Line one.\nLine two.\n"
    units = [Unit("Line one!!", 0, 9, 0, 0, 0)]
    assert fastcore._doc_inputs(model, text, units, [-1]) is None


LINE = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.lists(st.sampled_from([
        "Home", "the", "council", "Photo:", "©", "AFP", "Read", "more:", "|", "•", ".",
        "Comments", "Reply", "[link](https://x.example/)", "![img](a.png)", "日本", "🎉",
        "ÉCOLE", "straße", "\t", "\u00a0", "\u200b", "—", "#", "*", "says:",
    ]), max_size=40).map(" ".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, max_size=25).map("\n".join))
def test_random_documents(model, text):
    units = segment(text)
    if units and fastcore._doc_inputs(model, text, units, _rules_of(units)[1]) is not None:
        assert_same(model, text, units)


def test_shipped_model_on_the_fixtures(shipped, articles):
    for text in articles.values():
        assert shipped.clean(text) == numpy_only(shipped.clean, text)
        assert_same(shipped.model, text)


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seed is absent")
def test_shipped_model_on_the_seed(shipped):
    text = SEED.read_text(encoding="utf-8")
    assert_same(shipped.model, text)


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is absent")
def test_shipped_model_on_corpus_documents(shipped):
    """Every 8th dev document (all renderings): the same labels and probabilities."""
    texts = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 8 == 0:
                texts.append("\n".join(x["text"] for x in json.loads(line)["lines"]))
    for got, want in zip(shipped.classify_many(texts), numpy_only(shipped.classify_many, texts)):
        assert [r.label for r in got] == [r.label for r in want]
        np.testing.assert_allclose([r.probabilities for r in got],
                                   [r.probabilities for r in want], atol=1e-5)


# ----- segmentation, repeat pairs and the decision, against their Python references ------

needs_c = pytest.mark.skipif(fastcore._fastcore is None, reason="the C extension is not built")

TEXT_WITH_BREAKS = st.lists(
    st.one_of(
        LINE,
        st.sampled_from(["", " ", "\t", "\u200b", "\u3000 ", "\r", "\x1c", "\u2028", "\x0b"]),
    ),
    max_size=30,
).flatmap(lambda lines: st.sampled_from(["\n", "\r\n", "\r"]).map(lambda nl: nl.join(lines)))


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT_WITH_BREAKS, st.text(st.characters(exclude_categories=()))))
def test_line_units_are_the_python_segmenter_s(text):
    from cleaner import segment as seg

    lines, starts, ends = seg._physical_lines(text)
    got_lines, got_units, longest, long = fastcore._fastcore.line_units(text, Unit, 3)
    assert got_lines == lines
    assert got_units == seg._one_per_line(lines, starts, ends)
    assert all(type(u) is Unit for u in got_units)
    assert longest == max(map(len, lines), default=0)
    assert long == [line for line in lines if len(line) > 3]


MARKDOWN_TEXT = st.lists(st.one_of(
    st.sampled_from(["[", "]", "(", ")", "](", "![", "!", " ", "\t", "\n", "a", "Home", "é",
                     "\U0001f600", "https://x.example/a_b", "\u00a0", "\u2003"]),
    st.text(max_size=3)), max_size=30).map("".join)


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.lists(MARKDOWN_TEXT, max_size=8))
def test_markdown_links_are_the_regexes(texts):
    from cleaner.markdown import link_share, mask_link_targets

    got = list(texts)
    frac = np.zeros(len(got), np.float32)
    fastcore._fastcore.markdown_links(got, frac)
    for text, masked, share in zip(texts, got, frac, strict=True):
        if "](" not in text:
            assert masked is text and share == 0
            continue
        assert masked == mask_link_targets(text)
        assert share == pytest.approx(link_share(masked), abs=1e-6)


@needs_c
@settings(max_examples=500, deadline=None)
@given(MARKDOWN_TEXT)
def test_link_target_spans_are_the_regex_s(text):
    from cleaner.markdown import LINK_TARGET, link_target_spans

    expected = [m.span(1) for m in LINK_TARGET.finditer(text)]
    assert fastcore._fastcore.link_target_spans(text) == expected
    assert link_target_spans(text) == expected
    with fastcore.disabled():
        assert link_target_spans(text) == expected


# Pages that segment() cuts into pieces of one long line (a page on one line) as well.
ONE_LONG_LINE = st.lists(st.sampled_from(["A sentence ends here.", "Read more |", "x" * 700,
                                          "\u200b", "Photo: AFP."]), min_size=1, max_size=400
                         ).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT_WITH_BREAKS, ONE_LONG_LINE),
       st.lists(st.integers(0, 6), min_size=400, max_size=400), st.sets(st.integers(0, 6)))
def test_joining_the_kept_units_is_join_units(text, labels, chosen):
    from cleaner.segment import join_kept, join_units

    units = segment(text)
    labels = labels[:len(units)] + [0] * (len(units) - len(labels))
    expected = join_units(text, [u for u, label in zip(units, labels) if label in chosen])
    assert join_kept(text, units, labels, chosen) == expected
    with fastcore.disabled():
        assert join_kept(text, units, labels, chosen) == expected


@needs_c
def test_joining_pieces_of_one_line_is_left_to_python() -> None:
    text = "A sentence. " * 300
    units = segment(text)
    assert len(units) > 1 and units[0].line == units[1].line
    assert fastcore._fastcore.join_kept(units, [0] * len(units), 1, "\n") is None


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    LINE,
    st.builds(lambda lead, mark, rest: lead + mark + rest,
              st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\u3000", "\x1c", "\u200b"]),
              st.sampled_from(["#", "## ", "* ", "- ", "+ ", "1. ", "12) ", "> ", "|", "![",
                               "```", "~~~", "\u0663. ", "x ", "Word ", ""]),
              LINE),
), max_size=20))
def test_wrappable_lines_are_the_python_test_s(lines):
    from cleaner.segment import _wrappable, wrappable_reference

    assert _wrappable(lines) == wrappable_reference(lines)


@needs_c
def test_a_first_character_said_not_to_start_a_block_never_does():
    from cleaner.segment import _BLOCK_START

    chars = [chr(c) for c in range(0x80)]
    facts = fastcore._fastcore.wrappable_lines([c + "# two words" for c in chars])
    for c, fact in zip(chars, facts):
        if fact == 1:
            assert not _BLOCK_START.match(c + "# two words"), repr(c)


@needs_c
def test_segment_takes_the_wrapped_and_long_line_paths_alike(articles):
    from cleaner import segment as seg

    wrapped = ("This is a paragraph of text that was hard wrapped by a converter at a\n"
               "width of about seventy columns so that every line ends near the width and\n"
               "the next line starts with a lowercase word as sentences continue on.\n\n") * 4
    for text in [wrapped, "A sentence. " * 400, *articles.values()]:
        with fastcore.disabled():
            want = seg.segment(text)
        assert seg.segment(text) == want


REPEATED = st.lists(st.sampled_from([
    "The council voted to close the old bridge on Friday",
    "The council voted to close the old bridge on Friday. Photo: AFP",
    "Politics The council voted to close the old bridge on Friday",
    "  The council voted to close the old bridge on Friday  ",
    "A short line", "", "Another line that is long enough to count here",
]), max_size=20).map("\n".join)


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.one_of(REPEATED, TEXT_WITH_BREAKS))
def test_repeat_pairs_are_the_reference_s(text):
    from cleaner.repeats import MAX_AFFIX_CHARS, MIN_REPEAT_CHARS, pairs_reference

    units = segment(text)
    got = fastcore._fastcore.repeat_pairs(units, MIN_REPEAT_CHARS, MAX_AFFIX_CHARS + 2)
    assert got == pairs_reference(units)


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.integers(1, 60), st.integers(0, 2**32 - 1), st.booleans())
def test_decide_is_the_reference_s(n, seed, coarse):
    from cleaner.decode import decide, decide_reference
    from cleaner.repeats import REPEAT_RULES

    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(7, 0.4), size=n).astype(np.float32)
    if coarse:  # ties, and values right at the bars
        proba = (np.round(proba * 20) / 20).astype(np.float32)
    rules = np.where(rng.random(n) < 0.15, rng.integers(0, 7, n), -1).tolist()
    repeats = [None] * n
    for i in range(n - 1):
        if rng.random() < 0.1:
            repeats[i] = repeats[i + 1] = REPEAT_RULES[int(rng.integers(len(REPEAT_RULES)))]
    words = rng.integers(0, 40, n)
    assert decide(proba, rules, repeats, words) == decide_reference(proba, rules, repeats,
                                                                     words)
    assert decide(proba, rules, repeats) == decide_reference(proba, rules, repeats)
    # A model's own calibration table (random, non-decreasing along each row).
    table = np.sort(rng.random((3, 21)), axis=1)
    assert decide(proba, rules, repeats, words, table) == decide_reference(
        proba, rules, repeats, words, table)


def test_decide_with_nan_probabilities_takes_the_reference():
    from cleaner.decode import decide, decide_reference

    proba = np.full((3, 7), 1 / 7, np.float32)
    proba[1, 2] = np.nan
    assert decide(proba, [-1] * 3, [None] * 3, [5, 5, 5]) == decide_reference(
        proba, [-1] * 3, [None] * 3, [5, 5, 5])
