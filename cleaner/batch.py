"""The batch layer of ``cleaner clean``: input paths -> jobs -> documents -> outputs.

``plan`` decides, before anything is read, which file goes where (and refuses to write
over an input unless asked to). ``run`` streams every job's documents through the
``parallel.Pool`` in batches, and writes each result to its job's output in input order.
An output file appears only when its input was read completely; a bad record is reported
(file and line) and the rest goes on.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from . import fileio
from .atomic import AtomicOutput
from .errors import CleanerError
from .inputs import READERS, STDIN, Bad, Broken, Doc, Options, file_size, kind_of, walk
from .labels import DEFAULT_KEEP
from .parallel import DocResult, Pool, cleaner_for, resolve_model, single_threaded_blas
from .progress import Progress, Stats

#: A batch sent to a worker holds at most this many documents, characters, or items
#: (documents plus unreadable lines): enough to keep workers busy, little enough that
#: memory stays flat on inputs of any size.
BATCH_DOCS = 32
BATCH_CHARS = 1 << 18
BATCH_ITEMS = 1024
#: Errors printed per input file; the rest are counted in the summary.
MAX_ERRORS_SHOWN = 20
#: The JSONL field that marks a record left uncleaned by --skip-dropped.
SKIP_FIELD = "max_drop_exceeded"


class UsageError(CleanerError):
    """The command line asks for something impossible (exit status 2)."""


@dataclass
class BatchOptions:
    inputs: list[str]
    output: str | None = None
    out_dir: str | None = None
    in_place: bool = False
    keep: tuple[str, ...] = DEFAULT_KEEP
    model: str | None = None
    n_jobs: int = 1
    max_drop: float | None = None
    skip_dropped: bool = False
    output_field: str = "cleaned"
    labels_field: str | None = None
    read: Options = field(default_factory=Options)


@dataclass
class Job:
    """One input and where its output goes (``out`` None: stdout)."""

    path: str
    kind: str
    out: str | None
    compress: bool


def output_name(rel: str, kind: str) -> str:
    """The output's path below --out-dir: the input's, but WET becomes JSONL."""
    if kind != "wet":
        return rel
    lower = rel.lower()
    for suffix in (".warc.wet.gz", ".wet.gz", ".warc.wet", ".wet"):
        if lower.endswith(suffix):
            gz = ".gz" if suffix.endswith(".gz") else ""
            return rel[: -len(suffix)] + ".jsonl" + gz
    return rel + ".jsonl"


def plan(opts: BatchOptions) -> tuple[list[Job], list[CleanerError]]:
    """The jobs to run, and the inputs that do not exist (reported, not fatal)."""
    inputs = opts.inputs or [STDIN]
    if STDIN in inputs and len(inputs) > 1:
        raise UsageError("'-' (standard input) cannot be combined with other inputs")
    if opts.in_place and (opts.output or opts.out_dir):
        raise UsageError("--in-place cannot be combined with -o or --out-dir")
    if opts.output and opts.out_dir:
        raise UsageError("-o and --out-dir cannot be combined")
    if opts.in_place and inputs == [STDIN]:
        raise UsageError("--in-place needs files, not standard input")
    if opts.out_dir and inputs == [STDIN]:
        raise UsageError("standard input goes to standard output or -o FILE, not --out-dir")
    errors: list[CleanerError] = []
    found: list[tuple[str, str]] = []
    several = len(inputs) > 1
    skip = [opts.out_dir] if opts.out_dir else []
    for path in inputs:
        if path == STDIN or os.path.isfile(path):
            found.append((path, os.path.basename(path)))
        elif os.path.isdir(path):
            several = True
            files = walk(path, opts.read.globs, skip)
            if not files:
                globs = " ".join(opts.read.globs)
                errors.append(CleanerError(f"directory holds no files matching {globs}", path))
            found.extend((f, os.path.relpath(f, path)) for f in files)
        elif _is_stream(path):  # a named pipe, e.g. `cleaner clean <(zcat x.gz)`
            if opts.in_place:
                raise UsageError(f"{path}: --in-place needs a regular file, not a pipe")
            found.append((path, os.path.basename(path)))
        elif os.path.exists(path):
            errors.append(CleanerError("not a regular file", path))
        else:
            errors.append(CleanerError("no such file or directory", path))
    if several and opts.output:
        raise UsageError("-o takes a single input; use --out-dir DIR for several")
    if several and not (opts.out_dir or opts.in_place):
        raise UsageError("several inputs (or a directory) need --out-dir DIR or --in-place")
    jobs = []
    for path, rel in found:
        kind = kind_of(path, opts.read.format)
        if opts.in_place:
            if kind == "wet":
                raise UsageError(f"{path}: --in-place cannot rewrite a WET file as JSONL; "
                                 "use --out-dir")
            out: str | None = path
        elif opts.out_dir:
            out = os.path.join(opts.out_dir, output_name(rel, kind))
        else:
            out = opts.output if opts.output and opts.output != STDIN else None
        jobs.append(Job(path, kind, out, bool(out and out.endswith(".gz"))))
    _check_outputs(jobs, opts.in_place)
    return jobs, errors


def _is_stream(path: str) -> bool:
    """A named pipe or character device (``/dev/stdin``, process substitution)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _check_outputs(jobs: list[Job], in_place: bool) -> None:
    """Refuse two inputs with one output, and outputs that are inputs (unless in place)."""
    seen: dict[str, str] = {}
    for job in jobs:
        if job.out is None:
            continue
        key = os.path.realpath(job.out)
        if key in seen:
            raise UsageError(f"{seen[key]} and {job.path} would both be written to {job.out}")
        seen[key] = job.path
    if in_place:
        return
    inputs = {}
    for job in jobs:
        if job.path != STDIN:
            try:
                st = os.stat(job.path)
            except OSError:  # gone already: reading it reports that
                continue
            inputs[(st.st_dev, st.st_ino)] = job.path
    for job in jobs:
        if job.out is None:
            continue
        try:
            st = os.stat(job.out)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in inputs:
            raise UsageError(
                f"refusing to write over input file {inputs[(st.st_dev, st.st_ino)]}; "
                "use --in-place to rewrite inputs"
            )


def _json_line(record: dict[str, Any]) -> bytes:
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \\ud800-style escapes: keep them escaped
        return (json.dumps(record) + "\n").encode("ascii")


class Sink:
    """Where one job's output goes: stdout, or an output file published on ``commit``."""

    def __init__(self, job: Job, opts: BatchOptions, stdout: BinaryIO) -> None:
        self.job, self.opts, self.stdout = job, opts, stdout
        self.failed = False
        self._text: bytes | None = None
        self._file: AtomicOutput | None = None
        if job.out is not None:
            parent = os.path.dirname(job.out)
            try:
                if parent:
                    os.makedirs(parent, exist_ok=True)
            except OSError as e:
                raise CleanerError(f"cannot create directory ({e.strerror or e})", parent) from None
            if job.kind != "text":
                self._file = AtomicOutput(job.out, job.compress)

    def _write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
        else:
            self._to_stdout(data)

    def _to_stdout(self, data: bytes | None) -> None:
        """Write (and with None, flush) standard output; a failure such as a full disk is
        a CleanerError (a closed pipe is not: the command stops quietly)."""
        try:
            if data is None:
                self.stdout.flush()
            else:
                self.stdout.write(data)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise CleanerError(f"cannot write ({e.strerror or e})", "<stdout>") from None

    def doc(self, doc: Doc, result: DocResult, skip: bool) -> None:
        opts = self.opts
        if self.job.kind == "text":
            self._text = None if skip else result.cleaned.encode("utf-8")
            return
        record = dict(doc.record or {})
        if self.job.kind == "wet" and opts.labels_field:
            # the page text, so that the labels' offsets point into the record itself
            record.setdefault(opts.read.field, doc.text)
        if skip:
            record[opts.output_field] = doc.text
            record[SKIP_FIELD] = round(result.drop_fraction, 4)
        else:
            record[opts.output_field] = result.cleaned
        if opts.labels_field:
            record[opts.labels_field] = [list(u) for u in result.units or ()]
        self._write(_json_line(record))

    def raw(self, data: bytes) -> None:
        """Copy an unreadable JSONL line to the output unchanged."""
        if self.job.kind == "jsonl":
            self._write(data if data.endswith(b"\n") else data + b"\n")

    def commit(self) -> None:
        if self._file is not None:
            self._file.commit()
        elif self.job.out is None:
            if self._text is not None:
                self._to_stdout(self._text)
            self._to_stdout(None)
        elif self._text is not None:
            data = gzip.compress(self._text, mtime=0) if self.job.compress else self._text
            try:
                fileio.atomic_write_bytes(self.job.out, data)
            except OSError as e:
                raise CleanerError(f"cannot write file ({e.strerror or e})", self.job.out) from None

    def abort(self) -> None:
        self.failed = True
        if self._file is not None:
            self._file.abort()


@dataclass
class _Begin:
    job: Job


@dataclass
class _End:
    job: Job


class Runner:
    """Runs jobs: reads ahead in batches, cleans them on the pool, writes in order."""

    def __init__(self, opts: BatchOptions, err: TextIO | None = None,
                 stdout: BinaryIO | None = None, progress: Progress | None = None):
        self.opts = opts
        self.err = err if err is not None else sys.stderr
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stats = Stats()
        self.progress = progress or Progress(None, enabled=False)
        self.sink: Sink | None = None
        self._shown: dict[str, int] = {}
        self._done_bytes = 0
        self._job_bytes = 0  # input bytes read so far in the current job

    def report(self, error: CleanerError, key: str = "") -> None:
        """Print ``error`` (at most MAX_ERRORS_SHOWN per file) and count it."""
        self.stats.errors += 1
        shown = self._shown.get(key, 0)
        self._shown[key] = shown + 1
        self.progress.clear()
        if shown < MAX_ERRORS_SHOWN:
            print(f"cleaner: {error}", file=self.err)
        elif shown == MAX_ERRORS_SHOWN:
            print(f"cleaner: {key}: more errors in this file are counted but not shown",
                  file=self.err)

    def run(self, jobs: list[Job]) -> Stats:
        """Clean every job's documents and write their outputs; returns the counts."""
        with single_threaded_blas():
            return self._run(jobs)

    def _run(self, jobs: list[Job]) -> Stats:
        opts = self.opts
        start = time.monotonic()
        model = resolve_model(opts.model)
        if isinstance(model, str):
            cleaner_for(model)  # load (and check) the model before reading any input
        pool = Pool(opts.n_jobs, model, opts.keep, units=opts.labels_field is not None)
        pending: deque[tuple[Future[list[DocResult]] | None, list]] = deque()
        items: list = []
        texts: list[str] = []
        size = 0

        def flush() -> None:
            nonlocal items, texts, size
            pending.append((pool.submit(texts) if texts else None, items))
            items, texts, size = [], [], 0
            while len(pending) > pool.max_pending:
                self._replay(*pending.popleft())

        try:
            for job in jobs:
                items.append(_Begin(job))
                for item in READERS[job.kind](job.path, opts.read):
                    items.append(item)
                    if isinstance(item, Doc):
                        texts.append(item.text)
                        size += len(item.text)
                    elif isinstance(item, Bad) and item.raw:
                        size += len(item.raw)
                    if len(texts) >= BATCH_DOCS or size >= BATCH_CHARS or len(items) >= BATCH_ITEMS:
                        flush()
                items.append(_End(job))
            flush()
            while pending:
                self._replay(*pending.popleft())
        except BaseException:
            pool.terminate()
            if self.sink is not None:
                self.sink.abort()
            raise
        finally:
            self.progress.clear()
            self.stats.seconds = time.monotonic() - start
        return self.stats

    def _replay(self, future: Future[list[DocResult]] | None, items: list) -> None:
        results = iter(future.result() if future is not None else ())
        for item in items:
            if isinstance(item, Doc):
                self._doc(item, next(results))
            elif isinstance(item, Bad):
                self._job_bytes = max(self._job_bytes, item.offset)
                if item.error is not None:
                    self.report(item.error, self.sink.job.path if self.sink else "")
                if self.sink is not None and not self.sink.failed and item.raw is not None:
                    self._guard(self.sink.raw, item.raw)
            elif isinstance(item, Broken):
                self.report(item.error, item.error.path or "")
                if self.sink is not None:
                    self.sink.abort()
            elif isinstance(item, _Begin):
                self.stats.files += 1
                self._job_bytes = 0
                try:
                    self.sink = Sink(item.job, self.opts, self.stdout)
                except CleanerError as e:
                    self.report(e)
                    self.sink = None
            elif isinstance(item, _End):
                if self.sink is not None and not self.sink.failed:
                    self._guard(self.sink.commit)
                self.sink = None
                # (standard input and pipes have no size: count what was read)
                size = file_size(item.job.path) if item.job.path != STDIN else 0
                self._done_bytes += size or self._job_bytes
                self.stats.bytes = self._done_bytes
                self.progress.update(self.stats.documents, self._done_bytes)

    def _guard(self, write: Callable[..., None], *args: Any) -> None:
        """Run a write; a failure (e.g. a full disk) fails this job only."""
        assert self.sink is not None
        try:
            write(*args)
        except CleanerError as e:
            self.sink.abort()
            self.report(e)

    def _doc(self, doc: Doc, result: DocResult) -> None:
        stats, opts = self.stats, self.opts
        stats.documents += 1
        stats.kept.update(result.kept)
        stats.dropped.update(result.dropped)
        skip = False
        if opts.max_drop is not None and result.drop_fraction > opts.max_drop:
            stats.flag(doc.where)
            skip = opts.skip_dropped
            stats.skipped += skip
        if self.sink is not None and not self.sink.failed:
            self._guard(self.sink.doc, doc, result, skip)
        if doc.offset:
            self._job_bytes = max(self._job_bytes, doc.offset)
            self.progress.update(stats.documents, self._done_bytes + doc.offset)


def run(opts: BatchOptions, err: TextIO | None = None, stdout: BinaryIO | None = None,
        show_progress: bool = True) -> Stats:
    """Plan and run a batch; errors about single inputs are reported on ``err`` and
    counted in the returned Stats, usage and model errors are raised."""
    jobs, missing = plan(opts)
    total = sum(file_size(job.path) for job in jobs if job.path != STDIN) or None
    err = err if err is not None else sys.stderr
    runner = Runner(opts, err, stdout, Progress(total, err, enabled=show_progress))
    for error in missing:
        runner.report(error)
    if jobs:
        runner.run(jobs)
    return runner.stats
