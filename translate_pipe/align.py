"""Word alignment from the model's attention, as character spans on both sides.

How it is computed
------------------
1. CTranslate2 returns, for every target token, an attention distribution over the source
   tokens (from the model's alignment layer/heads: by default the last decoder layer's first
   head; models trained with guided alignment name the layer and heads that were trained).
2. Each target token is linked to the source token with the highest attention (argmax).
   Columns past the last real source token (an appended ``</s>``) are ignored.
3. Tokens are merged into words: a word is a run of SentencePiece pieces in which only the
   first starts with ``▁`` (a new word); byte-fallback and punctuation pieces join the word
   they are written in.  A target word is linked to every source word one of its tokens
   points at.
4. Each link is given as ``(src_start, src_end, tgt_start, tgt_end)``: source offsets into the
   *document* (the segment's offset is added), target offsets into the translation.
   Target words made only of punctuation are not linked.

Attention-based alignment is only as good as the model's attention: a model trained with
guided alignment gives clean links, a model without it gives noisy ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import Link

SPACE = "\u2581"


def word_spans(pieces: Sequence[str], spans: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Group pieces into words; returns (word index of each piece, span of each word)."""
    word_of: list[int] = []
    words: list[tuple[int, int]] = []
    for i, (piece, (start, end)) in enumerate(zip(pieces, spans)):
        new_word = i == 0 or piece.startswith(SPACE)
        if new_word:
            words.append((start, end))
        else:
            ws, we = words[-1]
            if ws == we:  # the word so far is empty (a lone "▁"): start it here
                ws = start
            words[-1] = (ws, max(we, end))
        word_of.append(len(words) - 1)
    return word_of, words


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
    """Links between source words and target words, from argmax attention."""
    if not src_pieces or not tgt_pieces or not attention:
        return []
    src_word_of, src_words = word_spans(src_pieces, src_spans)
    tgt_word_of, tgt_words = word_spans(tgt_pieces, tgt_spans)
    n_src = len(src_pieces)
    pairs: set[tuple[int, int]] = set()
    for t, row in enumerate(attention[: len(tgt_pieces)]):
        if not row:
            continue
        cols = row[:n_src]
        s = max(range(len(cols)), key=cols.__getitem__)
        pairs.add((tgt_word_of[t], src_word_of[s]))
    links: list[Link] = []
    for tw, sw in sorted(pairs):
        ts, te = tgt_words[tw]
        ss, se = src_words[sw]
        if ts == te or ss == se:
            continue
        if target_text and not any(ch.isalnum() for ch in target_text[ts:te]):
            continue
        links.append((ss + src_offset, se + src_offset, ts, te))
    return links

