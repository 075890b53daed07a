"""The labelled-article formats: fixture TSV files and corpus JSONL(.gz) files.

Users write and correct fixtures by hand and train on the shared corpus, so a file must
read back exactly as written, and every mistake in one must be reported with its file and
line instead of a traceback or, worse, silently wrong labels.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cleaner.corpus_format import parse_record, read_corpus
from cleaner.errors import CleanerError, DataError
from cleaner.fixture_format import format_fixture, parse_fixture, read_fixture, write_fixture
from cleaner.labelled import LabelledDoc, check_line, expand_paths, read_labelled
from cleaner.labels import LABELS

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted((REPO / "fixtures").glob("*.tsv"))
SEED_LABELS = Path(__file__).resolve().parents[2] / "shared" / "seed" / "labels.tsv"


def data_error(call, *args: object) -> DataError:
    """The DataError that ``call(*args)`` raises (consuming a generator)."""
    with pytest.raises(DataError) as info:
        result = call(*args)
        if hasattr(result, "__next__"):
            list(result)
    return info.value


# ------------------------------------------------------------------------ fixtures


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_parses_and_reads_back_to_identical_bytes(
    path: Path, tmp_path: Path
) -> None:
    doc = read_fixture(str(path))
    assert doc.id == doc.meta.get("id", path.stem)
    assert len(doc.lines) == len(doc.labels) > 0
    assert any(doc.labels)
    assert format_fixture(doc) == path.read_text(encoding="utf-8")
    out = tmp_path / path.name
    write_fixture(str(out), doc)
    assert out.read_bytes() == path.read_bytes()


def test_every_label_appears_in_the_fixtures() -> None:
    seen = {label for path in FIXTURES for label in read_fixture(str(path)).labels}
    assert seen - {""} == set(LABELS)


@pytest.mark.skipif(not SEED_LABELS.is_file(), reason="../shared/seed is absent")
def test_the_seed_labels_file_parses() -> None:
    doc = read_fixture(str(SEED_LABELS))
    assert doc.id == "labels"
    assert "title" in doc.labels and "body" in doc.labels
    assert all(label in LABELS for label in doc.labels if label)
    assert format_fixture(doc) == SEED_LABELS.read_text(encoding="utf-8")
    article = SEED_LABELS.with_name("article.txt")
    if article.is_file():
        assert doc.text == article.read_text(encoding="utf-8")


ODD_LINES = [
    "Headline with a\ttab inside",
    "",
    "   ",
    "Line ending in a carriage return\r",
    "\u00a0NBSP and zero\u200bwidth",
    "# A Markdown heading, not a header",
    "东京 · القاهرة · Москва",
    "\t",
    "Last line",
    "",
]
ODD_LABELS = ["title", "", "", "body", "caption", "body", "promo", "", "boilerplate", ""]


def test_write_then_read_gives_the_same_document(tmp_path: Path) -> None:
    doc = LabelledDoc(
        "odd-1", list(ODD_LINES), list(ODD_LABELS),
        {"id": "odd-1", "source": "written: by hand", "lang": "mul"},
    )
    path = tmp_path / "anything.tsv"
    write_fixture(str(path), doc)
    assert read_fixture(str(path)) == doc
    assert read_fixture(str(path)).text == "\n".join(ODD_LINES)
    # ... and the file is what a person would expect to edit.
    rows = path.read_text(encoding="utf-8").split("\n")
    assert rows[:4] == ["# id: odd-1", "# source: written: by hand", "# lang: mul",
                        "title\tHeadline with a\ttab inside"]


def test_read_then_write_keeps_a_hand_written_file_byte_for_byte(tmp_path: Path) -> None:
    content = "# id: x\n# source: test\ntitle\tA title\n\t\nbody\tText\t with a tab.\n\t  \n"
    path = tmp_path / "x.tsv"
    path.write_text(content, encoding="utf-8")
    doc = read_fixture(str(path))
    assert doc.lines == ["A title", "", "Text\t with a tab.", "  "]
    assert doc.labels == ["title", "", "body", ""]
    write_fixture(str(path), doc)
    assert path.read_text(encoding="utf-8") == content


def test_fixture_id_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "my-article.tsv"
    path.write_text("body\tSome text.\n", encoding="utf-8")
    doc = read_fixture(str(path))
    assert doc.id == "my-article" and doc.meta == {}


def test_a_fixture_saved_with_crlf_line_ends_reads_like_the_lf_one() -> None:
    lf = "# id: x\ntitle\tA title\n\t\nbody\tText.\n"
    assert parse_fixture(lf.replace("\n", "\r\n"), "x.tsv") == parse_fixture(lf, "x.tsv")


def test_a_carriage_return_in_one_row_is_part_of_the_text() -> None:
    doc = parse_fixture("body\tconverter left this\r\nbody\tnormal\n", "x.tsv")
    assert doc.lines == ["converter left this\r", "normal"]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("# id: x\nbody\tfine\nbodyy\ttypo in the label\n", 3, "unknown label 'bodyy'"),
        ("# id: x\nbody\tfine\nthis row has no tab\n", 3, "no tab found"),
        ("body\tfine\n\tnot blank but unlabelled\n", 2, "non-blank line has no label"),
        ("body\tfine\nbody\t   \n", 2, "blank line is labelled 'body'"),
        ("body\tfine\nBody\tcase matters\n", 2, "unknown label 'Body'"),
        ("# id: x\n# this header has no colon\nbody\tfine\n", 2, "# key: value"),
        ("# id: x\n#: no key\nbody\tfine\n", 2, "# key: value"),
        ("body\tfine\n# source: a header after the article\n", 2, "no tab found"),
    ],
)
def test_fixture_errors_name_the_file_and_line(content: str, line: int, message: str) -> None:
    error = data_error(parse_fixture, content, "dir/bad.tsv")
    assert isinstance(error, CleanerError)
    assert (error.path, error.line) == ("dir/bad.tsv", line)
    assert message in error.message
    assert str(error).startswith(f"dir/bad.tsv:{line}: ")


@pytest.mark.parametrize("content", ["", "# id: x\n# lang: en\n"])
def test_a_fixture_without_article_lines_is_an_error(content: str) -> None:
    error = data_error(parse_fixture, content, "empty.tsv")
    assert error.path == "empty.tsv" and "no article lines" in error.message


def test_reading_a_fixture_that_is_missing_or_not_text_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CleanerError, match="no such file"):
        read_fixture(str(tmp_path / "missing.tsv"))
    binary = tmp_path / "binary.tsv"
    binary.write_bytes(b"body\t\x00\x01\x02\n")
    with pytest.raises(CleanerError, match="binary"):
        read_fixture(str(binary))
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("body\tfine\nbody\tcaf\u00e9\n".encode("latin-1"))
    with pytest.raises(CleanerError) as info:
        read_fixture(str(latin))
    assert (info.value.path, info.value.line) == (str(latin), 2)


def test_a_line_holding_a_newline_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="newline"):
        format_fixture(LabelledDoc("x", ["two\nlines"], ["body"]))


def test_check_line() -> None:
    check_line("body", "text", "f", 1)
    check_line("", "  \t", "f", 1)
    for label, text in [("", "text"), ("nope", "text"), ("body", " ")]:
        with pytest.raises(DataError):
            check_line(label, text, "f", 7)


def test_labelled_doc_needs_one_label_per_line() -> None:
    with pytest.raises(ValueError, match="2 lines but 1 labels"):
        LabelledDoc("x", ["a", "b"], ["body"])
    doc = LabelledDoc("x", ["a", "", "b"], ["body", "", "meta"], {"group": "g"})
    assert doc.text == "a\n\nb" and doc.group == "g"
    assert LabelledDoc("y", [], []).group == "y"


# -------------------------------------------------------------------------- corpus


def record(doc_id: str = "src:page1:blocks", **extra: object) -> dict:
    rec: dict = {
        "id": doc_id, "source": "src", "variant": "blocks", "lang": "en", "url": None,
        "lines": [
            {"text": "Headline", "label": "title", "how": "title"},
            {"text": "", "label": "", "how": ""},
            {"text": "The article text.", "label": "body", "how": "gold"},
            {"text": "  ", "label": "", "how": ""},
            {"text": "Home | About", "label": "boilerplate", "how": "default"},
        ],
    }
    rec.update(extra)
    return rec


def write_jsonl(path: Path, rows: list, compress: bool = False) -> Path:
    data = "".join(
        (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n"
        for row in rows
    ).encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_corpus_records_become_labelled_docs(tmp_path: Path, compress: bool) -> None:
    name = "c.jsonl.gz" if compress else "c.jsonl"
    path = write_jsonl(tmp_path / name, [record(), "", record("src:page2")], compress)
    docs = list(read_corpus(str(path)))
    assert [d.id for d in docs] == ["src:page1:blocks", "src:page2"]
    first = docs[0]
    assert first.lines == ["Headline", "", "The article text.", "  ", "Home | About"]
    assert first.labels == ["title", "", "body", "", "boilerplate"]
    assert first.meta == {"source": "src", "variant": "blocks", "lang": "en",
                          "group": "src:page1"}
    # Every variant of a page shares a group, so a split never separates them.
    assert first.group == "src:page1"
    assert list(read_labelled([str(path)])) == docs


def test_corpus_line_text_is_kept_exactly(tmp_path: Path) -> None:
    texts = ["html2text line\r", "  inscriptis indent", "\u00a0nbsp\u200b", "中文 عربى Рус"]
    rec = {"id": "a", "lines": [{"text": t, "label": "body"} for t in texts]}
    path = write_jsonl(tmp_path / "c.jsonl", [rec])
    (doc,) = read_corpus(str(path))
    assert doc.lines == texts
    assert doc.text == "\n".join(texts)


def test_a_byte_order_mark_at_the_start_of_a_corpus_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(record()).encode() + b"\n")
    assert [d.id for d in read_corpus(str(path))] == ["src:page1:blocks"]


def test_a_record_without_an_id_is_named_by_its_file_and_line(tmp_path: Path) -> None:
    rec = record()
    del rec["id"], rec["variant"]
    path = write_jsonl(tmp_path / "c.jsonl", [record(), rec])
    docs = list(read_corpus(str(path)))
    assert docs[1].id == f"{path}:2"
    assert docs[1].group == docs[1].id


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"id": "x", "lines": [', "malformed JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"just a string"', "not a JSON object"),
        ({"id": "x"}, "no 'lines' list"),
        ({"id": "x", "lines": []}, "no 'lines' list"),
        ({"id": "x", "lines": "Headline\nText"}, "no 'lines' list"),
        ({"id": "x", "text": "Headline\nText", "labels": ["title", "body"]}, "no 'lines'"),
        ({"id": "x", "lines": [{"label": "body"}]}, "lines[0] has no 'text' string"),
        ({"id": "x", "lines": [{"text": 42, "label": "body"}]}, "lines[0] has no 'text'"),
        ({"id": "x", "lines": ["Headline"]}, "lines[0] has no 'text' string"),
        # Parallel lists are not the format: each line carries its own label, so the
        # counts cannot disagree; such a record is refused, not half-read.
        ({"id": "x", "lines": ["A", "B"], "labels": ["body"]}, "lines[0] has no 'text'"),
        ({"id": "x", "lines": [{"text": "A", "label": "body"}, {"text": "B"}]},
         "lines[1]: a non-blank line has no label"),
        ({"id": "x", "lines": [{"text": "A", "label": "bodyy"}]},
         "lines[0]: unknown label 'bodyy'"),
        ({"id": "x", "lines": [{"text": "A", "label": None}]}, "lines[0] has a non-string"),
        ({"id": "x", "lines": [{"text": " ", "label": "body"}]},
         "lines[0]: a blank line is labelled 'body'"),
    ],
)
def test_corpus_errors_name_the_file_and_line(tmp_path: Path, bad: object, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [record(), "", bad, record()])
    error = data_error(read_corpus, str(path))
    assert (error.path, error.line) == (str(path), 3)
    assert message in error.message
    assert str(error).startswith(f"{path}:3: ")


def test_parse_record_reports_the_given_place() -> None:
    error = data_error(parse_record, {"lines": [{"text": "x", "label": "nope"}]}, "f.jsonl", 9)
    assert (error.path, error.line) == ("f.jsonl", 9)


def test_invalid_utf8_in_a_corpus_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(json.dumps(record()).encode() + b'\n{"id": "caf\xe9"}\n')
    error = data_error(read_corpus, str(path))
    assert error.line == 2 and "UTF-8" in error.message and "0xe9" in error.message


def test_a_truncated_gzip_corpus_is_an_error_after_the_good_records(tmp_path: Path) -> None:
    rows = [record(f"src:page{i}") for i in range(300)]
    path = write_jsonl(tmp_path / "c.jsonl.gz", rows, compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    got: list[str] = []
    with pytest.raises(DataError, match="corrupt or truncated gzip") as info:
        for doc in read_corpus(str(path)):
            got.append(doc.id)
    assert 0 < len(got) < 300 and got == [f"src:page{i}" for i in range(len(got))]
    assert info.value.path == str(path)


def test_a_gz_corpus_that_is_not_gzip_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "plain.jsonl.gz", [record()])
    error = data_error(read_corpus, str(path))
    assert "gzip" in error.message and error.path == str(path)


def test_missing_corpus_file_and_directory_are_errors(tmp_path: Path) -> None:
    assert "no such file" in data_error(read_corpus, str(tmp_path / "none.jsonl")).message
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    assert "is a directory" in data_error(read_corpus, str(folder)).message


# --------------------------------------------------------------- finding labelled files


def test_read_labelled_reads_fixtures_and_corpora_from_directories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write_jsonl(tmp_path / "sub" / "b.jsonl.gz", [record("src:p:blocks")], compress=True)
    (tmp_path / "a.tsv").write_text("# id: a\nbody\tText.\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not labelled data\n", encoding="utf-8")
    assert expand_paths([str(tmp_path)]) == [
        str(tmp_path / "a.tsv"), str(tmp_path / "sub" / "b.jsonl.gz"),
    ]
    assert [d.id for d in read_labelled([str(tmp_path)])] == ["a", "src:p:blocks"]


def test_read_labelled_errors(tmp_path: Path) -> None:
    error = data_error(read_labelled, [str(tmp_path / "missing.tsv")])
    assert error.path == str(tmp_path / "missing.tsv") and "no such file" in error.message
    (tmp_path / "empty").mkdir()
    error = data_error(read_labelled, [str(tmp_path / "empty")])
    assert "no .tsv or .jsonl" in error.message
