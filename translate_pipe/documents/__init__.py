"""Documents in and out with their formatting: ``.txt``, ``.html``, ``.docx``, ``.odt``; PDF
with a text layer as input only (its translation is written as ``.txt``).

Every format reads into :class:`~translate_pipe.documents.markup.Block` objects (text + style
runs) and writes the translated pieces back (:mod:`.markup` explains how the inline markup
follows the word alignment).  The blocks' text, one block per line
(:func:`markup.document_text`), is what the pipeline translates and stores, so documents go
through the same matching, enforcement, alignment and storage as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ..errors import InputError
from ..files import DEFAULT_MAX_INPUT_BYTES
from ..records import SegmentTranslation
from .markup import Block, PlainParts, document_text, translated_blocks

if TYPE_CHECKING:
    from ..files import InputDoc
    from ..pipeline import RunResult

FORMATS = (".txt", ".html", ".htm", ".docx", ".odt", ".pdf")
FORMATTED = (".html", ".htm", ".docx", ".odt", ".pdf")  # handled here rather than as plain text


class FormattedDocument(Protocol):
    blocks: list[Block]
    output_suffix: str

    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None: ...

    def to_bytes(self) -> bytes: ...


class TextDocument(PlainParts):
    """Plain UTF-8 text: one block per line, layout kept."""

    output_suffix = ".txt"

    def __init__(self, text: str) -> None:
        super().__init__(text.split("\n"))

    def to_bytes(self) -> bytes:
        return "\n".join(self.parts).encode("utf-8")


class HtmlFile:
    output_suffix = ".html"

    def __init__(self, name: str, data: bytes) -> None:
        from .html import decode_html, parse_html

        self.doc = parse_html(decode_html(name, data), fragment=False)
        self.blocks = self.doc.blocks

    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None:
        self.doc.apply(translated)

    def to_bytes(self) -> bytes:
        return self.doc.serialize().encode("utf-8")


def suffix(name: str) -> str:
    return Path(name).suffix.lower()


def is_formatted(name: str) -> bool:
    return suffix(name) in FORMATTED


def read_document(name: str, data: bytes) -> FormattedDocument:
    """Parse a document by its extension; an InputError names what is wrong."""
    ext = suffix(name)
    if not data.strip():
        raise InputError(f"{name}: empty file; nothing to translate")
    if ext == ".txt":
        from ..files import decode_input

        return TextDocument(decode_input(name, data))
    if ext in (".html", ".htm"):
        return HtmlFile(name, data)
    if ext == ".docx":
        from .docx import DocxDocument

        return DocxDocument(name, data)
    if ext == ".odt":
        from .odt import OdtDocument

        return OdtDocument(name, data)
    if ext == ".pdf":
        from .pdf import PdfDocument

        return PdfDocument(name, data)
    raise InputError(f"{name}: unsupported file type {ext or '(none)'}; use one of {', '.join(FORMATS)}")


def check_translatable(name: str, doc: FormattedDocument) -> str:
    text, _ = document_text(doc.blocks)
    if not text.strip():
        raise InputError(f"{name}: no text to translate")
    return text


def translate_document(
    doc: FormattedDocument, translate: Callable[[str], Sequence[SegmentTranslation]]
) -> bytes:
    """Translate a parsed document with ``translate`` (text -> its segments' translations, with
    document offsets and alignment) and return the translated file's bytes."""
    text, offsets = document_text(doc.blocks)
    segments = translate(text) if text.strip() else []
    doc.apply(translated_blocks(doc.blocks, offsets, segments))
    return doc.to_bytes()


def apply_translation(doc: FormattedDocument, segments: Sequence[SegmentTranslation]) -> bytes:
    """Write the translation of ``document_text(doc.blocks)`` (already translated) into the
    document; returns the translated file's bytes."""
    _, offsets = document_text(doc.blocks)
    doc.apply(translated_blocks(doc.blocks, offsets, segments))
    return doc.to_bytes()


def output_name(name: str, from_code: str, to_code: str, doc: FormattedDocument) -> str:
    """``report.ar.docx`` -> ``report.en.docx``; PDF -> ``.en.txt``."""
    stem = Path(name).name[: -len(Path(name).suffix)] if Path(name).suffix else Path(name).name
    if stem.endswith("." + from_code):
        stem = stem[: -len(from_code) - 1]
    return f"{stem}.{to_code}{doc.output_suffix}"


# -- the `translate` command's files ----------------------------------------------------------
def read_file(name: str) -> tuple[FormattedDocument, bytes]:
    """Read a formatted document from disk (an InputError names what is wrong); returns it
    with the bytes read."""
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory; pass the files inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    doc = read_document(name, data)
    check_translatable(name, doc)
    return doc, data


def write_file(path: Path, doc: FormattedDocument, segments: Sequence[SegmentTranslation]) -> None:
    """Write the translated document atomically."""
    from ..files import atomic_write

    atomic_write(path, apply_translation(doc, segments))


def read_inputs(
    names: Sequence[str], stdin: Callable[[], BinaryIO | bytes] | None, limit: int | None = DEFAULT_MAX_INPUT_BYTES
) -> tuple[list[InputDoc], dict[int, FormattedDocument], dict[int, bytes]]:
    """The `translate` command's inputs: formatted documents become their blocks' text (one
    block per line); other names are read as plain text.  Returns (inputs, formatted by
    index, the formatted documents' bytes as read, by index)."""
    from ..files import InputDoc, read_input

    read = {i: read_file(n) for i, n in enumerate(names) if n != "-" and is_formatted(n)}
    formatted = {i: doc for i, (doc, _) in read.items()}
    docs = [
        InputDoc(n, document_text(formatted[i].blocks)[0]) if i in formatted else read_input(n, stdin, limit)
        for i, n in enumerate(names)
    ]
    return docs, formatted, {i: data for i, (_, data) in read.items()}


def rewrite_outputs(run: RunResult, files: dict[int, tuple[bytes, str]]) -> RunResult:
    """Write the formatted documents of a run from their stored bytes (``Store.run_files``):
    what a resumed run does, as :func:`write_outputs` after the first attempt."""
    formatted = {i: read_document(run.documents[i].name, data) for i, (data, _) in files.items()}
    return write_outputs(run, formatted, {i: Path(out) for i, (_, out) in files.items()})


def plan_outputs(
    names: Sequence[str],
    outputs: Sequence[Path | None],
    formatted: dict[int, FormattedDocument],
    from_code: str,
    to_code: str,
) -> tuple[list[Path | None], dict[int, Path]]:
    """(outputs the pipeline writes as text: None for formatted documents, where each formatted
    document is written: same folder, its own format's name)."""
    mine = {
        i: o.with_name(output_name(names[i], from_code, to_code, formatted[i]))
        for i, o in enumerate(outputs)
        if i in formatted and o is not None
    }
    return [None if i in formatted else o for i, o in enumerate(outputs)], mine


def write_outputs(run: RunResult, formatted: dict[int, FormattedDocument], paths: dict[int, Path]) -> RunResult:
    """Write the formatted documents of a finished run; returns the run with their output paths."""
    from dataclasses import replace

    docs = list(run.documents)
    for i, out in paths.items():
        try:
            write_file(out, formatted[i], docs[i].segments)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
        docs[i] = replace(docs[i], output_path=str(out))
    return replace(run, documents=tuple(docs)) if paths else run
