"""Features that stage 2 relies on to see what kind of section a unit sits in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cleaner.api import prepare
from cleaner.context import decayed_mean_before, stage2_inputs
from cleaner.features import DENSE_NAMES
from cleaner.segment import segment

MARKER = DENSE_NAMES.index("section_marker")


def _features(text: str):
    units = segment(text)
    return units, prepare(text, units)[1]


@pytest.mark.parametrize("line", [
    "3 Comments", "Comments (12)", "Leave a Reply", "Kommentare", "12 Kommentare",
    "47 people found this review helpful", "Reply", "Customer Reviews",
    "Laisser un commentaire", "Anna says:",
])
def test_comment_and_review_section_markers_are_seen(line):
    text = f"The council met on Tuesday to discuss the plan for the new bridge.\n\n{line}\n"
    units, feats = _features(text)
    marked = [u.text for u, row in zip(units, feats.dense) if row[MARKER]]
    assert marked == [line]


@pytest.mark.parametrize("line", [
    "He said he would comment on the reviews of the bridge later in the week, not now.",
    "Reviews of the plan were mixed, and the council asked for more replies from residents.",
    "Comments are closed for this article because it is older than thirty days.",
])
def test_prose_mentioning_comments_is_not_a_marker(line):
    _, feats = _features(line + "\n")
    assert not feats.dense[:, MARKER].any()


def test_marker_pieces_are_in_every_match_lowercased():
    """_section_markers searches only units whose lowercased words hold a piece: every
    code point that the regex takes for a letter of a piece must be a word character
    that lowercases to that letter, or one of the few that send every unit to the regex."""
    import regex

    from cleaner.markers import _MARKER_FOLDS, _MARKER_PIECES, SECTION_MARKER

    everything = "".join(map(chr, range(0x110000)))
    for letter in sorted(set("".join(_MARKER_PIECES))):
        pattern = regex.compile(regex.escape(letter), SECTION_MARKER.flags)
        for found in pattern.findall(everything):
            assert found in _MARKER_FOLDS or (found.isalnum() and found.lower() == letter)


@pytest.mark.parametrize("line", [
    "Comments", "Commentaires (3)", "Comentarios", "Commenti", "Komentarze", "12 reviews",
    "Bewertungen", "Kundenbewertungen", "Avis", "Reseñas", "Recensioni", "Responses",
    "Replies", "Antworten", "Diskussion", "Discussion", "Leave a comment",
    "Write a review", "Add a comment", "Post a comment", "Join the discussion",
    "Schreibe einen Kommentar", "Kommentar schreiben", "Deja un comentario",
    "Dejar un comentario", "Was this review helpful?", "12 von 14 Kunden fanden diese",
    "Max - Répondre", "Responder", "Rispondi", "Maria sagt:", "Jean dit :",
    "Ana dice:", "DİSKUSSİON", "\u212aommentare", "Kommentar \u017fchreiben",
    "Jean Dİt:", "Bob \u017fays:",
])
def test_marker_prefilter_keeps_every_match(line):
    from cleaner.markers import SECTION_MARKER

    assert SECTION_MARKER.search(line)
    text = f"The council met on Tuesday to discuss the plan for the new bridge.\n\n{line}\n"
    units, feats = _features(text)
    assert [u.text for u, row in zip(units, feats.dense) if row[MARKER]] == [line]


_MARKER_PARTS = ["comments", "Kommentare", "reviews", "customer reviews", "Réponses",
                 "leave a reply", "write a review", "found this review helpful",
                 "fanden diese", "reply", "Répondre", "says", "dit", "dice", "sagt",
                 "Anna says:", "Jean dit :", "- Reply", "3 Comments"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from(_MARKER_PARTS),
    st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", ":", " : ", "(12)", "12 ", "-", "…", "!",
                     "»", "_", "\u0301", "İ", "ſ"]),
    st.text(alphabet="aeiorstACSÉ0129 ", max_size=6)), max_size=8).map("".join))
@example("Anna says:")
@example("Max - Répondre »")
@example("47 people found this review helpful")
@example("Leave a Reply")
@example("Comments (12)")
def test_section_marker_in_parts_is_the_one_pattern(text):
    """is_section_marker asks SECTION_MARKER's question branch by branch: the same answer."""
    from cleaner.markers import SECTION_MARKER, is_section_marker

    assert is_section_marker(text) == bool(SECTION_MARKER.search(text))
    for line in (text.upper(), text.title(), f"{text}\n", f"x {text}"):
        assert is_section_marker(line) == bool(SECTION_MARKER.search(line))


def test_stage2_knows_whether_a_comment_section_has_begun():
    lines = ["The article's first paragraph, with enough words to read as prose."] * 3
    lines += ["2 Comments"] + ["I loved this article and will share it with my friends."] * 3
    text = "\n\n".join(lines) + "\n"
    units, feats = _features(text)
    proba = np.full((len(units), 7), 1 / 7, np.float32)
    seen = stage2_inputs(feats.dense, proba)[:, -4]
    assert seen.tolist() == [0, 0, 0, 0, 1, 1, 1]


def _decayed_reference(values: np.ndarray, half_life: float) -> np.ndarray:
    decay = 0.5 ** (1 / half_life)
    out = np.zeros_like(values, dtype=np.float64)
    for i in range(1, len(values)):
        w = decay ** np.arange(i - 1, -1, -1, dtype=np.float64)
        out[i] = w @ values[:i] / w.sum()
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 239, 240, 241, 700])
def test_decayed_mean_before_matches_its_definition(n):
    values = np.random.default_rng(n).random((n, 3)).astype(np.float32)
    got = decayed_mean_before(values, 15)
    assert got.shape == values.shape and got.dtype == values.dtype
    np.testing.assert_allclose(got, _decayed_reference(values, 15), atol=1e-6)


def test_stage2_reads_the_linear_stage1_of_the_unit_and_its_neighbours():
    """After the Naive-Bayes blocks, a stage-2 row holds the linear half's probabilities
    of the unit, of its neighbours at LINEAR_NEIGHBOURS (zero past the document's ends)
    and their windowed mean; a model without a linear half has none of these columns."""
    from cleaner.context import LINEAR_NEIGHBOURS, STAGE2_WINDOW
    from cleaner.features import window_mean
    from cleaner.model import LineClassifier

    units, feats = _features("One line.\n\nTwo lines here.\n\nThree.\n\nFour and more.\n")
    n, k = len(units), 7
    rng = np.random.default_rng(1)
    nb, linear = rng.random((n, k)).astype(np.float32), rng.random((n, k)).astype(np.float32)
    model = LineClassifier()
    model.dense_mean_ = np.zeros(feats.dense.shape[1], np.float32)
    model.dense_scale_ = np.ones(feats.dense.shape[1], np.float32)
    offsets = np.array([0, n])
    without = model._stage2_matrix([feats], nb, offsets, None)
    X2 = model._stage2_matrix([feats], nb, offsets, linear)
    assert np.array_equal(X2[:, : without.shape[1]], without)
    tail = X2[:, without.shape[1]:]
    assert tail.shape[1] == k * (2 + len(LINEAR_NEIGHBOURS))
    assert np.array_equal(tail[:, :k], linear)
    for j, shift in enumerate(LINEAR_NEIGHBOURS, start=1):
        block = tail[:, j * k : (j + 1) * k]
        for i in range(n):
            expected = linear[i + shift] if 0 <= i + shift < n else np.zeros(k)
            assert np.array_equal(block[i], expected)
    assert np.array_equal(tail[:, -k:], window_mean(linear, STAGE2_WINDOW))


def test_stage2_ensemble_is_the_mean_of_its_networks_logits():
    """The shipped stage 2 is several networks merged into one: its logits must be the
    mean of theirs, so that merging loses nothing."""
    import warnings

    from cleaner.model import LineClassifier

    rng = np.random.default_rng(0)
    X2 = rng.random((300, 6)).astype(np.float32)
    y = (X2[:, 0] + X2[:, 1] > 1).astype(np.int64) * 6  # body or boilerplate
    y[:5] = 4  # and a few promo
    w = np.ones(len(y))
    model = LineClassifier(n_nets=3, max_iter=5, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        merged = model._fit_nets(X2, y, w)
        nets = [model._net(model._mlp(random_state=7 + i).fit(X2, y, sample_weight=w))
                for i in range(3)]
    assert merged[0].shape == (6, 3 * model.hidden)

    def logits(net):
        w1, b1, w2, b2 = net
        return np.maximum(X2 @ w1 + b1, 0) @ w2 + b2

    np.testing.assert_allclose(logits(merged), np.mean([logits(n) for n in nets], axis=0),
                               rtol=1e-4, atol=1e-4)
    assert len({n[0].tobytes() for n in nets}) == 3  # different starts, different nets


def test_markdown_link_targets_are_not_words():
    """A sentence with links reads as the same words as without them (URL pieces would
    make it look like a menu and fill the n-grams with one site's paths)."""
    plain = "The council met on Tuesday to approve the new bridge.\n"
    linked = ("[The council](https://example.org/council/news?id=42) met on Tuesday to "
              "approve the ![new](/img/bridge.png) bridge.\n")
    _, a = _features(plain)
    _, b = _features(linked)
    assert b.words == a.words
    assert b.dense[0, DENSE_NAMES.index("md_link_frac")] > 0


def test_position_in_the_page_is_measured_without_link_targets():
    """A 100 KB data: URI image (html2text prints them) is markup: it does not move the
    units around it toward the top of the page, nor do they move in a batch."""
    from cleaner.api import prepare_many

    lines = [f"Paragraph {i} of the article, with [a link](https://example.org/{i})."
             for i in range(6)]
    image = "![A chart](data:image/png;base64," + "QUJD" * 25_000 + ")"
    small = "![A chart](c.png)"
    col = DENSE_NAMES.index("char_pos")
    for at in (0, 3, 6):
        big_text = "\n\n".join(lines[:at] + [image] + lines[at:])
        small_text = "\n\n".join(lines[:at] + [small] + lines[at:])
        big = _features(big_text)[1].dense[:, col]
        assert np.allclose(big, _features(small_text)[1].dense[:, col], atol=0.01)
        batch = prepare_many([(small_text, segment(small_text)), (big_text, segment(big_text))])
        assert np.array_equal(batch[1][1].dense[:, col], big)
    assert big[0] == 0 and 0.8 < big[-1] < 1


def test_no_word_character_lowercases_to_whitespace():
    """featurize splits a unit's words where its lowercased text has whitespace, and
    counts them from the \\w runs of the text as written: the two agree only because no
    \\w character (alphanumeric or "_") lowercases to whitespace."""
    everything = "".join(map(chr, range(0x110000)))
    word = [c for c in everything if c.isalnum() or c == "_"]
    assert not any(piece.isspace() for c in word for piece in c.lower())


def test_words_of_a_batch_are_each_documents_own():
    """Words are split per document on first read, also from a batch (or an empty one)."""
    from cleaner.api import prepare_many

    texts = ["Ünïcode wörds here.\n\nSecond_line 42", "", "one\ntwo three\n"]
    batch = prepare_many([(t, segment(t)) for t in texts])
    for text, (_, feats) in zip(texts, batch):
        alone = _features(text)[1] if text else feats
        assert feats.words == alone.words
        assert feats.tokens == alone.tokens
    assert batch[0][1].words == ["ünïcode", "wörds", "here", "second_line", "42"]
    assert batch[1][1].words == []
    assert batch[2][1].first_words == ["one", "two"]
    assert batch[2][1].last_words == ["one", "three"]


def test_softmax_is_the_row_wise_definition_bit_for_bit():
    """_softmax works on the transpose for speed; models depend on its exact bits."""
    from cleaner.network import _softmax

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for k in (2, 7, 8, 11):
            z = (rng.standard_normal((5000, 2 * k)) * 8).astype(dtype)[:, :k]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            expected = e / e.sum(axis=1, keepdims=True)
            got = _softmax(z)
            assert got.dtype == dtype and got.flags.c_contiguous
            assert np.array_equal(got, expected)


def test_hashed_ngrams_are_the_crc32_of_their_strings():
    """hashed_parts builds edge-word hashes from word CRCs by CRC algebra; each must be the
    crc32 of the string it stands for (long words and non-ASCII ones included)."""
    import zlib

    from cleaner.hashing import hashed_parts

    long_word = "x" * 300
    text = (f"Über die Brücke geht's\nOne\n\n{long_word} tail words\n"
            f"short {long_word}\n42 ... !\n")
    _, feats = _features(text)
    bits = 18
    indptr, indices, _ = hashed_parts([feats], bits)

    def h(s: str) -> int:
        return zlib.crc32(s.encode("utf-8")) & ((1 << bits) - 1)

    for i, words in enumerate(feats.tokens):
        first, last = (words[0], words[-1]) if words else ("", "")
        expected = {h(w) for w in words} | {
            h("<" + feats.heads[i]), h(">" + feats.tails[i]), h("^" + first), h("$" + last),
            h("^" + first + " " + words[1]) if len(words) > 1 else h("^^")}
        assert set(indices[indptr[i] : indptr[i + 1]].tolist()) == expected
