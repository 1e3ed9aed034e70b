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
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
def read_bytes(path: Path, what: str = "file") -> bytes:
    """The bytes of ``path``, or an :class:`InputError` saying why not."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def decode_utf8(name: object, data: bytes, error: type[PipeError] = InputError, hint: str = "") -> str:
    """UTF-8 (with or without BOM) -> text; else ``error`` naming the line of the bad byte.

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
    """Bytes of an input document -> text, or an InputError saying what is wrong."""
    if not data.strip():
        raise InputError(f"{name}: empty input; nothing to translate")
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
    if not text.strip():
        raise InputError(f"{name}: empty input; nothing to translate")
    return text


def read_input(name: str, stdin: Callable[[], bytes] | None = None) -> InputDoc:
    """A document to translate: ``name`` is a path, or ``-`` for ``stdin()``."""
    if name == STDIN:
        if stdin is None:
            raise InputError("standard input is not available")
        return InputDoc(STDIN, decode_input("<stdin>", stdin()))
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory; pass the files inside it (e.g. {name}/*.txt)")
    try:
        data = path.read_bytes()
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


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8) to a temporary file next to ``path``, fsync it and rename
    it over ``path``.  An existing file keeps its mode; a new one gets ``0o666 & ~umask``.
    Nothing is left behind on failure.  The parent directory is created when missing."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
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
            handle.write(payload)
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
