"""Cleaning many documents on several cores, in input order, with one model per process.

Worker processes (joblib's loky backend) load the model once, on their first task, and
keep it in a per-process cache keyed by the model file; tasks carry only the model's path
and a batch of texts. Every process runs the same code on the same model, so ``n_jobs=1``
and ``n_jobs=N`` give byte-identical output.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from .api import Cleaner, default_model_path
from .labels import DEFAULT_KEEP, LABEL_INDEX, LABELS, check_labels
from .segment import Unit, join_kept

#: Worker threads for numpy/BLAS inside each process: one, as the processes are the
#: parallelism (and more would make results depend on the thread count).
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: Ctrl-C (and SIGTERM) are the parent's to handle: it stops the workers itself
#: (``Pool.terminate``, with SIGKILL). A worker that got the terminal's SIGINT too would
#: die mid-task with a traceback, and the parent might see a broken pool before its own
#: KeyboardInterrupt.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_CAN_BLOCK = hasattr(signal, "pthread_sigmask")

_cache: dict[tuple[str, int, int], Cleaner] = {}


@dataclass(frozen=True)
class DocResult:
    """What cleaning one document gave: the text and what was kept and dropped."""

    cleaned: str
    kept: dict[str, int]
    """Units kept, per label."""
    dropped: dict[str, int]
    """Units dropped, per label."""
    kept_chars: int
    total_chars: int
    """Characters in all units (blank lines are not units)."""
    units: list[tuple[int, int, str]] | None = None
    """(start, end, label) of every unit, when asked for."""

    @property
    def drop_fraction(self) -> float:
        """Share of the document's unit characters that cleaning removed."""
        return 1 - self.kept_chars / self.total_chars if self.total_chars else 0.0


def single_threaded_blas() -> contextlib.AbstractContextManager[object]:
    """A context in which numpy's BLAS uses one thread in this process, as in the workers.

    The model's matrices are small: a second BLAS thread only adds synchronisation (on a
    busy 2-core machine cleaning ran 4x slower with it), and with one thread everywhere
    ``n_jobs=1`` computes exactly what the workers compute.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # (a dependency of scikit-learn, so normally there)
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


#: In a worker: the Cleaner that the parent handed over once, when it started the worker
#: (``clean_many(model=Cleaner(...))``), rather than with every batch.
_given: Cleaner | None = None


def _init_worker(cleaner: Cleaner | None) -> None:
    """Worker initializer: leave Ctrl-C and SIGTERM to the parent process, and keep the
    Cleaner it was given."""
    global _given
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    _given = cleaner


def cleaner_for(model_path: str) -> Cleaner:
    """This process's Cleaner for ``model_path``, loaded once (reloaded if the file changes)."""
    try:
        st = os.stat(model_path)
        key = (model_path, st.st_mtime_ns, st.st_size)
    except OSError:  # Cleaner() below raises a ModelError that says what is wrong
        key = (model_path, 0, 0)
    cleaner = _cache.get(key)
    if cleaner is None:
        cleaner = Cleaner(model_path)
        _cache.clear()
        _cache[key] = cleaner
    return cleaner


def summarize(
    text: str, units: Sequence[Unit], labels: Sequence[int], keep: Sequence[str], spans: bool
) -> DocResult:
    """A document's cleaned text with what was kept and dropped, by label."""
    chosen = {LABEL_INDEX[label] for label in keep}
    counts = Counter(labels)
    kept = {LABELS[i]: n for i, n in counts.items() if i in chosen}
    dropped = {LABELS[i]: n for i, n in counts.items() if i not in chosen}
    kept_chars = sum(len(u.text) for u, label in zip(units, labels) if label in chosen)
    total_chars = sum(len(u.text) for u in units)
    return DocResult(
        join_kept(text, units, labels, chosen), kept, dropped, kept_chars, total_chars,
        [(u.start, u.end, LABELS[label]) for u, label in zip(units, labels)] if spans else None,
    )


def clean_batch(
    model: str | Cleaner | None, texts: Sequence[str], keep: Sequence[str],
    units: bool = False,
) -> list[DocResult]:
    """Clean ``texts`` with ``model``: a path (loaded once per process), a Cleaner, or
    None for the Cleaner this worker process was started with."""
    if isinstance(model, Cleaner):
        cleaner = model
    elif model is None:
        if _given is None:
            raise RuntimeError("this process was not started with a Cleaner")
        cleaner = _given
    else:
        cleaner = cleaner_for(model)
    keep = check_labels(keep)
    return [summarize(text, doc_units, labels, keep, units)
            for text, (doc_units, labels) in zip(texts, cleaner.label_many(texts))]


def resolve_model(model: str | os.PathLike[str] | Cleaner | None) -> str | Cleaner:
    """An absolute model path (so workers find the same file), or the given Cleaner."""
    if isinstance(model, Cleaner):
        return model
    return os.path.abspath(os.fspath(model) if model is not None else default_model_path())


def effective_jobs(n_jobs: int) -> int:
    """joblib's convention: ``-1`` is every core, ``-2`` all but one, and so on."""
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0")
    return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)


class Pool:
    """Runs ``clean_batch`` tasks in order: inline for one job, else on loky workers.

    ``submit`` returns a future; callers keep at most ``max_pending`` unfinished so that
    memory stays bounded however long the input is.
    """

    def __init__(
        self, n_jobs: int, model: str | Cleaner, keep: Sequence[str], units: bool
    ) -> None:
        self.n_jobs = effective_jobs(n_jobs)
        self.model, self.keep, self.units = model, tuple(keep), units
        self.max_pending = 2 * self.n_jobs + 1 if self.n_jobs > 1 else 1
        self._executor = None
        # What a task names its model by: the path (each worker loads it once), or, for a
        # Cleaner object, None: the workers get it once, when they start.
        self._task_model: str | Cleaner | None = model
        if self.n_jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            given = model if isinstance(model, Cleaner) else None
            self._task_model = None if given is not None else model
            self._executor = get_reusable_executor(
                max_workers=self.n_jobs, timeout=60, env=_WORKER_ENV,
                initializer=_init_worker, initargs=(given,),
            )

    def submit(self, texts: Sequence[str]) -> Future[list[DocResult]]:
        if self._executor is None:
            future: Future[list[DocResult]] = Future()
            future.set_result(clean_batch(self.model, texts, self.keep, self.units))
            return future
        if not _CAN_BLOCK:
            return self._executor.submit(clean_batch, self._task_model, list(texts),
                                         self.keep, self.units)
        # Workers (and loky's manager thread) are started inside submit: with the stop
        # signals blocked in this thread they inherit the blocked mask, so a Ctrl-C that
        # arrives before their initializer ignores it cannot kill them. One that arrives
        # meanwhile is delivered to this process when the mask is restored.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            return self._executor.submit(clean_batch, self._task_model, list(texts),
                                         self.keep, self.units)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def terminate(self) -> None:
        """Stop the workers at once (after Ctrl-C); the next Pool starts new ones."""
        if self._executor is not None:
            # loky drops the queued tasks when it kills its workers but not their ids,
            # and its manager thread then fails on them (KeyError, a traceback on
            # stderr): forget the ids first.
            work_ids = getattr(self._executor, "_work_ids", None)
            if work_ids is not None:
                try:
                    while True:
                        work_ids.get_nowait()
                except queue.Empty:
                    pass
            self._executor.shutdown(wait=False, kill_workers=True)
            self._executor = None


def batches(
    texts: Iterable[str], max_docs: int = 32, max_chars: int = 1 << 18
) -> Iterator[list[str]]:
    """Group ``texts`` into lists of at most ``max_docs`` documents or about ``max_chars``."""
    batch: list[str] = []
    size = 0
    for text in texts:
        batch.append(text)
        size += len(text)
        if len(batch) >= max_docs or size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def clean_many(
    texts: Iterable[str],
    keep: Sequence[str] = DEFAULT_KEEP,
    n_jobs: int = 1,
    model: str | os.PathLike[str] | Cleaner | None = None,
) -> list[str]:
    """``clean`` every text, on ``n_jobs`` processes (``-1``: all cores), in input order.

    The model (default: ``Cleaner()``'s) is loaded once per process, not once per text;
    the result does not depend on ``n_jobs``.
    """
    keep = check_labels(keep)
    resolved = resolve_model(model)
    if not isinstance(resolved, Cleaner):
        cleaner_for(resolved)  # a missing or bad model fails here, with a clear ModelError
    pool = Pool(n_jobs, resolved, keep, units=False)
    out: list[str] = []
    pending: deque[Future[list[DocResult]]] = deque()
    try:
        with single_threaded_blas():
            for batch in batches(texts):
                pending.append(pool.submit(batch))
                while len(pending) > pool.max_pending:
                    out.extend(r.cleaned for r in pending.popleft().result())
            while pending:
                out.extend(r.cleaned for r in pending.popleft().result())
    except BaseException:
        pool.terminate()
        raise
    return out
