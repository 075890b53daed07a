"""The public API contract of clean(), classify() and Cleaner."""

from __future__ import annotations

import threading

import pytest

from cleaner import LABELS, Cleaner, classify, clean
from cleaner.fixture_format import read_fixture
from cleaner.segment import segment

FIXTURE = "fixtures/en-news-fullpage.tsv"


@pytest.fixture(scope="module")
def page() -> str:
    return read_fixture(FIXTURE).text


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n", "\u200b\n\u00a0"])
def test_clean_of_empty_or_blank_input_is_empty(text):
    assert clean(text) == ""
    assert classify(text) == []


def test_clean_output_is_newline_terminated_lines_of_the_input(page):
    out = clean(page)
    assert out.endswith("\n") and not out.endswith("\n\n\n")
    input_lines = set(page.split("\n"))
    for line in out.split("\n"):
        assert line == "" or line in input_lines


def test_clean_keeps_order_and_separates_paragraphs_by_one_blank_line(page):
    out = clean(page)
    kept = [line for line in out.split("\n") if line]
    positions = [page.split("\n").index(line) for line in kept]
    assert positions == sorted(positions)
    assert "\n\n\n" not in out


def test_clean_keep_selects_labels(page):
    results = classify(page)
    only_body = clean(page, keep=("body",))
    for r in results:
        if r.label == "body":
            assert r.text in only_body
    everything = clean(page, keep=LABELS)
    assert all(r.text in everything for r in results)


def test_unknown_keep_label_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown label"):
        clean("Some text.\n", keep=("bodyy",))


def test_classify_says_what_decided_each_unit(page):
    results = classify(page)
    assert results
    for r in results:
        assert r.label in LABELS
        assert 0.0 <= r.probability <= 1.0
        assert len(r.probabilities) == len(LABELS)
        assert abs(sum(r.probabilities) - 1.0) < 1e-3
        assert r.decided_by == "model" or r.decided_by.replace("_", "").isalnum()
        assert page[r.unit.start : r.unit.end] == r.text


def test_rules_decide_obvious_lines():
    results = classify("A headline\n\nAdvertisement\n\nSome article text that goes on.\n")
    ad = [r for r in results if r.text == "Advertisement"][0]
    assert ad.label == "boilerplate" and ad.decided_by != "model"


def test_clean_preserves_crlf_and_spelling():
    text = ("Title of the story\r\n\r\nFirst paragraph of the story, with\u00a0NBSP and "
            "caf\u00e9 spelling.\r\n\r\nSecond paragraph, which also says things.\r\n")
    out = Cleaner().clean(text, keep=LABELS)
    assert out == text


def test_cr_only_text_is_cleaned_like_its_lf_version(page):
    # Classic Mac OS line breaks: a text with CRs and no LF is many lines, not one.
    cleaner = Cleaner()
    cr = page.replace("\n", "\r")
    assert [r.text for r in cleaner.classify(cr)] == [r.text for r in cleaner.classify(page)]
    assert cleaner.clean(cr) == cleaner.clean(page).replace("\n", "\r")


def test_a_stray_cr_inside_an_lf_text_is_not_a_line_break():
    units = segment("A line with a stray\rcarriage return in it.\nNext line.\n")
    assert [u.text for u in units] == ["A line with a stray\rcarriage return in it.",
                                       "Next line."]


def test_cleaner_is_safe_to_share_between_threads(page):
    cleaner = Cleaner()
    expected = cleaner.clean(page)
    results: list[str] = []

    def work():
        for _ in range(3):
            results.append(cleaner.clean(page))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 12


def test_text_must_be_str():
    with pytest.raises(TypeError):
        clean(b"bytes")  # type: ignore[arg-type]


def test_cleaner_clean_many_in_parallel_matches_clean(articles):
    cleaner = Cleaner()
    texts = list(articles.values())[:4]
    assert cleaner.clean_many(texts, n_jobs=2) == [cleaner.clean(t) for t in texts]
    assert cleaner.clean_many(texts, keep=("body",)) == [
        cleaner.clean(t, keep=("body",)) for t in texts]


def test_batched_calls_give_what_one_at_a_time_gives(articles):
    cleaner = Cleaner()
    texts = list(articles.values()) + ["", "   \n", "One line only."]
    assert cleaner.clean_many(texts) == [cleaner.clean(t) for t in texts]
    many = cleaner.classify_many(texts)
    for text, results in zip(texts, many):
        single = cleaner.classify(text)
        assert [(r.unit, r.label, r.decided_by) for r in results] == [
            (r.unit, r.label, r.decided_by) for r in single]
    with pytest.raises(TypeError):
        cleaner.clean_many([b"bytes"])


def test_text_holding_every_control_character_is_cleaned():
    # Found by hypothesis: the feature code joins units with a control character that
    # none of them holds; a text holding all of them must still work.
    controls = "".join(chr(c) for c in range(0x11) if not chr(c).isspace())
    text = f"x{controls}y\nA second line of ordinary words here.\n"
    assert [r.text for r in classify(text)] == text.strip("\n").split("\n")


def test_model_predicts_on_one_blas_thread(page, monkeypatch):
    """Small per-document products on many BLAS threads ran 10-40x slower on a busy
    machine; the stage-2 network must run on one thread whatever the environment says."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import cleaner.fastcore as fastcore
    import cleaner.model as model

    if not any(i["user_api"] == "blas" for i in threadpoolctl.threadpool_info()):
        pytest.skip("no BLAS library to limit")
    seen: list[int] = []

    def spy(forward):
        def forward_and_look(net, X2):
            seen.extend(i["num_threads"] for i in threadpoolctl.threadpool_info()
                        if i["user_api"] == "blas")
            return forward(net, X2)
        return forward_and_look

    # The network runs in numpy (model) or around the C hot path (fastcore). Patched where
    # it is looked up: predict_proba calls the ``_forward`` that model imports from network.
    monkeypatch.setattr(model, "_forward", spy(model._forward))
    monkeypatch.setattr(fastcore, "_forward", spy(fastcore._forward))
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        clean(page)
        assert seen and set(seen) == {1}
        # ...and the caller's own setting is back afterwards.
        assert {i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"} == {2}


_LATE_BLAS = """
import sys
import threadpoolctl
import cleaner.fastcore as fastcore
from cleaner import clean

def blas():
    return sorted((i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()
                  if i["user_api"] == "blas")

clean("A first text, cleaned before any other library is loaded.\\n")
before = {path for path, _ in blas()}
import scipy.linalg  # noqa: F401  (scipy's wheels bring an OpenBLAS of their own)
if not {path for path, _ in blas()} - before:
    print("no new BLAS")
    sys.exit(0)
seen = []
forward = fastcore._forward
def spy(net, X2):
    seen.extend(blas())
    return forward(net, X2)
fastcore._forward = spy
with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
    clean(open(sys.argv[1], encoding="utf-8").read())
print(sorted({n for _, n in seen}))
"""


def test_a_blas_loaded_after_the_first_clean_runs_on_one_thread_too(tmp_path):
    """With scipy 1.10, ``import scipy.sparse`` loads scipy's own OpenBLAS. A library found
    only at the first ``clean`` was left at the caller's thread count."""
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy.linalg")
    page = tmp_path / "page.txt"
    page.write_text(read_fixture("fixtures/en-tech-markdown.tsv").text, encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", _LATE_BLAS, str(page)], capture_output=True,
                         text=True, check=True).stdout.strip()
    if out == "no new BLAS":
        pytest.skip("scipy shares numpy's BLAS here")
    assert out == "[1]"


def test_an_inline_base64_image_changes_nothing_else():
    # html2text prints inline images as data: URIs of 100 KB and more. The image is one
    # unit, dropped like any image line, and the article around it is cleaned as before:
    # no piece of base64 ends up in the output.
    doc = read_fixture("fixtures/en-tech-markdown.tsv")
    after = [i for i, label in enumerate(doc.labels) if label == "body"][2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    image = "![Diagram of the system](data:image/png;base64,{})".format(
        "".join(alphabet[(i * 7919) % 64] for i in range(100_000)))
    lines = doc.lines[: after + 1] + ["", image, ""] + doc.lines[after + 1 :]
    with_image = "\n".join(lines)
    assert clean(with_image) == clean(doc.text)
    [result] = [r for r in classify(with_image) if "base64" in r.unit.text]
    assert result.unit.text == image and result.label != "body"


def test_cleaning_with_the_c_extension_does_not_import_scipy():
    """scipy.sparse was a third of the package's import time, and only the numpy path and
    training use it: `cleaner clean page.txt` starts without it."""
    import subprocess
    import sys

    from cleaner import fastcore

    if fastcore._fastcore is None:
        pytest.skip("the C extension is not built: numpy's path needs scipy")
    code = ("import sys, cleaner\n"
            "cleaner.clean('Title\\n\\nThe council met on Tuesday to discuss the new bridge.\\n')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'sklearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
