"""Reading user files with clear errors, and writing outputs atomically.

Users point the cleaner at whatever they have: a missing path, a directory, an image, a
Latin-1 file, a gzip file. Each must give a one-line error naming the file (and line),
never a traceback. Outputs must never be half-written: a reader sees the old file or the
complete new one, and a failure leaves no temporary file behind.
"""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

import pytest

from cleaner.atomic import AtomicOutput
from cleaner.errors import CleanerError
from cleaner.fileio import atomic_write_bytes, atomic_write_text, decode, read_bytes, read_text_file

TEXT = "Headline\r\n\r\nCaf\u00e9 \u00a0\u200b \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627\nend"


def temp_files(directory: Path) -> list[Path]:
    return list(directory.rglob(".cleaner-*"))


def raise_enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDisk:
    """A binary file that takes ``budget`` bytes and then fails like a full disk."""

    def __init__(self, f, budget: int) -> None:
        self.f, self.budget = f, budget

    def write(self, data: bytes) -> int:
        self.budget -= len(data)
        if self.budget < 0:
            raise_enospc()
        return self.f.write(data)

    def __getattr__(self, name: str):
        return getattr(self.f, name)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def full_disk(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k), budget))


# --------------------------------------------------------------------------- reading


def test_text_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    # No newline translation: CRLF, a missing final newline, NBSP and zero-width stay.
    assert read_text_file(str(path)) == TEXT


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfHello\n")
    assert read_text_file(str(path)) == "Hello\n"


def test_gzip_files_are_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "a.txt.gz"
    path.write_bytes(gzip.compress(TEXT.encode("utf-8")))
    assert read_bytes(str(path)) == TEXT.encode("utf-8")
    assert read_text_file(str(path)) == TEXT


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(CleanerError) as info:
        read_text_file(str(path))
    assert str(info.value) == f"{path}: no such file"
    with pytest.raises(CleanerError, match="no such file"):
        read_bytes(str(tmp_path / "missing.txt.gz"))


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(CleanerError) as info:
        read_text_file(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: is a directory"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x", encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(CleanerError, match="permission denied"):
            read_text_file(str(path))
    finally:
        path.chmod(0o644)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(CleanerError) as info:
        read_text_file(str(path))
    assert info.value.path == str(path)
    assert "binary file" in info.value.message
    # ... even when undecodable bytes are to be replaced: NUL bytes mean "not text".
    with pytest.raises(CleanerError, match="binary file"):
        read_text_file(str(path), errors="replace")


def test_non_utf8_file_names_the_line_and_how_to_fix_it(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("First line\nSecond line\nCaf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(CleanerError) as info:
        read_text_file(str(path))
    error = info.value
    assert (error.path, error.line) == (str(path), 3)
    assert str(error).startswith(f"{path}:3: not valid utf-8 (byte 0xe9")
    assert "--encoding" in error.message
    # The two ways out the message offers both work.
    assert read_text_file(str(path), encoding="latin-1").endswith("Caf\u00e9 au lait\n")
    assert read_text_file(str(path), errors="replace").endswith("Caf\ufffd au lait\n")


def test_unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CleanerError, match="unknown encoding 'klingon'"):
        read_text_file(str(path), encoding="klingon")


def test_decode_other_encodings() -> None:
    # UTF-16 is full of NUL bytes, but is text when the user says so.
    assert decode("Gr\u00fc\u00dfe".encode("utf-16"), "f", encoding="utf-16") == "Gr\u00fc\u00dfe"
    with pytest.raises(CleanerError) as info:
        decode(b"ok\n\xff\n", "stdin")
    assert (info.value.path, info.value.line) == ("stdin", 2)


@pytest.mark.parametrize("damage", ["truncated", "not-gzip"])
def test_corrupt_gzip_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "a.txt.gz"
    data = gzip.compress(os.urandom(50_000))
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"plain text\n")
    with pytest.raises(CleanerError) as info:
        read_text_file(str(path))
    assert info.value.path == str(path)
    assert "corrupt or truncated gzip file" in info.value.message


# --------------------------------------------------------------------- atomic writing


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    atomic_write_text(str(path), TEXT)
    assert path.read_bytes() == TEXT.encode("utf-8")
    atomic_write_text(str(path), "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    atomic_write_bytes(str(path), b"")
    assert path.read_bytes() == b""
    assert temp_files(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_atomic_write_gives_normal_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = tmp_path / "new.txt"
        atomic_write_text(str(path), "x")
        # Like open(): 0o666 minus the umask, not mkstemp's private 0o600.
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o640)
        atomic_write_text(str(path), "y")
        assert path.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
    finally:
        os.umask(umask)


def test_readers_see_the_old_file_while_the_new_one_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n", encoding="utf-8")
    seen: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        seen.append(path.read_text(encoding="utf-8"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write_text(str(path), "new\n")
    assert seen == ["old\n"]
    assert path.read_text(encoding="utf-8") == "new\n"


def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n", encoding="utf-8")
    full_disk(monkeypatch, budget=10)
    with pytest.raises(CleanerError) as info:
        atomic_write_text(str(path), "a new text that is longer than ten bytes\n")
    assert str(info.value) == f"{path}: cannot write file (No space left on device)"
    assert path.read_text(encoding="utf-8") == "old\n"
    assert temp_files(tmp_path) == []


def test_a_failure_never_leaves_a_partial_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.txt"
    full_disk(monkeypatch, budget=10)
    with pytest.raises(CleanerError):
        atomic_write_text(str(path), "0123456789" * 100)
    assert not path.exists()
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_an_interrupt_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n", encoding="utf-8")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, where, interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(str(path), "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert temp_files(tmp_path) == []


def test_writing_into_a_missing_directory_or_over_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CleanerError) as info:
        atomic_write_text(str(tmp_path / "no-such-dir" / "out.txt"), "x")
    assert info.value.path == str(tmp_path / "no-such-dir" / "out.txt")
    assert "cannot write file" in info.value.message
    (tmp_path / "taken").mkdir()
    with pytest.raises(CleanerError, match="cannot write file"):
        atomic_write_text(str(tmp_path / "taken"), "x")
    assert (tmp_path / "taken").is_dir()
    assert temp_files(tmp_path) == []


# ------------------------------------------------------------- streamed atomic output


def test_streamed_output_appears_only_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    out = AtomicOutput(str(path))
    out.write(b"one\n")
    out.write(b"two\n")
    assert path.read_bytes() == b"old\n"
    out.commit()
    assert path.read_bytes() == b"one\ntwo\n"
    assert temp_files(tmp_path) == []
    out.abort()  # after a commit: nothing to discard, the output stays
    assert path.read_bytes() == b"one\ntwo\n"


def test_streamed_output_abort_discards_everything(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    out = AtomicOutput(str(path))
    out.write(b"partial\n")
    out.abort()
    out.abort()  # safe twice
    assert not path.exists()
    assert temp_files(tmp_path) == []


def test_streamed_gzip_output_is_readable_and_reproducible(tmp_path: Path) -> None:
    # The same input gives the same file, whenever it is written.
    path = tmp_path / "a.jsonl.gz"
    outputs = []
    for _ in range(2):
        out = AtomicOutput(str(path), compress=True)
        out.write(b'{"text": "x"}\n' * 100)
        out.commit()
        outputs.append(path.read_bytes())
    assert gzip.decompress(outputs[0]) == b'{"text": "x"}\n' * 100
    assert outputs[0] == outputs[1]


def test_streamed_output_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    full_disk(monkeypatch, budget=100)
    out = AtomicOutput(str(path))
    out.write(b"x" * 50)
    with pytest.raises(CleanerError) as info:
        out.write(b"x" * 100)
    assert str(info.value) == f"{path}: cannot write file (No space left on device)"
    assert path.read_bytes() == b"old\n"
    assert temp_files(tmp_path) == []


def test_streamed_output_failing_to_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    out = AtomicOutput(str(path))
    out.write(b"data\n")
    monkeypatch.setattr(os, "replace", raise_enospc)
    with pytest.raises(CleanerError, match="cannot write file"):
        out.commit()
    monkeypatch.undo()
    assert not path.exists()
    assert temp_files(tmp_path) == []


def test_streamed_output_into_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "out.jsonl"
    with pytest.raises(CleanerError) as info:
        AtomicOutput(str(path))
    assert info.value.path == str(path)

