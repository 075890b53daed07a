"""``cleaner clean``: inputs, outputs and formats, run in-process and as a real command."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat

import pytest
from helpers import (
    assert_no_traceback,
    no_temp_files,
    read_jsonl,
    run,
    run_stdin,
    subprocess_run,
    write_jsonl,
)

from cleaner import LABELS, Cleaner
from cleaner.segment import segment

pytestmark = pytest.mark.usefixtures("tiny_env")


@pytest.fixture
def cleaner_(tiny_env) -> Cleaner:
    return Cleaner(tiny_env)


@pytest.fixture
def tree(tmp_path, articles):
    """in/a.txt, in/b.md, in/sub/c.txt, plus files a directory run must ignore."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text(articles["en-news-fullpage"], encoding="utf-8")
    (root / "b.md").write_text(articles["en-tech-markdown"], encoding="utf-8")
    (root / "sub" / "c.txt").write_text(articles["de-news-fullpage"], encoding="utf-8")
    (root / "page.html").write_text("<p>not a text file</p>", encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden", encoding="utf-8")
    return root


# ----- single file, stdin, -o ---------------------------------------------------------------


def test_single_file_to_stdout(capsys, tmp_path, articles, cleaner_):
    src = tmp_path / "a.txt"
    src.write_text(articles["en-news-fullpage"], encoding="utf-8")
    code, out, err = run(capsys, "clean", src)
    assert code == 0
    assert out == cleaner_.clean(articles["en-news-fullpage"])
    assert out.strip()
    assert "1 document from 1 file" in err and "units dropped:" in err and "errors: 0" in err


def test_quiet_prints_nothing_on_stderr(capsys, tmp_path, articles):
    src = tmp_path / "a.txt"
    src.write_text(articles["fr-news-fullpage"], encoding="utf-8")
    code, out, err = run(capsys, "clean", src, "--quiet")
    assert code == 0 and out and err == ""


def test_stdin_to_stdout(capsys, monkeypatch, articles, cleaner_):
    text = articles["es-news-fullpage"]
    code, out, err = run_stdin(capsys, monkeypatch, text.encode(), "clean", "-", "-q")
    assert code == 0
    assert out == cleaner_.clean(text)


def test_no_input_reads_stdin(capsys, monkeypatch, articles, cleaner_):
    text = articles["it-news-fullpage"]
    code, out, _ = run_stdin(capsys, monkeypatch, text.encode(), "clean", "-q")
    assert code == 0 and out == cleaner_.clean(text)


def test_output_file(capsys, tmp_path, articles, cleaner_):
    src = tmp_path / "a.txt"
    src.write_text(articles["en-opinion-fullpage"], encoding="utf-8")
    dest = tmp_path / "out" / "clean.txt"
    dest.parent.mkdir()
    code, out, _ = run(capsys, "clean", src, "-o", dest)
    assert code == 0 and out == ""
    assert dest.read_text(encoding="utf-8") == cleaner_.clean(articles["en-opinion-fullpage"])
    assert no_temp_files(tmp_path)


def test_keep_labels(capsys, tmp_path, articles):
    text = articles["en-news-fullpage"]
    src = tmp_path / "a.txt"
    src.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "clean", src, "--keep", "body,title,caption,credit,promo,meta,"
                       "boilerplate", "-q")
    assert code == 0
    # Keeping every label keeps every unit.
    assert [line for line in out.split("\n") if line] == [u.text for u in segment(text)]


def test_crlf_text_keeps_crlf(capsys, tmp_path, articles):
    text = articles["en-science-article"].replace("\n", "\r\n")
    src = tmp_path / "crlf.txt"
    src.write_bytes(text.encode())
    dest = tmp_path / "out.txt"
    assert run(capsys, "clean", src, "-o", dest, "-q")[0] == 0
    data = dest.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_cr_only_text_keeps_cr(capsys, tmp_path, articles):
    text = articles["en-science-article"]
    src = tmp_path / "cr.txt"
    src.write_bytes(text.replace("\n", "\r").encode())
    dest = tmp_path / "out.txt"
    assert run(capsys, "clean", src, "-o", dest, "-q")[0] == 0
    lf = tmp_path / "lf.txt"
    lf.write_bytes(text.encode())
    assert run(capsys, "clean", lf, "-o", tmp_path / "lf_out.txt", "-q")[0] == 0
    data = dest.read_bytes()
    assert b"\n" not in data and data.count(b"\r") > 2
    assert data.replace(b"\r", b"\n") == (tmp_path / "lf_out.txt").read_bytes()


# ----- directories, --out-dir, --glob, --in-place -----------------------------------------


def test_directory_mirrors_tree(capsys, tmp_path, tree, cleaner_):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", tree, "--out-dir", out_dir)
    assert code == 0, err
    found = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    assert found == ["a.txt", "b.md", os.path.join("sub", "c.txt")]
    for rel in found:
        expected = cleaner_.clean((tree / rel).read_text(encoding="utf-8"))
        assert (out_dir / rel).read_text(encoding="utf-8") == expected
    assert "3 documents from 3 files" in err


def test_glob_selects_files(capsys, tmp_path, tree):
    out_dir = tmp_path / "out"
    code, _, _ = run(capsys, "clean", tree, "--out-dir", out_dir, "--glob", "*.md", "-q")
    assert code == 0
    assert [p.name for p in out_dir.rglob("*") if p.is_file()] == ["b.md"]
    out2 = tmp_path / "out2"
    code, _, _ = run(capsys, "clean", tree, "--out-dir", out2, "--glob", "sub/*.txt", "-q")
    assert code == 0
    assert [str(p.relative_to(out2)) for p in out2.rglob("*") if p.is_file()] == [
        os.path.join("sub", "c.txt")
    ]


def test_several_files_to_out_dir(capsys, tmp_path, tree):
    out_dir = tmp_path / "out"
    code, _, _ = run(capsys, "clean", tree / "a.txt", tree / "sub" / "c.txt",
                     "--out-dir", out_dir, "-q")
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.txt", "c.txt"]


def test_several_inputs_need_out_dir(capsys, tree):
    before = (tree / "a.txt").read_bytes()
    code, out, err = run(capsys, "clean", tree / "a.txt", tree / "b.md")
    assert code == 2 and out == ""
    assert "--out-dir" in err
    code, _, err = run(capsys, "clean", tree)
    assert code == 2 and "--out-dir" in err
    assert (tree / "a.txt").read_bytes() == before


def test_refuses_to_write_over_input(capsys, tree):
    src = tree / "a.txt"
    before = src.read_bytes()
    code, _, err = run(capsys, "clean", src, "-o", src)
    assert code == 2 and "refusing to write over input" in err and "--in-place" in err
    code, _, err = run(capsys, "clean", tree, "--out-dir", tree)
    assert code == 2 and "refusing to write over input" in err
    assert src.read_bytes() == before
    assert no_temp_files(tree)


def test_in_place_is_atomic(capsys, tree, cleaner_):
    src = tree / "a.txt"
    original = src.read_text(encoding="utf-8")
    os.chmod(src, 0o640)
    inode_before = src.stat().st_ino
    code, out, _ = run(capsys, "clean", src, "--in-place", "-q")
    assert code == 0 and out == ""
    assert src.read_text(encoding="utf-8") == cleaner_.clean(original)
    assert stat.S_IMODE(src.stat().st_mode) == 0o640
    assert src.stat().st_ino != inode_before  # replaced by rename, not rewritten in place
    assert no_temp_files(tree)


def test_in_place_directory(capsys, tree, cleaner_):
    expected = cleaner_.clean((tree / "sub" / "c.txt").read_text(encoding="utf-8"))
    code, _, _ = run(capsys, "clean", tree, "--in-place", "-q")
    assert code == 0
    assert (tree / "sub" / "c.txt").read_text(encoding="utf-8") == expected
    assert (tree / "page.html").read_text() == "<p>not a text file</p>"


# ----- JSONL, gzip, WET --------------------------------------------------------------------


def test_jsonl_fields_pass_through(capsys, tmp_path, articles, cleaner_):
    texts = [articles["en-news-fullpage"], articles["de-news-fullpage"]]
    src = tmp_path / "docs.jsonl"
    write_jsonl(src, [{"id": i, "text": t, "meta": {"n": [1, 2]}, "url": None}
                      for i, t in enumerate(texts)])
    dest = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "clean", src, "-o", dest, "--labels-field", "labels")
    assert code == 0, err
    records = read_jsonl(dest)
    assert [r["id"] for r in records] == [0, 1]
    for record, text in zip(records, texts, strict=True):
        assert list(record) == ["id", "text", "meta", "url", "cleaned", "labels"]
        assert record["text"] == text and record["meta"] == {"n": [1, 2]}
        assert record["url"] is None
        assert record["cleaned"] == cleaner_.clean(text)
        units = segment(text)
        assert len(record["labels"]) == len(units)
        for (start, end, label), unit in zip(record["labels"], units, strict=True):
            assert (start, end) == (unit.start, unit.end) and label in LABELS
            assert text[start:end] == unit.text


def test_jsonl_custom_fields(capsys, tmp_path, articles, cleaner_):
    text = articles["fr-news-fullpage"]
    src = tmp_path / "docs.jsonl"
    write_jsonl(src, [{"body": text, "keep": "me"}])
    dest = tmp_path / "out.jsonl"
    code, _, _ = run(capsys, "clean", src, "-o", dest, "--field", "body",
                     "--output-field", "body", "-q")
    assert code == 0
    assert read_jsonl(dest) == [{"body": cleaner_.clean(text), "keep": "me"}]


def test_format_jsonl_on_stdin(capsys, monkeypatch, articles, cleaner_):
    text = articles["es-deportes-article"]
    data = (json.dumps({"text": text}) + "\n").encode()
    code, out, _ = run_stdin(capsys, monkeypatch, data, "clean", "--format", "jsonl", "-q")
    assert code == 0
    assert json.loads(out) == {"text": text, "cleaned": cleaner_.clean(text)}


def test_gzip_in_gzip_out(capsys, tmp_path, articles, cleaner_):
    src_dir = tmp_path / "in"
    src_dir.mkdir()
    texts = [articles["it-news-fullpage"], articles["es-news-fullpage"]]
    write_jsonl(src_dir / "docs.jsonl.gz", [{"text": t} for t in texts], compress=True)
    (src_dir / "page.txt.gz").write_bytes(gzip.compress(texts[0].encode()))
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src_dir, "--out-dir", out_dir, "-q")
    assert code == 0, err
    records = read_jsonl(out_dir / "docs.jsonl.gz")
    assert [r["cleaned"] for r in records] == [cleaner_.clean(t) for t in texts]
    assert gzip.decompress((out_dir / "page.txt.gz").read_bytes()).decode() == cleaner_.clean(
        texts[0]
    )


def test_gzip_input_to_stdout_is_plain(capsys, tmp_path, articles):
    src = tmp_path / "docs.jsonl.gz"
    write_jsonl(src, [{"text": articles["en-science-article"]}], compress=True)
    code, out, _ = run(capsys, "clean", src, "-q")
    assert code == 0 and "cleaned" in json.loads(out)


def make_wet(path, pages: list[tuple[str, str]], truncate: int = 0) -> None:
    """A WET file like Common Crawl's: a warcinfo record, then conversion records."""
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=str(path).endswith(".gz"))
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
    for url, text in pages:
        writer.write_record(writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(text.encode("utf-8")),
            warc_content_type="text/plain",
            warc_headers_dict={"WARC-Identified-Content-Language": "eng"},
        ))
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) - truncate] if truncate else data)


def test_wet_file(capsys, tmp_path, articles, cleaner_):
    src_dir = tmp_path / "crawl"
    src_dir.mkdir()
    pages = [("https://a.example/1", articles["en-news-fullpage"]),
             ("https://b.example/2", articles["de-wirtschaft-article"])]
    make_wet(src_dir / "CC-MAIN-1.warc.wet.gz", pages)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src_dir, "--out-dir", out_dir)
    assert code == 0, err
    assert [p.name for p in out_dir.iterdir()] == ["CC-MAIN-1.jsonl.gz"]
    records = read_jsonl(out_dir / "CC-MAIN-1.jsonl.gz")
    assert [r["url"] for r in records] == [url for url, _ in pages]
    for record, (_, text) in zip(records, pages, strict=True):
        assert record["record_id"].startswith("<urn:uuid:")
        assert record["language"] == "eng" and record["date"]
        assert record["cleaned"] == cleaner_.clean(text)
    assert "2 documents from 1 file" in err


def test_wet_to_stdout_uncompressed(capsys, tmp_path, articles):
    src = tmp_path / "x.wet"
    make_wet(src, [("https://a.example/", articles["fr-culture-markdown"])])
    code, out, _ = run(capsys, "clean", src, "-q", "--labels-field", "labels")
    assert code == 0
    record = json.loads(out)
    assert record["url"] == "https://a.example/" and record["labels"]
    # The page text comes along, so that the labels' offsets can be resolved.
    assert record["text"] == articles["fr-culture-markdown"]
    units = segment(record["text"])
    assert [(s, e) for s, e, _ in record["labels"]] == [(u.start, u.end) for u in units]


def test_in_place_refuses_wet(capsys, tmp_path, articles):
    src = tmp_path / "x.warc.wet.gz"
    make_wet(src, [("https://a.example/", articles["en-news-fullpage"])])
    code, _, err = run(capsys, "clean", src, "--in-place")
    assert code == 2 and "WET" in err


# ----- --max-drop, summary, progress --------------------------------------------------------


def test_max_drop_flags_in_summary(capsys, tmp_path, tree):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", tree, "--out-dir", out_dir, "--max-drop", "0.01")
    assert code == 0
    assert "over --max-drop 0.01: 3 documents (cleaned anyway)" in err
    assert str(tree / "a.txt") in err
    assert len(list(out_dir.rglob("*.*"))) == 3
    code, _, err = run(capsys, "clean", tree, "--out-dir", tmp_path / "o2", "--max-drop", "1")
    assert "over --max-drop 1: 0 documents" in err


def test_skip_dropped_text_left_out(capsys, tmp_path, tree):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", tree, "--out-dir", out_dir, "--max-drop", "0.01",
                       "--skip-dropped")
    assert code == 0
    assert "(left out)" in err
    assert not out_dir.exists() or not list(out_dir.rglob("*.*"))
    before = (tree / "a.txt").read_bytes()
    run(capsys, "clean", tree / "a.txt", "--in-place", "--max-drop", "0.01", "--skip-dropped")
    assert (tree / "a.txt").read_bytes() == before


def test_skip_dropped_jsonl_keeps_original(capsys, tmp_path, articles):
    text = articles["en-news-fullpage"]
    src = tmp_path / "d.jsonl"
    write_jsonl(src, [{"text": text}])
    code, out, err = run(capsys, "clean", src, "--max-drop", "0.01", "--skip-dropped")
    assert code == 0
    record = json.loads(out)
    assert record["cleaned"] == text
    assert 0.01 < record["max_drop_exceeded"] <= 1
    assert f"{src}:1" in err


def test_skip_dropped_needs_max_drop(capsys, tree):
    code, _, err = run(capsys, "clean", tree / "a.txt", "--skip-dropped")
    assert code == 2 and "--max-drop" in err


def test_progress_silent_when_not_a_tty(capsys, tmp_path, tree):
    code, _, err = run(capsys, "clean", tree, "--out-dir", tmp_path / "out")
    assert code == 0
    assert "\r" not in err and "ETA" not in err and "\x1b" not in err
    assert err.startswith("cleaner: 3 documents")


# ----- usage and model errors -------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["clean", "x.txt", "--keep", "body,nonsense"], "unknown label"),
    (["clean", "x.txt", "-j", "0"], "-j/--jobs"),
    (["clean", "x.txt", "--max-drop", "1.5"], "between 0 and 1"),
    (["clean", "x.txt", "--in-place", "-o", "y.txt"], "--in-place"),
    (["clean", "-", "x.txt"], "standard input"),
    (["clean", "-", "--out-dir", "d"], "standard input"),
    (["clean", "--out-dir", "d"], "standard input"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err
    assert_no_traceback(err)


def test_missing_model(capsys, tree):
    code, out, err = run(capsys, "clean", tree / "a.txt", "--model", tree / "nope.npz")
    assert code == 1 and out == ""
    assert "nope.npz" in err and "not found" in err


def test_corrupt_model(capsys, tmp_path, tree):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a model")
    code, out, err = run(capsys, "clean", tree / "a.txt", "--model", bad)
    assert code == 1 and out == "" and "bad.npz" in err
    assert_no_traceback(err)


# ----- the real command ---------------------------------------------------------------------


def test_subprocess_file_and_stdin(tmp_path, tree, cleaner_):
    expected = cleaner_.clean((tree / "a.txt").read_text(encoding="utf-8"))
    proc = subprocess_run("clean", tree / "a.txt")
    assert proc.returncode == 0
    assert proc.stdout.decode() == expected
    assert b"1 document from 1 file" in proc.stderr
    proc = subprocess_run("clean", "-", "-q", stdin=(tree / "a.txt").read_bytes())
    assert proc.returncode == 0 and proc.stdout.decode() == expected and proc.stderr == b""


def test_subprocess_bad_input_no_traceback(tmp_path, tree):
    (tree / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    proc = subprocess_run("clean", tree, "--out-dir", tmp_path / "out", "-q")
    assert proc.returncode == 1
    assert b"bin.txt" in proc.stderr and b"binary" in proc.stderr
    assert_no_traceback(proc.stderr.decode())
    assert (tmp_path / "out" / "a.txt").exists()


def test_train_help_gives_the_penalty_that_adapting_uses(capsys):
    from cleaner import cli, model

    assert cli.ADAPT_PENALTY == model.ADAPT_PENALTY
    code, out, _ = run(capsys, "train", "--help")
    help_text = " ".join(out.split())
    assert code == 0
    assert f"(default {model.ADAPT_PENALTY:g};" in help_text


def test_subprocess_help(tmp_path):
    proc = subprocess_run("clean", "--help")
    assert proc.returncode == 0
    for word in (b"--out-dir", b"--in-place", b"*.jsonl.gz", b"--max-drop", b"WET"):
        assert word in proc.stdout


def test_subprocess_broken_pipe(tmp_path, articles):
    import subprocess
    import sys

    src = tmp_path / "many.jsonl"
    write_jsonl(src, [{"text": articles["en-science-article"]}] * 200)
    proc = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", str(src), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert_no_traceback(err)
    assert proc.returncode in (0, 1)


def test_progress_bar_on_a_terminal(tmp_path, tree):
    """With stderr on a terminal the real command draws a progress line (documents, MB,
    rate, ETA) and erases it before the summary; stdout gets no progress."""
    import pty
    import subprocess
    import sys

    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cleaner", "clean", str(tree), "--out-dir",
             str(tmp_path / "out")],
            stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's other side was closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        out, _ = proc.communicate(timeout=300)
    finally:
        os.close(primary)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0, err
    assert out == b""
    assert "\r" in err and "docs" in err and "B/s" in err and "ETA" in err
    assert "\r\x1b[K" in err  # the progress line is erased
    assert "3 documents from 3 files" in err
    # --quiet: nothing at all
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "cleaner", "clean", str(tree), "--out-dir",
             str(tmp_path / "out2"), "--quiet"],
            stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, timeout=300,
        )
        os.close(secondary)
        os.set_blocking(primary, False)
        try:
            quiet = os.read(primary, 4096)
        except OSError:
            quiet = b""
    finally:
        os.close(primary)
    assert proc.returncode == 0 and quiet == b""


def test_summary_counts_stdin_bytes(capsys, monkeypatch, articles):
    text = articles["en-news-fullpage"]
    code, _, err = run_stdin(capsys, monkeypatch, text.encode(), "clean")
    assert code == 0
    assert f"({len(text.encode()) / 1e3:.1f} kB in" in err
