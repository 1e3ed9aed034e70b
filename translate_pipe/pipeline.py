"""The only module that chains the stages: read -> segment -> match terms -> translate -> align -> store.

Inputs are all checked before a run starts, so a bad file stores nothing.  Segments of all
inputs are decoded together in chunks of ``chunk_segments`` (large CTranslate2 batches, bounded
memory); each document is written in one transaction as soon as all its segments are done.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .align import word_alignment
from .engine import DecodeOptions, Engine, Tokens, mark_words
from .errors import ConstraintError, InputError
from .records import Hypothesis, Segment, SegmentTranslation, TermMatch, TermOutcome
from .segment import renumber, split_document, split_long
from .store import Store

STDIN = "-"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class InputDoc:
    """A document to translate: where it came from and its text."""

    name: str  # path as given, or "-" for standard input
    text: str

    @property
    def is_stdin(self) -> bool:
        return self.name == STDIN


@dataclass(frozen=True)
class TranslateSettings:
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

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "decode"}
        d["decode"] = dict(self.decode.__dict__)
        return d


@dataclass
class DocumentResult:
    name: str
    output_path: str | None
    document_id: int
    segments: list[SegmentTranslation] = field(default_factory=list)
    alternatives: list[list[str]] = field(default_factory=list)

    def target_text(self, source_text: str) -> str:
        return render_document(source_text, self.segments)


@dataclass
class RunResult:
    run_id: int
    model_name: str
    model_version: str
    documents: list[DocumentResult]


# -- input ------------------------------------------------------------------------------------
def decode_input(name: str, data: bytes) -> str:
    """Bytes of an input document -> text, or an InputError saying what is wrong."""
    if not data.strip():
        raise InputError(f"{name}: empty input; nothing to translate")
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file (contains NUL bytes); expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at line {line}); "
            "convert it first, e.g. `iconv -f cp1256 -t utf-8`"
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InputError(f"{name}: empty input; nothing to translate")
    return text


def read_input(name: str, stdin: Callable[[], bytes] | None = None) -> InputDoc:
    if name == STDIN:
        if stdin is None:
            raise InputError("standard input is not available")
        return InputDoc(STDIN, decode_input("<stdin>", stdin()))
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory; pass the files inside it (e.g. {name}/*.txt)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    return InputDoc(name, decode_input(name, data))


def output_name(input_name: str, from_code: str, to_code: str) -> str:
    """``astana-bulletin.ar.txt`` -> ``astana-bulletin.en.txt``; ``x.txt`` -> ``x.en.txt``."""
    base = Path(input_name).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, "txt"
    if stem.endswith("." + from_code):
        stem = stem[: -len(from_code) - 1]
    return f"{stem}.{to_code}.{ext}"


def plan_outputs(
    names: Sequence[str], output_dir: Path | None, from_code: str, to_code: str
) -> list[Path | None]:
    """Output path per input (None for stdin or when no output dir); refuses collisions."""
    outs: list[Path | None] = []
    seen: dict[Path, str] = {}
    if output_dir is not None and any(n != STDIN for n in names):
        if output_dir.exists() and not output_dir.is_dir():
            raise InputError(f"{output_dir}: exists and is not a directory; choose another --output-dir")
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output directory {output_dir}: {exc.strerror}") from exc
        output_dir = output_dir.resolve()  # stored with the run, so later commands find it
    for name in names:
        if name == STDIN or output_dir is None:
            outs.append(None)
            continue
        out = output_dir / output_name(name, from_code, to_code)
        if out in seen:
            raise InputError(
                f"{seen[out]} and {name} would both be written to {out}; translate them separately "
                "or rename one"
            )
        if Path(name).resolve() == out.resolve():
            raise InputError(f"{name}: the translation would overwrite the input; use --output-dir")
        seen[out] = name
        outs.append(out)
    return outs


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_BIDI_CONTROLS = dict.fromkeys(
    [0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
)


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


# -- segmentation -----------------------------------------------------------------------------
def segment_document(text: str, lang: str, engine: Engine, max_source_tokens: int) -> list[Segment]:
    pieces: list[Segment] = []
    for seg in split_document(text, lang):
        if engine.count_tokens(seg.text) > max_source_tokens:
            pieces.extend(split_long(seg, max_source_tokens, engine.count_tokens))
        else:
            pieces.append(seg)
    return renumber(pieces)


# -- translation ------------------------------------------------------------------------------
@dataclass
class _Work:
    doc_index: int
    segment: Segment
    tokens: Tokens
    matches: list[TermMatch]


def _translate_chunk(
    engine: Engine,
    work: Sequence[_Work],
    options: DecodeOptions,
    constrainer: Any | None,
) -> list[tuple[SegmentTranslation, list[str]]]:
    sources = [w.tokens.pieces for w in work]
    with_terms = [i for i, w in enumerate(work) if w.matches] if constrainer is not None else []
    if with_terms and constrainer is not None:
        # segments with terms get the n-best list the constrainer reranks (same beam)
        n = max(options.num_hypotheses, constrainer.n_best)
        nbest = replace(options, num_hypotheses=n, beam_size=max(options.beam_size, n))
        others = [i for i, w in enumerate(work) if not w.matches]
        hyps: list[list[Hypothesis]] = [[] for _ in work]
        for idx, opts in ((with_terms, nbest), (others, options)):
            for i, h in zip(idx, engine.translate([sources[i] for i in idx], opts) if idx else []):
                hyps[i] = h
    else:
        hyps = engine.translate(sources, options)
    outcomes: list[list[TermOutcome]] = [[] for _ in work]
    best = [h[0] for h in hyps]
    if constrainer is not None and with_terms:
        best, outcomes = constrainer.apply(engine, work, hyps, options)
    out = []
    for w, hyp, alts, terms in zip(work, best, hyps, outcomes):
        alts = alts[: options.num_hypotheses]
        text, tspans = engine.decode(hyp.tokens)
        links = word_alignment(  # words as the package's tokenizer delimits them (▁ or @@ joiners)
            mark_words(w.tokens.pieces, engine.word_starts(w.tokens.pieces, w.tokens.spans)),
            w.tokens.spans,
            mark_words(hyp.tokens, engine.word_starts(hyp.tokens, tspans)),
            tspans,
            hyp.attention,
            src_offset=w.segment.start,
            target_text=text,
        )
        out.append(
            (
                SegmentTranslation(
                    segment=w.segment,
                    target=text,
                    alignment=tuple(links),
                    terms=tuple(terms),
                    score=hyp.score,
                ),
                [a.text for a in alts[1:]],
            )
        )
    return out


def _chunks(
    segmented: Sequence[Sequence[Segment]],
    engine: Engine,
    settings: TranslateSettings,
    matcher: Any | None,
) -> Iterator[list[_Work]]:
    chunk: list[_Work] = []
    for d, segments in enumerate(segmented):
        for seg in segments:
            matches: list[TermMatch] = []
            if matcher is not None:
                matches = [
                    replace(m, start=m.start + seg.start, end=m.end + seg.start)
                    for m in matcher.find(seg.text)
                ]
            chunk.append(_Work(d, seg, engine.tokenize(seg.text), matches))
            if len(chunk) >= settings.chunk_segments:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def translate_documents(
    store: Store,
    engine: Engine,
    docs: Sequence[InputDoc],
    *,
    settings: TranslateSettings,
    outputs: Sequence[Path | None],
    matcher: Any | None = None,
    constrainer: Any | None = None,
    glossary_id: int | None = None,
    progress: Progress | None = None,
    kind: str = "translate",
    segmented: Sequence[Sequence[Segment]] | None = None,
    parent_run_id: int | None = None,
) -> RunResult:
    """Translate documents as one run; every document is stored in its own transaction.

    ``segmented`` restricts the run to these segments of each document (retranslation).
    """
    pkg = engine.package
    lang = pkg.from_code
    if segmented is None:
        segmented = [segment_document(d.text, lang, engine, settings.max_source_tokens) for d in docs]
        for doc, segs in zip(docs, segmented):
            if not segs:
                raise InputError(f"{'<stdin>' if doc.is_stdin else doc.name}: no text to translate")
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
    results = [DocumentResult(d.name, str(o) if o else None, 0) for d, o in zip(docs, outputs)]
    expected = [len(s) for s in segmented]
    total = sum(expected)
    done = 0
    written = [False] * len(docs)
    failures: list[str] = []
    try:
        if progress:
            progress(0, total)
        for chunk in _chunks(segmented, engine, settings, matcher):
            translated = _translate_chunk(engine, chunk, settings.decode, constrainer)
            for w, (st, alts) in zip(chunk, translated):
                results[w.doc_index].segments.append(st)
                results[w.doc_index].alternatives.append(alts)
                failures.extend(
                    f"{docs[w.doc_index].name}: segment {st.segment.index}: {o.match.source!r} -> "
                    f"{o.match.target!r}: {o.reason}"
                    for o in st.terms
                    if o.status == "failed"
                )
            done += len(chunk)
            if progress:
                progress(done, total)
            for i, res in enumerate(results):
                if not written[i] and len(res.segments) == expected[i]:
                    _store_document(store, lang, run_id, i, docs[i], res, settings)
                    written[i] = True
        if failures and not settings.soft and not settings.allow_failures:
            raise ConstraintError(
                f"{len(failures)} glossary term(s) could not be enforced (first: {failures[0]}); "
                "the run is stored as failed; use --soft or --allow-failures to accept it"
            )
        for i, res in enumerate(results):
            if res.output_path:
                try:
                    write_atomic(Path(res.output_path), res.target_text(docs[i].text))
                except OSError as exc:
                    raise InputError(f"cannot write {res.output_path}: {exc.strerror or exc}") from exc
    except BaseException as exc:
        store.finish_run(run_id, "failed", str(exc) or type(exc).__name__)
        raise
    store.finish_run(run_id, "completed")
    return RunResult(run_id, pkg.name, pkg.package_version, results)


def _store_document(
    store: Store,
    lang: str,
    run_id: int,
    position: int,
    doc: InputDoc,
    res: DocumentResult,
    settings: TranslateSettings,
) -> None:
    res.document_id = store.write_document_result(
        run_id=run_id,
        position=position,
        text=doc.text,
        source_lang=lang,
        path=None if doc.is_stdin else doc.name,
        output_path=res.output_path,
        results=[(s.segment, s.target, s.score, s.alignment, s.terms) for s in res.segments],
        glossary_version=settings.glossary_version,
    )


def to_json(result: RunResult) -> dict[str, Any]:
    """The ``translate --json`` contract."""
    return {
        "run_id": result.run_id,
        "model": {"name": result.model_name, "version": result.model_version},
        "documents": [
            {
                "path": doc.name,
                "output": doc.output_path,
                "segments": [
                    {
                        "index": st.segment.index,
                        "source": st.segment.text,
                        "target": st.target,
                        "source_start": st.segment.start,
                        "source_end": st.segment.end,
                        "alignment": [list(link) for link in st.alignment],
                        "terms": [
                            {
                                "source": o.match.source,
                                "target": o.match.target,
                                "source_start": o.match.start,
                                "source_end": o.match.end,
                                "target_start": o.target_start,
                                "target_end": o.target_end,
                                "status": o.status,
                            }
                            for o in st.terms
                        ],
                        **({"alternatives": alts} if alts else {}),
                    }
                    for st, alts in zip(doc.segments, doc.alternatives or [[]] * len(doc.segments))
                ],
            }
            for doc in result.documents
        ],
    }
