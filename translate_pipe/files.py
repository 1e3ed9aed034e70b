"""Files of the user: reading and decoding inputs, output planning, and the one atomic write.

Every module that reads a user's file or writes one goes through here, so that the same
mistakes get the same message everywhere:

* :func:`read_bytes` -- missing file, directory, unreadable file -> :class:`InputError`;
* :func:`decode_utf8` -- UTF-16, invalid UTF-8 (with the line) -> the caller's error class;
  a BOM is removed;
* :func:`read_input` -- a document to translate (a path or ``-`` for standard input): also
  refuses empty, invisible-only and binary input;
* :func:`plan_outputs` -- where each translation goes, refusing collisions and overwriting
  the input;
* :func:`atomic_write` -- temporary file next to the target, fsync, rename; an existing
  file keeps its mode, a new one follows the umask.

Nothing here knows about the database or the model.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, PipeError

STDIN = "-"


@dataclass(frozen=True)
class InputDoc:
    """A document to translate: where it came from and its text."""

    name: str  # path as given, or "-" for standard input
    text: str

    @property
    def is_stdin(self) -> bool:
        return self.name == STDIN

    @property
    def label(self) -> str:
        """How messages name the document."""
        return "<stdin>" if self.is_stdin else self.name


# -- reading ----------------------------------------------------------------------------------
DEFAULT_MAX_INPUT_BYTES = 256 * 1024 * 1024
"""Largest file or stream read (``--max-input-size``): an endless stream (``/dev/zero``, a
pipe that never closes) is refused once this many bytes were read, instead of filling memory."""

_READ_BLOCK = 1 << 20


def read_limited(
    handle: BinaryIO, name: object, limit: int | None, error: type[PipeError] = InputError
) -> bytes:
    """All bytes of an open stream, but no more than ``limit`` (None: no limit).  A regular
    file is read in one piece of its size (no second copy to join the pieces)."""
    if limit is None:
        return handle.read()
    try:
        first = os.fstat(handle.fileno()).st_size + 1  # one more: to see it did not grow
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        first = _READ_BLOCK
    parts: list[bytes] = []
    size = 0
    while True:
        block = handle.read(min(max(first, _READ_BLOCK) if not parts else _READ_BLOCK, limit + 1 - size))
        if not block:
            return b"".join(parts)
        parts.append(block)
        size += len(block)
        if size > limit:
            raise error(
                f"{name}: larger than the input size limit of {format_size(limit)}; "
                "raise it with --max-input-size (e.g. --max-input-size 1G)"
            )


def format_size(n: int) -> str:
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n} bytes"


def parse_size(text: str) -> int:
    """``"64M"`` -> 67108864 (suffixes K, M, G; plain bytes otherwise)."""
    value = text.strip().upper().removesuffix("B")
    factor = 1
    if value[-1:] in ("K", "M", "G"):
        factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[value[-1]]
        value = value[:-1]
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"{text!r} is not a size; give bytes or a number with K, M or G (e.g. 512M)")
    return int(value) * factor


def read_bytes(path: Path, what: str = "file", limit: int | None = DEFAULT_MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path`` (at most ``limit``), or an :class:`InputError` saying why not."""
    try:
        with Path(path).open("rb") as handle:
            return read_limited(handle, path, limit)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _utf16(data: bytes) -> str | None:
    """Text of UTF-16 data with a byte order mark; None when there is no BOM."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        return data.decode("utf-16")  # the BOM chooses the byte order and is removed
    except UnicodeDecodeError:
        return None


def decode_utf8(name: object, data: bytes, error: type[PipeError] = InputError, hint: str = "") -> str:
    """UTF-8 (with or without BOM) -> text; else ``error`` naming the line of the bad byte,
    or naming UTF-16 for a file with a UTF-16 byte order mark.

    ``hint`` is what the user should do (default: save the file as UTF-8 and try again).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(f"{name}: the file is UTF-16; {hint or 'save it as UTF-8 and try again'}")
    hint = hint or "save the file as UTF-8 and try again"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{name}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02X}); {hint}") from None
    return text.removeprefix("\ufeff")


def decode_input(name: str, data: bytes) -> str:
    """Bytes of an input document -> text, or an InputError saying what is wrong.

    UTF-8 (a BOM is removed) and UTF-16 with a BOM are decoded."""
    if _blank(data):
        raise InputError(f"{name}: empty input; nothing to translate")
    utf16 = _utf16(data)
    if utf16 is not None:
        if _blank(utf16):
            raise InputError(f"{name}: empty input; nothing to translate")
        return utf16
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file (contains NUL bytes); expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at line {line}); "
            "convert it first, e.g. `iconv -f cp1256 -t utf-8`"
        ) from exc
    text = text.removeprefix("\ufeff")
    if _blank(text):
        raise InputError(f"{name}: empty input; nothing to translate")
    return text


def _blank(data: bytes | str) -> bool:
    """``not data.strip()`` without the copy ``strip`` makes (inputs may be large)."""
    return not data or data.isspace()


def read_input(
    name: str, stdin: Callable[[], BinaryIO | bytes] | None = None, limit: int | None = DEFAULT_MAX_INPUT_BYTES
) -> InputDoc:
    """A document to translate: ``name`` is a path, or ``-`` for the stream (or bytes)
    ``stdin()`` returns; at most ``limit`` bytes are read."""
    if name == STDIN:
        if stdin is None:
            raise InputError("standard input is not available")
        source = stdin()
        data = read_limited(io.BytesIO(source) if isinstance(source, bytes) else source, "<stdin>", limit)
        return InputDoc(STDIN, decode_input("<stdin>", data))
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory; pass the files inside it (e.g. {name}/*.txt)")
    try:
        with path.open("rb") as handle:
            data = read_limited(handle, name, limit)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    return InputDoc(name, decode_input(name, data))


# -- output planning --------------------------------------------------------------------------
def output_name(input_name: str, from_code: str, to_code: str) -> str:
    """``astana-bulletin.ar.txt`` -> ``astana-bulletin.en.txt``; ``x.txt`` -> ``x.en.txt``."""
    base = Path(input_name).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, "txt"
    if stem.endswith("." + from_code):
        stem = stem[: -len(from_code) - 1]
    return f"{stem}.{to_code}.{ext}"


def plan_outputs(
    names: Sequence[str], output_dir: Path | None, from_code: str, to_code: str
) -> list[Path | None]:
    """Output path per input (None for stdin or when no output dir); refuses collisions.

    The output directory is created here (before any model is loaded) and resolved, so the
    stored paths stay valid from any working directory.
    """
    outs: list[Path | None] = []
    seen: dict[Path, str] = {}
    if output_dir is not None and any(n != STDIN for n in names):
        if output_dir.exists() and not output_dir.is_dir():
            raise InputError(f"{output_dir}: exists and is not a directory; choose another --output-dir")
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output directory {output_dir}: {exc.strerror}") from exc
        output_dir = output_dir.resolve()
    for name in names:
        if name == STDIN or output_dir is None:
            outs.append(None)
            continue
        out = output_dir / output_name(name, from_code, to_code)
        if out in seen:
            raise InputError(
                f"{seen[out]} and {name} would both be written to {out}; translate them separately "
                "or rename one"
            )
        if Path(name).resolve() == out.resolve():
            raise InputError(f"{name}: the translation would overwrite the input; use --output-dir")
        seen[out] = name
        outs.append(out)
    return outs


# -- writing ----------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | str | Iterable[str]) -> None:
    """Write ``data`` (text is UTF-8; an iterable of strings is written piece by piece, so a
    long translation is never held whole) to a temporary file next to ``path``, fsync it and
    rename it over ``path``.  An existing file keeps its mode; a new one gets ``0o666 & ~umask``.
    Nothing is left behind on failure.  The parent directory is created when missing."""
    path = Path(path)
    pieces: Iterable[bytes] = (
        [data.encode("utf-8")]
        if isinstance(data, str)
        else [data]
        if isinstance(data, bytes)
        else (p.encode("utf-8") for p in data)
    )
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise
