"""Throughput and memory of ``cleaner clean`` on a large generated JSONL corpus.

Generates a JSONL file (optionally .jsonl.gz) of article-like web pages, recombined from
the labelled articles in ``fixtures/`` so that no two pages are alike, then runs the real
command on it as a subprocess with ``-j 1`` and ``-j 2`` and prints, per run: wall time,
MB/s and documents/s of input, and the peak resident memory of the main process and of
the whole process tree (the main process plus its loky workers); then the j2/j1 speed-up,
whether the two outputs are byte-identical, and, for memory flatness, the same peaks on
an input of ``--flat-fraction`` of the size: streaming means they do not grow with the
input.

Usage:
    python benchmarks/throughput_batch.py                 # 0.2 GB
    python benchmarks/throughput_batch.py --gb 2          # the multi-GB run
    python benchmarks/throughput_batch.py --gb 0.05 --gz --jobs 1,2

Time: every run reads the whole input, so the total is about 1.1 x (size / MB/s of -j 1 +
size / MB/s of -j 2). The default 0.2 GB took 1.5-2.5 minutes with the shipped model on a
2-core machine (5.9-8.4 MB/s with -j 1, 10.8-13.2 with -j 2 on different days: nothing is
timed beside it, so compare runs made back to back); before the C path, ``--gb 2
--flat-fraction 0.05`` took 30 minutes (2.10 and 3.90 MB/s) and needs about 8 GB of disk.
MB/s are of uncompressed JSONL, also with --gz.

The model: ``$CLEANER_MODEL`` if set, else the shipped ``models/cleaner.npz``, else a small
model trained here on ``fixtures/`` (as the tests' ``tiny_model`` fixture is). Work files go
to ``--workdir`` (default: a temporary directory, removed at the end unless ``--keep``).
The exit status is 1 if the outputs of the runs differ or a run fails.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cleaner.api import MODEL_ENV, MODEL_FILE  # noqa: E402
from cleaner.fixture_format import read_fixture  # noqa: E402

FIXTURES = REPO / "fixtures"
MB = 1e6


# ----- the corpus --------------------------------------------------------------------------


@dataclass
class Block:
    """A run of non-blank lines of a fixture article, with their labels."""

    lines: list[str]
    labels: list[str]

    @property
    def is_body(self) -> bool:
        return all(label in ("body", "title") for label in self.labels)


@dataclass
class Source:
    lang: str
    outlet: str
    blocks: list[Block]


def load_sources() -> list[Source]:
    sources = []
    for path in sorted(FIXTURES.glob("*.tsv")):
        doc = read_fixture(str(path))
        blocks: list[Block] = []
        current = Block([], [])
        for line, label in zip(doc.lines, doc.labels, strict=True):
            if label:
                current.lines.append(line)
                current.labels.append(label)
            elif current.lines:
                blocks.append(current)
                current = Block([], [])
        if current.lines:
            blocks.append(current)
        lang = doc.meta.get("lang") or path.stem.split("-")[0]
        outlet = doc.meta.get("outlet") or path.stem
        sources.append(Source(lang, outlet, blocks))
    if not sources:
        raise SystemExit(f"no fixtures found in {FIXTURES}")
    return sources


class PageMaker:
    """Article-like pages: a fixture's layout (navigation, consent banner, title, body,
    captions, credits, promos, footer) with its blocks dropped, swapped for blocks of other
    articles in the same language, or repeated, and its digits changed; a few pages are
    one long line (a whole page without line breaks) and a few are nearly empty."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.sources = load_sources()
        self.body: dict[str, list[Block]] = {}
        self.other: dict[str, list[Block]] = {}
        for source in self.sources:
            for block in source.blocks:
                pool = self.body if block.is_body else self.other
                pool.setdefault(source.lang, []).append(block)

    def page(self) -> tuple[str, str, str]:
        """(language, outlet, text) of a new page."""
        rng = self.rng
        source = rng.choice(self.sources)
        lang = source.lang
        out: list[str] = []
        for block in source.blocks:
            roll = rng.random()
            if block.is_body:
                if roll < 0.3:
                    block = rng.choice(self.body[lang])
                elif roll < 0.4:
                    continue
            elif roll < 0.12:
                continue
            elif roll < 0.2:
                block = rng.choice(self.other[lang])
            out.append("\n".join(block.lines))
            if rng.random() < 0.04:  # a repeated promo or caption
                out.append("\n".join(rng.choice(self.other[lang]).lines))
        digits = list("0123456789")
        rng.shuffle(digits)
        text = "\n\n".join(out).translate(str.maketrans("0123456789", "".join(digits)))
        kind = rng.random()
        if kind < 0.02:
            text = " ".join(text.split())  # the whole page on one line
        elif kind < 0.03:
            text = text[: rng.randrange(0, 200)]
        return lang, source.outlet, text + "\n"


def generate(paths: list[tuple[Path, int]], seed: int, compress: bool) -> dict[Path, int]:
    """Write JSONL pages to every path until each holds its number of (uncompressed)
    bytes; the files share a prefix, so a smaller one is the start of a larger one.
    Returns the number of documents per path."""
    maker = PageMaker(seed)
    raws: list[BinaryIO] = []
    files: list[tuple[Path, int, BinaryIO]] = []
    for path, size in paths:
        raw: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed below)
        raws.append(raw)
        f: BinaryIO = raw
        if compress:
            f = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)  # type: ignore[assignment]
        files.append((path, size, f))
    written = 0
    docs = {path: 0 for path, _ in paths}
    biggest = max(size for _, size in paths)
    n = 0
    try:
        while written < biggest:
            lang, outlet, text = maker.page()
            slug = "".join(c for c in outlet.lower() if c.isalnum())[:20] or "site"
            record = {"id": f"page-{n:09d}", "url": f"https://www.{slug}.example/{n}",
                      "lang": lang, "text": text}
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            for path, size, f in files:
                if written < size:
                    f.write(line)
                    docs[path] += 1
            written += len(line)
            n += 1
    finally:
        for _, _, f in files:
            f.close()
        for raw in raws:
            raw.close()
    return docs


# ----- the model ---------------------------------------------------------------------------


def find_model(workdir: Path) -> tuple[str, str]:
    """(path, how it was found)."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return env, f"${MODEL_ENV}"
    shipped = REPO / "models" / MODEL_FILE
    if shipped.exists():
        return str(shipped), "shipped"
    from cleaner.train import save, train

    path = workdir / "tiny.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train([str(FIXTURES)], holdout=0,
                       params={"n_hash_bits": 14, "max_iter": 30, "n_folds": 2})
    save(result, str(path))
    return str(path), "tiny model trained on fixtures/ (no shipped model)"


# ----- running and measuring ---------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in kB."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss_kb(p)
        todo.extend(_children(p))
    return total


@dataclass
class Run:
    label: str
    jobs: int
    input_bytes: int
    docs: int
    seconds: float
    main_peak_mb: float
    tree_peak_mb: float
    digest: str
    summary: str

    @property
    def mb_per_s(self) -> float:
        return self.input_bytes / MB / self.seconds

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds


def run_clean(label: str, src: Path, out: Path, jobs: int, model: str, input_bytes: int,
              docs: int) -> Run:
    env = dict(os.environ, **{MODEL_ENV: model})
    argv = [sys.executable, "-m", "cleaner", "clean", str(src), "-o", str(out), "-j", str(jobs)]
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                cwd=str(REPO))
        tree_peak = 0
        status = None
        while status is None:
            tree_peak = max(tree_peak, tree_rss_kb(proc.pid))
            pid, status_word, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(status_word)
                main_peak = usage.ru_maxrss  # kB on Linux: the exact peak of the main process
                proc.returncode = status
                break
            time.sleep(0.2)
        seconds = time.monotonic() - start
        err.seek(0)
        summary = err.read().decode("utf-8", "replace")
    if status != 0:
        raise SystemExit(f"{label}: cleaner exited with {status}:\n{summary}")
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return Run(label, jobs, input_bytes, docs, seconds, main_peak / 1e3,
               max(tree_peak, main_peak) / 1e3, digest.hexdigest(), summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=0.2,
                        help="size of the generated JSONL in GB, uncompressed (default: 0.2; "
                        "--gb 2 is the multi-GB run)")
    parser.add_argument("--gz", action="store_true", help="generate .jsonl.gz (gzip level 1)")
    parser.add_argument("--jobs", default="1,2", help="comma-separated -j values (default: 1,2)")
    parser.add_argument("--flat-fraction", type=float, default=0.1,
                        help="also run on an input this fraction of the size, to compare "
                        "peak memory (default: 0.1; 0 skips it)")
    parser.add_argument("--workdir", help="where to put the files (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cleaner-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        model, how = find_model(workdir)
        print(f"model: {model} ({how})")
        suffix = ".jsonl.gz" if args.gz else ".jsonl"
        full = workdir / f"corpus{suffix}"
        size = int(args.gb * 1e9)
        sizes = [(full, size)]
        small = workdir / f"corpus-small{suffix}"
        if args.flat_fraction > 0:
            sizes.append((small, int(size * args.flat_fraction)))
        start = time.monotonic()
        docs = generate(sizes, args.seed, args.gz)
        print(f"generated {full.name}: {size / MB:.0f} MB of JSONL, {docs[full]} documents"
              + (f", {full.stat().st_size / MB:.0f} MB gzipped" if args.gz else "")
              + f" in {time.monotonic() - start:.0f} s")
        print(f"machine: {os.cpu_count()} cores, load average "
              + " ".join(f"{x:.1f}" for x in os.getloadavg()))

        runs: list[Run] = []
        plan = [(full, size, "full")]
        if args.flat_fraction > 0:
            plan.insert(0, (small, int(size * args.flat_fraction), "small"))
        for src, nbytes, name in plan:
            for j in jobs:
                out = workdir / f"out-{name}-j{j}{suffix}"
                r = run_clean(f"{name} -j {j}", src, out, j, model, nbytes, docs[src])
                runs.append(r)
                print(f"  {r.label:<12} {nbytes / MB:7.0f} MB {r.seconds:8.1f} s "
                      f"{r.mb_per_s:6.2f} MB/s {r.docs_per_s:7.0f} docs/s   peak RSS: main "
                      f"{r.main_peak_mb:6.0f} MB, with workers {r.tree_peak_mb:6.0f} MB",
                      flush=True)

        ok = True
        print()
        by = {(r.label.split()[0], r.jobs): r for r in runs}
        base = by.get(("full", jobs[0]))
        for j in jobs[1:]:
            other = by[("full", j)]
            same = other.digest == base.digest
            ok &= same
            print(f"speed-up -j {j} / -j {jobs[0]}: {other.mb_per_s / base.mb_per_s:.2f}x; "
                  f"outputs {'byte-identical' if same else 'DIFFER'} (sha256 {base.digest[:16]})")
        for j in jobs[1:]:
            if ("small", j) in by:
                ok &= by[("small", j)].digest == by[("small", jobs[0])].digest
        if args.flat_fraction > 0:
            for j in jobs:
                s, f = by[("small", j)], by[("full", j)]
                print(f"memory -j {j}: peak RSS at {s.input_bytes / MB:.0f} MB input "
                      f"{s.main_peak_mb:.0f} MB main / {s.tree_peak_mb:.0f} MB tree, at "
                      f"{f.input_bytes / MB:.0f} MB input {f.main_peak_mb:.0f} MB main / "
                      f"{f.tree_peak_mb:.0f} MB tree "
                      f"(x{f.tree_peak_mb / s.tree_peak_mb:.2f} for "
                      f"x{f.input_bytes / s.input_bytes:.0f} the input)")
        print("\nsummary of the last run:\n" + runs[-1].summary.rstrip())
        return 0 if ok else 1
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.keep:
            for p in workdir.glob("out-*"):
                p.unlink()


if __name__ == "__main__":
    sys.exit(main())
