"""The only module that chains the stages: segment -> match terms -> translate -> align -> store.

Two chains, both on an injected :class:`~translate_pipe.store.Store` and an engine loader
(``load_engine(from_code, to_code) -> Engine``; the loader is called only after every cheap
check has passed, so a bad glossary never loads a model):

* :func:`translate` -- documents already read (:class:`~translate_pipe.files.InputDoc`) and
  their planned outputs -> one stored run, output files written;
* :func:`retranslate` -- after glossary edits, the segments whose matched terms changed since
  their translation, as a new run; the output files of the affected documents are refreshed.

Segments of all inputs are decoded together in chunks of ``chunk_segments`` (large
CTranslate2 batches, bounded memory) by a :class:`~translate_pipe.records.ChunkDecoder` (in
this process by default, :class:`LocalDecoder`); each chunk is committed as it completes.
Any failure marks the run ``failed`` with its message.

Nothing here reads a user's file, prints or knows the ``--json`` shape (:mod:`.report`).
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .align import AlignItem, align
from .constrain import Constrainer, RenderingCache
from .engine import DEFAULT_THREADS, mark_words
from .errors import ConstraintError, GlossaryError, InputError
from .files import InputDoc, atomic_write
from .glossary import Matcher, entry_problem, stale_reasons
from .records import (
    ChunkDecoder,
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
    Tokens,
    Translated,
    WorkItem,
)
from .records import Constrainer as ConstrainerProtocol
from .segment import iter_for_model
from .stages import Stages
from .store import SeenStore, Store
from .tm import Key, MemorySnapshot, Reuse, ReusePlanner, copy_translation

Progress = Callable[[int, int], None]
EngineLoader = Callable[[str, str], Engine]  # (from_code, to_code) -> a loaded engine
# where a run's chunks are decoded: (engine, settings, constrainer) -> a ChunkDecoder
DecoderFactory = Callable[[Engine, "TranslateSettings", "ConstrainerProtocol | None"], ChunkDecoder]


@dataclass(frozen=True)
class TranslateSettings:
    """Everything a run is translated with; stored with the run (``as_dict``)."""

    decode: DecodeOptions = DecodeOptions()
    max_source_tokens: int = 200  # longer segments are split further (never cut)
    chunk_segments: int = 512
    device: str = "cpu"
    intra_threads: int = DEFAULT_THREADS
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


SegmentSource = Callable[[], Iterator[Segment]]  # the segments of one document, afresh at each call
StoredResults = Callable[[], Iterator[tuple[SegmentTranslation, tuple[str, ...]]]]


@dataclass(frozen=True)
class DocumentResult:
    """One translated document of a run.

    Its translations are read back from the store when asked (``iter_segments``), so a run of
    any size is never held in memory; ``segments``, ``alternatives`` and ``text`` gather them
    (fine for small runs and tests)."""

    name: str  # path as given, or "-"
    output_path: str | None
    document_id: int
    source_text: str = field(repr=False)
    count: int  # number of segments
    load: StoredResults = field(repr=False, compare=False)

    def iter_segments(self) -> Iterator[tuple[SegmentTranslation, tuple[str, ...]]]:
        """(translation, other hypotheses) of each segment, in document order."""
        return self.load()

    @property
    def segments(self) -> tuple[SegmentTranslation, ...]:
        return tuple(st for st, _ in self.load())

    @property
    def alternatives(self) -> tuple[tuple[str, ...], ...]:
        """Per segment, the other hypotheses (--n-best)."""
        return tuple(alts for _, alts in self.load())

    def iter_text(self) -> Iterator[str]:
        """The rendered translation of the whole document, piece by piece."""
        return iter_render(self.source_text, (st for st, _ in self.load()))

    @property
    def text(self) -> str:
        return "".join(self.iter_text())


@dataclass(frozen=True)
class RunResult:
    run_id: int
    model_name: str
    model_version: str
    documents: tuple[DocumentResult, ...]
    glossary: str | None = None  # the glossary enforced, if any
    resumed_from: int = 0  # segments already done when this process took the run over


# -- rendering ----------------------------------------------------------------------------------
_BIDI_CONTROLS = dict.fromkeys([0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])


def render_document(source_text: str, segments: Sequence[SegmentTranslation]) -> str:
    """The source text with every segment replaced by its translation (layout kept; the
    right-to-left controls of the source are not carried into the translation)."""
    return "".join(iter_render(source_text, sorted(segments, key=lambda s: s.segment.start)))


def iter_render(source_text: str, segments: Iterable[SegmentTranslation]) -> Iterator[str]:
    """:func:`render_document` piece by piece; ``segments`` in document order."""
    pos = 0
    last = ""
    for st in segments:
        for piece in (source_text[pos : st.segment.start].translate(_BIDI_CONTROLS), st.target):
            if piece:
                last = piece
                yield piece
        pos = st.segment.end
    tail = source_text[pos:].translate(_BIDI_CONTROLS)
    if tail:
        last = tail
        yield tail
    if not last.endswith("\n"):
        yield "\n"


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
    decoder: DecoderFactory | None = None,
    files: Mapping[int, tuple[bytes, str]] | None = None,
) -> RunResult:
    """Translate documents as one run stored in ``store``; write each translation to its
    output (None: not written).  With ``settings.glossary``, its current version is matched
    and enforced (checked before the engine is loaded).  ``decoder`` says where the chunks
    are decoded (default: in this process, :class:`LocalDecoder`).  ``files``: the original
    bytes of formatted documents (by position) and where their translations go, stored with
    the run's documents (the caller writes them; :func:`resume` gives them back)."""
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
        for stored in store.glossary_terms(info.id):
            problem = entry_problem(stored.term) if stored.term.status != "deprecated" else ""
            if problem:
                raise GlossaryError(
                    f"glossary {info.name!r}: {problem} (`glossary add {info.name} SOURCE TARGET` edits it; "
                    "`glossary lint` lists all such entries)"
                )
        matcher = glossary_matcher(store, info)
        glossary_id = info.id
        settings = replace(settings, glossary_version=info.version)
    engine = load_engine(from_code, to_code)
    sources = [_segment_source(d.text, engine, settings.max_source_tokens) for d in docs]
    for doc, source in zip(docs, sources):
        if next(source(), None) is None:
            raise InputError(f"{doc.label}: no text to translate")
        _check_unsplittable(doc, source, engine, settings.max_source_tokens)
    return _run(
        store,
        engine,
        docs,
        sources,
        outputs,
        settings=settings,
        matcher=matcher,
        glossary_id=glossary_id,
        progress=progress,
        decoder=decoder,
        files=files,
    )


def resume(
    store: Store,
    load_engine: EngineLoader,
    run_id: int,
    *,
    progress: Progress | None = None,
    decoder: DecoderFactory | None = None,
) -> RunResult:
    """Continue an interrupted (or failed) ``translate`` run from its last committed chunk,
    with the settings, glossary version and documents it was started with.  The result is
    the one an uninterrupted run would have given."""
    info = store.run(run_id)
    if info.status == "completed":
        raise InputError(f"run {run_id} is already completed; nothing to resume")
    if info.status == "running":
        raise InputError(f"run {run_id} is still running; wait for it (or stop its process) before resuming")
    if info.kind != "translate":
        raise InputError(f"run {run_id} is a {info.kind} run; only translate runs can be resumed")
    settings = TranslateSettings.from_stored(info.settings)
    matcher: TermFinder | None = None
    if settings.glossary is not None:
        matcher = glossary_matcher(store, store.glossary(settings.glossary), settings.glossary_version)
    run_docs = store.run_documents(run_id)
    docs = [InputDoc(d.path or "-", store.document_text(d.document_id)) for d in run_docs]
    outputs = [Path(d.output_path) if d.output_path else None for d in run_docs]
    engine = load_engine(info.source_lang, info.target_lang)
    if engine.package.checksum != info.model_checksum:
        raise InputError(
            f"run {run_id} was made with {info.model_name} {info.model_version} (checksum "
            f"{info.model_checksum[:12]}), and the installed model differs; resuming would mix two models"
        )
    sources = [_segment_source(d.text, engine, settings.max_source_tokens) for d in docs]
    return _run(
        store,
        engine,
        docs,
        sources,
        outputs,
        settings=settings,
        matcher=matcher,
        glossary_id=info.glossary_id,
        progress=progress,
        resume_run=run_id,
        decoder=decoder,
    )


def _check_unsplittable(doc: InputDoc, source: SegmentSource, engine: Engine, max_tokens: int) -> None:
    """Refuse a segment still longer than ``max_tokens`` after splitting (one word with no
    space to split at): the model would fail on it, or cut it, far into the run."""
    for seg in source():
        if len(seg.text) >= max_tokens:  # fewer characters cannot make more tokens
            n = engine.count_tokens(seg.text)
            if n > max_tokens:
                raise InputError(
                    f"{doc.label}: segment {seg.index} (characters {seg.start}-{seg.end}) is a single word of "
                    f"{len(seg.text)} characters ({n} tokens), longer than --max-source-tokens {max_tokens}, "
                    "with no space to split it at; split or remove it, or raise --max-source-tokens"
                )


def _segment_source(text: str, engine: Engine, max_source_tokens: int) -> SegmentSource:
    return lambda: iter_for_model(text, engine.package.from_code, max_source_tokens, engine.count_tokens)


def materialize(result: RunResult) -> RunResult:
    """The same result with every document's translations read now (before the store closes)."""
    docs = []
    for d in result.documents:
        rows = list(d.iter_segments())
        docs.append(replace(d, load=lambda rows=rows: iter(rows)))  # type: ignore[misc]
    return replace(result, documents=tuple(docs))


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
    threads: int = DEFAULT_THREADS,
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
        [_listed([st.segment for st in by_doc[d]]) for d in doc_ids],
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
def _listed(segments: list[Segment]) -> SegmentSource:
    return lambda: iter(segments)


def _run(
    store: Store,
    engine: Engine,
    docs: Sequence[InputDoc],
    sources: Sequence[SegmentSource],
    outputs: Sequence[Path | None],
    *,
    settings: TranslateSettings,
    matcher: TermFinder | None,
    glossary_id: int | None,
    progress: Progress | None,
    kind: str = "translate",
    parent_run_id: int | None = None,
    resume_run: int | None = None,
    decoder: DecoderFactory | None = None,
    files: Mapping[int, tuple[bytes, str]] | None = None,
) -> RunResult:
    """Translate ``chunk_segments`` segments at a time and commit each chunk as it completes
    (its translations, links, term outcomes and the count of segments done, in one
    transaction); nothing of a finished chunk is kept.  The output files are written at the
    end from the store.  A resumed run (``resume_run``) skips the chunks already committed:
    the chunks are the same as in the first attempt, so the result is the same."""
    pkg = engine.package
    constrainer: ConstrainerProtocol | None = (
        Constrainer(soft=settings.soft, cache=store) if matcher is not None else None
    )
    registered = [
        (d.text, pkg.from_code, None if d.is_stdin else d.name, str(o) if o else None) for d, o in zip(docs, outputs)
    ]
    if resume_run is None:
        # a run is never stored without its documents and the process that runs it
        with store.transaction():
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
            store.claim_run(run_id)
            document_ids = store.register_run_documents(run_id, registered)
            if files:
                store.add_run_files(run_id, files)
    else:
        run_id = resume_run
        store.claim_run(run_id, reopen=True)
        document_ids = store.register_run_documents(run_id, registered)  # finds them again
    del registered
    _return_freed_memory()  # storing a long text used transient copies of it
    seen = SeenStore()
    try:
        # translation memory and repeats (tm.py), planned chunk by chunk: planned segments
        # are not decoded; the texts met so far, and a copy of the translation memory, are in
        # a temporary database of the run's own (not here, and usable from the thread that
        # reads the chunks, which may not be this one)
        memory = None
        if settings.translation_memory:
            seen.copy_memory(store, pkg.from_code, pkg.to_code)
            memory = MemorySnapshot(seen, pkg.from_code)
        planner = ReusePlanner(seen, memory)
        counts = [sum(1 for _ in source()) for source in sources]
        total = sum(counts)
        done = skipped = store.segments_done(run_id) if resume_run is not None else 0
        if progress:
            progress(done, total)
        first_failure = ""
        chunk_decoder = (decoder or local_decoder)(engine, settings, constrainer)
        chunks = _chunks(sources, engine, settings.chunk_segments, matcher, planner, skip=skipped)
        originals = _Originals(store, run_id, document_ids)
        partial = [done]

        def decoded(n: int) -> None:  # the bar moves per decoded batch
            partial[0] += n
            if progress:
                progress(min(partial[0], total), total)

        for chunk, plan, fresh in _with_chunks(chunks, chunk_decoder, decoded):
            translated = _chunk_results(chunk, plan, fresh, originals)
            items = []
            for w, (st, alts) in zip(chunk, translated):
                items.append((document_ids[w.doc_index], st, alts))
                if not first_failure:
                    first_failure = next(
                        (
                            f"{docs[w.doc_index].name}: segment {st.segment.index}: {o.match.source!r} -> "
                            f"{o.match.target!r}: {o.reason}"
                            for o in st.terms
                            if o.status == "failed"
                        ),
                        "",
                    )
            done += len(chunk)
            partial[0] = max(partial[0], done)
            store.write_chunk(run_id, items, settings.glossary_version, done=done)
            if progress:
                progress(done, total)
        failed = store.run_counts(run_id)[1].get("failed", 0)
        if failed and not settings.soft and not settings.allow_failures:
            first = f" (first: {first_failure})" if first_failure else ""
            raise ConstraintError(
                f"{failed} glossary term(s) could not be enforced{first}; "
                "the run is stored as failed; use --soft or --allow-failures to accept it"
            )
        results = tuple(
            DocumentResult(
                name=d.name,
                output_path=str(o) if o else None,
                document_id=document_id,
                source_text=d.text,
                count=n,
                load=_stored(store, run_id, document_id),
            )
            for d, o, document_id, n in zip(docs, outputs, document_ids, counts)
        )
        for res in results:
            if res.output_path:
                atomic_write(Path(res.output_path), res.iter_text())
    except BaseException as exc:
        store.finish_run(run_id, "failed", str(exc) or type(exc).__name__)
        raise
    finally:
        seen.close()
    store.finish_run(run_id, "completed")
    return RunResult(run_id, pkg.name, pkg.package_version, results, settings.glossary, resumed_from=skipped)


def _return_freed_memory() -> None:
    """Give the memory freed so far back to the system where the C library can (glibc's
    ``malloc_trim``; elsewhere nothing): the run's steady state then starts lower."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is not None:
        trim(0)


def _stored(store: Store, run_id: int, document_id: int) -> StoredResults:
    return lambda: store.iter_translations(run_id, document_id)


@dataclass(frozen=True)
class LocalDecoder:
    """Decodes in this process (the default :class:`ChunkDecoder`).

    With ``overlap`` (the default) the work is a pipeline of threads with bounded queues
    (:mod:`.stages`): reading the chunks (segmentation, term matching, tokenisation), the beam
    search of a chunk, and its enforcement and alignment each run in their own thread, while the
    caller stores the chunk before; CTranslate2 releases the GIL, so Python work overlaps
    decoding.  Results are the same and in the same order as without overlap (each stage
    handles one chunk at a time, in order).  Whatever must happen in the caller's thread (the
    constrainer's rendering cache, which is the SQLite store; progress) is handed to it."""

    engine: Engine
    options: DecodeOptions
    constrainer: ConstrainerProtocol | None
    align_method: str = "predict"
    overlap: bool = True

    def decode_chunks(
        self, chunks: Iterable[Sequence[WorkItem]], on_decoded: Callable[[int], None] | None = None
    ) -> Iterator[list[Translated]]:
        if not self.overlap:
            for chunk in chunks:
                yield _translate_chunk(self.engine, chunk, self.options, self.constrainer, self.align_method, on_decoded) if chunk else []
            return
        engine, options, method = self.engine, self.options, self.align_method
        stages: Stages[list[Translated]]
        constrainer = self.constrainer
        if isinstance(constrainer, Constrainer):
            # its rendering cache is the store: read and written in the caller's thread
            constrainer = copy.copy(constrainer)
            constrainer.cache = _CallerCache(constrainer.cache, lambda fn: stages.call(fn))
        progress = None
        if on_decoded is not None:
            report = on_decoded

            def progress(n: int) -> None:
                stages.post(lambda: report(n))

        def decode(chunk: Sequence[WorkItem]) -> tuple[Sequence[WorkItem], list[list[Hypothesis]]]:
            return chunk, _decode_chunk(engine, chunk, options, constrainer, method, progress) if chunk else []

        def finish(decoded: tuple[Sequence[WorkItem], list[list[Hypothesis]]]) -> list[Translated]:
            chunk, hyps = decoded
            return _finish_chunk(engine, chunk, hyps, options, constrainer, method) if chunk else []

        stages = Stages(chunks, [decode, finish])
        yield from stages.run()


class _CallerCache:
    """A rendering cache whose reads and writes run in the thread that owns it (``call``)."""

    def __init__(self, cache: RenderingCache, call: Callable[[Callable[[], object]], object]) -> None:
        self.cache = cache
        self.call = call

    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]:
        return self.call(lambda: self.cache.get_renderings(model, sources))  # type: ignore[return-value]

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None:
        self.call(lambda: self.cache.put_renderings(model, renderings))


def local_decoder(engine: Engine, settings: TranslateSettings, constrainer: ConstrainerProtocol | None) -> ChunkDecoder:
    return LocalDecoder(engine, settings.decode, constrainer, settings.align)


def _with_chunks(
    chunks: Iterable[tuple[list[WorkItem], dict[Key, Reuse]]],
    decoder: ChunkDecoder,
    on_decoded: Callable[[int], None] | None,
) -> Iterator[tuple[list[WorkItem], dict[Key, Reuse], dict[Key, Translated]]]:
    """Each chunk with its reuse plan and the translations of its segments that had to be
    decoded (not reused), keyed by (document, segment).  The decoder may read ahead; the
    chunks it has taken wait here, in order, for their results."""
    waiting: deque[tuple[list[WorkItem], dict[Key, Reuse], list[WorkItem]]] = deque()

    def to_decode() -> Iterator[list[WorkItem]]:
        for chunk, plan in chunks:
            fresh = [w for w in chunk if (w.doc_index, w.segment.index) not in plan]
            waiting.append((chunk, plan, fresh))
            yield fresh

    for results in decoder.decode_chunks(to_decode(), on_decoded):
        chunk, plan, fresh = waiting.popleft()
        yield chunk, plan, {(w.doc_index, w.segment.index): r for w, r in zip(fresh, results)}


class _Originals:
    """Translations of the run's segments that later ones repeat: the ``size`` most recently
    used in memory, the others read back from the store (they were committed with their
    chunk), so a run of any size holds a bounded number."""

    def __init__(self, store: Store, run_id: int, document_ids: Sequence[int], size: int = 256) -> None:
        self.store = store
        self.run_id = run_id
        self.document_ids = document_ids
        self.size = size
        self.recent: OrderedDict[Key, Translated] = OrderedDict()

    def get(self, key: Key, start: int | None, decoded: dict[Key, Translated]) -> Translated:
        found = decoded.get(key) or self.recent.get(key)
        if found is None:
            found = self.store.run_translation(self.run_id, self.document_ids[key[0]], key[1], start)
        self.recent[key] = found
        self.recent.move_to_end(key)
        if len(self.recent) > self.size:
            self.recent.popitem(last=False)
        return found


def _chunk_results(
    chunk: Sequence[WorkItem],
    plan: dict[Key, Reuse],
    decoded: dict[Key, Translated],
    originals: _Originals,
) -> list[Translated]:
    """Translations of a chunk: ``decoded``, from the translation memory, or copies of an
    earlier identical segment of the run (this chunk's, or one already stored)."""
    out: list[Translated] = []
    for w in chunk:
        key = (w.doc_index, w.segment.index)
        reuse = plan.get(key)
        if reuse is None:
            out.append(decoded[key])
        elif reuse.origin == "tm" and reuse.translation is not None:
            out.append((reuse.translation, ()))
        elif reuse.of is not None:
            original = originals.get(reuse.of, reuse.of_start, decoded)
            out.append((copy_translation(original[0], w.segment), original[1]))
        else:
            raise RuntimeError(f"no translation planned for segment {key}")
    return out


_NO_TOKENS = Tokens((), ())  # a reused segment is not decoded, so not tokenized


def _chunks(
    sources: Sequence[SegmentSource],
    engine: Engine,
    chunk_segments: int,
    matcher: TermFinder | None,
    planner: ReusePlanner,
    skip: int = 0,
) -> Iterator[tuple[list[WorkItem], dict[Key, Reuse]]]:
    """Work items of all documents, ``chunk_segments`` at a time, with each chunk's reuse plan
    (only the segments to decode are tokenized); match offsets index the document.  The
    first ``skip`` segments (whole chunks already committed) are only planned (the planner
    must meet them) and passed over."""
    batch: list[tuple[int, Segment, tuple[TermMatch, ...]]] = []
    position = 0
    # matches of committed segments matter only to the translation-memory check
    match_skipped = planner.memory is not None
    for d, source in enumerate(sources):
        for seg in source():
            position += 1
            passed = position <= skip
            batch.append((d, seg, match_segment(matcher, seg) if match_skipped or not passed else ()))
            if len(batch) >= chunk_segments or position == skip:
                plan = planner.plan([((d, seg.index), seg, m) for d, seg, m in batch])
                if not passed:
                    yield _work(batch, plan, engine), plan
                batch = []
    if batch:
        plan = planner.plan([((d, seg.index), seg, m) for d, seg, m in batch])
        yield _work(batch, plan, engine), plan


def _work(
    batch: Sequence[tuple[int, Segment, tuple[TermMatch, ...]]], plan: dict[Key, Reuse], engine: Engine
) -> list[WorkItem]:
    return [
        WorkItem(d, seg, _NO_TOKENS if (d, seg.index) in plan else engine.tokenize(seg.text), matches)
        for d, seg, matches in batch
    ]


def _own_pieces(
    engine: Engine, items: Sequence[tuple[Sequence[str], Sequence[str], Sequence[str]]]
) -> Callable[[Sequence[int], Sequence[Sequence[str]]], list[list[float]]]:
    """A scorer for :func:`align.align` on word-marked pieces, ``(own source pieces, marked
    source pieces, own target pieces)`` per item: every source row it scores is the item's
    marked source with some pieces replaced (by ``<unk>``), so the model gets its own pieces
    back, position by position, and the item's own target.  All rows go to the model in one
    call, sorted by length (little padding)."""

    def score(owner: Sequence[int], sources: Sequence[Sequence[str]]) -> list[list[float]]:
        rows = []
        for k, row in zip(owner, sources):
            own, marked, _ = items[k]
            rows.append([o if piece == m else piece for piece, m, o in zip(row, marked, own)])
        order = sorted(range(len(rows)), key=lambda i: (len(items[owner[i]][2]), len(rows[i])))
        scored = engine.score_tokens([rows[i] for i in order], [list(items[owner[i]][2]) for i in order])
        out: list[list[float]] = [[] for _ in rows]
        for i, lp in zip(order, scored):
            out[i] = lp
        return out

    return score


def _translate_chunk(
    engine: Engine,
    work: Sequence[WorkItem],
    options: DecodeOptions,
    constrainer: ConstrainerProtocol | None,
    align_method: str = "predict",
    on_decoded: Callable[[int], None] | None = None,
) -> list[tuple[SegmentTranslation, tuple[str, ...]]]:
    hyps = _decode_chunk(engine, work, options, constrainer, align_method, on_decoded)
    return _finish_chunk(engine, work, hyps, options, constrainer, align_method)


def _decode_chunk(
    engine: Engine,
    work: Sequence[WorkItem],
    options: DecodeOptions,
    constrainer: ConstrainerProtocol | None,
    align_method: str = "predict",
    on_decoded: Callable[[int], None] | None = None,
) -> list[list[Hypothesis]]:
    """The beam search of a chunk: hypotheses per work item."""
    sources = [w.tokens.pieces for w in work]
    with_terms = [i for i, w in enumerate(work) if w.matches] if constrainer is not None else []
    # attention only where it is used: the attention method, and segments with terms (the
    # constrainer trusts it only where it is distinct)
    plain = replace(options, return_attention=align_method == "attention")
    if with_terms and constrainer is not None:
        # segments with terms: attention, and in soft mode the n-best list the constrainer chooses from
        n = max(options.num_hypotheses, constrainer.n_best)
        term_opts = replace(options, num_hypotheses=n, beam_size=max(options.beam_size, n), return_attention=True)
        others = [i for i, w in enumerate(work) if not w.matches]
        hyps: list[list[Hypothesis]] = [[] for _ in work]
        for idx, opts in ((with_terms, term_opts), (others, plain)):
            decoded = engine.translate([sources[i] for i in idx], opts, on_batch=on_decoded) if idx else []
            for i, h in zip(idx, decoded):
                hyps[i] = h
        return hyps
    return engine.translate(sources, plain, on_batch=on_decoded)


def _finish_chunk(
    engine: Engine,
    work: Sequence[WorkItem],
    hyps: list[list[Hypothesis]],
    options: DecodeOptions,
    constrainer: ConstrainerProtocol | None,
    align_method: str = "predict",
) -> list[tuple[SegmentTranslation, tuple[str, ...]]]:
    """Enforcement and word alignment of a decoded chunk."""
    sources = [w.tokens.pieces for w in work]
    outcomes: list[list[TermOutcome]] = [[] for _ in work]
    best = [h[0] for h in hyps]
    if constrainer is not None and any(w.matches for w in work):
        best, outcomes = constrainer.apply(engine, work, hyps, options)
    if align_method == "attention":
        # enforced translations were not decoded as such: their attention comes from forcing them
        redo = [i for i, h in enumerate(best) if not h.attention and h.tokens]
        if redo:
            forced = engine.forced_attention([sources[i] for i in redo], [best[i].tokens for i in redo])
            for i, att in zip(redo, forced):
                best[i] = replace(best[i], attention=att)
    items = []
    scorers = []
    for w, hyp in zip(work, best):
        text, tspans = engine.decode(hyp.tokens)
        # align groups pieces into words by SentencePiece's ▁; give it the package tokenizer's
        # word starts (▁ or BPE @@ joiners) in that form, and the model its own pieces
        src = mark_words(w.tokens.pieces, engine.word_starts(w.tokens.pieces, w.tokens.spans))
        tgt = mark_words(hyp.tokens, engine.word_starts(hyp.tokens, tspans))
        items.append(AlignItem(src, w.tokens.spans, tgt, tspans, text, w.segment.start, hyp.attention))
        scorers.append((w.tokens.pieces, src, hyp.tokens))
    links = align(items, align_method, _own_pieces(engine, scorers))
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
