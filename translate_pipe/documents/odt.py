"""OpenDocument text (``.odt``) in and out with odfpy.

Every ``text:p`` and ``text:h`` of the document, its tables, and the headers and footers of its
master pages is read as blocks: runs of text, ``text:s``/``text:tab`` and ``text:span`` /
``text:a`` elements (nested at any depth) between other content (frames, notes, fields,
line breaks), which is kept in place.  A piece of text's style key is its path of span/link
elements, as for HTML; on output the block's nodes are replaced by copies of those elements
(name and attributes) nested again around the translated pieces.  Right-to-left writing modes
become left-to-right and the language attributes English.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .markup import Block, BlockBuilder, path_ancestors, path_key

TEXTNS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
STYLENS = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
FONS = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
_PARAGRAPHS = {(TEXTNS, "p"), (TEXTNS, "h")}
_INLINE = {(TEXTNS, "span"), (TEXTNS, "a")}
_SPACE = (TEXTNS, "s")
_TAB = (TEXTNS, "tab")
_IGNORABLE = {(TEXTNS, "soft-page-break"), (TEXTNS, "bookmark"), (TEXTNS, "bookmark-start"), (TEXTNS, "bookmark-end")}


def _is_text(node: Any) -> bool:
    return bool(node.nodeType == node.TEXT_NODE)


def _qname(node: Any) -> tuple[str, str] | None:
    return getattr(node, "qname", None)


def _pure(node: Any) -> bool:
    """Text, a space/tab, or a span/link holding only such content."""
    if _is_text(node):
        return True
    q = _qname(node)
    if q in (_SPACE, _TAB):
        return True
    return q in _INLINE and all(_pure(c) for c in node.childNodes)


def _spaces(node: Any) -> str:
    try:
        return " " * max(1, int(node.getAttrNS(TEXTNS, "c") or 1))
    except ValueError:
        return " "


def _detach(parent: Any, node: Any) -> None:
    """parent.removeChild(node), also for text nodes (odfpy's removeChild asserts on them)."""
    if not _is_text(node):
        parent.removeChild(node)
        return
    parent.childNodes.remove(node)
    if node.nextSibling is not None:
        node.nextSibling.previousSibling = node.previousSibling
    if node.previousSibling is not None:
        node.previousSibling.nextSibling = node.nextSibling
    node.nextSibling = node.previousSibling = node.parentNode = None


@dataclass
class _Sequence:
    paragraph: Any
    nodes: list[Any] = field(default_factory=list)
    paths: list[tuple[Any, ...]] = field(default_factory=list)


class OdtDocument:
    output_suffix = ".odt"

    def __init__(self, name: str, data: bytes) -> None:
        from odf.opendocument import load

        try:
            self.doc = load(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - zip and XML errors of a damaged file
            raise InputError(f"{name}: not an OpenDocument text file ({type(exc).__name__})") from None
        if "opendocument.text" not in (self.doc.mimetype or ""):
            raise InputError(f"{name}: an OpenDocument file, but not a text document ({self.doc.mimetype})")
        self.blocks: list[Block] = []
        self._seqs: list[_Sequence] = []
        paragraphs: list[Any] = []
        self._collect(self.doc.topnode, paragraphs)
        for p in paragraphs:
            self._read_paragraph(p)

    def _collect(self, node: Any, out: list[Any]) -> None:
        for child in node.childNodes:
            if _is_text(child):
                continue
            if _qname(child) in _PARAGRAPHS:
                out.append(child)
            self._collect(child, out)

    def _read_paragraph(self, p: Any) -> None:
        seq = _Sequence(p)
        builder = BlockBuilder(collapse_spaces=True)
        for child in list(p.childNodes):
            if not _is_text(child) and _qname(child) in _IGNORABLE:
                continue
            if _pure(child):
                seq.nodes.append(child)
                self._add(seq, builder, child, ())
                continue
            self._finish(seq, builder)
            seq, builder = _Sequence(p), BlockBuilder(collapse_spaces=True)
        self._finish(seq, builder)

    def _add(self, seq: _Sequence, builder: BlockBuilder, node: Any, path: tuple[Any, ...]) -> None:
        if _is_text(node):
            builder.add(node.data, self._key(seq, path))
            return
        q = _qname(node)
        if q == _SPACE:
            builder.add(_spaces(node), self._key(seq, path))
            return
        if q == _TAB:
            builder.add("\t", self._key(seq, path))
            return
        inner = (*path, node)
        self._key(seq, inner)
        for c in node.childNodes:
            self._add(seq, builder, c, inner)

    def _key(self, seq: _Sequence, path: tuple[Any, ...]) -> int:
        return path_key(seq.paths, path)

    def _finish(self, seq: _Sequence, builder: BlockBuilder) -> None:
        block = builder.build(path_ancestors(seq.paths))
        if block.translatable:
            self.blocks.append(block)
            self._seqs.append(seq)

    # -- writing ----------------------------------------------------------------------------
    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None:
        for seq, pieces in zip(self._seqs, translated):
            self._rebuild(seq, pieces)
        self._set_direction()

    @staticmethod
    def _copy(node: Any) -> Any:
        from odf.element import Element

        return Element(qname=node.qname, qattributes=dict(node.attributes), check_grammar=False)

    @staticmethod
    def _append_text(parent: Any, text: str) -> None:
        from odf.element import Element, Text

        for i, part in enumerate(text.split("\t")):
            if i:
                parent.appendChild(Element(qname=_TAB, check_grammar=False))
            if part:
                parent.appendChild(Text(part))

    def _rebuild(self, seq: _Sequence, pieces: Sequence[tuple[str, int]]) -> None:
        p = seq.paragraph
        after = seq.nodes[-1].nextSibling
        for node in seq.nodes:
            _detach(p, node)
        stack: list[tuple[Any, Any]] = []
        holder: list[Any] = []  # new top-level nodes in order (elements and text)
        for text, key in pieces:
            path = seq.paths[key]
            common = 0
            while common < min(len(stack), len(path)) and stack[common][0] is path[common]:
                common += 1
            del stack[common:]
            for src in path[common:]:
                new = self._copy(src)
                if stack:
                    stack[-1][1].appendChild(new)
                else:
                    holder.append(new)
                stack.append((src, new))
            if stack:
                self._append_text(stack[-1][1], text)
            else:
                from odf.element import Element

                wrapper = Element(qname=(TEXTNS, "span"), check_grammar=False)
                self._append_text(wrapper, text)
                holder.extend(list(wrapper.childNodes))
        for node in holder:
            if node.parentNode is not None:
                _detach(node.parentNode, node)
            p.insertBefore(node, after)

    def _set_direction(self) -> None:
        def walk(node: Any) -> None:
            attrs = getattr(node, "attributes", None)
            if attrs:
                if attrs.get((STYLENS, "writing-mode")) in ("rl-tb", "rl"):
                    attrs[(STYLENS, "writing-mode")] = "lr-tb"
                if (FONS, "language") in attrs:
                    attrs[(FONS, "language")] = "en"
                    attrs[(FONS, "country")] = "GB"
            for c in getattr(node, "childNodes", []):
                walk(c)

        walk(self.doc.topnode)
        walk(self.doc.styles)
        walk(self.doc.automaticstyles)
        walk(self.doc.masterstyles)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.write(out)
        return out.getvalue()
