"""Bad input never costs other documents and never shows a traceback: each problem is
reported with its file (and line), the rest is processed, and the exit status is 1."""

from __future__ import annotations

import errno
import gzip
import io
import json
import os

import pytest
from helpers import assert_no_traceback, no_temp_files, read_jsonl, run, write_jsonl

import cleaner
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
    real = cleaner.parallel.summarize
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 9:  # in the middle of z.jsonl, after the text files
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cleaner.parallel, "summarize", interrupted)
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


def test_unreadable_file(capsys, monkeypatch, tmp_path, good):
    """A file that cannot be opened (permission denied) is reported; the rest is cleaned.
    (Root reads any file whatever its mode, so the refusal is simulated.)"""
    locked = good / "locked.txt"
    locked.write_text("Secret\n", encoding="utf-8")
    real_open = open

    def refusing_open(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(cleaner.fileio, "open", refusing_open, raising=False)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", good, "--out-dir", out_dir)
    assert code == 1
    assert f"{locked}: permission denied" in err and "errors: 1" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.txt"]
    assert_no_traceback(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file of mode 000")
def test_unreadable_file_mode_000(capsys, tmp_path, good):
    locked = good / "locked.jsonl"
    locked.write_text('{"text": "x"}\n', encoding="utf-8")
    locked.chmod(0)
    try:
        code, _, err = run(capsys, "clean", good, "--out-dir", tmp_path / "out")
    finally:
        locked.chmod(0o644)
    assert code == 1 and f"{locked}: permission denied" in err
    assert (tmp_path / "out" / "good.txt").exists()


def test_jsonl_byte_order_mark(capsys, tmp_path, articles):
    text = articles["en-science-article"]
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": text}).encode() + b"\n")
    code, out, err = run(capsys, "clean", src, "-q")
    assert code == 0, err
    assert json.loads(out)["text"] == text


def test_jsonl_other_encoding(capsys, tmp_path):
    src = tmp_path / "latin.jsonl"
    src.write_bytes('{"text": "Caf\u00e9 du port\\n\\nLe port rouvre demain."}\n'.encode("latin-1"))
    code, out, err = run(capsys, "clean", src, "-q", "--encoding", "latin-1",
                         "--keep", "title,body,caption,credit,promo,meta,boilerplate")
    assert code == 0, err
    assert "Caf\u00e9 du port" in json.loads(out)["cleaned"]


def test_wet_record_not_utf8(capsys, tmp_path, articles):
    """One WET page in another encoding is reported with its URL; the others are cleaned;
    --errors replace cleans it too."""
    from warcio.warcwriter import WARCWriter

    src = tmp_path / "x.warc.wet.gz"
    pages = [("https://a.example/", articles["en-news-fullpage"].encode()),
             ("https://latin.example/", "Caf\u00e9 cr\u00e8me\n".encode("latin-1")),
             ("https://c.example/", articles["fr-news-fullpage"].encode())]
    with open(src, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, payload in pages:
            writer.write_record(writer.create_warc_record(
                url, "conversion", payload=io.BytesIO(payload), warc_content_type="text/plain"))
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir)
    assert code == 1
    assert "x.warc.wet.gz" in err and "https://latin.example/" in err and "not valid utf-8" in err
    records = read_jsonl(out_dir / "x.jsonl.gz")
    assert [r["url"] for r in records] == ["https://a.example/", "https://c.example/"]
    code, _, err = run(capsys, "clean", src, "--out-dir", out_dir, "--errors", "replace", "-q")
    assert code == 0, err
    records = read_jsonl(out_dir / "x.jsonl.gz")
    assert [r["url"] for r in records] == [url for url, _ in pages]


def test_named_pipe_in_directory_is_skipped(capsys, tmp_path, good):
    """A named pipe in a directory would block the read for ever: it is not an input."""
    os.mkfifo(good / "pipe.txt")
    (good / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "clean", good, "--out-dir", out_dir)
    assert code == 1  # the broken link is reported as missing
    assert f"{good / 'gone.txt'}: no such file" in err and "pipe.txt" not in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.txt"]


def test_named_pipe_as_input(capsys, tmp_path, articles):
    """`cleaner clean <(zcat x.gz)` reads a named pipe given on the command line."""
    import threading

    text = articles["de-news-fullpage"]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)

    def feed() -> None:
        with open(pipe, "wb") as f:
            f.write(text.encode())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        code, out, err = run(capsys, "clean", pipe)
    finally:
        writer.join(timeout=60)
    assert code == 0, err
    assert out == cleaner.Cleaner().clean(text)
    assert "1 document from 1 file" in err and "0.0 kB" not in err
    code, _, err = run(capsys, "clean", pipe, "--in-place")
    assert code == 2 and "regular file" in err


def _wait_for(predicate, seconds: float = 120.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs, signame", [
    ("1", "SIGINT"), ("2", "SIGINT"), ("1", "SIGTERM"), ("2", "SIGTERM"),
])
def test_real_ctrl_c(tmp_path, articles, jobs, signame):
    """Ctrl-C at a terminal sends SIGINT to the whole process group (workers too), and so
    may a service manager's SIGTERM: the run stops with exit status 130 (143) and one
    clear line, no traceback from the workers, and no partial or temporary output file."""
    import signal
    import subprocess
    import sys

    signum = getattr(signal, signame)

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(articles["en-news-fullpage"], encoding="utf-8")
    texts = list(articles.values())
    write_jsonl(src / "z.jsonl", [{"i": i, "text": texts[i % len(texts)]} for i in range(3000)])
    out_dir = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cleaner", "clean", str(src), "--out-dir", str(out_dir),
         "-j", jobs],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # A shell running in the background (as CI may) starts its children with SIGINT
        # ignored; give this one the default, as a user's Ctrl-C at a terminal finds it.
        preexec_fn=_default_sigint,
    )
    try:
        # Interrupt once z.jsonl's output has been started (a temporary file exists).
        started = _wait_for(lambda: proc.poll() is not None or bool(list(
            out_dir.glob(".cleaner-*")) if out_dir.exists() else False))
        assert started and proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err.decode()
    assert proc.returncode == 128 + signum, text
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    assert text.strip() == f"cleaner: {what}; no partial output file was left"
    assert not (out_dir / "z.jsonl").exists()
    assert no_temp_files(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [
    ["clean", "{jsonl}"], ["clean", "{text}"], ["classify", "{text}", "--format", "html"],
])
def test_full_disk_on_stdout(tmp_path, articles, argv):
    """Standard output on a full disk: a clear message, exit status 1, no traceback."""
    import subprocess
    import sys

    text = tmp_path / "a.txt"
    text.write_text(articles["en-news-fullpage"], encoding="utf-8")
    jsonl = tmp_path / "a.jsonl"
    write_jsonl(jsonl, [{"text": articles["en-news-fullpage"]}] * 3)
    argv = [a.format(jsonl=jsonl, text=text) for a in argv]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "cleaner", *argv], stdout=full,
                              stderr=subprocess.PIPE, timeout=300)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "No space left on device" in err
    assert_no_traceback(err)


def test_an_interrupt_as_an_output_file_is_made_leaves_no_temporary_file(
        capsys, tmp_path, articles, monkeypatch):
    """Ctrl-C (or SIGTERM) that strikes after an output's temporary file is made and
    before the code writing it holds it (CI once caught SIGTERM there): still exit status
    130, the one line, and no temporary file."""
    from cleaner import batch

    made = batch.AtomicOutput

    def made_then_interrupted(*args, **kwargs):
        made(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "AtomicOutput", made_then_interrupted)
    src = tmp_path / "in"
    src.mkdir()
    write_jsonl(src / "z.jsonl", [{"text": articles["en-news-fullpage"]}])
    code, _, err = run(capsys, "clean", str(src), "--out-dir", str(tmp_path / "out"))
    assert code == 130
    assert err.strip() == "cleaner: interrupted; no partial output file was left"
    assert no_temp_files(tmp_path)
