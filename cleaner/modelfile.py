"""The model file: plain arrays and JSON in one ``.npz``, never pickled objects.

``numpy.load(..., allow_pickle=False)`` cannot run code from the file, and the arrays
mean the same under every scikit-learn release (prediction uses numpy only). The file
carries a format version, the label set and the feature names it was trained with; a file
that does not match this version of cleaner is refused with a clear message.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from .errors import ModelError
from .features import DENSE_NAMES
from .fileio import atomic_write_bytes
from .labels import LABELS
from .model import LineClassifier

FORMAT = "cleaner-model"
FORMAT_VERSION = 1
_META_KEY = "__meta__"


def save_model(path: str, model: LineClassifier, info: dict[str, Any] | None = None) -> None:
    """Write ``model`` (and ``info``: what it was trained on, scores) to ``path``."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "labels": list(LABELS),
        "dense_names": list(DENSE_NAMES),
        "params": model.get_params(),
        "info": info or {},
    }
    arrays = dict(model.to_arrays())
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as e:
        raise ModelError(f"cannot write model ({e.strerror or e})", path) from None


def read_meta(path: str) -> dict[str, Any]:
    return load_model(path)[1]


def load_model(path: str) -> tuple[LineClassifier, dict[str, Any]]:
    """The classifier stored at ``path`` and its metadata, or a ModelError saying why not."""
    if not os.path.exists(path):
        raise ModelError("model file not found", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise ModelError(f"not a readable cleaner model file ({e})", path) from None
    if _META_KEY not in arrays:
        raise ModelError("not a cleaner model file (no metadata)", path)
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"corrupt model metadata ({e})", path) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError("not a cleaner model file", path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"model format version {version} is not supported by this cleaner "
            f"(it reads version {FORMAT_VERSION}); retrain with `cleaner train`",
            path,
        )
    if meta.get("labels") != list(LABELS):
        raise ModelError(
            f"model labels {meta.get('labels')} differ from this cleaner's {list(LABELS)}",
            path,
        )
    if meta.get("dense_names") != list(DENSE_NAMES):
        raise ModelError(
            "model was trained with other features than this cleaner computes; "
            "retrain with `cleaner train`",
            path,
        )
    try:
        model = LineClassifier.from_arrays(meta.get("params", {}), arrays)
    except (TypeError, ValueError) as e:
        raise ModelError(f"incompatible model ({e})", path) from None
    return model, meta
