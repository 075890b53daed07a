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
import sys
from collections.abc import Iterator
from typing import Any

_libraries: Any = ()  # the BLAS libraries' threadpoolctl controllers
_modules_seen = -1  # len(sys.modules) when they were looked for


def one_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS uses one thread; a no-op without threadpoolctl.

    The libraries are looked for again whenever modules were imported since the last look
    (3 ms a look): a BLAS comes with the extension module that loads it, and scipy's own
    OpenBLAS, say, may be loaded after the first ``clean`` (found on scipy 1.10, whose
    sparse module loads it). Between imports a call costs one ``len``.
    """
    global _libraries, _modules_seen
    if len(sys.modules) != _modules_seen:
        _libraries = _blas_libraries()
        _modules_seen = len(sys.modules)
    return _limited(_libraries)


def _blas_libraries() -> tuple:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return ()
    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


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
