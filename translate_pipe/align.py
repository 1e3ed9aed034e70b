"""Word alignment between a segment and its translation, as character spans on both sides.

Two methods (``--align``):

``predict`` (the default): *prediction difference*.  The translation is scored by the model
(``score_batch``, teacher-forced) once with the whole source and once per source word with
that word's pieces replaced by ``<unk>``.  The drop in log-probability of a target word when a
source word is hidden says how much the model relies on that source word to produce it.  A
target word is linked to the source word whose masking costs it most, when that drop is
clear: at least ``min_drop`` nats and ``min_ratio`` times the next largest drop.  Words the
model writes from the target context alone ("of fire" once "stopping" is written) show no
clear drop and stay unlinked: the method prefers no link to a wrong one.  It needs no
trained attention, so it works on models trained without guided alignment (every real Argos
package); it costs one extra teacher-forced pass per source word.  The rows of all segments given
at once are scored in one call (the scorer batches them by length); a row's scores do not
depend on the other rows, so a segment's links do not depend on what else is in the batch.

``attention``: each target token is linked to the source token with the highest attention
from the model's alignment head (argmax).  Cheap, and good on models trained with guided
alignment; on other models their attention is not an alignment (about half the links are
wrong on the test models).

Pieces are merged into words (:func:`words`): a word starts at a piece beginning with ``▁``;
punctuation pieces at the end of a word are a word of their own and are never linked.  Each
link is ``(src_start, src_end, tgt_start, tgt_end)``: source offsets into the *document* (the
segment's offset is added), target offsets into the translation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .records import Link

SPACE = "\u2581"
UNK = "<unk>"
METHODS = ("predict", "attention")

Scorer = Callable[[Sequence[int], Sequence[Sequence[str]]], list[list[float]]]
"""(item of each row, source rows) -> log-probability of every token of that item's target
(then of ``</s>``) given the row, for each row."""


@functools.lru_cache(maxsize=65536)
def is_punct(piece: str) -> bool:
    """The piece has characters and none is a letter or digit (``▁`` aside); cached, as
    pieces come from a vocabulary."""
    s = piece.replace(SPACE, "")
    return bool(s) and not any(ch.isalnum() for ch in s)


def words(pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Token ranges of the words of a piece sequence (trailing punctuation pieces split off)."""
    out: list[tuple[int, int]] = []
    for i, p in enumerate(pieces):
        starts = i == 0 or p.startswith(SPACE)
        trailing = (
            is_punct(p)
            and not is_punct(pieces[i - 1])
            and (i + 1 == len(pieces) or pieces[i + 1].startswith(SPACE) or is_punct(pieces[i + 1]))
        )
        if starts or trailing or not out:
            out.append((i, i + 1))
        else:
            out[-1] = (out[-1][0], i + 1)
    return out


def word_spans(pieces: Sequence[str], spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Group pieces into words; returns (word index of each piece, character span of each word)."""
    word_of: list[int] = []
    out: list[tuple[int, int]] = []
    for i, (piece, (start, end)) in enumerate(zip(pieces, spans)):
        if i == 0 or piece.startswith(SPACE):
            out.append((start, end))
        else:
            ws, we = out[-1]
            if ws == we:  # the word so far is empty (a lone "▁"): start it here
                ws = start
            out[-1] = (ws, max(we, end))
        word_of.append(len(out) - 1)
    return word_of, out


@dataclass(frozen=True)
class AlignItem:
    """One segment and its translation, as the aligner needs them."""

    src_pieces: Sequence[str]
    src_spans: Sequence[tuple[int, int]]  # into the segment
    tgt_pieces: Sequence[str]
    tgt_spans: Sequence[tuple[int, int]]  # into the translation
    target_text: str
    src_offset: int = 0  # the segment's offset in the document
    attention: Sequence[Sequence[float]] = ()


@dataclass(frozen=True)
class PredictSettings:
    min_drop: float = 0.1  # nats
    min_ratio: float = 3.0  # best drop / second best drop


def _char_words(pieces: Sequence[str], spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Word index of each piece (-1 for punctuation words) and the character span of each word."""
    word_of = [-1] * len(pieces)
    out: list[tuple[int, int]] = []
    for a, b in words(pieces):
        if all(is_punct(pieces[k]) for k in range(a, b)):
            continue
        chars = [spans[k] for k in range(a, b) if spans[k][1] > spans[k][0]]
        if not chars:
            continue
        for k in range(a, b):
            word_of[k] = len(out)
        out.append((min(s for s, _ in chars), max(e for _, e in chars)))
    return word_of, out


def masked_sources(src_pieces: Sequence[str]) -> list[list[str]]:
    """The source with each word's pieces replaced by ``<unk>``, one list per word."""
    word_of, src_words = _char_words(src_pieces, [(0, 1)] * len(src_pieces))
    return [[UNK if word_of[k] == w else p for k, p in enumerate(src_pieces)] for w in range(len(src_words))]


def _links(item: AlignItem, pairs: set[tuple[int, int]], src_words: list[tuple[int, int]], tgt_words: list[tuple[int, int]]) -> list[Link]:
    out: list[Link] = []
    for sw, tw in sorted(pairs, key=lambda p: (p[1], p[0])):
        ss, se = src_words[sw]
        ts, te = tgt_words[tw]
        if ss < se and ts < te and any(ch.isalnum() for ch in item.target_text[ts:te]):
            out.append((ss + item.src_offset, se + item.src_offset, ts, te))
    return sorted(out, key=lambda link: (link[2], link[0]))


def predict_links(item: AlignItem, full: Sequence[float], masked: Sequence[Sequence[float]], settings: PredictSettings = PredictSettings()) -> list[Link]:
    """Links by prediction difference, from the scores of the full and the masked sources."""
    src_word_of, src_words = _char_words(item.src_pieces, item.src_spans)
    tgt_word_of, tgt_words = _char_words(item.tgt_pieces, item.tgt_spans)
    n_t = len(tgt_words)
    # drop[w][j]: summed over the pieces of target word j
    drops = [[0.0] * n_t for _ in masked]
    for w, row in enumerate(masked):
        for k, j in enumerate(tgt_word_of):
            if j >= 0:
                drops[w][j] += full[k] - row[k]
    pairs: set[tuple[int, int]] = set()
    for j in range(n_t):
        column = sorted(((round(drops[w][j], 4), w) for w in range(len(masked))), reverse=True)
        if not column:
            continue
        best, w = column[0]
        second = column[1][0] if len(column) > 1 else 0.0
        if best >= settings.min_drop and best >= settings.min_ratio * max(second, 0.0):
            pairs.add((w, j))
    return _links(item, pairs, src_words, tgt_words)


def attention_links(item: AlignItem) -> list[Link]:
    """Links from argmax attention (one source word per target token)."""
    if not item.src_pieces or not item.tgt_pieces or not item.attention:
        return []
    src_word_of, src_words = _char_words(item.src_pieces, item.src_spans)
    tgt_word_of, tgt_words = _char_words(item.tgt_pieces, item.tgt_spans)
    n_src = len(item.src_pieces)
    pairs: set[tuple[int, int]] = set()
    for t, row in enumerate(item.attention[: len(item.tgt_pieces)]):
        cols = list(row[:n_src])
        if not cols or tgt_word_of[t] < 0:
            continue
        s = max(range(len(cols)), key=cols.__getitem__)
        if src_word_of[s] >= 0:
            pairs.add((src_word_of[s], tgt_word_of[t]))
    return _links(item, pairs, src_words, tgt_words)


def word_alignment(
    src_pieces: Sequence[str],
    src_spans: Sequence[tuple[int, int]],
    tgt_pieces: Sequence[str],
    tgt_spans: Sequence[tuple[int, int]],
    attention: Sequence[Sequence[float]],
    *,
    src_offset: int = 0,
    target_text: str = "",
) -> list[Link]:
    """Attention links of one segment (see :func:`attention_links`)."""
    return attention_links(AlignItem(src_pieces, src_spans, tgt_pieces, tgt_spans, target_text, src_offset, attention))


def align(items: Sequence[AlignItem], method: str, score: Scorer) -> list[list[Link]]:
    """Links for every item by ``method`` (``predict`` or ``attention``)."""
    if method == "attention":
        return [attention_links(it) for it in items]
    rows: list[list[str]] = []
    owner: list[int] = []
    ranges: list[tuple[int, int]] = []  # each item's rows: the full source, then one per word
    for k, it in enumerate(items):
        start = len(rows)
        if it.src_pieces and it.tgt_pieces:
            variants = [list(it.src_pieces), *masked_sources(it.src_pieces)]
            rows.extend(variants)
            owner.extend([k] * len(variants))
        ranges.append((start, len(rows)))
    scored = score(owner, rows) if rows else []
    return [predict_links(it, scored[a], scored[a + 1 : b]) if b > a else [] for it, (a, b) in zip(items, ranges)]
