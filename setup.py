"""Build of the optional C extension; the rest of the configuration is pyproject.toml.

``cleaner._fastcore`` is prediction's per-document hot path (see cleaner/fastcore.py). It
is optional: where it cannot be compiled the package installs without it and numpy does
the same work, several times slower.
"""

import sys

from setuptools import Extension, setup

# Floating point exactly as written: no fused multiply-adds, so the stage-1 sums match
# scipy's bit for bit.
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

setup(ext_modules=[
    Extension("cleaner._fastcore", ["cleaner/_fastcore.c"], extra_compile_args=FLAGS,
              optional=True),
])
