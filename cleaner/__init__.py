"""cleaner: keep the article, drop the rest, from the plain text of web pages.

    >>> from cleaner import clean
    >>> clean(text)                      # title and body, paragraphs kept
    >>> classify(text)                   # every unit with its label and what decided it
"""

from .api import Cleaner, LineResult, classify, clean, default_model_path
from .errors import CleanerError, DataError, ModelError
from .labels import DEFAULT_KEEP, DEFINITIONS, LABELS
from .parallel import clean_many as clean_many

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_KEEP", "DEFINITIONS", "LABELS", "Cleaner", "CleanerError", "DataError",
    "LineResult", "ModelError", "classify", "clean", "clean_many", "default_model_path",
]
