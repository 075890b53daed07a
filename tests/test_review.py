"""``cleaner classify``: terminal text, fixture TSV (round trip), JSONL and HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from helpers import assert_no_traceback, run, run_stdin

from cleaner import LABELS, Cleaner
from cleaner.fixture_format import read_fixture
from cleaner.review import fit, format_text, line_labels

pytestmark = pytest.mark.usefixtures("tiny_env")


@pytest.fixture
def article(tmp_path, articles):
    path = tmp_path / "page.txt"
    path.write_text(articles["en-news-fullpage"], encoding="utf-8")
    return path


def test_text_format(capsys, article):
    code, out, err = run(capsys, "classify", article)
    assert code == 0 and err == ""
    rows = out.splitlines()
    results = Cleaner().classify(article.read_text(encoding="utf-8"))
    assert rows[0].split()[:3] == ["line", "label", "prob"]
    assert len(rows) == len(results) + 1
    starts = {row.index(r.label) for row, r in zip(rows[1:], results, strict=True)}
    assert len(starts) == 1  # the label column is aligned
    for row, r in zip(rows[1:], results, strict=True):
        assert r.decided_by in row and f"{r.probability:.2f}" in row
        assert row.rstrip().endswith(r.text.strip()[-20:])  # not cut when not a terminal
        assert ("+" if r.label in ("title", "body") else "-") in row[:8]


def test_text_format_fits_terminal():
    results = Cleaner().classify("A title\n\n" + "word " * 100 + "\n")
    out = format_text(results, ("title", "body"), width=60)
    assert all(len(line) <= 60 for line in out.splitlines())
    assert "…" in out
    assert fit("日本語のテキスト", 7) == "日本語…"  # wide characters take two columns


def test_jsonl_format(capsys, article):
    code, out, _ = run(capsys, "classify", article, "--format", "jsonl")
    assert code == 0
    text = article.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(Cleaner().classify(text))
    for row in rows:
        assert set(row) == {"text", "label", "probability", "decided_by", "kept", "line",
                            "start", "end"}
        assert text[row["start"]:row["end"]] == row["text"]
        assert text.split("\n")[row["line"] - 1].startswith(row["text"][:10])
        assert row["label"] in LABELS and 0 <= row["probability"] <= 1


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.classes: set[str] = set()
        self.tags: list[str] = []
        self.titles: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        self.classes.update((attrs.get("class") or "").split())
        if "title" in attrs and "u" in (attrs.get("class") or "").split():
            self.titles.append(attrs["title"])
        for key in ("src", "href"):
            if key in attrs:
                self.external.append(attrs[key])


def test_html_format(capsys, tmp_path, article):
    dest = tmp_path / "review.html"
    code, out, _ = run(capsys, "classify", article, "--format", "html", "-o", dest)
    assert code == 0 and out == ""
    page = dest.read_text(encoding="utf-8")
    parser = Collector()
    parser.feed(page)
    parser.close()
    assert {f"label-{label}" for label in LABELS} <= parser.classes
    assert "removed" in parser.classes
    assert {"html", "head", "style", "body", "script"} <= set(parser.tags)
    assert parser.external == []  # self-contained: nothing to fetch
    results = Cleaner().classify(article.read_text(encoding="utf-8"))
    assert len(parser.titles) == len(results)
    assert parser.titles[0] == (f"{results[0].label} {results[0].probability:.2f} "
                                f"({results[0].decided_by}), line 1")
    assert "text-decoration:line-through" in page


def test_tsv_round_trip(capsys, tmp_path, article):
    article.write_text(article.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    dest = tmp_path / "page.tsv"
    code, _, _ = run(capsys, "classify", article, "--format", "tsv", "-o", dest)
    assert code == 0
    text = article.read_text(encoding="utf-8")
    doc = read_fixture(str(dest))
    assert doc.text == text and doc.lines[-1] == "" and doc.labels[-1] == ""
    assert doc.meta["id"] == "page"
    results = Cleaner().classify(text)
    by_line = {r.unit.line: r.label for r in results}
    for i, (line, label) in enumerate(zip(doc.lines, doc.labels, strict=True)):
        assert label == by_line.get(i, ""), (i, line)
    # A person corrects a label, and the file trains a model.
    rows = dest.read_text(encoding="utf-8").split("\n")
    first = next(i for i, row in enumerate(rows) if row.startswith("boilerplate\t"))
    rows[first] = rows[first].replace("boilerplate", "meta", 1)
    dest.write_text("\n".join(rows), encoding="utf-8")
    assert read_fixture(str(dest)).labels.count("meta") >= 1
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", dest, "-o", model, "--holdout", "0",
                         "--hash-bits", "10")
    assert code == 0, err
    assert model.exists()


def wrap(words: list[str], width: int = 72) -> list[str]:
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def test_tsv_wrapped_lines_share_the_unit_label():
    words = ("The council voted on Tuesday to rebuild the old sea wall after two storms "
             "breached it twice within six weeks, and residents will pay part of the cost "
             "through a new harbour levy that starts next spring.").split()
    text = ("Harbour news\n\n" + "\n".join(wrap(words * 3)) + "\n\n"
            + "\n".join(wrap(words * 2)) + "\n")
    results = Cleaner().classify(text)
    wrapped = [r for r in results if r.unit.last_line > r.unit.line]
    assert wrapped  # hard-wrapped paragraphs are single units
    lines, labels = line_labels(text, results)
    assert "\n".join(lines) == text
    for r in wrapped:
        assert labels[r.unit.line : r.unit.last_line + 1] == [r.label] * (
            r.unit.last_line - r.unit.line + 1)


def test_tsv_lines_of_a_cr_only_text():
    text = "Harbour news\r\rThe council voted on Tuesday to rebuild the sea wall.\r"
    results = Cleaner().classify(text)
    lines, labels = line_labels(text, results)
    assert lines == ["Harbour news", "", "The council voted on Tuesday to rebuild the sea "
                     "wall.", ""]
    assert "\r".join(lines) == text
    assert labels[1] == labels[3] == "" and labels[0] and labels[2]


def test_tsv_long_line_gets_one_label():
    text = "Title\n\n" + "A sentence of the article. " * 120 + "\n"
    results = Cleaner().classify(text)
    assert len([r for r in results if r.unit.line == 2]) > 1  # split into sentences
    lines, labels = line_labels(text, results)
    assert len(lines) == len(labels) == 4 and labels[1] == labels[3] == ""
    assert labels[2] in {r.label for r in results if r.unit.line == 2}


def test_classify_stdin_and_errors(capsys, monkeypatch, tmp_path):
    code, out, _ = run_stdin(capsys, monkeypatch, b"Title\n\nSome body text here.\n",
                             "classify", "-", "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, err = run(capsys, "classify", tmp_path / "missing.txt")
    assert code == 1 and "missing.txt: no such file" in err
    (tmp_path / "latin.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    code, out, err = run(capsys, "classify", tmp_path / "latin.txt")
    assert code == 1 and "latin.txt:1: not valid utf-8" in err
    assert_no_traceback(err)
    code, out, err = run(capsys, "classify", tmp_path / "latin.txt", "--encoding", "latin-1")
    assert code == 0 and "café" in out


def test_classify_refuses_to_write_over_its_input(capsys, article):
    before = article.read_bytes()
    code, out, err = run(capsys, "classify", article, "--format", "tsv", "-o", article)
    assert code == 2 and "refusing to write over input" in err
    assert article.read_bytes() == before
