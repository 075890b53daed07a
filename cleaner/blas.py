"""One BLAS thread while the model predicts.

Stage 2 multiplies small matrices (a document's units by a few hundred columns). With
OpenBLAS free to use every core, each of those products waits for threads to wake and
sync: on a 2-core machine busy with other work that made ``predict_proba`` 10-40x slower
than on one thread (benchmarks/speed.py pins the thread count through the environment, so
it never saw this; users calling ``clean`` do not set it). Parallel work belongs to
processes (``clean_many(n_jobs=...)``, ``cleaner clean -j``), not to BLAS threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_libraries: Any = None  # the BLAS libraries' threadpoolctl controllers, found once


def one_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS uses one thread; a no-op without threadpoolctl."""
    global _libraries
    if _libraries is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn depends on it
            _libraries = ()
        else:
            _libraries = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _limited(_libraries)


@contextlib.contextmanager
def _limited(libraries: tuple) -> Iterator[None]:
    """Each library at one thread, and back to its own count after. Set directly, not
    through ``ThreadpoolController.limit``, which took 11 us a call (every ``clean``
    passes here) reading every library's settings anew."""
    saved = [library.get_num_threads() for library in libraries]
    changed = [(library, threads) for library, threads in zip(libraries, saved)
               if threads is not None and threads != 1]  # (None: it cannot tell)
    for library, _ in changed:
        library.set_num_threads(1)
    try:
        yield
    finally:
        for library, threads in changed:
            library.set_num_threads(threads)
