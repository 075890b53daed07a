"""The batch layer: parallel cleaning, planning outputs, atomic streamed files, progress."""

from __future__ import annotations

import io
import os
from collections import Counter

import pytest
from helpers import no_temp_files, run, write_jsonl

import cleaner
from cleaner.atomic import AtomicOutput
from cleaner.batch import BatchOptions, UsageError, output_name, plan
from cleaner.errors import CleanerError, ModelError
from cleaner.inputs import Options
from cleaner.parallel import Pool, clean_batch, clean_many
from cleaner.progress import Progress, Stats, format_summary

pytestmark = pytest.mark.usefixtures("tiny_env")


@pytest.fixture
def corpus(tmp_path, articles):
    """A directory of text files plus a JSONL file of 70 records (several batches)."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    texts = list(articles.values())
    for i, text in enumerate(texts):
        (src / ("sub" if i % 2 else "") / f"t{i:02d}.txt").write_text(text, encoding="utf-8")
    write_jsonl(src / "docs.jsonl", [{"n": i, "text": texts[i % len(texts)]} for i in range(70)])
    return src


def test_jobs_1_and_2_byte_identical(capsys, tmp_path, corpus):
    out1, out2 = tmp_path / "j1", tmp_path / "j2"
    assert run(capsys, "clean", corpus, "--out-dir", out1, "-j", "1", "-q",
               "--labels-field", "labels")[0] == 0
    assert run(capsys, "clean", corpus, "--out-dir", out2, "-j", "2", "-q",
               "--labels-field", "labels")[0] == 0
    files1 = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    files2 = sorted(p.relative_to(out2) for p in out2.rglob("*") if p.is_file())
    assert files1 == files2 and len(files1) == 13
    for rel in files1:
        assert (out1 / rel).read_bytes() == (out2 / rel).read_bytes(), rel
    # Output order is input order.
    lines = (out2 / "docs.jsonl").read_text(encoding="utf-8").splitlines()
    assert [int(line.split(",")[0].removeprefix('{"n": ')) for line in lines] == list(range(70))


def test_clean_many_matches_clean(articles):
    texts = list(articles.values()) * 3
    expected = [cleaner.clean(t) for t in texts]
    assert clean_many(texts) == expected
    assert clean_many(texts, n_jobs=2) == expected
    assert cleaner.clean_many(iter(texts[:2]), keep=("body",)) == [
        cleaner.clean(t, keep=("body",)) for t in texts[:2]
    ]
    assert clean_many([], n_jobs=2) == []


def test_batch_summary_agrees_with_classify(tiny_model, articles):
    """What the CLI reports per document (counts by label, characters kept, unit spans)
    is what ``classify`` says of the same text, and its text is ``clean``'s."""
    given = cleaner.Cleaner(tiny_model)
    keep = ("title", "body")
    texts = [*articles.values(), "", "  \n\n", "One line only."]
    results = clean_batch(given, texts, keep, units=True)
    assert len(results) == len(texts)
    for text, result in zip(texts, results):
        units = given.classify(text)
        assert result.cleaned == given.clean(text, keep=keep)
        assert result.kept == dict(Counter(r.label for r in units if r.label in keep))
        assert result.dropped == dict(Counter(r.label for r in units if r.label not in keep))
        assert result.kept_chars == sum(len(r.text) for r in units if r.label in keep)
        assert result.total_chars == sum(len(r.text) for r in units)
        assert result.units == [(r.unit.start, r.unit.end, r.label) for r in units]
    assert any(r.dropped for r in results) and any(r.kept for r in results)
    assert clean_batch(given, texts[:1], keep, units=False)[0].units is None
    with pytest.raises(ValueError, match="unknown label"):
        clean_batch(given, texts[:1], ("nonsense",))


def test_clean_many_model_argument(tiny_model, articles):
    text = articles["en-science-article"]
    assert clean_many([text], model=tiny_model) == [cleaner.clean(text)]
    given = cleaner.Cleaner(tiny_model)
    assert clean_many([text], model=given) == [cleaner.clean(text)]
    # On workers, a Cleaner object is handed over once per worker, not with every batch.
    many = [text] * 70
    assert clean_many(many, model=given, n_jobs=2) == [cleaner.clean(text)] * 70
    assert clean_many(many[:3], model=tiny_model, n_jobs=2) == [cleaner.clean(text)] * 3
    assert Pool(2, given, ("body",), units=False)._task_model is None
    assert Pool(2, tiny_model, ("body",), units=False)._task_model == tiny_model
    with pytest.raises(ModelError, match="not found"):
        clean_many([text], model="/nonexistent/model.npz")
    with pytest.raises(ValueError, match="unknown label"):
        clean_many([text], keep=("nonsense",))


def test_plan_outputs(tmp_path, corpus):
    jobs, missing = plan(BatchOptions([str(corpus), str(tmp_path / "gone.txt")],
                                      out_dir=str(tmp_path / "out")))
    assert [str(e) for e in missing] == [f"{tmp_path / 'gone.txt'}: no such file or directory"]
    outs = {os.path.relpath(j.out, tmp_path / "out") for j in jobs}
    assert "docs.jsonl" in outs and os.path.join("sub", "t01.txt") in outs
    assert {j.kind for j in jobs} == {"text", "jsonl"}
    jobs, _ = plan(BatchOptions([str(corpus / "docs.jsonl")], output="x.jsonl.gz"))
    assert jobs[0].compress and jobs[0].out == "x.jsonl.gz"
    jobs, _ = plan(BatchOptions([str(corpus / "t00.txt")]))
    assert jobs[0].out is None  # stdout
    jobs, _ = plan(BatchOptions([str(corpus / "t00.txt")],
                                read=Options(format="jsonl")))
    assert jobs[0].kind == "jsonl"


def test_plan_refuses_collisions(tmp_path, corpus):
    other = tmp_path / "other"
    other.mkdir()
    (other / "t00.txt").write_text("x")
    with pytest.raises(UsageError, match="would both be written"):
        plan(BatchOptions([str(corpus / "t00.txt"), str(other / "t00.txt")],
                          out_dir=str(tmp_path / "out")))


def test_output_names():
    assert output_name("a/CC-MAIN-x.warc.wet.gz", "wet") == "a/CC-MAIN-x.jsonl.gz"
    assert output_name("x.wet", "wet") == "x.jsonl"
    assert output_name("x.txt.gz", "text") == "x.txt.gz"


def test_out_dir_inside_input_is_not_read(capsys, corpus):
    out = corpus / "cleaned"
    assert run(capsys, "clean", corpus, "--out-dir", out, "-q")[0] == 0
    # A second run does not pick up the first run's output as input.
    code, _, err = run(capsys, "clean", corpus, "--out-dir", out)
    assert code == 0 and "13 files" in err


def test_atomic_output_commit_and_abort(tmp_path):
    target = tmp_path / "f.jsonl.gz"
    out = AtomicOutput(str(target), compress=True)
    out.write(b"hello\n")
    assert not target.exists()
    out.commit()
    import gzip

    assert gzip.decompress(target.read_bytes()) == b"hello\n"
    out = AtomicOutput(str(target))
    out.write(b"partial")
    out.abort()
    assert gzip.decompress(target.read_bytes()) == b"hello\n"  # old content kept
    assert no_temp_files(tmp_path)
    with pytest.raises(CleanerError, match="cannot create output file"):
        AtomicOutput(str(tmp_path / "no" / "such" / "dir.txt"))


def test_atomic_output_is_deterministic(tmp_path):
    """Same content, same bytes: no time and no file name in the gzip header."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        out = AtomicOutput(str(tmp_path / name / f"{name}.jsonl.gz"), compress=True)
        out.write(b"same bytes\n")
        out.commit()
    assert (tmp_path / "a" / "a.jsonl.gz").read_bytes() == (
        tmp_path / "b" / "b.jsonl.gz").read_bytes()


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_tty():
    tty = FakeTTY()
    progress = Progress(10_000_000, tty)
    progress.update(5, 2_500_000, force=True)
    shown = tty.getvalue()
    assert shown.startswith("\r") and "5 docs" in shown and "2.5/10.0 MB" in shown
    assert "MB/s" in shown and "ETA" in shown
    progress.clear()
    assert tty.getvalue().endswith("\r\x1b[K")
    pipe = io.StringIO()
    Progress(10, pipe).update(1, 5, force=True)
    assert pipe.getvalue() == ""
    quiet = FakeTTY()
    Progress(10, quiet, enabled=False).update(1, 5, force=True)
    assert quiet.getvalue() == ""


def test_summary_format():
    stats = Stats(documents=3, files=2, bytes=3_000_000, errors=1, seconds=2.0,
                  flagged=[f"f{i}.txt" for i in range(12)])
    stats.kept.update({"body": 10, "title": 2})
    stats.dropped.update({"boilerplate": 7, "promo": 1})
    text = format_summary(stats, max_drop=0.5, skip=True)
    assert "3 documents from 2 files (3.0 MB in 2.0 s, 1.5 MB/s)" in text
    assert "units kept:    body 10, title 2" in text
    assert "units dropped: promo 1, boilerplate 7" in text
    assert "over --max-drop 0.5: 12 documents (left out): f0.txt" in text
    assert "and 2 more" in text and "errors: 1" in text


def test_flagged_documents_are_counted_not_all_kept():
    """On a huge corpus the summary's list of flagged documents must not grow."""
    stats = Stats()
    for i in range(1000):
        stats.flag(f"big.jsonl:{i + 1}")
    assert stats.n_flagged == 1000 and len(stats.flagged) == 10
    text = format_summary(stats, max_drop=0.9)
    assert "over --max-drop 0.9: 1000 documents (cleaned anyway): big.jsonl:1, " in text
    assert "and 990 more" in text


def test_jsonl_is_streamed(articles):
    """Output records come out while the input is still open: the command reads, cleans
    and writes as it goes instead of holding the whole input (memory stays flat on a
    multi-GB file; benchmarks/throughput_batch.py measures it)."""
    import json
    import select
    import subprocess
    import sys
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", "-", "--format",
                             "jsonl", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    texts = list(articles.values())
    stdin = proc.stdin
    may_close = threading.Event()

    def feed() -> None:  # (a thread: the output pipe must be read meanwhile)
        for i in range(150):
            stdin.write((json.dumps({"i": i, "text": texts[i % len(texts)]}) + "\n").encode())
        stdin.flush()
        may_close.wait(240)
        stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        # stdin stays open: the first records must arrive all the same.
        ready, _, _ = select.select([proc.stdout], [], [], 240)
        assert ready, "no output before the end of the input"
        first = json.loads(proc.stdout.readline())
        assert first["i"] == 0 and "cleaned" in first
        assert not stdin.closed
        may_close.set()
        rest = proc.stdout.read().decode().splitlines()
        assert [json.loads(line)["i"] for line in rest] == list(range(1, 150))
        assert proc.wait(timeout=240) == 0
    finally:
        may_close.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        writer.join(timeout=60)
