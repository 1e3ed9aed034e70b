"""The only module that chains the stages: segment -> match terms -> translate -> align -> store.

Two chains, both on an injected :class:`~translate_pipe.store.Store` and an engine loader
(``load_engine(from_code, to_code) -> Engine``; the loader is called only after every cheap
check has passed, so a bad glossary never loads a model):

* :func:`translate` -- documents already read (:class:`~translate_pipe.files.InputDoc`) and
  their planned outputs -> one stored run, output files written;
* :func:`retranslate` -- after glossary edits, the segments whose matched terms changed since
  their translation, as a new run; the output files of the affected documents are refreshed.

Segments of all inputs are decoded together in chunks of ``chunk_segments`` (large
CTranslate2 batches, bounded memory); each document is written in one transaction as soon as
all its segments are done.  Any failure marks the run ``failed`` with its message.

Nothing here reads a user's file, prints or knows the ``--json`` shape (:mod:`.report`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .align import AlignItem, align
from .constrain import Constrainer
from .engine import mark_words
from .errors import ConstraintError, GlossaryError, InputError
from .files import InputDoc, atomic_write
from .glossary import Matcher, stale_reasons
from .records import (
    DecodeOptions,
    Engine,
    GlossaryInfo,
    Hypothesis,
    Segment,
    SegmentTranslation,
    StoredTranslation,
    TermFinder,
    TermMatch,
    TermOutcome,
    WorkItem,
)
from .records import Constrainer as ConstrainerProtocol
from .segment import split_for_model
from .store import Store
from .tm import Reuse, TranslationMemory, assemble, plan_reuse

Progress = Callable[[int, int], None]
EngineLoader = Callable[[str, str], Engine]  # (from_code, to_code) -> a loaded engine


@dataclass(frozen=True)
class TranslateSettings:
    """Everything a run is translated with; stored with the run (``as_dict``)."""

    decode: DecodeOptions = DecodeOptions()
    max_source_tokens: int = 200  # longer segments are split further (never cut)
    chunk_segments: int = 512
    device: str = "cpu"
    intra_threads: int = 0
    compute_type: str = "default"
    glossary: str | None = None
    glossary_version: int | None = None
    soft: bool = False
    allow_failures: bool = False
    translation_memory: bool = False  # reuse exact translation-memory matches (tm.py)
    align: str = "predict"  # word alignment method: "predict" | "attention" (see align.py)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_stored(cls, saved: dict[str, object], **overrides: object) -> TranslateSettings:
        """The settings a stored run used (unknown keys ignored, missing ones defaulted)."""
        decode_saved = saved.get("decode")
        decode_dict = decode_saved if isinstance(decode_saved, dict) else {}
        decode = DecodeOptions(**{f.name: decode_dict[f.name] for f in fields(DecodeOptions) if f.name in decode_dict})
        kept = {f.name: saved[f.name] for f in fields(cls) if f.name in saved and f.name != "decode"}
        return replace(cls(decode=decode), **{**kept, **overrides})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DocumentResult:
    """One translated document of a run."""

    name: str  # path as given, or "-"
    output_path: str | None
    document_id: int
    segments: tuple[SegmentTranslation, ...]
    alternatives: tuple[tuple[str, ...], ...]  # per segment, the other hypotheses (--n-best)
    text: str  # the rendered translation of the whole document


@dataclass(frozen=True)
class RunResult:
    run_id: int
    model_name: str
    model_version: str
    documents: tuple[DocumentResult, ...]
    glossary: str | None = None  # the glossary enforced, if any


@dataclass
class _Doc:
    """A document being translated (internal, mutable while the run goes)."""

    doc: InputDoc
    output: Path | None
    expected: int
    segments: list[SegmentTranslation] = field(default_factory=list)
    alternatives: list[tuple[str, ...]] = field(default_factory=list)
    document_id: int = 0
    stored: bool = False


# -- rendering ----------------------------------------------------------------------------------
_BIDI_CONTROLS = dict.fromkeys([0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])


def render_document(source_text: str, segments: Sequence[SegmentTranslation]) -> str:
    """The source text with every segment replaced by its translation (layout kept; the
    right-to-left controls of the source are not carried into the translation)."""
    out = []
    pos = 0
    for st in sorted(segments, key=lambda s: s.segment.start):
        out.append(source_text[pos : st.segment.start].translate(_BIDI_CONTROLS))
        out.append(st.target)
        pos = st.segment.end
    out.append(source_text[pos:].translate(_BIDI_CONTROLS))
    text = "".join(out)
    return text if text.endswith("\n") else text + "\n"


# -- the chains ---------------------------------------------------------------------------------
def translate(
    store: Store,
    load_engine: EngineLoader,
    docs: Sequence[InputDoc],
    *,
    from_code: str,
    to_code: str,
    settings: TranslateSettings,
    outputs: Sequence[Path | None] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Translate documents as one run stored in ``store``; write each translation to its
    output (None: not written).  With ``settings.glossary``, its current version is matched
    and enforced (checked before the engine is loaded)."""
    outputs = list(outputs) if outputs is not None else [None] * len(docs)
    matcher: TermFinder | None = None
    glossary_id = None
    if settings.glossary is not None:
        info = store.glossary(settings.glossary)
        if (info.source_lang, info.target_lang) != (from_code, to_code):
            raise GlossaryError(
                f"glossary {info.name!r} is {info.source_lang}->{info.target_lang} but the model translates "
                f"{from_code}->{to_code}"
            )
        matcher = glossary_matcher(store, info)
        glossary_id = info.id
        settings = replace(settings, glossary_version=info.version)
    engine = load_engine(from_code, to_code)
    segmented = [
        split_for_model(d.text, engine.package.from_code, settings.max_source_tokens, engine.count_tokens) for d in docs
    ]
    for doc, segs in zip(docs, segmented):
        if not segs:
            raise InputError(f"{doc.label}: no text to translate")
    return _run(
        store,
        engine,
        docs,
        segmented,
        outputs,
        settings=settings,
        matcher=matcher,
        glossary_id=glossary_id,
        progress=progress,
    )


@dataclass(frozen=True)
class Rerun:
    document: str
    segment_index: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RetranslateResult:
    run: RunResult | None  # None when nothing needed re-running
    reruns: tuple[Rerun, ...]
    checked: int  # segments translated with the glossary that were checked
    version: int  # the glossary version now used


def retranslate(
    store: Store,
    load_engine: EngineLoader,
    glossary: str,
    *,
    device: str = "cpu",
    threads: int = 0,
    compute_type: str = "default",
    allow_failures: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> RetranslateResult:
    """Re-run, as a new run, only the segments whose matched terms changed since the glossary
    version their latest translation used (new terms, changed targets, deprecated terms).

    The output files of the affected documents are refreshed; one that a later run (without
    the glossary) wrote is not overwritten unless ``overwrite``: the retranslation is refused
    before anything runs."""
    info = store.glossary(glossary)
    rows = store.glossary_translations(info.id)
    if not rows:
        raise GlossaryError(
            f"nothing was translated with glossary {glossary!r} yet; use `translate --glossary {glossary}`"
        )
    current = glossary_matcher(store, info)
    matchers: dict[int, TermFinder] = {}
    changed: list[tuple[StoredTranslation, list[str]]] = []
    for st, used in rows:
        if used == info.version:
            continue
        if used not in matchers:
            matchers[used] = glossary_matcher(store, info, used)
        reasons = stale_reasons(matchers[used].find(st.segment.text), current.find(st.segment.text))
        if reasons:
            changed.append((st, reasons))
    if not changed:
        return RetranslateResult(None, (), len(rows), info.version)

    outputs: dict[int, str] = {
        d.document_id: d.output_path
        for run_id in {st.run_id for st, _ in rows}
        for d in store.run_documents(run_id)
        if d.output_path
    }
    affected = {st.document_id for st, _ in changed}
    glossary_runs = {st.run_id for st, _ in rows}
    for document_id, output in sorted(outputs.items()):
        writer = store.last_writer(output)
        if document_id in affected and not overwrite and writer is not None and writer not in glossary_runs:
            raise InputError(
                f"{output} was last written by run {writer}, which did not use glossary {glossary!r}; "
                "retranslating would overwrite it: move it away, or give --overwrite"
            )
    parent = store.run(max(st.run_id for st, _ in changed))
    settings = TranslateSettings.from_stored(
        parent.settings,
        chunk_segments=TranslateSettings.chunk_segments,
        device=device,
        intra_threads=threads,
        compute_type=compute_type,
        glossary=glossary,
        glossary_version=info.version,
        allow_failures=allow_failures,
    )
    engine = load_engine(parent.source_lang, parent.target_lang)
    by_doc: dict[int, list[StoredTranslation]] = {}
    for st, _ in changed:
        by_doc.setdefault(st.document_id, []).append(st)
    doc_ids = sorted(by_doc)
    paths = {d.document_id: d.path for run_id in {st.run_id for st, _ in changed} for d in store.run_documents(run_id)}
    docs = [InputDoc(paths.get(d) or f"document-{d}", store.document_text(d)) for d in doc_ids]
    run = _run(
        store,
        engine,
        docs,
        [[st.segment for st in by_doc[d]] for d in doc_ids],
        [None] * len(docs),
        settings=settings,
        matcher=current,
        glossary_id=info.id,
        progress=progress,
        kind="retranslate",
        parent_run_id=parent.id,
    )
    # refresh the output files of the affected documents with the merged translations
    latest = {(st.document_id, st.segment.start): st for st, _ in store.glossary_translations(info.id)}
    for d, doc in zip(doc_ids, docs):
        if d in outputs:
            merged = [
                SegmentTranslation(segment=st.segment, target=st.target) for st in latest.values() if st.document_id == d
            ]
            atomic_write(Path(outputs[d]), render_document(doc.text, merged))
    reruns = tuple(
        Rerun(paths.get(st.document_id) or f"document-{st.document_id}", st.segment.index, tuple(r)) for st, r in changed
    )
    return RetranslateResult(run, reruns, len(rows), info.version)


def glossary_matcher(store: Store, info: GlossaryInfo, version: int | None = None) -> Matcher:
    """A matcher over the glossary's terms as they stood at ``version`` (default: current)."""
    stored = store.glossary_terms(info.id, version)
    return Matcher([(st.id, st.term) for st in stored], info.source_lang)


# -- one run ------------------------------------------------------------------------------------
def _run(
    store: Store,
    engine: Engine,
    docs: Sequence[InputDoc],
    segmented: Sequence[Sequence[Segment]],
    outputs: Sequence[Path | None],
    *,
    settings: TranslateSettings,
    matcher: TermFinder | None,
    glossary_id: int | None,
    progress: Progress | None,
    kind: str = "translate",
    parent_run_id: int | None = None,
) -> RunResult:
    pkg = engine.package
    constrainer: ConstrainerProtocol | None = (
        Constrainer(soft=settings.soft, cache=store) if matcher is not None else None
    )
    run_id = store.start_run(
        model_name=pkg.name,
        model_version=pkg.package_version,
        model_checksum=pkg.checksum,
        source_lang=pkg.from_code,
        target_lang=pkg.to_code,
        settings=settings.as_dict(),
        glossary_id=glossary_id,
        glossary_version=settings.glossary_version,
        kind=kind,
        parent_run_id=parent_run_id,
    )
    state = [_Doc(d, o, len(s)) for d, o, s in zip(docs, outputs, segmented)]
    # translation memory and repeats (tm.py): segments in ``plan`` are not decoded
    plan = _reuse_plan(store, segmented, settings, matcher, pkg.from_code, pkg.to_code)
    to_decode = [[s for s in segs if (d, s.index) not in plan] for d, segs in enumerate(segmented)]
    decoded: dict[tuple[int, int], tuple[SegmentTranslation, tuple[str, ...]]] = {}
    total = sum(len(s) for s in to_decode)
    done = 0
    failures: list[str] = []
    try:
        if progress:
            progress(0, total)
        for chunk in itertools.chain(_chunks(to_decode, engine, settings.chunk_segments, matcher), [[]]):
            translated = _translate_chunk(engine, chunk, settings.decode, constrainer, settings.align) if chunk else []
            for w, (st, alts) in zip(chunk, translated):
                decoded[(w.doc_index, st.segment.index)] = (st, alts)
            done += len(chunk)
            if progress and chunk:
                progress(done, total)
            for position, d in enumerate(state):
                ready = None if d.stored else assemble(position, segmented[position], decoded, plan)
                if ready is not None:
                    d.segments = [st for st, _ in ready]
                    d.alternatives = [tuple(alts) for _, alts in ready]
                    failures.extend(
                        f"{d.doc.name}: segment {st.segment.index}: {o.match.source!r} -> {o.match.target!r}: {o.reason}"
                        for st in d.segments
                        for o in st.terms
                        if o.status == "failed"
                    )
                    d.document_id = store.write_document_result(
                        run_id=run_id,
                        position=position,
                        text=d.doc.text,
                        source_lang=pkg.from_code,
                        path=None if d.doc.is_stdin else d.doc.name,
                        output_path=str(d.output) if d.output else None,
                        results=d.segments,
                        glossary_version=settings.glossary_version,
                    )
                    d.stored = True
        if failures and not settings.soft and not settings.allow_failures:
            raise ConstraintError(
                f"{len(failures)} glossary term(s) could not be enforced (first: {failures[0]}); "
                "the run is stored as failed; use --soft or --allow-failures to accept it"
            )
        results = tuple(
            DocumentResult(
                name=d.doc.name,
                output_path=str(d.output) if d.output else None,
                document_id=d.document_id,
                segments=tuple(d.segments),
                alternatives=tuple(d.alternatives),
                text=render_document(d.doc.text, d.segments),
            )
            for d in state
        )
        for res in results:
            if res.output_path:
                atomic_write(Path(res.output_path), res.text)
    except BaseException as exc:
        store.finish_run(run_id, "failed", str(exc) or type(exc).__name__)
        raise
    store.finish_run(run_id, "completed")
    return RunResult(run_id, pkg.name, pkg.package_version, results, settings.glossary)


def _chunks(
    segmented: Sequence[Sequence[Segment]],
    engine: Engine,
    chunk_segments: int,
    matcher: TermFinder | None,
) -> Iterator[list[WorkItem]]:
    """Work items of all documents, ``chunk_segments`` at a time; match offsets index the document."""
    chunk: list[WorkItem] = []
    for d, segments in enumerate(segmented):
        for seg in segments:
            matches = (
                tuple(replace(m, start=m.start + seg.start, end=m.end + seg.start) for m in matcher.find(seg.text))
                if matcher is not None
                else ()
            )
            chunk.append(WorkItem(d, seg, engine.tokenize(seg.text), matches))
            if len(chunk) >= chunk_segments:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _own_pieces(
    engine: Engine, source: Sequence[str], marked: Sequence[str], target: Sequence[str]
) -> Callable[[Sequence[Sequence[str]], Sequence[Sequence[str]]], list[list[float]]]:
    """A scorer for :func:`align.align` on word-marked pieces: every source row it scores is
    the marked source with some pieces replaced (by ``<unk>``), so the model gets its own
    pieces back, position by position, and the segment's own target."""

    def score(sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]]) -> list[list[float]]:
        rows = [[own if piece == mark else piece for piece, mark, own in zip(row, marked, source)] for row in sources]
        return engine.score_tokens(rows, [list(target)] * len(targets))

    return score


def _translate_chunk(
    engine: Engine,
    work: Sequence[WorkItem],
    options: DecodeOptions,
    constrainer: ConstrainerProtocol | None,
    align_method: str = "predict",
) -> list[tuple[SegmentTranslation, tuple[str, ...]]]:
    sources = [w.tokens.pieces for w in work]
    with_terms = [i for i, w in enumerate(work) if w.matches] if constrainer is not None else []
    plain = replace(options, return_attention=align_method == "attention")
    if with_terms and constrainer is not None:
        # segments with terms: attention (the constrainer trusts it only where it is distinct),
        # and in soft mode the n-best list the constrainer chooses from
        n = max(options.num_hypotheses, constrainer.n_best)
        term_opts = replace(options, num_hypotheses=n, beam_size=max(options.beam_size, n), return_attention=True)
        others = [i for i, w in enumerate(work) if not w.matches]
        hyps: list[list[Hypothesis]] = [[] for _ in work]
        for idx, opts in ((with_terms, term_opts), (others, plain)):
            for i, h in zip(idx, engine.translate([sources[i] for i in idx], opts) if idx else []):
                hyps[i] = h
    else:
        hyps = engine.translate(sources, plain)
    outcomes: list[list[TermOutcome]] = [[] for _ in work]
    best = [h[0] for h in hyps]
    if constrainer is not None and with_terms:
        best, outcomes = constrainer.apply(engine, work, hyps, options)
    if align_method == "attention":
        # enforced translations were not decoded as such: their attention comes from forcing them
        redo = [i for i, h in enumerate(best) if not h.attention and h.tokens]
        if redo:
            forced = engine.forced_attention([sources[i] for i in redo], [best[i].tokens for i in redo])
            for i, att in zip(redo, forced):
                best[i] = replace(best[i], attention=att)
    items = []
    links = []
    for w, hyp in zip(work, best):
        text, tspans = engine.decode(hyp.tokens)
        # align groups pieces into words by SentencePiece's ▁; give it the package tokenizer's
        # word starts (▁ or BPE @@ joiners) in that form, and the model its own pieces
        src = mark_words(w.tokens.pieces, engine.word_starts(w.tokens.pieces, w.tokens.spans))
        tgt = mark_words(hyp.tokens, engine.word_starts(hyp.tokens, tspans))
        item = AlignItem(src, w.tokens.spans, tgt, tspans, text, w.segment.start, hyp.attention)
        items.append(item)
        links.append(align([item], align_method, _own_pieces(engine, w.tokens.pieces, src, hyp.tokens))[0])
    out = []
    for w, hyp, alts, terms, item, seg_links in zip(work, best, hyps, outcomes, items, links):
        translation = SegmentTranslation(
            segment=w.segment,
            target=item.target_text,
            alignment=tuple(seg_links),
            terms=tuple(terms),
            score=hyp.score,
            # the decoding hit the length bound (enforcement may change the length afterwards)
            truncated=len(alts[0].tokens) >= options.bound(len(w.tokens.pieces)),
        )
        out.append((translation, tuple(a.text for a in alts[1 : options.num_hypotheses])))
    return out


# -- in-memory segments (the service and documents; issue 13) ----------------------------------
def match_segment(matcher: TermFinder | None, segment: Segment) -> tuple[TermMatch, ...]:
    """Glossary matches of a segment, with offsets in the segment's document."""
    if matcher is None:
        return ()
    return tuple(replace(m, start=m.start + segment.start, end=m.end + segment.start) for m in matcher.find(segment.text))


def translate_segments(
    engine: Engine,
    items: Sequence[tuple[Segment, Sequence[TermMatch]]],
    options: DecodeOptions,
    constrainer: ConstrainerProtocol | None = None,
    align_method: str = "predict",
) -> list[tuple[SegmentTranslation, tuple[str, ...]]]:
    """Translate segments held in memory (any documents, any glossaries: each item carries its
    own matches) in ONE decoding pass: the same enforcement and alignment as :func:`translate`,
    nothing stored.  Returns (translation, alternatives) per item."""
    work = [WorkItem(0, seg, engine.tokenize(seg.text), tuple(matches)) for seg, matches in items]
    return _translate_chunk(engine, work, options, constrainer, align_method) if work else []

# -- translation memory and repeats (issue 12, tm.py) ------------------------------------------
def _reuse_plan(
    store: Store,
    segmented: Sequence[Sequence[Segment]],
    settings: TranslateSettings,
    matcher: TermFinder | None,
    source_lang: str,
    target_lang: str,
) -> dict[tuple[int, int], Reuse]:
    """Segments not to decode: repeats inside the run, and exact translation-memory matches
    when ``settings.translation_memory`` (see tm.py)."""
    memory = TranslationMemory(store, source_lang, target_lang) if settings.translation_memory else None
    matches: dict[tuple[int, int], list[TermMatch]] = {}
    if matcher is not None and memory is not None:
        for d, segs in enumerate(segmented):
            for seg in segs:
                matches[(d, seg.index)] = [
                    replace(m, start=m.start + seg.start, end=m.end + seg.start) for m in matcher.find(seg.text)
                ]
    return plan_reuse(segmented, memory, matches)
