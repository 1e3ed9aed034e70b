"""Word ``.docx`` in and out with python-docx (its XML elements, through lxml).

Every paragraph (``w:p``) of the body, of tables (nested too), of every header and footer, of
footnotes, endnotes and comments, and of text boxes is read as blocks: consecutive text runs (``w:r`` holding only ``w:t``/``w:tab``),
also inside hyperlinks (``w:hyperlink``), form one block, whatever their formatting, so a
sentence split across bold and plain runs is translated whole.  A run's style key is its run
properties (``w:rPr``) and its hyperlink: runs Word split for no visible reason share a key.
Other paragraph content (fields, drawings, tracked changes, content controls) is kept in place
and separates blocks.

On output each block's runs are replaced by new runs, one per translated piece, carrying a copy
of the source run's properties, grouped into a copy of the source hyperlink when they had one.
Footnotes, endnotes and comments (parts python-docx keeps as bytes) are parsed with lxml and
translated the same way.  Right-to-left settings are removed (``w:bidi``, ``w:rtl``,
``w:bidiVisual``) and the language becomes English.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .markup import Block, BlockBuilder

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_TEXT_CHILDREN = {f"{{{W}}}{t}" for t in ("rPr", "t", "tab", "noBreakHyphen", "lastRenderedPageBreak")}
_IGNORABLE = {
    f"{{{W}}}{t}"
    for t in ("proofErr", "bookmarkStart", "bookmarkEnd", "commentRangeStart", "commentRangeEnd", "permStart", "permEnd")
}
_PARTS = ("document.main+xml", "header+xml", "footer+xml")
_BLOB_PARTS = ("footnotes+xml", "endnotes+xml", "comments+xml")


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _is_text_run(el: Any) -> bool:
    return bool(el.tag == _w("r") and all(c.tag in _TEXT_CHILDREN for c in el))


def _run_text(run: Any) -> str:
    out = []
    for c in run:
        if c.tag == _w("t"):
            out.append(c.text or "")
        elif c.tag == _w("tab"):
            out.append("\t")
        elif c.tag == _w("noBreakHyphen"):
            out.append("\u2011")
    return "".join(out)


@dataclass
class _Sequence:
    paragraph: Any
    elements: list[Any] = field(default_factory=list)  # top-level children replaced (runs, hyperlinks)
    styles: list[tuple[Any, Any | None]] = field(default_factory=list)  # (template run, hyperlink)


class DocxDocument:
    output_suffix = ".docx"

    def __init__(self, name: str, data: bytes) -> None:
        import docx
        from docx.opc.exceptions import PackageNotFoundError

        try:
            self.doc = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
            raise InputError(f"{name}: not a Word .docx file ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zip and XML errors of a damaged file
            raise InputError(f"{name}: not a Word .docx file ({type(exc).__name__})") from None
        self.blocks: list[Block] = []
        self._seqs: list[_Sequence] = []
        self._roots = []
        self._blob_parts: list[tuple[Any, Any]] = []  # (part, parsed root): parts python-docx keeps as bytes
        for part in self.doc.part.package.iter_parts():
            if any(part.content_type.endswith(s) for s in _PARTS) and hasattr(part, "element"):
                self._roots.append(part.element)
            elif any(part.content_type.endswith(s) for s in _BLOB_PARTS):
                from lxml import etree

                try:
                    root = etree.fromstring(part.blob, parser=etree.XMLParser(resolve_entities=False, no_network=True))
                except etree.XMLSyntaxError as exc:
                    raise InputError(f"{name}: damaged {part.partname} ({exc})") from None
                self._roots.append(root)
                self._blob_parts.append((part, root))
        for root in self._roots:
            for p in root.iter(_w("p")):
                self._read_paragraph(p)

    def _read_paragraph(self, p: Any) -> None:
        seq = _Sequence(p)
        builder = BlockBuilder()
        keys: dict[tuple[bytes, int], int] = {}

        def key(run: Any, link: Any | None) -> int:
            rpr = run.find(_w("rPr"))
            from lxml import etree

            k = (etree.tostring(rpr) if rpr is not None else b"", id(link) if link is not None else 0)
            if k not in keys:
                keys[k] = len(seq.styles)
                seq.styles.append((run, link))
            return keys[k]

        for child in p:
            if child.tag == _w("pPr") or child.tag in _IGNORABLE:
                continue
            if _is_text_run(child):
                seq.elements.append(child)
                builder.add(_run_text(child), key(child, None))
                continue
            if child.tag == _w("hyperlink") and all(_is_text_run(c) or c.tag in _IGNORABLE for c in child):
                seq.elements.append(child)
                for r in child:
                    if r.tag == _w("r"):
                        builder.add(_run_text(r), key(r, child))
                continue
            self._finish(seq, builder)
            seq, builder, keys = _Sequence(p), BlockBuilder(), {}
        self._finish(seq, builder)

    def _finish(self, seq: _Sequence, builder: BlockBuilder) -> None:
        block = builder.build()
        if block.translatable:
            self.blocks.append(block)
            self._seqs.append(seq)

    # -- writing ----------------------------------------------------------------------------
    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None:
        for seq, pieces in zip(self._seqs, translated):
            self._rebuild(seq, pieces)
        self._set_direction()

    def _new_run(self, template: Any, text: str) -> Any:
        from docx.oxml import OxmlElement

        run = OxmlElement("w:r")
        rpr = template.find(_w("rPr"))
        if rpr is not None:
            run.append(copy.deepcopy(rpr))
        for i, part in enumerate(text.split("\t")):
            if i:
                run.append(OxmlElement("w:tab"))
            if part:
                t = OxmlElement("w:t")
                t.text = part
                t.set(XML_SPACE, "preserve")
                run.append(t)
        return run

    def _rebuild(self, seq: _Sequence, pieces: Sequence[tuple[str, int]]) -> None:
        p = seq.paragraph
        index = list(p).index(seq.elements[0])
        for el in seq.elements:
            p.remove(el)
        new: list[Any] = []
        link_of_last: Any | None = None
        for text, key in pieces:
            template, link = seq.styles[key]
            run = self._new_run(template, text)
            if link is None:
                new.append(run)
                link_of_last = None
                continue
            if link_of_last is not link:
                holder = link.makeelement(link.tag, dict(link.attrib))
                new.append(holder)
                link_of_last = link
            new[-1].append(run)
        for k, el in enumerate(new):
            p.insert(index + k, el)

    def _set_direction(self) -> None:
        roots = [*self._roots, self.doc.styles.element]
        for root in roots:
            for tag in ("bidi", "rtl", "bidiVisual"):
                for el in list(root.iter(_w(tag))):
                    el.getparent().remove(el)
            for lang in root.iter(_w("lang")):
                if lang.get(_w("val")):
                    lang.set(_w("val"), "en-GB")
        from docx.oxml import OxmlElement

        styles = self.doc.styles.element
        defaults = styles.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{_w('rPr')}")
        if defaults is not None and defaults.find(_w("lang")) is None:
            lang = OxmlElement("w:lang")
            lang.set(_w("val"), "en-GB")
            defaults.append(lang)

    def to_bytes(self) -> bytes:
        from lxml import etree

        for part, root in self._blob_parts:
            part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()
