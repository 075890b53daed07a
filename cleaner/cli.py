"""The ``cleaner`` command: a thin layer over the library.

    cleaner clean FILE|DIR|- ...      keep the article text (title and body)
    cleaner classify FILE             show the label of every unit, or write it for review
    cleaner train DATA... -o MODEL    train a model on labelled articles
    cleaner eval DATA...              score a model on labelled articles

Exit status: 0 on success, 1 if any input or the model could not be used (each problem is
reported on stderr with its file and line), 2 for a bad command line, 130 on Ctrl-C and
143 when terminated (SIGTERM); an interrupted run leaves no partial output file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator, Sequence

from .atomic import remove_unfinished
from .errors import CleanerError
from .labels import DEFAULT_KEEP, LABELS, check_labels

#: ``model.ADAPT_PENALTY``, for the help text without importing numpy and scipy to print it
#: (tests/test_cli.py checks that the two agree).
ADAPT_PENALTY = 10.0

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While running a command, SIGTERM (``kill``, ``timeout``) stops it the way Ctrl-C
    does: temporary output files are removed. (Only the main thread can set handlers.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Usage(Exception):
    """A bad option value found after parsing (reported like argparse's errors)."""


def _labels(value: str) -> tuple[str, ...]:
    try:
        return check_labels(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _fraction(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 <= f <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return f


def _penalty(value: str) -> float | str | None:
    from .model import check_penalty

    word = value.lower()
    try:
        penalty = None if word == "none" else "auto" if word == "auto" else float(value)
        check_penalty(penalty)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number >= 0, 'none' or 'auto', not {value!r}") from None
    return penalty


def _weight(value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        weight = 0.0
    if not weight > 0:
        raise _Usage(f"--weighted needs a positive weight, not {value!r}")
    return weight


def _jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n == 0:
        raise argparse.ArgumentTypeError("must be 1 or more (or -1 for every core)")
    return n


def _model_help() -> str:
    return "model file (default: $CLEANER_MODEL, else the model shipped with cleaner)"


CLEAN_EPILOG = """\
inputs and outputs:
  -                     standard input to standard output (text, or JSONL with --format jsonl)
  one FILE              to standard output, or to -o OUT
  several FILEs or DIR  to --out-dir DIR (mirroring the input tree), or back over the
                        inputs with --in-place; an input is never written over otherwise
  Directories are searched recursively for files matching --glob; hidden files and
  directories are skipped. Default patterns:
{globs}
  Output is UTF-8.

formats (from the file name, or --format):
  text    *.txt, *.md, ...: the whole file is one document
  jsonl   *.jsonl, *.jsonl.gz, *.ndjson: one JSON object per line; its --field is cleaned
          into --output-field and every other field is kept; --labels-field adds the
          label of every unit as [start, end, label] (character offsets into --field)
  wet     Common Crawl *.warc.wet.gz, *.wet: each conversion record becomes one JSONL
          record {{url, record_id, date, language, <output-field>}} (with --labels-field,
          also the page text as --field); the output file is named *.jsonl(.gz)
  A .gz input gives a .gz output file (standard output is never compressed).

bad input:
  An unreadable file, a file that is not valid text in --encoding (see --errors), a
  malformed JSONL line or a record without --field is reported with its file and line;
  the other documents are still cleaned and the exit status is 1. Unreadable JSONL lines
  are copied to the output byte for byte, so that nothing is lost. A truncated or corrupt
  file gets no output file. An output file appears only when complete: after Ctrl-C
  (exit 130) or a full disk no partial file is left.

--max-drop F:
  documents losing more than F of their characters are listed in the summary; with
  --skip-dropped a text document is left out (no output; --in-place leaves it as it
  was), and a JSONL or WET record is written with its original text in --output-field
  and "max_drop_exceeded": <fraction removed>.
"""


def build_parser() -> argparse.ArgumentParser:
    from .inputs import DEFAULT_GLOBS
    from .review import FORMATS
    from .train import DEFAULT_HOLDOUT

    parser = argparse.ArgumentParser(
        prog="cleaner",
        description="Keep the article, drop the rest: remove boilerplate, captions, credits, "
        "promos and metadata from the plain text of web pages.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"cleaner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "clean", help="keep the article text of files, directories, JSONL or WET",
        description="Keep the article text (by default its title and body) of every input.",
        epilog=CLEAN_EPILOG.format(globs=textwrap.fill(
            " ".join(DEFAULT_GLOBS), 86, initial_indent="    ", subsequent_indent="    ")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="*", metavar="FILE|DIR|-", default=["-"],
                   help="inputs (default: standard input)")
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="OUT", help="output file for a single input")
    out.add_argument("--out-dir", metavar="DIR", help="output directory, mirroring the inputs")
    out.add_argument("--in-place", action="store_true",
                     help="replace each input with its cleaned text (atomically)")
    out.add_argument("--keep", type=_labels, default=DEFAULT_KEEP, metavar="LABELS",
                     help=f"comma-separated labels to keep (default: {','.join(DEFAULT_KEEP)}; "
                     f"labels: {','.join(LABELS)})")
    inp = p.add_argument_group("input")
    inp.add_argument("--glob", action="append", metavar="PATTERN",
                     help="file pattern for directories, repeatable (a pattern with / "
                     "matches the path below the directory)")
    inp.add_argument("--format", choices=("auto", "text", "jsonl", "wet"), default="auto",
                     help="input format (default: from the file name)")
    inp.add_argument("--encoding", default="utf-8", help="input encoding (default: utf-8)")
    inp.add_argument("--errors", choices=("strict", "replace", "ignore"), default="strict",
                     help="undecodable bytes: strict reports the document and skips it "
                     "(default), replace puts U+FFFD, ignore drops them")
    js = p.add_argument_group("JSONL")
    js.add_argument("--field", default="text", metavar="NAME",
                    help="field to clean (default: text)")
    js.add_argument("--output-field", default="cleaned", metavar="NAME",
                    help="field for the cleaned text (default: cleaned)")
    js.add_argument("--labels-field", metavar="NAME",
                    help="also write each unit's [start, end, label] to this field")
    run = p.add_argument_group("run")
    run.add_argument("--model", metavar="PATH", help=_model_help())
    run.add_argument("-j", "--jobs", type=_jobs, default=1, metavar="N",
                     help="worker processes (default: 1; -1: every core); the output "
                     "does not depend on N")
    run.add_argument("--max-drop", type=_fraction, metavar="FRACTION",
                     help="flag documents losing more than this share of their text")
    run.add_argument("--skip-dropped", action="store_true",
                     help="leave flagged documents out (see below)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress bar and no summary (errors are still shown)")
    p.set_defaults(func=cmd_clean)

    p = sub.add_parser(
        "classify", help="show or export the label of every unit of a text file",
        description="Label every unit of a text file. Formats: text (aligned, for the "
        "terminal; + kept, - removed), tsv (the fixture format: correct the labels and "
        "train on it), jsonl (one object per unit), html (a review page).",
    )
    p.add_argument("input", metavar="FILE", help="text file, or - for standard input")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    p.add_argument("--model", metavar="PATH", help=_model_help())
    p.add_argument("--keep", type=_labels, default=DEFAULT_KEEP, metavar="LABELS",
                   help="labels counted as kept (default: title,body)")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--errors", choices=("strict", "replace", "ignore"), default="strict")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "train", help="train a model on labelled articles",
        description="Train a model on labelled articles (fixture .tsv files, corpus "
        ".jsonl[.gz] files, or directories of them) and write it with its model card.",
    )
    p.add_argument("data", nargs="+", metavar="DATA")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write")
    p.add_argument("--dev", nargs="+", default=[], metavar="DATA",
                   help="labelled data to report scores on")
    p.add_argument("--holdout", type=_fraction, default=DEFAULT_HOLDOUT, metavar="F",
                   help=f"without --dev, share of documents held out for the report "
                   f"(default: {DEFAULT_HOLDOUT}; 0 trains on everything)")
    p.add_argument("--init", metavar="MODEL", help="adapt this model instead of starting anew")
    p.add_argument("--penalty", type=_penalty, metavar="P", default=argparse.SUPPRESS,
                   help="with --init: how strongly the layout network is held to the model's "
                   f"weights (default {ADAPT_PENALTY:g}; 'none' updates the word counts only; "
                   "'auto' chooses by cross-validation over DATA, which takes minutes)")
    p.add_argument("--weighted", nargs=2, action="append", default=[],
                   metavar=("DATA", "WEIGHT"),
                   help="also train on DATA, each document counting WEIGHT times "
                   "(repeatable; never held out)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed")
    p.add_argument("--hash-bits", type=int, metavar="N", help="bits of the feature hash")
    p.add_argument("--distill", type=int, metavar="N",
                   help="ship one layout network of N hidden units trained to reproduce "
                   "the merged ones (faster prediction; e.g. 64)")
    p.add_argument("--teacher-trees", type=int, metavar="N",
                   help="with --distill: gradient-boosted trees of N rounds join the "
                   "networks the distilled one learns from (much slower training)")
    p.add_argument("--sequence", type=int, metavar="G",
                   help="also train a bidirectional GRU of G units each way over each "
                   "page's units, averaged with the layout network (e.g. 32)")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip fitting the model's own calibration table (for which a "
                   "model trained the same way on two thirds of the pages reads the rest "
                   "first); the model gets the shipped design's table")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "eval", help="score a model on labelled articles",
        description="Per-label precision, recall and F1, the confusion matrix and the "
        "article-level shingle F1 (per variant and source) on labelled articles.",
    )
    p.add_argument("data", nargs="+", metavar="DATA")
    p.add_argument("--model", metavar="PATH", help=_model_help())
    p.set_defaults(func=cmd_eval)
    return parser


def _write_output(text: str, output: str | None) -> None:
    from .fileio import atomic_write_text

    if output and output != "-":
        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def cmd_clean(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .batch import BatchOptions, run
    from .inputs import DEFAULT_GLOBS, Options
    from .progress import format_summary

    if args.skip_dropped and args.max_drop is None:
        raise _Usage("--skip-dropped needs --max-drop")
    if args.jobs < 0:
        from .parallel import effective_jobs

        args.jobs = effective_jobs(args.jobs)
    opts = BatchOptions(
        inputs=args.inputs, output=args.output, out_dir=args.out_dir, in_place=args.in_place,
        keep=args.keep, model=args.model, n_jobs=args.jobs, max_drop=args.max_drop,
        skip_dropped=args.skip_dropped, output_field=args.output_field,
        labels_field=args.labels_field,
        read=Options(format=args.format, field=args.field, encoding=args.encoding,
                     errors=args.errors, globs=tuple(args.glob or DEFAULT_GLOBS)),
    )
    stats = run(opts, show_progress=not args.quiet)
    if not args.quiet:
        print(format_summary(stats, args.max_drop, args.skip_dropped), file=sys.stderr)
    return EXIT_ERROR if stats.errors else EXIT_OK


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def cmd_classify(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .api import Cleaner
    from .fileio import decode, read_bytes
    from .review import format_html, format_jsonl, format_text, format_tsv

    if args.output and args.output != "-" and args.input != "-" and _same_file(
        args.input, args.output
    ):
        raise _Usage(f"refusing to write over input file {args.input}")
    if args.input == "-":
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        name, data = args.input, read_bytes(args.input)
    text = decode(data, name, args.encoding, args.errors)
    cleaner = Cleaner(args.model)
    results = cleaner.classify(text)
    if args.format == "text":
        to_terminal = not args.output and sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if to_terminal else None
        colour = to_terminal and not os.environ.get("NO_COLOR")
        out = format_text(results, args.keep, width, colour)
    elif args.format == "tsv":
        stem = os.path.basename(name).split(".")[0].strip("<>") or "document"
        meta = {"id": stem, "source": f"cleaner classify {os.path.basename(name)}"}
        if cleaner.model_path:
            meta["model"] = os.path.basename(cleaner.model_path)
        out = format_tsv(text, results, meta)
    elif args.format == "jsonl":
        out = format_jsonl(results, args.keep)
    else:
        out = format_html(text, results, args.keep, title=name)
    _write_output(out, args.output)
    return EXIT_OK


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .train import save, train

    params = {}
    if args.seed is not None:
        params["random_state"] = args.seed
    if args.hash_bits is not None:
        if not 4 <= args.hash_bits <= 28:
            raise _Usage("--hash-bits must be between 4 and 28")
        params["n_hash_bits"] = args.hash_bits
    if args.distill is not None:
        if args.distill < 1:
            raise _Usage("--distill must be at least 1")
        params["distill_hidden"] = args.distill
    if args.teacher_trees is not None:
        if args.teacher_trees < 1 or args.distill is None:
            raise _Usage("--teacher-trees needs --distill and at least 1 round")
        params["teacher_trees"] = args.teacher_trees
    if args.sequence is not None:
        if args.sequence < 1:
            raise _Usage("--sequence must be at least 1")
        params["sequence"] = args.sequence
    if not args.calibrate and args.init is not None:
        raise _Usage("--no-calibrate is for training anew: with --init the model keeps "
                     "its table")
    if hasattr(args, "penalty"):
        if args.init is None:
            raise _Usage("--penalty needs --init (it sets how a model is updated)")
        params["penalty"] = args.penalty
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = train(
                args.data, dev_data=args.dev, holdout=args.holdout, init=args.init,
                params=params or None, command="cleaner " + shlex.join(argv),
                weighted=[(path, _weight(value)) for path, value in args.weighted],
                calibrate=args.calibrate,
                log=lambda message: print(f"cleaner: {message}", file=sys.stderr),
            )
        except ValueError as e:  # e.g. no labelled units to adapt to
            raise CleanerError(f"cannot train: {e}") from None
    for message in sorted({str(w.message).split(".")[0] for w in caught}):
        print(f"cleaner: warning: {message}", file=sys.stderr)
    card = save(result, args.output)
    if result.dev is not None:
        print(result.dev.format())
    print(f"model written to {args.output}")
    print(f"model card written to {card}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .api import Cleaner
    from .evaluate import evaluate
    from .labelled import read_labelled
    from .parallel import single_threaded_blas

    cleaner = Cleaner(args.model)
    docs = list(read_labelled(args.data))
    with single_threaded_blas():  # many small matrices: a second BLAS thread only slows
        report = evaluate(cleaner, docs)
    print(report.format())
    return EXIT_OK


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cleaner`` command with ``argv`` (default: ``sys.argv[1:]``); returns the
    exit status instead of exiting."""
    from .batch import UsageError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (already printed)
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    try:
        with _sigterm_as_interrupt():
            return args.func(args, argv)
    except (UsageError, _Usage) as e:
        print(f"cleaner: {e}", file=sys.stderr)
        return EXIT_USAGE
    except CleanerError as e:
        print(f"cleaner: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as e:
        remove_unfinished()  # an output made and not yet held by its owner when it struck
        what = "terminated" if isinstance(e, _Terminated) else "interrupted"
        print(f"cleaner: {what}; no partial output file was left", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(e, _Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except OSError as e:  # e.g. standard output on a full disk
        where = f"{e.filename}: " if e.filename else ""
        print(f"cleaner: {where}{e.strerror or e}", file=sys.stderr)
        _silence_stdout()
        return EXIT_ERROR
