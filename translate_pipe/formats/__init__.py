"""Glossary exchange formats: CSV/TSV, PO (gettext) and TBX (TBX-Basic 2008 and TBX v3).

Pure readers and writers of :class:`~translate_pipe.records.Term` lists; no database, no
printing.  Every reader is all or nothing: it returns every entry of the file or raises
:class:`~translate_pipe.errors.FormatError` naming the file and the line (CSV, PO) or the
entry (TBX), and nothing is returned partially.  Every writer is deterministic (entries
sorted by ``(source, context)``, no timestamps unless asked) and lossless: reading back a
file we wrote gives the same terms, every field included.

This module is the public face and the format table (:data:`TABLE`: name, file extensions,
reader, writer and export check of each format).  The rules shared by all formats and the
records they return live in :mod:`.common`; format specifics are documented in
:mod:`.csvfmt`, :mod:`.po` and :mod:`.tbx`.  Adding a format is one module and one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from translate_pipe.errors import FormatError
from translate_pipe.files import DEFAULT_MAX_INPUT_BYTES, atomic_write, read_bytes
from translate_pipe.formats.common import (
    STATUSES,
    GlossaryFile,
    Located,
    check_read_terms,
    decode_utf8,
    term_problem,
)
from translate_pipe.records import Term

__all__ = [
    "FORMATS",
    "STATUSES",
    "TABLE",
    "GlossaryFile",
    "Located",
    "detect_format",
    "dumps_glossary",
    "read_glossary",
    "write_glossary",
]

TBX_VERSIONS: tuple[str, ...] = ("basic", "v3")


@dataclass(frozen=True)
class ExportOptions:
    """What a writer needs besides the terms."""

    source_lang: str
    target_lang: str
    name: str = ""
    tbx_version: str = "basic"
    include_dates: bool = False


Reader = Callable[[Path, bytes, str, str], tuple[Sequence[Located], str, str]]
Writer = Callable[[Sequence[Term], ExportOptions], str]


@dataclass(frozen=True)
class Format:
    """One row of the format table."""

    name: str
    extensions: tuple[str, ...]
    read: Reader  # (path, bytes, source_lang, target_lang) -> (located terms, source, target)
    dumps: Writer  # terms already sorted and checked
    export_problem: Callable[[Term], str]  # why a term cannot be written losslessly, or ""


# --------------------------------------------------------------------------- the table
# Submodules are imported inside the adapters: polib and expat load only when used.


def _read_delimited(delimiter: str) -> Reader:
    def read(path: Path, data: bytes, source_lang: str, target_lang: str) -> tuple[Sequence[Located], str, str]:
        from translate_pipe.formats import csvfmt

        return csvfmt.read_csv(path, decode_utf8(path, data), delimiter=delimiter), source_lang, target_lang

    return read


def _dumps_delimited(delimiter: str) -> Writer:
    def dumps(terms: Sequence[Term], options: ExportOptions) -> str:
        from translate_pipe.formats import csvfmt

        return csvfmt.dumps_csv(terms, delimiter=delimiter)

    return dumps


def _delimited_problem() -> Callable[[Term], str]:
    def problem(term: Term) -> str:
        lists = (("variant", term.variants), ("source plural", term.source_plurals))
        for name, values in (*lists, ("blocking context", term.blocked_in)):
            for variant in values:
                if "|" in variant:
                    return (
                        f"{name} {variant!r} of {term.source!r} contains '|', the variant separator; "
                        "export as PO or TBX instead"
                    )
        return ""

    return problem


def _read_po(path: Path, data: bytes, source_lang: str, target_lang: str) -> tuple[Sequence[Located], str, str]:
    from translate_pipe.formats import po

    decode_utf8(path, data)
    return po.read_po(path, data, source_lang=source_lang, target_lang=target_lang)


def _dumps_po(terms: Sequence[Term], options: ExportOptions) -> str:
    from translate_pipe.formats import po

    return po.dumps_po(
        terms,
        source_lang=options.source_lang,
        target_lang=options.target_lang,
        name=options.name,
        include_dates=options.include_dates,
    )


def _read_tbx(path: Path, data: bytes, source_lang: str, target_lang: str) -> tuple[Sequence[Located], str, str]:
    from translate_pipe.formats import tbx

    decode_utf8(path, data)
    return tbx.read_tbx(path, data, source_lang=source_lang, target_lang=target_lang)


def _dumps_tbx(terms: Sequence[Term], options: ExportOptions) -> str:
    from translate_pipe.formats import tbx

    return tbx.dumps_tbx(
        terms,
        source_lang=options.source_lang,
        target_lang=options.target_lang,
        name=options.name,
        version=options.tbx_version,
    )


def _tbx_problem(term: Term) -> str:
    from translate_pipe.formats import tbx

    bad = tbx.xml_invalid_char(term)
    if bad:
        return f"the entry for {term.source!r} contains U+{ord(bad):04X}, which XML 1.0 cannot carry"
    return ""


def _no_problem(term: Term) -> str:
    return ""


TABLE: dict[str, Format] = {
    f.name: f
    for f in (
        Format("csv", (".csv",), _read_delimited(","), _dumps_delimited(","), _delimited_problem()),
        Format("tsv", (".tsv", ".tab"), _read_delimited("\t"), _dumps_delimited("\t"), _delimited_problem()),
        Format("po", (".po", ".pot"), _read_po, _dumps_po, _no_problem),
        Format("tbx", (".tbx",), _read_tbx, _dumps_tbx, _tbx_problem),
    )
}
FORMATS: tuple[str, ...] = tuple(TABLE)
_EXTENSIONS = {ext: f.name for f in TABLE.values() for ext in f.extensions}


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

        root = tbx.sniff_root(path, read_bytes(path, "glossary file"))
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
    max_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
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
    name = _check_format_name(fmt) if fmt is not None else detect_format(path)
    data = read_bytes(path, "glossary file", max_bytes)
    items, src, tgt = TABLE[name].read(path, data, source_lang, target_lang)
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
    options = ExportOptions(
        source_lang=source_lang,
        target_lang=target_lang,
        name=name,
        tbx_version=tbx_version,
        include_dates=include_dates,
    )
    return TABLE[fmt].dumps(ordered, options)


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
    written when serialisation fails.  A new file follows the umask; an existing file keeps
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


def check_export_terms(terms: Sequence[Term], fmt: str) -> None:
    """Raise :class:`FormatError` if ``terms`` cannot be written losslessly as ``fmt``."""
    seen: set[tuple[str, str]] = set()
    for term in terms:
        problem = term_problem(term) or TABLE[fmt].export_problem(term)
        if problem:
            raise FormatError(f"cannot export as {fmt}: {problem}")
        key = (term.source, term.context)
        if key in seen:
            raise FormatError(
                f"cannot export as {fmt}: duplicate source term {term.source!r}"
                f"{f' with context {term.context!r}' if term.context else ''}"
            )
        seen.add(key)


def _check_format_name(fmt: str) -> str:
    name = fmt.lower().lstrip(".")
    if name not in TABLE:
        raise FormatError(f"unknown glossary format {fmt!r}; use one of {', '.join(FORMATS)}")
    return name
