"""Terminology constraints on top of CTranslate2, which has no lexically constrained beam search.

The goal: the constrained translation is the model's own sentence with the model's rendering
of each matched term replaced by the approved target, and nothing else changed.  Articles,
conjunctions and prepositions that belong to the sentence stay; no word of the model's
rendering is left behind; a term that occurs twice is replaced twice, each in its place.

Per segment (every model call below is batched over the segments of a chunk):

1. **Present.**  The best hypothesis already contains every approved target (case-insensitive,
   whole words, as many times as the term occurs): nothing to do (``present``).
2. **The model's own rendering of the term**, found by translating the term alone (the
   canonical source and the surface form in the text) with an n-best beam.  Renderings are
   cached per model checksum (and stored in the database by the pipeline), so a glossary term
   is decoded once per model, not once per sentence.  A model trained on whole sentences
   often wraps the term in invented context ("The stopping of fire Sochi"), so a word n-gram
   counts as the rendering only when at least half of the n-best list contains it.
3. **Ablation evidence.**  One ``score_batch`` call scores the hypothesis given the source
   with the term's pieces replaced by ``<unk>``: the word whose log-probability drops most
   depends on the term (the *anchor*).  This needs no trained attention.
4. **Locate.**  The rendering n-grams are searched in the hypothesis (case-insensitive, on
   Snowball stems, so "zone"/"zones" match).  The longest occurrence containing the anchor
   wins (method ``rendering``); with no anchor, an occurrence that is unique in the sentence;
   with an anchor but no rendering found, the run of words around the anchor whose drop is at
   least a tenth of the peak (method ``ablation``).  English function words at the edges of a
   span (the, a, of, and, in, ...) belong to the sentence and are kept, unless the approved
   target itself has them there.  Spans never overlap another term's span or target.
5. **Replace** each located span by the approved target (number agreement comes from the
   matcher: ``TermMatch.target`` is already the plural for a dual or plural match).  An
   approved target starting with an article absorbs the sentence's article before the span
   ("the" + "the guarantor states" is not doubled).  Casing follows the sentence: capitalised
   at a sentence start, the approved casing elsewhere.
6. **Inserted.**  A term whose rendering cannot be located at all is inserted at the word
   boundary proportional to its position in the source, and reported as ``inserted``, not
   ``enforced``: the model's own rendering may still stand beside it.

In ``--soft`` mode nothing is forced: of the n-best hypotheses the one with the most approved
targets is kept, and every term it lacks is reported ``failed``.

Every outcome records its method and its target span in the final translation; word
alignment is computed afterwards on the final tokens (see :mod:`translate_pipe.align`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .align import UNK, is_punct, words
from .engine import mark_words
from .records import DecodeOptions, Engine, Hypothesis, TermMatch, TermOutcome, WorkItem

_SENTENCE_END = re.compile(r"[.!?؟:;\"“”«»]\s*$")
ARTICLES = frozenset({"the", "a", "an"})
FUNCTION_WORDS = ARTICLES | frozenset(
    {"of", "and", "or", "in", "on", "at", "to", "for", "with", "by", "from", "as", "into", "about", "'s", "s"}
)
MAX_NGRAM = 8


def target_pattern(target: str) -> re.Pattern[str]:
    """Case-insensitive, whole-word pattern of an approved target (inner spaces may vary)."""
    parts = [re.escape(w) for w in target.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


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


class _Stemmer:
    """Snowball's English stemmer, loaded on first use."""

    def __init__(self) -> None:
        self._stem: dict[str, str] = {}
        self._impl: object | None = None

    def __call__(self, word: str) -> str:
        w = word.casefold()
        if w not in self._stem:
            if self._impl is None:
                import snowballstemmer

                self._impl = snowballstemmer.stemmer("english")
            self._stem[w] = self._impl.stemWord(w)  # type: ignore[union-attr]
        return self._stem[w]


_stem = _Stemmer()
_WORD_EDGE = re.compile(r"^\W+|\W+$")


def _norm_words(text: str) -> list[str]:
    out = []
    for w in text.split():
        w = _WORD_EDGE.sub("", w)
        if w:
            out.append(_stem(w))
    return out


class RenderingCache(Protocol):
    """The model's own renderings of term sources (n-best texts), per model checksum."""

    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]: ...

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None: ...


class MemoryRenderingCache:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], list[str]] = {}

    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]:
        return {s: self._data[(model, s)] for s in sources if (model, s) in self._data}

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None:
        for s, r in renderings.items():
            self._data[(model, s)] = list(r)


@dataclass
class _Plan:
    match: TermMatch
    start: int  # word range of the hypothesis replaced (start == end: insertion)
    end: int
    method: str  # "rendering" | "ablation" | "insert"


@dataclass
class _Segment:
    index: int
    item: WorkItem
    hyp: Hypothesis
    missing: list[TermMatch]
    words: list[tuple[int, int]] = field(default_factory=list)  # token ranges of non-punctuation words
    stems: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class Constrainer:
    """Applies glossary constraints to decoded hypotheses (see the module docstring)."""

    def __init__(
        self,
        *,
        soft: bool = False,
        soft_n_best: int = 4,
        n_renderings: int = 8,
        min_support: float = 0.5,
        min_evidence: float = 0.5,
        min_contrast: float = 3.0,
        cache: RenderingCache | None = None,
    ) -> None:
        self.min_contrast = min_contrast
        self.soft = soft
        self.n_best = soft_n_best if soft else 1
        self.n_renderings = n_renderings
        self.min_support = min_support
        self.min_evidence = min_evidence
        self.cache: RenderingCache = cache if cache is not None else MemoryRenderingCache()

    # -- entry point ------------------------------------------------------------------------
    def apply(
        self,
        engine: Engine,
        work: Sequence[WorkItem],
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
                outcomes[i] = _present(hs[0].text, w.matches)
            elif self.soft:
                pick = max(hs, key=lambda h: (-len(missing_matches(h.text, w.matches)), h.score or 0.0))
                best[i] = pick
                failed = missing_matches(pick.text, w.matches)
                changed = [] if pick is hs[0] else [m for m in missing if m not in failed]
                outcomes[i] = _present(pick.text, w.matches, failed=failed, changed=changed)
            else:
                pending.append(_Segment(i, w, hs[0], missing))
        if pending:
            renderings = self._renderings(engine, [m for s in pending for m in s.missing])
            for seg in pending:
                hyp, outs = self._enforce(engine, seg, renderings)
                best[seg.index] = hyp
                outcomes[seg.index] = outs
        return best, outcomes

    # -- step 2: the model's renderings of the terms --------------------------------------------
    def _renderings(self, engine: Engine, matches: Sequence[TermMatch]) -> dict[str, list[str]]:
        sources = sorted({s for m in matches for s in (m.source, m.text) if s.strip()})
        model = engine.package.checksum
        have = self.cache.get_renderings(model, sources)
        todo = [s for s in sources if s not in have]
        if todo:
            n = self.n_renderings
            opts = DecodeOptions(beam_size=n, num_hypotheses=n, return_attention=False, length_ratio=2.0, length_slack=6)
            decoded = engine.translate([engine.tokenize(s).pieces for s in todo], opts)
            new = {s: [h.text for h in hs] for s, hs in zip(todo, decoded)}
            self.cache.put_renderings(model, new)
            have.update(new)
        return have

    # -- steps 3 to 6 -----------------------------------------------------------------------
    def _enforce(self, engine: Engine, seg: _Segment, renderings: Mapping[str, list[str]]) -> tuple[Hypothesis, list[TermOutcome]]:
        seg.words, seg.texts = _word_ranges(engine, list(seg.hyp.tokens))
        seg.stems = [(_norm_words(t) or [""])[0] for t in seg.texts]
        drops = self._ablation(engine, seg)
        # spans already taken: targets of terms that are present
        taken: list[tuple[int, int]] = []
        present_words = self._present_word_spans(engine, seg)
        taken.extend(present_words)
        plans: list[_Plan] = []
        order = sorted(range(len(seg.missing)), key=lambda k: -max(drops[k], default=0.0))
        for k in order:
            m = seg.missing[k]
            plan = self._locate(seg, m, drops[k], renderings, taken)
            if plan is not None:
                taken.append((plan.start, plan.end))
                plans.append(plan)
        placed = {id(p.match) for p in plans}
        for m in seg.missing:
            if id(m) not in placed:
                plans.append(self._insertion(seg, m, taken))
        return self._build(engine, seg, sorted(plans, key=lambda p: (p.start, p.end)))

    def _present_word_spans(self, engine: Engine, seg: _Segment) -> list[tuple[int, int]]:
        """Word ranges covered by approved targets already in the hypothesis."""
        text, spans = engine.decode(list(seg.hyp.tokens))
        word_chars = [_chars(spans, a, b) for a, b in seg.words]
        out = []
        for m in seg.item.matches:
            for s, e in find_target(text, m.target):
                idx = [i for i, (ws, we) in enumerate(word_chars) if ws < e and s < we]
                if idx:
                    out.append((idx[0], idx[-1] + 1))
        return out

    def _ablation(self, engine: Engine, seg: _Segment) -> list[list[float]]:
        """Per missing term, the drop of every word's log-probability when the term is hidden."""
        item = seg.item
        src = list(item.source_pieces)
        rows = [src]
        for m in seg.missing:
            s, e = m.start - item.segment.start, m.end - item.segment.start
            rows.append([UNK if a < e and b > s else p for p, (a, b) in zip(src, item.source_spans)])
        scored = engine.score_tokens(rows, [list(seg.hyp.tokens)] * len(rows))
        full = scored[0]
        out = []
        for lp in scored[1:]:
            out.append([sum(full[t] - lp[t] for t in range(a, b)) for a, b in seg.words])
        return out

    def _trim(self, seg: _Segment, start: int, end: int, target: str) -> tuple[int, int]:
        """Drop function words at the edges of a span, unless the approved target has them there."""
        tw = [w.casefold() for w in target.split()]
        while start < end and seg.texts[start].casefold() in FUNCTION_WORDS and not (tw and tw[0] == seg.texts[start].casefold()):
            start += 1
        while end > start and seg.texts[end - 1].casefold() in FUNCTION_WORDS and not (tw and tw[-1] == seg.texts[end - 1].casefold()):
            end -= 1
        return start, end

    def _locate(
        self,
        seg: _Segment,
        m: TermMatch,
        drops: Sequence[float],
        renderings: Mapping[str, list[str]],
        taken: Sequence[tuple[int, int]],
    ) -> _Plan | None:
        def free(a: int, b: int) -> bool:
            return b > a and all(b <= x or a >= y for x, y in taken)

        # the anchor: the content word whose probability depends most on the term (a function
        # word may depend on a proclitic the match covers, as "and" on و)
        content = [j for j in range(len(drops)) if seg.texts[j].casefold() not in FUNCTION_WORDS]
        anchor = max(content, key=drops.__getitem__) if content else -1
        if anchor >= 0 and drops[anchor] < self.min_evidence:
            anchor = -1
        # rendering n-grams supported by at least min_support of the n-best list
        support: dict[tuple[str, ...], int] = {}
        # a translation of the term alone much longer than the term is the model inventing a
        # sentence around it (or reciting one it memorised): not a rendering
        limit = len(m.text.split()) + 3
        hyps_texts = [
            t
            for s in dict.fromkeys((m.source, m.text))
            for t in renderings.get(s, [])
            if len(t.split()) <= limit
        ]
        for text in hyps_texts:
            ws = _norm_words(text)
            grams = {tuple(ws[i:j]) for i in range(len(ws)) for j in range(i + 1, min(len(ws), i + MAX_NGRAM) + 1)}
            for g in grams:
                support[g] = support.get(g, 0) + 1
        need = self.min_support * max(len(hyps_texts), 1)
        all_texts = sum(len(renderings.get(s, [])) for s in dict.fromkeys((m.source, m.text)))
        concise = len(hyps_texts) >= 0.5 * all_texts  # the model renders the term alone concisely
        stems = seg.stems
        cands: list[tuple[int, int]] = []
        for i in range(len(stems)):
            for j in range(i + 1, min(len(stems), i + MAX_NGRAM) + 1):
                if support.get(tuple(stems[i:j]), 0) >= need:
                    a, b = self._trim(seg, i, j, m.target)
                    if b > a and free(a, b):
                        cands.append((a, b))
        cands = sorted(set(cands), key=lambda c: (-(c[1] - c[0]), c[0]))
        att = self._attention_span(seg, m)
        if cands:
            # the model's rendering is in the sentence: decide which occurrence, by the word that
            # depends on the term, else by attention (only to choose between renderings: the
            # attention of a model not trained to align can single out a part of one), else by
            # the term's relative place in the source (the same term twice)
            if anchor >= 0:
                with_anchor = [c for c in cands if c[0] <= anchor < c[1]]
                if with_anchor:
                    return _Plan(m, *with_anchor[0], "rendering")
            if att is not None:
                with_att = [c for c in cands if c[0] < att[1] and att[0] < c[1]]
                if with_att:
                    return _Plan(m, *with_att[0], "rendering")
                # attention far more distinct than chance, elsewhere: these "renderings" are noise
                # (a model that recites memorised sentences for a term alone)
                strong = None if concise else self._attention_span(seg, m, contrast=3 * self.min_contrast)
                if strong is not None and free(*strong):
                    return _Plan(m, strong[0], strong[1], "attention")
            if anchor < 0 or not free(anchor, anchor + 1):
                longest = tuple(stems[cands[0][0] : cands[0][1]])
                same = [c for c in cands if tuple(stems[c[0] : c[1]]) == longest]
                rel = (m.start - seg.item.segment.start) / max(len(seg.item.segment.text), 1)
                a, b = min(same, key=lambda c: abs(c[0] / max(len(stems), 1) - rel))
                return _Plan(m, a, b, "rendering")
        elif att is not None and free(*att):
            return _Plan(m, att[0], att[1], "attention")
        if anchor < 0 or not free(anchor, anchor + 1):
            return None
        # the run of words around the anchor that depend on the term
        peak = drops[anchor]
        a, b = anchor, anchor + 1
        while a > 0 and drops[a - 1] >= 0.1 * peak and free(a - 1, b):
            a -= 1
        while b < len(drops) and drops[b] >= 0.1 * peak and free(a, b + 1):
            b += 1
        a, b = self._trim(seg, a, b, m.target)
        if b <= a:
            return None
        return _Plan(m, a, b, "ablation")

    def _attention_span(self, seg: _Segment, m: TermMatch, contrast: float | None = None) -> tuple[int, int] | None:
        """The words whose attention falls on the term, if attention clearly singles them out
        (a model trained with guided alignment; never trusted otherwise)."""
        att = seg.hyp.attention
        if not att:
            return None
        item = seg.item
        s, e = m.start - item.segment.start, m.end - item.segment.start
        cols = [k for k, (a, b) in enumerate(item.source_spans) if a < e and b > s]
        if not cols:
            return None
        n_src = len(item.source_pieces)
        shares = []
        for a, b in seg.words:
            vals = []
            for row in att[a:b]:
                total = sum(row[:n_src])
                vals.append(sum(row[c] for c in cols) / total if total > 0 else 0.0)
            shares.append(max(vals) if vals else 0.0)
        if not shares:
            return None
        top = max(shares)
        hits = [j for j, v in enumerate(shares) if v >= max(0.1, 0.6 * top)]
        if not hits:
            return None
        a, b = hits[0], hits[-1] + 1
        if b - a != len(hits) or b - a > 2 * len(m.text.split()) + 2:
            return None  # scattered or far too long: not an alignment
        inside = sum(shares[a:b]) / (b - a)
        rest = shares[:a] + shares[b:]
        outside = sum(rest) / len(rest) if rest else 0.0
        if inside < (contrast or self.min_contrast) * max(outside, 0.02):
            return None
        a, b = self._trim(seg, a, b, m.target)
        return (a, b) if b > a else None

    def _insertion(self, seg: _Segment, m: TermMatch, taken: Sequence[tuple[int, int]]) -> _Plan:
        """Nothing located: the word boundary proportional to the term's position in the source."""
        item = seg.item
        n_words = len(seg.words)
        rel = (m.start - item.segment.start) / max(len(item.segment.text), 1)
        want = rel * n_words
        bounds = [k for k in range(n_words + 1) if all(not (x < k < y) for x, y in taken)]
        pos = min(bounds, key=lambda k: abs(k - want))
        return _Plan(m, pos, pos, "insert")

    # -- building the final tokens ----------------------------------------------------------------
    def _build(self, engine: Engine, seg: _Segment, plans: Sequence[_Plan]) -> tuple[Hypothesis, list[TermOutcome]]:
        tokens = list(seg.hyp.tokens)
        n_tok = len(tokens)
        out: list[str] = []
        placed: list[tuple[TermMatch, int, int, str]] = []  # match, token range in out, method
        pos = 0
        for plan in plans:
            a = seg.words[plan.start][0] if plan.start < len(seg.words) else n_tok
            b = seg.words[plan.end - 1][1] if plan.end > plan.start else a
            if plan.end == plan.start and plan.start < len(seg.words):
                a = b = seg.words[plan.start][0]
            out.extend(tokens[pos:a])
            target = plan.match.target
            if target.split(" ", 1)[0].casefold() in ARTICLES:
                _drop_trailing_article(engine, out)
            prev = engine.decode(out)[0]
            text = target
            if (not prev.strip() or _SENTENCE_END.search(prev)) and text[:1].islower():
                text = text[:1].upper() + text[1:]
            pieces = engine.encode_target(text)
            if engine.decode(pieces)[0] != text:  # the vocabulary cannot spell it: literal pieces
                pieces = engine.literal(text)
            start = len(out)
            out.extend(pieces)
            placed.append((plan.match, start, len(out), plan.method))
            pos = b
        out.extend(tokens[pos:])
        text, spans = engine.decode(out)
        outcomes: dict[int, TermOutcome] = {}
        used: list[tuple[int, int]] = []
        for match, a, b, method in placed:
            s, e = _chars(spans, a, b)
            status = "inserted" if method == "insert" else "enforced"
            reason = "the model's own rendering was not located; it may remain beside the term" if method == "insert" else ""
            outcomes[id(match)] = TermOutcome(match, s, e, status, method, reason)
            used.append((s, e))
        for m in seg.item.matches:
            if id(m) in outcomes:
                continue
            span = next((sp for sp in find_target(text, m.target) if all(sp[1] <= x or sp[0] >= y for x, y in used)), None)
            if span is None:
                outcomes[id(m)] = TermOutcome(m, None, None, "failed", "", "could not be placed in the translation")
                continue
            used.append(span)
            outcomes[id(m)] = TermOutcome(m, span[0], span[1], "present", "model")
        hyp = Hypothesis(text=text, tokens=tuple(out), score=None, attention=())
        return hyp, [outcomes[id(m)] for m in sorted(seg.item.matches, key=lambda m: m.start)]


def _present(
    text: str,
    matches: Sequence[TermMatch],
    *,
    changed: Sequence[TermMatch] = (),
    failed: Sequence[TermMatch] = (),
) -> list[TermOutcome]:
    failed_ids = {id(m) for m in failed}
    changed_ids = {id(m) for m in changed}
    used: set[tuple[int, int]] = set()
    out = []
    for m in sorted(matches, key=lambda m: m.start):
        if id(m) in failed_ids:
            out.append(TermOutcome(m, None, None, "failed", "", "soft mode: the model did not produce it"))
            continue
        span = next((s for s in find_target(text, m.target) if s not in used), None)
        if span is None:  # cannot happen: presence was checked
            out.append(TermOutcome(m, None, None, "failed", "", "not found in the translation"))
            continue
        used.add(span)
        if id(m) in changed_ids:
            out.append(TermOutcome(m, span[0], span[1], "enforced", "nbest"))
        else:
            out.append(TermOutcome(m, span[0], span[1], "present", "model"))
    return out


def _chars(spans: Sequence[tuple[int, int]], a: int, b: int) -> tuple[int, int]:
    """Character span of the pieces a..b (pieces that stand for no character are skipped)."""
    real = [spans[k] for k in range(a, b) if spans[k][1] > spans[k][0]] or [spans[a]]
    return min(s for s, _ in real), max(e for _, e in real)


def _word_ranges(engine: Engine, tokens: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Token ranges and texts of the words of a hypothesis (punctuation-only words left out),
    by the package tokenizer's own word starts (SentencePiece ``▁`` or BPE ``@@`` joiners)."""
    text, spans = engine.decode(tokens)
    marked = mark_words(tokens, engine.word_starts(tokens, spans))
    ranges = [(a, b) for a, b in words(marked) if not all(is_punct(marked[k]) for k in range(a, b))]
    texts = []
    for a, b in ranges:
        s, e = _chars(spans, a, b)
        texts.append(text[s:e].strip())
    return ranges, texts


def _drop_trailing_article(engine: Engine, tokens: list[str]) -> None:
    """Remove a final article word from the tokens built so far; its casing moves to the term."""
    if not tokens:
        return
    ranges, texts = _word_ranges(engine, tokens)
    if ranges and ranges[-1][1] == len(tokens) and texts[-1].casefold() in ARTICLES:
        del tokens[ranges[-1][0] :]
