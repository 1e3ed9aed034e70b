"""Inline markup carried across translation by the word alignment.

A formatted document is read as **blocks** (paragraphs, table cells, list items, headings): the
plain text of a block plus its **runs**, the character ranges that share one inline style (an
HTML ``<b>``/``<a>`` path, a Word run with its properties and hyperlink, an ODF span).  A
sentence that crosses markup is therefore one segment of the block's text, translated whole.

The blocks of a document are joined with ``\\n`` into one text (one paragraph per block), which
goes through the ordinary pipeline (segmentation, glossary matching, enforcement, alignment,
storage).  :func:`transfer` then rebuilds each block in the target language: every target word
takes the style of the source run its aligned source words fall in (most aligned characters
wins; a glossary term's target span counts as aligned to its source span); a target word
with no link, punctuation and the spaces between words take the style of
both neighbours when they agree and the block's **base** style (the style covering most of the
source) otherwise.  So ``<b>وزارة الخارجية</b> أعلنت`` becomes ``The <b>Foreign Ministry</b>
announced`` when the model aligns "Foreign Ministry" to the bold words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..records import SegmentTranslation

# characters that would end a paragraph in the pipeline's segmentation
_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")

Run = tuple[int, int, int]  # (start, end, style key) in the block's text


@dataclass(frozen=True)
class Block:
    """The text of one block and the style runs covering it, in order, without gaps."""

    text: str
    runs: tuple[Run, ...]
    # for each style key, the keys of the styles enclosing it, outermost first (an HTML <b>
    # around an <i>); text between two styles takes their innermost common enclosing style
    ancestors: tuple[tuple[int, ...], ...] = ()

    @property
    def translatable(self) -> bool:
        return any(ch.isalpha() for ch in self.text)


class BlockBuilder:
    """Collects (text, style) pieces of a block; line breaks become spaces."""

    def __init__(self, collapse_spaces: bool = False) -> None:
        self.collapse = collapse_spaces
        self.parts: list[str] = []
        self.runs: list[Run] = []
        self.length = 0

    def add(self, text: str, key: int) -> None:
        text = _BREAKS.sub(" ", text)
        if self.collapse:
            text = re.sub(r"[ \t]+", " ", text)
            if text.startswith(" ") and self.parts and self.parts[-1].endswith(" "):
                text = text[1:]
        if not text:
            return
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if self.runs and self.runs[-1][2] == key and self.runs[-1][1] == start:
            self.runs[-1] = (self.runs[-1][0], self.length, key)
        else:
            self.runs.append((start, self.length, key))

    def build(self, ancestors: tuple[tuple[int, ...], ...] = ()) -> Block:
        return Block("".join(self.parts), tuple(self.runs), ancestors)


def _path_index(paths: Sequence[tuple[object, ...]], path: tuple[object, ...]) -> int | None:
    """Where ``path`` (a chain of element objects, compared by identity) is in ``paths``."""
    for i, p in enumerate(paths):
        if len(p) == len(path) and all(a is b for a, b in zip(p, path)):
            return i
    return None


def path_key(paths: list[tuple[object, ...]], path: tuple[object, ...]) -> int:
    """The style key of an element path in a block (its index in ``paths``, appended when
    new); every prefix of the path gets a key too, so that its ancestors have keys."""
    found = _path_index(paths, path)
    if found is not None:
        return found
    if path:
        path_key(paths, path[:-1])
    paths.append(path)
    return len(paths) - 1


def path_ancestors(paths: Sequence[tuple[object, ...]]) -> tuple[tuple[int, ...], ...]:
    """For each key of :func:`path_key`, the keys of its ancestors, outermost first (what
    :meth:`BlockBuilder.build` takes)."""
    out: list[tuple[int, ...]] = []
    for path in paths:
        chain = []
        for n in range(len(path)):
            key = _path_index(paths, path[:n])
            if key is None:
                raise ValueError("an element path without a key for its ancestor (use path_key)")
            chain.append(key)
        out.append(tuple(chain))
    return tuple(out)


def document_text(blocks: Sequence[Block]) -> tuple[str, list[int]]:
    """The text the pipeline translates (translatable blocks, one per line) and the offset of
    each block in it (-1 for a block left as it is)."""
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for b in blocks:
        if not b.translatable:
            offsets.append(-1)
            continue
        offsets.append(pos)
        parts.append(b.text)
        pos += len(b.text) + 1
    return "\n".join(parts), offsets


def base_key(block: Block) -> int:
    weight: dict[int, int] = {}
    for s, e, k in block.runs:
        weight[k] = weight.get(k, 0) + sum(1 for ch in block.text[s:e] if not ch.isspace())
    return max(weight, key=lambda k: (weight[k], -k)) if weight else 0


def _key_at(block: Block, pos: int) -> int:
    for s, e, k in block.runs:
        if s <= pos < e:
            return k
    return block.runs[-1][2] if block.runs else 0


def _links(st: SegmentTranslation) -> list[tuple[int, int, int, int]]:
    """The word alignment, plus each glossary term's source span -> its target span (known
    exactly, so a term's words follow the markup of the term)."""
    links = list(st.alignment)
    for o in st.terms:
        if o.target_start is not None and o.target_end is not None:
            links.append((o.match.start, o.match.end, o.target_start, o.target_end))
    return links


def _styled_target(
    block: Block, offset: int, segments: Sequence[SegmentTranslation], base: int
) -> tuple[str, list[int | None]]:
    """The block's translation and the style of each of its characters (None: not yet known).
    A word aligned as much to styled as to base-styled source words takes the style."""
    text_parts: list[str] = []
    keys: list[int | None] = []
    pos = 0  # in the block's source text
    for st in segments:
        s0, e0 = st.segment.start - offset, st.segment.end - offset
        gap = block.text[pos:s0]  # source text between segments, kept as it is
        text_parts.append(gap)
        keys.extend(_key_at(block, pos + i) if not ch.isspace() else None for i, ch in enumerate(gap))
        target = st.target
        text_parts.append(target)
        tk: list[int | None] = [None] * len(target)
        for m in _TOKEN.finditer(target):
            if not m.group(0)[0].isalnum():
                continue  # punctuation: from its neighbours
            weight: dict[int, int] = {}
            for ss, se, ts, te in _links(st):
                if te <= m.start() or ts >= m.end():
                    continue
                for rs, re_, k in block.runs:
                    overlap = min(se - offset, re_) - max(ss - offset, rs)
                    if overlap > 0:
                        weight[k] = weight.get(k, 0) + overlap
            if weight:
                best = max(weight, key=lambda k: (weight[k], k != base, -k))
                for i in range(m.start(), m.end()):
                    tk[i] = best
        keys.extend(tk)
        pos = e0
    tail = block.text[pos:]
    text_parts.append(tail)
    keys.extend(_key_at(block, pos + i) if not ch.isspace() else None for i, ch in enumerate(tail))
    return "".join(text_parts), keys


def _common(block: Block, a: int | None, b: int | None, base: int) -> int:
    """The innermost style enclosing both a and b (the base style if none)."""
    if a is None or b is None or not block.ancestors:
        return base
    chain_a = [*block.ancestors[a], a]
    chain_b = [*block.ancestors[b], b]
    common = [x for x, y in zip(chain_a, chain_b) if x == y]
    return common[-1] if common else base


def transfer(block: Block, offset: int, segments: Sequence[SegmentTranslation]) -> list[tuple[str, int]]:
    """The translated block as (text, style key) pieces; see the module docstring.

    ``segments`` are the translations of the block's segments (document offsets; the block
    starts at ``offset`` in the document text)."""
    if not block.translatable or not segments:
        return [(block.text[s:e], k) for s, e, k in block.runs]
    segs = sorted(segments, key=lambda st: st.segment.start)
    base = base_key(block)
    text, keys = _styled_target(block, offset, segs, base)
    if len({k for _, _, k in block.runs}) == 1:
        return [(text, block.runs[0][2])] if text else []
    # fill unknown characters (spaces, punctuation, unaligned words) from their neighbours
    n = len(text)
    i = 0
    while i < n:
        if keys[i] is not None:
            i += 1
            continue
        j = i
        while j < n and keys[j] is None:
            j += 1
        left = keys[i - 1] if i > 0 else None
        right = keys[j] if j < n else None
        fill = left if left is not None and left == right else _common(block, left, right, base)
        for p in range(i, j):
            keys[p] = fill
        i = j
    pieces: list[tuple[str, int]] = []
    for ch, k in zip(text, keys):
        key = base if k is None else k
        if pieces and pieces[-1][1] == key:
            pieces[-1] = (pieces[-1][0] + ch, key)
        else:
            pieces.append((ch, key))
    return pieces


def translated_blocks(
    blocks: Sequence[Block], offsets: Sequence[int], segments: Sequence[SegmentTranslation]
) -> list[list[tuple[str, int]]]:
    """:func:`transfer` for every block of a document translated as :func:`document_text`."""
    by_block: list[list[SegmentTranslation]] = [[] for _ in blocks]
    starts = sorted((off, i) for i, off in enumerate(offsets) if off >= 0)
    keys = [s for s, _ in starts]
    for st in segments:
        k = bisect.bisect_right(keys, st.segment.start) - 1
        if k >= 0:
            by_block[starts[k][1]].append(st)
    return [transfer(b, max(off, 0), segs) for b, off, segs in zip(blocks, offsets, by_block)]


class PlainParts:
    """Unformatted parts of a document (lines, paragraphs): one block per part with text, each
    replaced by its translation.  The base of the plain-text and PDF documents."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self.blocks: list[Block] = []
        self._index: list[int] = []
        for i, part in enumerate(parts):
            b = BlockBuilder()
            b.add(part, 0)
            block = b.build()
            if block.translatable:
                self.blocks.append(block)
                self._index.append(i)

    def apply(self, translated: Sequence[Sequence[tuple[str, int]]]) -> None:
        for i, pieces in zip(self._index, translated):
            self.parts[i] = "".join(t for t, _ in pieces)
