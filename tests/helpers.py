"""Small helpers shared by the tests: running the CLI, JSONL files, rewriting model files."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from cleaner.cli import main

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``cleaner ARGV`` in-process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_stdin(capsys, monkeypatch, data: bytes, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    return run(capsys, *argv)


def subprocess_run(*argv: str, stdin: bytes | None = None, cwd: str | None = None):
    """Run ``python -m cleaner ARGV`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "cleaner", *map(str, argv)],
        input=stdin, capture_output=True, cwd=cwd, env=dict(os.environ), timeout=300,
    )


def write_jsonl(path: Path, records: list, compress: bool = False) -> None:
    data = "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    ).encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)


def read_jsonl(path: Path) -> list[dict]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def no_temp_files(directory: Path) -> bool:
    """True when no ``.cleaner-*.tmp`` file is left anywhere below ``directory``."""
    return not list(directory.rglob(".cleaner-*"))


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


def rewrite_model(src: str, dst, edit) -> None:
    """Copy the model file at ``src`` to ``dst`` with its metadata and arrays changed by
    ``edit(meta, arrays)``."""
    import numpy as np

    with np.load(src, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    edit(meta, arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez_compressed(dst, **arrays)
