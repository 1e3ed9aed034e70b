"""Terminology constraints on top of CTranslate2, which has no lexically constrained beam search.

For every glossary term matched in a source segment, the approved target must appear in that
segment's translation (hard mode), and the model's own rendering of the term must be replaced,
not left beside it.  The method, per chunk of segments (every step is ONE batched call for all
segments of the chunk, whatever the number of terms, so the cost is bounded):

1. **Present.**  The model's best hypothesis (beam search, n-best) already contains every
   approved target (case-insensitive, whole words, as many times as the term occurs): nothing
   to do; each term is ``present``.
2. **n-best rerank.**  Another hypothesis of the same beam contains them all and scores
   within ``rerank_margin`` (per-token log-probability) of the best: take it (``enforced``,
   method ``nbest``).  In ``--soft`` mode this is all that is done: the hypothesis satisfying
   the most terms is taken and the rest are ``failed`` ("soft mode").
3. **Locate the model's own rendering** of every missing term in the best hypothesis, two ways:
   - *attention*: target tokens whose argmax attention falls on the term's source tokens;
   - *ablation*: one ``score_batch`` call scores the hypothesis given the source with the
     term's tokens removed; the target words whose log-probability drops most (maximum-sum
     contiguous run of per-word drops) are the words that depend on the term.
   When the ablation evidence is strong (a drop of at least ``min_evidence`` nats), its span
   is used, or the attention span when the two overlap (attention is sharper when the model
   was trained with guided alignment).  Without such evidence, the attention span is used if
   its tokens attend to the term far more than the other target tokens do (ratio of mean
   attention shares >= ``min_contrast``: a model trained with guided alignment).  Otherwise (a
   weak model that memorised its output, whose attention is useless) the term is inserted at
   the word boundary proportional to its position in the source (method ``insert``): present,
   but possibly beside the model's own rendering.  (Scoring every window of the hypothesis
   replaced by the term was tried: it costs one encoder pass per window and placed terms no
   better with such models.)
4. **Candidates**: (A) every located rendering replaced by its approved target (method
   ``replace``); (B) the hypothesis up to the first rendering, then the approved target, forced
   as ``target_prefix``, and the model continues (method ``prefix``); B is kept only if it
   contains every approved target and none of the replaced renderings.  One ``score_batch``
   call scores the candidates; the better per-token score wins.
5. The approved target keeps its casing, except that it is capitalised at the start of a
   sentence; an article already written before it is not doubled ("the the ...").

Every outcome records the target span in the final translation; word alignment is recomputed
for the final tokens (inserted term tokens are linked to the term's source words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .engine import detokenize
from .records import DecodeOptions, Engine, Hypothesis, TermMatch, TermOutcome

SPACE = "\u2581"
_SENTENCE_END = re.compile(r"(^|[.!?؟:;\"“”«»]\s*)$")


def target_pattern(target: str) -> re.Pattern[str]:
    """Case-insensitive, whole-word pattern of an approved target (inner spaces may vary)."""
    words = [re.escape(w) for w in target.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def find_target(text: str, target: str) -> list[tuple[int, int]]:
    return [m.span() for m in target_pattern(target).finditer(text)]


def _key(target: str) -> str:
    return " ".join(target.casefold().split())


def missing_matches(text: str, matches: Sequence[TermMatch]) -> list[TermMatch]:
    """The matches whose approved target the text lacks (a target needed twice must occur twice)."""
    groups: dict[str, list[TermMatch]] = {}
    for m in sorted(matches, key=lambda m: m.start):
        groups.setdefault(_key(m.target), []).append(m)
    missing = []
    for group in groups.values():
        found = len(find_target(text, group[0].target))
        missing.extend(group[found:])
    return sorted(missing, key=lambda m: m.start)


def _is_word_start(piece: str, i: int) -> bool:
    return i == 0 or piece.startswith(SPACE)


def _is_punct(piece: str) -> bool:
    s = piece.replace(SPACE, "")
    return bool(s) and not any(ch.isalnum() for ch in s)


def _words(pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Token ranges of the words of a piece sequence (trailing punctuation pieces split off)."""
    words: list[tuple[int, int]] = []
    for i, p in enumerate(pieces):
        trailing = _is_punct(p) and (i + 1 == len(pieces) or _is_word_start(pieces[i + 1], i + 1) or _is_punct(pieces[i + 1]))
        if _is_word_start(p, i) or (trailing and not _is_punct(pieces[i - 1])):
            words.append((i, i + 1))
        else:
            words[-1] = (words[-1][0], i + 1)
    return words


@dataclass
class _Plan:
    """Where a missing term goes in the best hypothesis."""

    match: TermMatch
    src_range: tuple[int, int]
    start: int  # token range replaced in the hypothesis (start == end: insertion)
    end: int
    method: str  # "replace" | "insert"


@dataclass
class _Segment:
    index: int
    src: list[str]
    src_spans: list[tuple[int, int]]
    seg_start: int
    matches: list[TermMatch]
    hyps: list[Hypothesis]


@dataclass
class _Final:
    tokens: list[str]
    attention: list[list[float]]
    score: float | None
    inserted: list[tuple[TermMatch, int, int, str]]  # match, token start, token end, method


class Constrainer:
    """Applies glossary constraints to decoded hypotheses (see the module docstring)."""

    def __init__(
        self,
        *,
        soft: bool = False,
        n_best: int = 4,
        rerank_margin: float = 0.5,
        min_evidence: float = 1.0,
        min_contrast: float = 3.0,
    ) -> None:
        self.soft = soft
        self.n_best = n_best
        self.rerank_margin = rerank_margin
        self.min_evidence = min_evidence
        self.min_contrast = min_contrast

    # -- entry point ------------------------------------------------------------------------
    def apply(
        self,
        engine: Engine,
        work: Sequence[Any],
        hyps: Sequence[Sequence[Hypothesis]],
        options: DecodeOptions,
    ) -> tuple[list[Hypothesis], list[list[TermOutcome]]]:
        best: list[Hypothesis] = [h[0] for h in hyps]
        outcomes: list[list[TermOutcome]] = [[] for _ in work]
        pending: list[_Segment] = []
        for i, (w, hs) in enumerate(zip(work, hyps)):
            if not w.matches:
                continue
            missing = missing_matches(hs[0].text, w.matches)
            if not missing:
                outcomes[i] = self._present(hs[0], w.matches)
                continue
            chosen = self._rerank(hs, w.matches)
            if chosen is not None:
                best[i] = chosen
                outcomes[i] = self._present(chosen, w.matches, changed=missing, method="nbest")
                continue
            if self.soft:
                pick = max(hs, key=lambda h: (len(w.matches) - len(missing_matches(h.text, w.matches)), h.score or 0.0))
                best[i] = pick
                failed = missing_matches(pick.text, w.matches)
                outcomes[i] = self._present(pick, w.matches, failed=failed, changed=missing if pick is not hs[0] else [])
                continue
            pending.append(
                _Segment(i, list(w.tokens.pieces), list(w.tokens.spans), w.segment.start, list(w.matches), list(hs))
            )
        if pending:
            for seg, final in zip(pending, self._enforce(engine, pending, options)):
                hyp, outs = self._finish(engine, seg, final)
                best[seg.index] = hyp
                outcomes[seg.index] = outs
        return best, outcomes

    # -- steps 1 and 2 ----------------------------------------------------------------------
    def _rerank(self, hyps: Sequence[Hypothesis], matches: Sequence[TermMatch]) -> Hypothesis | None:
        def norm(h: Hypothesis) -> float:
            return (h.score or 0.0) / max(len(h.tokens), 1)

        top = norm(hyps[0])
        ok = [h for h in hyps[1:] if not missing_matches(h.text, matches) and top - norm(h) <= self.rerank_margin]
        return max(ok, key=norm) if ok else None

    def _present(
        self,
        hyp: Hypothesis,
        matches: Sequence[TermMatch],
        *,
        changed: Sequence[TermMatch] = (),
        failed: Sequence[TermMatch] = (),
        method: str = "nbest",
    ) -> list[TermOutcome]:
        failed_ids = {id(m) for m in failed}
        changed_ids = {id(m) for m in changed}
        used: set[tuple[int, int]] = set()
        out = []
        for m in sorted(matches, key=lambda m: m.start):
            if id(m) in failed_ids:
                out.append(TermOutcome(m, None, None, "failed", "", "soft mode: the model did not produce it"))
                continue
            span = next((s for s in find_target(hyp.text, m.target) if s not in used), None)
            if span is None:  # cannot happen: presence was checked
                out.append(TermOutcome(m, None, None, "failed", "", "not found in the translation"))
                continue
            used.add(span)
            if id(m) in changed_ids:
                out.append(TermOutcome(m, span[0], span[1], "enforced", method))
            else:
                out.append(TermOutcome(m, span[0], span[1], "present", "model"))
        return out

    # -- steps 3 and 4 ----------------------------------------------------------------------
    def _src_range(self, seg: _Segment, m: TermMatch) -> tuple[int, int]:
        s, e = m.start - seg.seg_start, m.end - seg.seg_start
        idx = [k for k, (a, b) in enumerate(seg.src_spans) if a < e and b > s]
        return (idx[0], idx[-1] + 1) if idx else (0, 0)

    def _attention_span(self, hyp: Hypothesis, n_src: int, rng: tuple[int, int]) -> tuple[int, int] | None:
        # share of each target token's attention that falls on the term's source tokens
        shares = []
        for row in hyp.attention[: len(hyp.tokens)]:
            cols = row[:n_src]
            total = sum(cols)
            shares.append(sum(cols[rng[0] : rng[1]]) / total if total > 0 else 0.0)
        if not shares:
            return None
        top = max(shares)
        hits = [t for t, sh in enumerate(shares) if sh >= max(0.15, 0.6 * top)]
        if not hits:
            return None
        # the largest run of (nearly) consecutive tokens: stray tokens elsewhere are noise
        clusters: list[list[int]] = [[hits[0]]]
        for t in hits[1:]:
            if t - clusters[-1][-1] <= 2:
                clusters[-1].append(t)
            else:
                clusters.append([t])
        best = max(clusters, key=len)
        return self._to_words(hyp.tokens, best[0], best[-1] + 1)

    @staticmethod
    def _to_words(tokens: Sequence[str], start: int, end: int) -> tuple[int, int]:
        words = _words(tokens)
        s = max((a for a, b in words if a <= start), default=0)
        e = min((b for a, b in words if b >= end), default=len(tokens))
        while e > s + 1 and _is_punct(tokens[e - 1]):
            e -= 1
        return s, e

    def _ablation_span(self, tokens: Sequence[str], full: Sequence[float], ablated: Sequence[float]) -> tuple[tuple[int, int], float] | None:
        words = [(a, b) for a, b in _words(tokens) if not all(_is_punct(tokens[k]) for k in range(a, b))]
        if not words:
            return None
        drops = [sum(full[k] - ablated[k] for k in range(a, b)) for a, b in words]
        # maximum-sum contiguous run of per-word drops (Kadane)
        best, best_range = 0.0, None
        cur, cur_start = 0.0, 0
        for k, d in enumerate(drops):
            if cur <= 0:
                cur, cur_start = d, k
            else:
                cur += d
            if cur > best:
                best, best_range = cur, (cur_start, k)
        if best_range is None:
            return None
        # trim weak words at the edges
        lo, hi = best_range
        peak = max(drops[lo : hi + 1])
        while lo < hi and drops[lo] < 0.1 * peak:
            lo += 1
        while hi > lo and drops[hi] < 0.1 * peak:
            hi -= 1
        return (words[lo][0], words[hi][1]), best

    def _locate(
        self, seg: _Segment, full: Sequence[float], ablated: Mapping[int, Sequence[float]]
    ) -> list[tuple[TermMatch, tuple[int, int], tuple[int, int] | None]]:
        """(match, source token range, located token span or None) for each missing term."""
        hyp = seg.hyps[0]
        n_src = len(seg.src)
        out: list[tuple[TermMatch, tuple[int, int], tuple[int, int] | None]] = []
        for k, m in enumerate(missing_matches(hyp.text, seg.matches)):
            rng = self._src_range(seg, m)
            abl = self._ablation_span(hyp.tokens, full, ablated[k]) if k in ablated else None
            span: tuple[int, int] | None = None
            att = self._attention_span(hyp, n_src, rng) if rng[1] > rng[0] else None
            if abl and abl[1] >= self.min_evidence:
                overlap = att and att[0] < abl[0][1] and abl[0][0] < att[1]
                span = att if overlap else abl[0]
            elif att and _distinct(hyp, att, rng, n_src) >= self.min_contrast:
                span = att  # the output does not depend on the term, but attention singles it out
            if span is not None and not self._plausible(seg, m, span):
                span = None
            out.append((m, rng, span))
        return out

    def _plausible(self, seg: _Segment, m: TermMatch, span: tuple[int, int]) -> bool:
        """A located rendering must not cover another term's target the model got right, nor be
        far longer than the term."""
        hyp = seg.hyps[0]
        words = [w for w in _words(hyp.tokens) if span[0] <= w[0] < span[1]]
        if len(words) > 3 * len(m.text.split()) + 3:
            return False
        _, char_spans = detokenize(list(hyp.tokens))
        cs, ce = char_spans[span[0]][0], char_spans[span[1] - 1][1]
        for x in seg.matches:
            if x is m:
                continue
            for ps, pe in find_target(hyp.text, x.target):
                if ps < ce and cs < pe:
                    return False
        return True

    def _plans(
        self,
        located: Sequence[tuple[TermMatch, tuple[int, int], tuple[int, int] | None]],
        tokens: Sequence[str],
        n_src: int,
    ) -> list[_Plan]:
        plans: list[_Plan] = []
        starts = [a for a, _ in _words(tokens)] + [len(tokens)]
        for m, rng, span in located:
            method = "replace"
            if span is None or any(p.start < span[1] and span[0] < p.end for p in plans):
                # nothing located: insert at the position proportional to the term's position
                # in the source (translation is roughly monotonic)
                want = rng[0] / max(n_src, 1) * len(tokens)
                free = [a for a in starts if not any(p.start < a < p.end for p in plans)]
                pos = min(free, key=lambda a: abs(a - want))
                span, method = (pos, pos), "insert"
            plans.append(_Plan(m, rng, span[0], span[1], method))
        return sorted(plans, key=lambda p: (p.start, p.end))

    def _term_pieces(self, engine: Engine, target: str, before: Sequence[str]) -> list[str]:
        prev = detokenize(list(before))[0]
        text = target
        if _SENTENCE_END.search(prev) and text[:1].islower():
            text = text[:1].upper() + text[1:]
        pieces = engine.encode_target(text)
        if detokenize(pieces)[0] != text:  # the vocabulary cannot spell it: one literal piece
            pieces = [SPACE + text.replace(" ", SPACE)]
        return pieces

    def _build_replacement(self, engine: Engine, seg: _Segment, plans: Sequence[_Plan]) -> _Final:
        hyp = seg.hyps[0]
        tokens: list[str] = []
        attention: list[list[float]] = []
        inserted: list[tuple[TermMatch, int, int, str]] = []
        rows = [list(r) for r in hyp.attention] or [[] for _ in hyp.tokens]
        pos = 0
        for plan in plans:
            tokens.extend(hyp.tokens[pos : plan.start])
            attention.extend(rows[pos : plan.start])
            if _starts_with_article(plan.match.target):
                _drop_trailing_article(tokens, attention)
            pieces = self._term_pieces(engine, plan.match.target, tokens)
            start = len(tokens)
            tokens.extend(pieces)
            attention.extend(_one_hot_rows(len(pieces), plan.src_range, len(seg.src)))
            inserted.append((plan.match, start, len(tokens), plan.method))
            pos = plan.end
        tokens.extend(hyp.tokens[pos:])
        attention.extend(rows[pos:])
        return _Final(tokens, attention, None, inserted)

    def _enforce(self, engine: Engine, segs: Sequence[_Segment], options: DecodeOptions) -> list[_Final]:
        # step 3: one scoring batch: the best hypothesis given the full source, and given the
        # source without each missing term's tokens
        src_batch: list[list[str]] = []
        tgt_batch: list[list[str]] = []
        owners: list[tuple[int, int]] = []  # (segment, missing index or -1 for full)
        for s, seg in enumerate(segs):
            hyp = seg.hyps[0]
            src_batch.append(seg.src)
            tgt_batch.append(list(hyp.tokens))
            owners.append((s, -1))
            for k, m in enumerate(missing_matches(hyp.text, seg.matches)):
                a, b = self._src_range(seg, m)
                if b > a:
                    src_batch.append(seg.src[:a] + seg.src[b:])
                    tgt_batch.append(list(hyp.tokens))
                    owners.append((s, k))
        scored = engine.score_tokens(src_batch, tgt_batch)
        full: dict[int, list[float]] = {}
        ablated: dict[int, dict[int, list[float]]] = {}
        for (s, k), lp in zip(owners, scored):
            if k < 0:
                full[s] = lp
            else:
                ablated.setdefault(s, {})[k] = lp
        located = [self._locate(seg, full[s], ablated.get(s, {})) for s, seg in enumerate(segs)]
        plans = [self._plans(loc, seg.hyps[0].tokens, len(seg.src)) for seg, loc in zip(segs, located)]
        cand_a = [self._build_replacement(engine, seg, p) for seg, p in zip(segs, plans)]

        # step 4: candidate B, one decoding batch: prefix up to the first rendering + the term
        prefixes: list[list[str]] = []
        b_owner: list[int] = []
        term_len: dict[int, int] = {}
        for s, (seg, p) in enumerate(zip(segs, plans)):
            first = p[0]
            if first.method != "replace":
                continue  # nothing located to continue from: the replacement candidate only
            before = list(seg.hyps[0].tokens[: first.start])
            if _starts_with_article(first.match.target):
                _drop_trailing_article(before, [[] for _ in before])
            pieces = self._term_pieces(engine, first.match.target, before)
            if len(pieces) == 1 and " " in detokenize(pieces)[0]:
                continue  # a literal piece outside the vocabulary: the model cannot continue from it
            prefixes.append(before + pieces)
            term_len[s] = len(pieces)
            b_owner.append(s)
        cand_b: dict[int, _Final] = {}
        if prefixes:
            decode = replace(options, beam_size=2, num_hypotheses=1, return_attention=True)
            decoded = engine.translate([segs[s].src for s in b_owner], decode, target_prefix=prefixes)
            for s, pfx, res in zip(b_owner, prefixes, decoded):
                h = res[0]
                seg, p = segs[s], plans[s]
                if missing_matches(detokenize(list(h.tokens))[0], seg.matches):
                    continue
                tail = detokenize(list(h.tokens[len(pfx) :]))[0].casefold()
                renders = [
                    detokenize(list(seg.hyps[0].tokens[q.start : q.end]))[0].casefold()
                    for q in p
                    if q.end > q.start
                ]
                if any(r and r not in _key(q.match.target) and r in tail for r, q in zip(renders, p)):
                    continue  # the model wrote its own rendering again
                rows = [list(r) for r in h.attention] or [[] for _ in h.tokens]
                a0 = len(pfx) - term_len[s]
                rows[a0 : len(pfx)] = _one_hot_rows(len(pfx) - a0, p[0].src_range, len(seg.src))
                inserted = [(p[0].match, a0, len(pfx), "prefix")]
                cand_b[s] = _Final(list(h.tokens), rows, None, inserted)

        # score the candidates in one batch; the better per-token log-probability wins
        order = [(s, "a") for s in range(len(segs))] + [(s, "b") for s in cand_b]
        cands = [cand_a[s] if which == "a" else cand_b[s] for s, which in order]
        scores = engine.score_tokens([segs[s].src for s, _ in order], [c.tokens for c in cands])
        chosen: list[_Final] = list(cand_a)
        best_norm: dict[int, float] = {}
        for (s, _which), cand, lp in zip(order, cands, scores):
            norm = sum(lp) / max(len(lp), 1)
            cand.score = sum(lp)
            if s not in best_norm or norm > best_norm[s]:
                best_norm[s] = norm
                chosen[s] = cand
        return chosen

    def _finish(self, engine: Engine, seg: _Segment, final: _Final) -> tuple[Hypothesis, list[TermOutcome]]:
        text, spans = detokenize(final.tokens)
        hyp = Hypothesis(
            text=text,
            tokens=tuple(final.tokens),
            score=final.score,
            attention=final.attention,
        )
        outcomes: dict[int, TermOutcome] = {}
        taken: list[tuple[int, int]] = []
        for match, a, b, method in final.inserted:
            s, e = spans[a][0], spans[b - 1][1]
            if _key(text[s:e]) == _key(match.target):
                outcomes[id(match)] = TermOutcome(match, s, e, "enforced", method)
                taken.append((s, e))
        for m in sorted(seg.matches, key=lambda m: m.start):
            if id(m) in outcomes:
                continue
            span = next(
                (sp for sp in find_target(text, m.target) if all(sp[1] <= t0 or sp[0] >= t1 for t0, t1 in taken)),
                None,
            )
            if span is None:
                outcomes[id(m)] = TermOutcome(m, None, None, "failed", "", "could not be placed in the translation")
                continue
            taken.append(span)
            was_missing = any(m is x for x in missing_matches(seg.hyps[0].text, seg.matches))
            status, method = ("enforced", final.inserted[0][3] if final.inserted else "replace") if was_missing else ("present", "model")
            outcomes[id(m)] = TermOutcome(m, span[0], span[1], status, method)
        return hyp, [outcomes[id(m)] for m in sorted(seg.matches, key=lambda m: m.start)]


def _distinct(hyp: Hypothesis, span: tuple[int, int], rng: tuple[int, int], n_src: int) -> float:
    """How much more the tokens of ``span`` attend to the term's source tokens than the other
    target tokens do (ratio of mean shares): high for a model trained with guided alignment,
    near 1 for attention never trained to align."""
    shares = []
    for row in hyp.attention[: len(hyp.tokens)]:
        total = sum(row[:n_src])
        shares.append(sum(row[rng[0] : rng[1]]) / total if total > 0 else 0.0)
    inside = shares[span[0] : span[1]]
    outside = shares[: span[0]] + shares[span[1] :]
    if not inside:
        return 0.0
    mean_in = sum(inside) / len(inside)
    mean_out = sum(outside) / len(outside) if outside else 0.0
    return mean_in / max(mean_out, 0.02)


def _starts_with_article(target: str) -> bool:
    return target.split(" ", 1)[0].lower() in {"the", "a", "an"}


def _drop_trailing_article(tokens: list[str], attention: list[list[float]]) -> None:
    """Remove a final article word from the tokens built so far ("the" + "the X" is not doubled)."""
    words = _words(tokens)
    if words:
        a, b = words[-1]
        if detokenize(tokens[a:b])[0].strip().lower() in {"the", "a", "an"}:
            del tokens[a:b]
            del attention[a:b]


def _one_hot_rows(n: int, src_range: tuple[int, int], n_src: int) -> list[list[float]]:
    """Synthetic attention linking n inserted target tokens to the term's source tokens, in order."""
    a, b = src_range
    width = max(b - a, 1)
    rows = []
    for k in range(n):
        row = [0.0] * max(n_src, 1)
        col = min(a + (k * width) // max(n, 1), max(n_src - 1, 0))
        row[col] = 1.0
        rows.append(row)
    return rows
