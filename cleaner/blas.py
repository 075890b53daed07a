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
from typing import Any

_controller: Any = None


def one_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS uses one thread; a no-op without threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn depends on it
            _controller = False
        else:
            _controller = ThreadpoolController()
    if _controller is False:
        return contextlib.nullcontext()
    return _controller.limit(limits=1, user_api="blas")
