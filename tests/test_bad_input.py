"""Bad input never costs other documents and never shows a traceback: each problem is
reported with its file (and line), the rest is processed, and the exit status is 1."""

from __future__ import annotations

import errno
import gzip
import json
import os

import pytest
from helpers import assert_no_traceback, no_temp_files, run, write_jsonl

import cleaner.atomic
import cleaner.fileio
import cleaner.parallel

pytestmark = pytest.mark.usefixtures("tiny_env")


@pytest.fixture
def good(tmp_path, articles):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(articles["en-news-fullpage"], encoding="utf-8")
    return src


def test_missing_file(capsys, tmp_path, good):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", good / "good.txt", tmp_path / "missing.txt",
                       "--out-dir", out_dir)
    assert code == 1
    assert f"{tmp_path / 'missing.txt'}: no such file or directory" in err
    assert (out_dir / "good.txt").exists()
    assert "errors: 1" in err


def test_missing_single_file(capsys, tmp_path):
    code, out, err = run(capsys, "clean", tmp_path / "missing.txt")
    assert code == 1 and out == ""
    assert "missing.txt: no such file" in err
    assert_no_traceback(err)


def test_binary_and_latin1_files(capsys, tmp_path, good, articles):
    (good / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    latin = "Caf\u00e9 au lait\n\n" + articles["fr-news-fullpage"]
    (good / "latin.txt").write_bytes(latin.encode("latin-1", errors="replace"))
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", good, "--out-dir", out_dir)
    assert code == 1
    assert f"{good / 'image.txt'}: looks like a binary file" in err
    assert f"{good / 'latin.txt'}:1: not valid utf-8 (byte 0xe9" in err
    assert "--encoding" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.txt"]
    assert "errors: 2" in err
    assert_no_traceback(err)
    # With the right encoding, or a lenient policy, the latin-1 file is cleaned.
    for policy in (["--encoding", "latin-1"], ["--errors", "replace"], ["--errors", "ignore"]):
        out2 = tmp_path / ("out-" + policy[1])
        code, _, err = run(capsys, "clean", good / "latin.txt", "-o", out2, "-q", *policy)
        assert code == 0, err
        assert out2.read_text(encoding="utf-8")


def test_malformed_jsonl_line_and_missing_field(capsys, tmp_path, articles):
    text = articles["de-news-fullpage"]
    src = tmp_path / "d.jsonl"
    write_jsonl(src, [
        {"id": 1, "text": text},
        '{"id": 2, "text": "unterminated',
        {"id": 3, "body": "no text field"},
        {"id": 4, "text": 42},
        "[1, 2, 3]",
        {"id": 6, "text": text},
    ])
    (tmp_path / "bad-bytes.jsonl").write_bytes(b'{"text": "caf\xe9"}\n')
    dest = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "clean", src, "-o", dest)
    assert code == 1
    assert f"{src}:2: malformed JSON" in err
    assert f"{src}:3: record has no 'text' field" in err
    assert f"{src}:4: field 'text' is int, not a string" in err
    assert f"{src}:5: record is not a JSON object" in err
    assert "errors: 4" in err
    lines = dest.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6  # unreadable lines are copied, not lost
    assert lines[1] == '{"id": 2, "text": "unterminated'
    assert json.loads(lines[2]) == {"id": 3, "body": "no text field"}
    assert "cleaned" in json.loads(lines[0]) and "cleaned" in json.loads(lines[5])
    code, _, err = run(capsys, "clean", tmp_path / "bad-bytes.jsonl", "-o", dest, "-q")
    assert code == 1 and "bad-bytes.jsonl:1: not valid utf-8 (byte 0xe9 at column 14)" in err
    assert dest.read_bytes() == b'{"text": "caf\xe9"}\n'  # copied byte for byte


def test_truncated_gzip(capsys, tmp_path, articles, good):
    records = [{"text": articles["it-news-fullpage"]}] * 30
    write_jsonl(good / "cut.jsonl.gz", records, compress=True)
    data = (good / "cut.jsonl.gz").read_bytes()
    (good / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    full = gzip.compress(articles["es-news-fullpage"].encode())
    (good / "cut.txt.gz").write_bytes(full[: len(full) // 2])
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", good, "--out-dir", out_dir)
    assert code == 1
    assert f"{good / 'cut.jsonl.gz'}:" in err and "truncated gzip" in err
    assert f"{good / 'cut.txt.gz'}: corrupt or truncated gzip" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.txt"]
    assert no_temp_files(out_dir)
    assert_no_traceback(err)


def test_truncated_wet(capsys, tmp_path, articles):
    from test_cli import make_wet

    src = tmp_path / "x.warc.wet.gz"
    make_wet(src, [("https://a.example/", articles["en-news-fullpage"])] * 3, truncate=150)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir)
    assert code == 1 and "x.warc.wet.gz" in err and "truncated" in err
    assert not list(out_dir.glob("*.jsonl*")) and no_temp_files(tmp_path)


def test_not_a_wet_file(capsys, tmp_path):
    src = tmp_path / "x.wet"
    src.write_text("hello\nworld\n")
    code, _, err = run(capsys, "clean", src, "-q")
    assert code == 1 and "x.wet: not a WARC/WET file" in err


def test_keyboard_interrupt_mid_batch(capsys, monkeypatch, tmp_path, articles):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"doc{i}.txt").write_text(articles["en-news-fullpage"], encoding="utf-8")
    write_jsonl(src / "z.jsonl", [{"text": articles["de-news-fullpage"]}] * 5)
    original = {p.name: p.read_bytes() for p in src.iterdir()}
    real = cleaner.parallel.clean_one
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 9:  # in the middle of z.jsonl, after the text files
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cleaner.parallel, "clean_one", interrupted)
    monkeypatch.setattr("cleaner.batch.BATCH_DOCS", 1)  # write outputs as we go
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir)
    assert code == 130
    assert "interrupted" in err
    assert_no_traceback(err)
    assert not (out_dir / "z.jsonl").exists()  # the partial output was removed
    assert no_temp_files(out_dir)
    assert {p.name for p in out_dir.iterdir()} == {f"doc{i}.txt" for i in range(6)}
    # --in-place: an interrupted input stays exactly as it was.
    calls["n"] = 0
    write_jsonl(src / "z.jsonl", [{"text": articles["de-news-fullpage"]}] * 12)
    before = (src / "z.jsonl").read_bytes()
    code, _, _ = run(capsys, "clean", src / "z.jsonl", "--in-place")
    assert code == 130
    assert (src / "z.jsonl").read_bytes() == before
    assert no_temp_files(src)
    assert original["doc0.txt"] == (src / "doc0.txt").read_bytes()


class FullDisk:
    """A file object that accepts ``budget`` bytes and then fails like a full disk."""

    def __init__(self, f, budget: int):
        self.f, self.budget = f, budget

    def write(self, data):
        self.budget -= len(data)
        if self.budget < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_full_disk_streamed_output(capsys, monkeypatch, tmp_path, articles):
    src = tmp_path / "in"
    src.mkdir()
    write_jsonl(src / "a.jsonl", [{"text": articles["fr-news-fullpage"]}] * 40)
    real_fdopen = os.fdopen
    monkeypatch.setattr(cleaner.atomic.os, "fdopen",
                        lambda *a, **k: FullDisk(real_fdopen(*a, **k), 20000))
    monkeypatch.setattr("cleaner.batch.BATCH_DOCS", 4)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir)
    assert code == 1
    assert f"{out_dir / 'a.jsonl'}: cannot write file (No space left on device)" in err
    assert not (out_dir / "a.jsonl").exists()
    assert no_temp_files(tmp_path)
    assert_no_traceback(err)


def test_full_disk_text_output(capsys, monkeypatch, tmp_path, articles):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        (src / name).write_text(articles["en-opinion-fullpage"], encoding="utf-8")
    real = cleaner.fileio.atomic_write_bytes

    def atomic_write_bytes(path, data):
        if path.endswith("a.txt"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(cleaner.fileio, "atomic_write_bytes", atomic_write_bytes)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir)
    assert code == 1
    assert "a.txt: cannot write file (No space left on device)" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["b.txt"]
    assert_no_traceback(err)


def test_unwritable_out_dir(capsys, tmp_path, good):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run(capsys, "clean", good, "--out-dir", blocker / "sub")
    assert code == 1 and "cannot create directory" in err
    assert_no_traceback(err)


def test_empty_directory(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "clean", tmp_path / "empty", "--out-dir", tmp_path / "out")
    assert code == 1 and "holds no files matching" in err


def test_bad_lines_do_not_flood(capsys, tmp_path):
    src = tmp_path / "junk.jsonl"
    src.write_text("".join(f"junk {i}\n" for i in range(100)))
    code, out, err = run(capsys, "clean", src)
    assert code == 1
    assert err.count("malformed JSON") == 20 and "counted but not shown" in err
    assert "errors: 100" in err
    assert out.splitlines() == [f"junk {i}" for i in range(100)]


def test_output_record_order_with_errors(capsys, tmp_path, articles):
    src = tmp_path / "d.jsonl"
    rows = []
    for i in range(50):
        rows.append({"i": i, "text": articles["es-deportes-article"]} if i % 7 else "oops")
    write_jsonl(src, rows)
    dest = tmp_path / "o.jsonl"
    code, _, _ = run(capsys, "clean", src, "-o", dest, "-q")
    assert code == 1
    lines = dest.read_text().splitlines()
    assert len(lines) == 50
    assert [json.loads(x)["i"] for x in lines if x != "oops"] == [i for i in range(50) if i % 7]
