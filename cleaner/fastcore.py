"""Prediction's per-document hot path in C, when the extension is built.

``cleaner/_fastcore.c`` computes, one document at a time, what ``features.featurize_many``,
``hashing.hashed`` and ``LineClassifier._stage2_matrix`` compute with numpy for a batch.
The numpy code is the specification and what training uses; ``tests/test_fastcore.py``
holds the two together (equal features, stage-2 inputs within float rounding). numpy pays
a few microseconds per call, hundreds of calls per document, and a pass over the whole
text per measure; C reads each unit once. Whatever needs a regular expression stays here,
on the few units that need it: Markdown link targets, their share of a unit, and the
section-marker pattern.

A text the C code declines (a character whose lowercase depends on its context, such as
U+0130 or U+03A3) goes the numpy way: ``predict`` returns None for it.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from . import (
    chartable,
    context,
    decode,
    features,
    markdown,
    markers,
    model,
    repeats,
    rules,
    segment,
)
from .blas import one_thread
from .labels import LABELS
from .segment import Unit
from .stopwords import STOPWORDS

if TYPE_CHECKING:
    from .sequence import SequenceNet

try:
    from . import _fastcore
except ImportError:  # built without a C compiler: numpy does all the work
    _fastcore = None

#: Counts whose float32 logarithm is taken from a table made by numpy (as the features
#: were when the model was trained); larger ones, rare, by C's logf.
_LOG_TABLE_SIZE = 1 << 16
_MARKER = features.DENSE_NAMES.index("section_marker")
_TEXT = itemgetter(0)


@lru_cache(maxsize=1)
def _configured() -> bool:
    """Hand the character tables to the C code, once; False if this build's features are
    not the ones this package computes (a stale build): numpy then does the work."""
    if _fastcore is None:
        return False
    if (_fastcore.own_names() != features.OWN_NAMES
            or _fastcore.N_DENSE != len(features.DENSE_NAMES)
            or features.NEIGHBOURS != (-2, -1, 1, 2) or features.WINDOW != 5
            or context.STAGE2_NEIGHBOURS != (-3, -2, -1, 1, 2, 3)
            or context.STAGE2_WINDOW != 8
            or context.LINEAR_NEIGHBOURS != (-2, -1, 1, 2) or context.MARKER_WINDOW != 8
            or _fastcore.DECAY_CHUNK != int(context.DECAY_HALF_LIFE * 16)
            or _fastcore.STAGE2_WIDTH != context._stage2_width(len(LABELS), False)):
        return False
    decay = 0.5 ** (1.0 / context.DECAY_HALF_LIFE)
    steps = np.arange(_fastcore.DECAY_CHUNK, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_table = np.log(np.arange(_LOG_TABLE_SIZE, dtype=np.float32))
    _fastcore.configure(
        chartable._text_codes().astype(np.uint8).tobytes(),
        chartable._joined_codes().astype(np.uint8).tobytes(),
        chartable._edge_table().astype(np.uint16).tobytes(),
        chartable._lower_table().astype(np.uint32).tobytes(),
        log_table.tobytes(),
        (decay ** -steps).tobytes(),
        (decay**steps).tobytes(),
        decay,
        list(markers._MARKER_PIECES),
        [word.encode("utf-8") for word in sorted(STOPWORDS)],
    )
    return True


#: False inside ``disabled()``.
_enabled = True


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within it, every stage takes the numpy and Python way (for measuring and testing
    that path on a machine where the extension is built). Not thread-safe."""
    switches = [(segment, "_line_units"), (segment, "_wrappable_lines"), (segment, "_join_kept"),
                (repeats, "_repeat_pairs"), (decode, "_fast_decide"),
                (rules, "_match_rules"), (markdown, "_link_target_spans")]
    saved = [getattr(module, name) for module, name in switches]
    global _enabled
    _enabled = False
    for module, name in switches:
        setattr(module, name, None)
    try:
        yield
    finally:
        _enabled = True
        for (module, name), value in zip(switches, saved):
            setattr(module, name, value)


def usable(classifier: model.LineClassifier) -> bool:
    """Whether ``predict`` can serve this model."""
    return (_enabled and _configured() and classifier.stages_ is not None
            and len(classifier.dense_mean_) == len(features.DENSE_NAMES)
            and (classifier.sequence_ is None or hasattr(_fastcore, "gru")))


def _doc_inputs(
    classifier: model.LineClassifier, text: str, units: Sequence[Unit],
    rule_labels: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None:
    """(dense features, stage-1 probabilities, linear stage-1 probabilities or None, word
    counts) of one document, or None where numpy must do the work."""
    units = units if isinstance(units, list) else list(units)
    n = len(units)
    texts = list(map(_TEXT, units))
    link_frac = char_pos = None
    if "](" in text:  # features read Markdown with link targets blanked
        link_frac = np.zeros(n, np.float32)
        # markdown.mask_link_targets of each text holding "](" (in place) and
        # markdown.link_share of it: two regular expressions a unit in Python.
        _fastcore.markdown_links(texts, link_frac)
        starts = np.fromiter(map(itemgetter(1), units), np.int64, n)
        char_pos = features._visible_char_pos(
            [(text, units, ())], np.array([len(text)]), starts, np.zeros(n, np.int64),
            np.zeros(1, np.int64))
    table, bias = classifier._stage1_table()
    linear = len(bias) > len(LABELS)
    dense = np.empty((n, len(features.DENSE_NAMES)), np.float32)
    proba = np.empty((n, len(LABELS)), np.float32)
    linear_proba = np.empty((n, len(LABELS)), np.float32) if linear else None
    words = np.empty(n, np.int64)
    candidates = _fastcore.features(
        text, texts, units, np.asarray(rule_labels, np.int8), link_frac, char_pos, table,
        bias, classifier.n_hash_bits, dense, proba, linear_proba, words)
    if candidates is None:
        return None
    found = [i for i in candidates if markers.is_section_marker(texts[i])]
    if found:  # (indexing with an empty list costs a few microseconds all the same)
        dense[found, _MARKER] = 1
    return dense, proba, linear_proba, words


def _forward(net: tuple[np.ndarray, ...], X2: np.ndarray) -> np.ndarray:
    """network._forward with the biases, the ReLU and the softmax in C, in place: for a
    short document the calls around the products cost as much as the products."""
    w1, b1, w2, b2 = net
    h = X2 @ w1
    _fastcore.bias_relu(h, b1)
    z = h @ w2
    _fastcore.softmax(z, b2)
    return z


def _sequence_proba(net: SequenceNet, X2: np.ndarray,
                    spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """``SequenceNet.predict_proba`` with each document's recurrences in C: the products
    run once over all documents, the steps of a GRU one document at a time."""
    h = X2 @ net.w_in_
    _fastcore.bias_relu(h, net.b_in_)
    g, width = net.recurrent, h.shape[1]
    states = []
    for w_x, b_x, w_h, b_h, reverse in ((net.fw_x_, net.fw_bx_, net.fw_h_, net.fw_bh_, False),
                                        (net.bw_x_, net.bw_bx_, net.bw_h_, net.bw_bh_, True)):
        a = h @ w_x
        a += b_x
        out = np.empty((len(h), g), np.float32)
        for start, stop in spans:
            _fastcore.gru(a[start:stop], w_h, b_h, out[start:stop], reverse)
        states.append(out)
    z = h @ net.w_out_[:width]
    z += states[0] @ net.w_out_[width:width + g]
    z += states[1] @ net.w_out_[width + g:]
    _fastcore.softmax(z, net.b_out_)
    return z


def predict(
    classifier: model.LineClassifier,
    docs: Sequence[tuple[str, Sequence[Unit], Sequence[int]]],
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """``classifier.predict_proba`` of each document (``(text, units, rule labels)``, at
    least one unit each) with its units' word counts, or None for a document numpy must
    do; the stage-2 networks run once over all documents."""
    inputs = [_doc_inputs(classifier, *doc) for doc in docs]
    done = [x for x in inputs if x is not None]
    if not done:
        return [None] * len(docs)
    mean, scale = classifier.dense_mean_, classifier.dense_scale_
    bounds = list(itertools.accumulate((len(x[0]) for x in done), initial=0))
    spans = list(zip(bounds, bounds[1:]))
    width = len(mean) + context._stage2_width(len(LABELS), done[0][2] is not None)
    X2 = np.empty((bounds[-1], width), np.float32)
    probas = [x[1] for x in done]
    with one_thread():
        for n_pass, net in enumerate(classifier.stages_):
            for (dense, _, linear, _), proba, (a, b) in zip(done, probas, spans):
                _fastcore.stage2(dense, proba, linear, n_pass == 0, mean, scale, X2[a:b])
            out = _forward(net, X2)
            probas = [out[a:b] for a, b in spans]
        if classifier.sequence_ is not None:  # probas are views of out
            out += _sequence_proba(classifier.sequence_, X2, spans)
            out /= np.float32(2)
    results = iter(zip(probas, (x[3] for x in done)))
    return [None if x is None else next(results) for x in inputs]
