"""HTML in and out, parsed by lxml's HTML parser (never by regular expressions).

Blocks are the runs of inline content (text, ``<b>``, ``<a>``, ``<span>``, ... nested at any
depth) between block-level elements; a block's style key is the path of inline elements around
a piece of text.  On output every translated block replaces its inline content by new inline
elements, shallow copies (tag and attributes) of the source elements, nested again by path
(:func:`markup.transfer` decides which words they cover).  ``script``, ``style``, ``code``,
``pre`` and elements marked ``translate="no"`` are left alone; ``alt``/``title`` attributes are
translated too.  The output says ``lang="en" dir="ltr"``.
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .markup import Block, BlockBuilder, path_ancestors, path_key

INLINE = frozenset(
    ["a", "abbr", "b", "bdi", "bdo", "cite", "data", "dfn", "em", "font", "i", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var", "del", "ins"]
)
OPAQUE = frozenset(["script", "style", "noscript", "template", "code", "pre", "kbd", "samp", "textarea", "svg", "math"])
ATTRIBUTES = ("alt", "title")


def _tag(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _opaque(el: Any) -> bool:
    return not isinstance(el.tag, str) or _tag(el) in OPAQUE or el.get("translate", "").lower() == "no"


def _pure_inline(el: Any) -> bool:
    """An inline element whose content is only text and pure inline elements."""
    return _tag(el) in INLINE and not _opaque(el) and all(_pure_inline(c) for c in el)


@dataclass
class _Sequence:
    """A run of inline content inside ``container``: its text slot and inline children."""

    container: Any
    after: Any | None  # the child whose tail starts the sequence; None: the container's text
    children: list[Any] = field(default_factory=list)
    paths: list[tuple[Any, ...]] = field(default_factory=list)
    block: Block | None = None


@dataclass
class _Attr:
    element: Any
    name: str


class HtmlDocument:
    """A parsed HTML document or fragment, its blocks, and the writer of its translation."""

    def __init__(self, root: Any, *, fragment: bool, doctype: str = "") -> None:
        self.root = root
        self.fragment = fragment
        self.doctype = doctype
        self._items: list[_Sequence | _Attr] = []
        self.blocks: list[Block] = []
        self._walk(root)
        for el in root.iter():
            if isinstance(el.tag, str) and not _opaque(el):
                for name in ATTRIBUTES:
                    value = el.get(name)
                    if value and value.strip():
                        b = BlockBuilder(collapse_spaces=True)
                        b.add(value, 0)
                        self._items.append(_Attr(el, name))
                        self.blocks.append(b.build())

    # -- reading ----------------------------------------------------------------------------
    def _walk(self, container: Any) -> None:
        seq = _Sequence(container, None)
        builder = BlockBuilder(collapse_spaces=True)
        builder.add(container.text or "", self._key(seq, ()))
        for child in container:
            if _pure_inline(child):
                seq.children.append(child)
                self._inline(seq, builder, child, (child,))
                builder.add(child.tail or "", self._key(seq, ()))
                continue
            self._finish(seq, builder)
            if not _opaque(child):
                self._walk(child)
            seq = _Sequence(container, child)
            builder = BlockBuilder(collapse_spaces=True)
            builder.add(child.tail or "", self._key(seq, ()))
        self._finish(seq, builder)

    def _inline(self, seq: _Sequence, builder: BlockBuilder, el: Any, path: tuple[Any, ...]) -> None:
        builder.add(el.text or "", self._key(seq, path))
        for child in el:
            self._inline(seq, builder, child, (*path, child))
            builder.add(child.tail or "", self._key(seq, path))

    def _key(self, seq: _Sequence, path: tuple[Any, ...]) -> int:
        return path_key(seq.paths, path)

    def _finish(self, seq: _Sequence, builder: BlockBuilder) -> None:
        block = builder.build(path_ancestors(seq.paths))
        if block.translatable:
            seq.block = block
            self._items.append(seq)
            self.blocks.append(block)

    # -- writing ----------------------------------------------------------------------------
    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None:
        """Replace every block by its translated pieces (same order as :attr:`blocks`)."""
        pairs = list(zip(self._items, translated))
        for item, pieces in pairs:  # attributes first: rebuilding copies the elements
            if isinstance(item, _Attr):
                item.element.set(item.name, "".join(t for t, _ in pieces))
        for item, pieces in pairs:
            if isinstance(item, _Sequence):
                self._rebuild(item, pieces)
        self._set_direction()

    def _rebuild(self, seq: _Sequence, pieces: Sequence[tuple[str, int]]) -> None:
        container = seq.container
        index = 0 if seq.after is None else container.index(seq.after) + 1
        for child in seq.children:
            container.remove(child)
        slot = ""  # text before the first new element
        top: list[Any] = []  # new top-level elements, in order
        stack: list[tuple[Any, Any]] = []  # (source element, new element)

        def put(text: str) -> None:
            nonlocal slot
            if not stack:
                if top:
                    top[-1].tail = (top[-1].tail or "") + text
                else:
                    slot += text
                return
            new = stack[-1][1]
            if len(new):
                new[-1].tail = (new[-1].tail or "") + text
            else:
                new.text = (new.text or "") + text

        for text, key in pieces:
            path = seq.paths[key]
            common = 0
            while common < min(len(stack), len(path)) and stack[common][0] is path[common]:
                common += 1
            del stack[common:]
            for src in path[common:]:
                new = src.makeelement(src.tag, dict(src.attrib))
                if stack:
                    stack[-1][1].append(new)
                else:
                    top.append(new)
                stack.append((src, new))
            put(text)
        if seq.after is None:
            container.text = slot
        else:
            seq.after.tail = slot
        for k, new in enumerate(top):
            container.insert(index + k, new)

    def _set_direction(self) -> None:
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            if el.get("dir", "").lower() == "rtl":
                el.set("dir", "ltr")
            if el.get("lang", "").lower().startswith("ar"):
                el.set("lang", "en")
        if not self.fragment:
            self.root.set("lang", "en")
            self.root.set("dir", "ltr")
            for meta in self.root.iter("meta"):
                if meta.get("charset"):
                    meta.set("charset", "utf-8")
                elif (meta.get("http-equiv") or "").lower() == "content-type":
                    meta.set("content", "text/html; charset=utf-8")

    def serialize(self) -> str:
        from lxml import html as lhtml

        if self.fragment:
            inner = _html.escape(self.root.text or "", quote=False)
            return inner + "".join(lhtml.tostring(c, encoding="unicode") for c in self.root)
        body = lhtml.tostring(self.root, encoding="unicode")
        return (self.doctype + "\n" if self.doctype else "") + body


def parse_html(text: str, *, fragment: bool) -> HtmlDocument:
    """Parse HTML text (a whole document, or a fragment as LibreTranslate's ``format=html``)."""
    from lxml import etree
    from lxml import html as lhtml

    if "\x00" in text:
        raise InputError("the HTML contains NUL characters")
    try:
        if fragment:
            root = lhtml.fragment_fromstring(text, create_parent="div")
            return HtmlDocument(root, fragment=True)
        root = lhtml.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise InputError(f"cannot parse the HTML: {exc}") from None
    return HtmlDocument(root, fragment=False, doctype=root.getroottree().docinfo.doctype or "")


def decode_html(name: str, data: bytes) -> str:
    """Bytes of an HTML file -> text (UTF-8, or the charset its ``<meta>`` declares)."""
    import re

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    m = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", data[:4096], re.IGNORECASE)
    encoding = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        raise InputError(f"{name}: not {encoding} text; save the page as UTF-8") from None

