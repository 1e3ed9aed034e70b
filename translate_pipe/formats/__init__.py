"""Glossary exchange formats: CSV/TSV, PO (gettext) and TBX (TBX-Basic 2008 and TBX v3).

Pure readers and writers of :class:`~translate_pipe.records.Term` lists; no database, no
printing.  Every reader is all or nothing: it returns every entry of the file or raises
:class:`~translate_pipe.errors.FormatError` naming the file and the line (CSV, PO) or the
entry (TBX), and nothing is returned partially.  Every writer is deterministic (entries
sorted by ``(source, context)``, no timestamps unless asked) and lossless: reading back a
file we wrote gives the same terms, every field included.

Rules shared by all formats (checked on read and on write):

* ``source`` and ``target`` must not be empty or blank;
* ``(source, context)`` is unique in a file;
* ``status`` is ``"approved"`` or ``"deprecated"``;
* variants are non-empty, trimmed, single-line strings (readers trim and drop empty ones);
* no NUL characters anywhere.

Format specifics are documented in :mod:`.csvfmt`, :mod:`.po` and :mod:`.tbx`.
"""

from __future__ import annotations

import contextlib

import codecs
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from translate_pipe.errors import FormatError, InputError
from translate_pipe.records import Term

__all__ = [
    "FORMATS",
    "STATUSES",
    "GlossaryFile",
    "detect_format",
    "dumps_glossary",
    "read_glossary",
    "write_glossary",
]

FORMATS: tuple[str, ...] = ("csv", "tsv", "po", "tbx")
STATUSES: tuple[str, ...] = ("approved", "deprecated")
TBX_VERSIONS: tuple[str, ...] = ("basic", "v3")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".po": "po",
    ".pot": "po",
    ".tbx": "tbx",
}


@dataclass(frozen=True)
class GlossaryFile:
    """The content of one glossary file: its terms (in file order) and its language pair."""

    terms: tuple[Term, ...]
    source_lang: str
    target_lang: str


class Located(NamedTuple):
    """A term as read, with where it was found ("line 12", "termEntry 3 (id 'x', line 40)")."""

    term: Term
    where: str


# --------------------------------------------------------------------------- public API


def detect_format(path: Path) -> str:
    """Return ``"csv"``, ``"tsv"``, ``"po"`` or ``"tbx"`` from the file name.

    ``.xml`` files are TBX when their root element is ``martif`` or ``tbx`` (the file is
    read to find out).  Raises :class:`FormatError` for anything else.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if suffix == ".xml":
        from translate_pipe.formats import tbx

        root = tbx.sniff_root(path, _read_bytes(path))
        if root in ("martif", "tbx"):
            return "tbx"
        raise FormatError(
            f"{path}: XML root element is <{root}>, not a TBX <martif> or <tbx>; "
            "only TBX glossaries are supported"
        )
    raise FormatError(
        f"{path}: unknown glossary format {suffix or '(no extension)'!r}; "
        "use a .csv, .tsv, .po or .tbx file or name the format explicitly"
    )


def read_glossary(
    path: Path,
    fmt: str | None = None,
    *,
    source_lang: str = "ar",
    target_lang: str = "en",
) -> GlossaryFile:
    """Read a glossary file, all or nothing.

    ``source_lang``/``target_lang`` are used as they are for CSV/TSV (which carry no
    languages).  PO files take them from the header (``X-Source-Language``, ``Language``),
    falling back to these values.  TBX files carry their own languages (``xml:lang``); these
    values only choose which two languages to read when the file has more than two, or which
    one is the source (see :mod:`.tbx`).

    A missing or unreadable file raises :class:`InputError`; bad content raises
    :class:`FormatError` (file and line/entry named) and nothing is returned.
    """
    path = Path(path)
    fmt = _check_format_name(fmt) if fmt is not None else detect_format(path)
    data = _read_bytes(path)
    if fmt in ("csv", "tsv"):
        from translate_pipe.formats import csvfmt

        text = decode_utf8(path, data)
        items = csvfmt.read_csv(path, text, delimiter="\t" if fmt == "tsv" else ",")
        src, tgt = source_lang, target_lang
    elif fmt == "po":
        from translate_pipe.formats import po

        decode_utf8(path, data)
        items, src, tgt = po.read_po(path, data, source_lang=source_lang, target_lang=target_lang)
    else:
        from translate_pipe.formats import tbx

        decode_utf8(path, data)
        items, src, tgt = tbx.read_tbx(path, data, source_lang=source_lang, target_lang=target_lang)
    return GlossaryFile(terms=check_read_terms(path, items), source_lang=src, target_lang=tgt)


def dumps_glossary(
    terms: Iterable[Term],
    fmt: str,
    *,
    source_lang: str,
    target_lang: str,
    name: str = "",
    tbx_version: str = "basic",
    include_dates: bool = False,
) -> str:
    """Serialise terms in ``fmt`` (``csv``, ``tsv``, ``po``, ``tbx``) and return the text.

    Entries are sorted by ``(source, context)``.  ``name`` is the glossary name (PO
    ``Project-Id-Version``, TBX title; unused by CSV).  ``tbx_version`` is ``"basic"``
    (TBX-Basic, ISO 30042:2008, the default) or ``"v3"`` (ISO 30042:2019).
    ``include_dates`` adds ``POT-Creation-Date``/``PO-Revision-Date`` to a PO header (other
    formats never carry dates).  Raises :class:`FormatError` when a term cannot be written
    losslessly in that format.
    """
    fmt = _check_format_name(fmt)
    if tbx_version not in TBX_VERSIONS:
        raise FormatError(
            f"unknown TBX version {tbx_version!r}; use one of {', '.join(TBX_VERSIONS)}"
        )
    ordered = sorted(terms, key=lambda t: (t.source, t.context))
    check_export_terms(ordered, fmt)
    if fmt in ("csv", "tsv"):
        from translate_pipe.formats import csvfmt

        return csvfmt.dumps_csv(ordered, delimiter="\t" if fmt == "tsv" else ",")
    if fmt == "po":
        from translate_pipe.formats import po

        return po.dumps_po(
            ordered,
            source_lang=source_lang,
            target_lang=target_lang,
            name=name,
            include_dates=include_dates,
        )
    from translate_pipe.formats import tbx

    return tbx.dumps_tbx(
        ordered, source_lang=source_lang, target_lang=target_lang, name=name, version=tbx_version
    )


def write_glossary(
    path: Path,
    terms: Iterable[Term],
    fmt: str | None = None,
    *,
    source_lang: str,
    target_lang: str,
    name: str = "",
    tbx_version: str = "basic",
    include_dates: bool = False,
) -> None:
    """Write :func:`dumps_glossary` output to ``path`` atomically (temp file + rename).

    ``fmt`` defaults to the one named by the extension (``.xml`` means TBX).  Nothing is
    written when serialisation fails.  A new file gets mode 0644; an existing file keeps
    its mode.
    """
    path = Path(path)
    if fmt is None:
        suffix = path.suffix.lower()
        fmt = "tbx" if suffix == ".xml" else detect_format(path)
    text = dumps_glossary(
        terms,
        fmt,
        source_lang=source_lang,
        target_lang=target_lang,
        name=name,
        tbx_version=tbx_version,
        include_dates=include_dates,
    )
    atomic_write(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- helpers


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, fsync it, rename it over ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
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


def decode_utf8(path: Path, data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or raise :class:`FormatError` naming the line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FormatError(f"{path}: the file is UTF-16; save it as UTF-8 and try again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(
            f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02X}); "
            "save the file as UTF-8 and try again"
        ) from None
    return text.removeprefix("\ufeff")


def check_read_terms(path: Path, items: Sequence[Located]) -> tuple[Term, ...]:
    """Apply the shared rules to terms read from ``path``; all or nothing."""
    seen: dict[tuple[str, str], str] = {}
    for term, where in items:
        problem = term_problem(term)
        if problem:
            raise FormatError(f"{path}: {where}: {problem}")
        key = (term.source, term.context)
        if key in seen:
            ctx = f" with context {term.context!r}" if term.context else ""
            raise FormatError(
                f"{path}: {where}: duplicate source term {term.source!r}{ctx} "
                f"(first at {seen[key]}); merge the two entries or give them different contexts"
            )
        seen[key] = where
    return tuple(item.term for item in items)


def term_problem(term: Term) -> str:
    """Return why ``term`` breaks the shared rules, or ``""``."""
    if not term.source.strip():
        return "empty source term"
    if not term.target.strip():
        return f"empty target for source term {term.source!r}"
    if term.status not in STATUSES:
        return (
            f"unknown status {term.status!r} for source term {term.source!r}; "
            f"use one of {', '.join(STATUSES)}"
        )
    for variant in term.variants:
        if not variant.strip():
            return f"empty variant for source term {term.source!r}"
        if variant != variant.strip() or "\n" in variant or "\r" in variant:
            return f"variant {variant!r} of {term.source!r} has surrounding spaces or line breaks"
    fields = (term.source, term.target, term.note, term.domain, term.context, *term.variants)
    if any("\x00" in value for value in fields):
        return f"NUL character in the entry for source term {term.source!r}"
    return ""


def check_export_terms(terms: Sequence[Term], fmt: str) -> None:
    """Raise :class:`FormatError` if ``terms`` cannot be written losslessly as ``fmt``."""
    seen: set[tuple[str, str]] = set()
    for term in terms:
        problem = term_problem(term)
        if problem:
            raise FormatError(f"cannot export as {fmt}: {problem}")
        key = (term.source, term.context)
        if key in seen:
            raise FormatError(
                f"cannot export as {fmt}: duplicate source term {term.source!r}"
                f"{f' with context {term.context!r}' if term.context else ''}"
            )
        seen.add(key)
        if fmt in ("csv", "tsv"):
            for variant in term.variants:
                if "|" in variant:
                    raise FormatError(
                        f"cannot export as {fmt}: variant {variant!r} of {term.source!r} "
                        "contains '|', the variant separator; export as PO or TBX instead"
                    )
        if fmt == "tbx":
            from translate_pipe.formats import tbx

            bad = tbx.xml_invalid_char(term)
            if bad:
                raise FormatError(
                    f"cannot export as tbx: the entry for {term.source!r} contains "
                    f"U+{ord(bad):04X}, which XML 1.0 cannot carry"
                )


def _check_format_name(fmt: str) -> str:
    name = fmt.lower().lstrip(".")
    if name not in FORMATS:
        raise FormatError(f"unknown glossary format {fmt!r}; use one of {', '.join(FORMATS)}")
    return name


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a glossary file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
