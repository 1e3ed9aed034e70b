"""The translation service behind ``translate-pipe serve``: one loaded model, dynamic batching,
grouped storage.  No HTTP here (that is :mod:`translate_pipe.serve`).

Threads
-------
* **Decoder** (one): owns the :class:`~translate_pipe.engine.Engine` and a read connection.
  It blocks for the first queued job, then keeps collecting jobs for ``batch_wait_ms`` (or until
  ``max_batch_segments`` segments are waiting), segments their texts, matches each job's
  glossary (current version, looked up once per batch), and decodes all segments of all jobs in
  one :func:`~translate_pipe.pipeline.translate_segments` call per number of hypotheses
  (CTranslate2 batches are ordered by length there).  Jobs from different glossaries share a
  batch: every segment carries its own matches.
* **Writer** (one): owns the write connection.  It takes every decoded batch waiting (about
  ``max_write_group`` jobs) and stores their jobs in ONE transaction, each job as a run (``kind='serve'``,
  model checksum, glossary and its version, settings), each text of the job as a document of
  that run.  A job's future is resolved once it is stored, so a response always names a
  stored run.

Admission is bounded: at most ``queue_size`` jobs are admitted and not yet answered;
:meth:`TranslationService.submit` raises :class:`QueueFull` beyond that (HTTP 429).
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine
from .errors import GlossaryError, PipeError
from .records import DecodeOptions, Segment, SegmentTranslation, TermMatch
from .store import Store

NO_GLOSSARY = "none"


class QueueFull(PipeError):
    """Too many requests are waiting; try again later."""


@dataclass(frozen=True)
class ServiceConfig:
    db: Path
    glossary: str | None = None  # the default glossary (None: no glossary unless asked)
    queue_size: int = 64  # jobs admitted and not yet answered
    batch_wait_ms: float = 5.0
    max_batch_segments: int = 256
    max_write_group: int = 256
    beam_size: int = 4
    max_source_tokens: int = 200
    max_batch_tokens: int = 2048
    align: str = "predict"  # word alignment method, as `translate --align`


@dataclass
class Job:
    """One request: texts to translate (each stored as a document) and how."""

    texts: Sequence[str]
    glossary: str | None  # a glossary name, or None for no glossary
    alternatives: int = 0
    kind: str = "serve"
    future: concurrent.futures.Future[JobResult] = field(default_factory=concurrent.futures.Future)
    # filled by the decoder
    segments: list[list[Segment]] = field(default_factory=list)
    matches: list[list[tuple[TermMatch, ...]]] = field(default_factory=list)
    results: list[list[tuple[SegmentTranslation, tuple[str, ...]]]] = field(default_factory=list)
    glossary_id: int | None = None
    glossary_version: int | None = None


@dataclass(frozen=True)
class JobResult:
    run_id: int
    document_ids: list[int]
    # per text: (translation, alternatives) of each segment, in document order
    segments: list[list[tuple[SegmentTranslation, tuple[str, ...]]]]


_STOP = object()


class TranslationService:
    def __init__(self, engine: Engine, config: ServiceConfig) -> None:
        self.engine = engine
        self.config = config
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._done: queue.Queue[Any] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._matchers: dict[tuple[str, int], Any] = {}
        self._constrainer: Any | None = None
        self.batches: list[int] = []  # jobs per decoded batch (recent ones), for diagnostics
        self.store_groups: list[int] = []
        self._started = False

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Create or migrate the database and check the default glossary (here, once, before
        the two threads open their own connections), then start the threads."""
        with Store(self.config.db) as store:
            if self.config.glossary is not None:
                self._glossary(store, self.config.glossary)
        self._threads = [
            threading.Thread(target=self._decode_loop, name="translate-pipe-decoder", daemon=True),
            threading.Thread(target=self._write_loop, name="translate-pipe-writer", daemon=True),
        ]
        for t in self._threads:
            t.start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._jobs.put(_STOP)
        for t in self._threads:
            t.join(timeout=30)
        self._started = False

    @property
    def pending(self) -> int:
        return self._pending

    # -- admission --------------------------------------------------------------------------
    def submit(self, job: Job) -> concurrent.futures.Future[JobResult]:
        with self._lock:
            if self._pending >= self.config.queue_size:
                raise QueueFull(f"too many requests waiting ({self.config.queue_size}); retry later")
            self._pending += 1
        job.future.add_done_callback(self._release)
        self._jobs.put(job)
        return job.future

    def _release(self, _: Any) -> None:
        with self._lock:
            self._pending -= 1

    def resolve_glossary(self, name: str | None) -> str | None:
        """The glossary a request uses: its own ``glossary=NAME``, none for ``glossary=none``,
        else the service's default."""
        if name is None or name == "":
            return self.config.glossary
        if name.lower() == NO_GLOSSARY:
            return None
        return name

    # -- decoder ----------------------------------------------------------------------------
    def _collect(self, first: Job) -> tuple[list[Job], bool]:
        jobs = [first]
        n = len(first.texts)
        deadline = time.monotonic() + self.config.batch_wait_ms / 1000
        while n < self.config.max_batch_segments:
            remaining = deadline - time.monotonic()
            try:
                job = self._jobs.get(timeout=remaining) if remaining > 0 else self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return jobs, True
            jobs.append(job)
            n += len(job.texts)
        return jobs, False

    def _decode_loop(self) -> None:
        store: Store | None = None
        failure: PipeError | None = None
        try:
            store = Store(self.config.db)
        except PipeError as exc:
            failure = exc
        try:
            while True:
                first = self._jobs.get()
                if first is _STOP:
                    break
                jobs, stop = self._collect(first)
                if store is None:
                    for job in jobs:
                        job.future.set_exception(failure or PipeError("the database is not available"))
                else:
                    self._decode(store, jobs)
                if stop:
                    break
        finally:
            if store is not None:
                store.close()
            self._done.put(_STOP)

    def _glossary(self, store: Store, name: str) -> tuple[Any, int, int]:
        """(matcher, glossary id, version) of a glossary's current version."""
        from .api import glossary_matcher

        info = store.glossary(name)
        pkg = self.engine.package
        if (info.source_lang, info.target_lang) != (pkg.from_code, pkg.to_code):
            raise GlossaryError(
                f"glossary {name!r} is {info.source_lang}->{info.target_lang} but the model translates "
                f"{pkg.from_code}->{pkg.to_code}"
            )
        key = (name, info.version)
        if key not in self._matchers:
            self._matchers = {k: v for k, v in self._matchers.items() if k[0] != name}
            self._matchers[key] = glossary_matcher(store, name, info.version)
        return self._matchers[key], info.id, info.version

    def _decode(self, store: Store, jobs: list[Job]) -> None:
        from .constrain import Constrainer
        from .pipeline import match_segment, translate_segments
        from .segment import split_for_model

        if self._constrainer is None:
            self._constrainer = Constrainer(soft=False)
        self.batches = [*self.batches[-999:], len(jobs)]
        lang = self.engine.package.from_code
        live: list[Job] = []
        infos: dict[str, tuple[Any, int, int]] = {}
        for job in jobs:
            try:
                matcher = None
                if job.glossary is not None:
                    if job.glossary not in infos:
                        infos[job.glossary] = self._glossary(store, job.glossary)
                    matcher, job.glossary_id, job.glossary_version = infos[job.glossary]
                job.segments = [
                    split_for_model(t, lang, self.config.max_source_tokens, self.engine.count_tokens)
                    if t.strip()
                    else []
                    for t in job.texts
                ]
                job.results = [[] for _ in job.texts]
                live.append(job)
                job.matches = [[match_segment(matcher, s) for s in segs] for segs in job.segments]
            except PipeError as exc:
                job.future.set_exception(exc)
            except Exception as exc:  # noqa: BLE001 - a request must never hang
                job.future.set_exception(PipeError(f"internal error: {type(exc).__name__}: {exc}"))
        groups: dict[int, list[Job]] = {}
        for job in live:
            groups.setdefault(job.alternatives + 1, []).append(job)
        for n_hyp, group in groups.items():
            options = DecodeOptions(
                beam_size=max(self.config.beam_size, n_hyp),
                num_hypotheses=n_hyp,
                max_batch_tokens=self.config.max_batch_tokens,
            )
            items: list[tuple[Segment, Sequence[TermMatch]]] = []
            where: list[tuple[Job, int]] = []
            for job in group:
                for d, (segs, matches) in enumerate(zip(job.segments, job.matches)):
                    for seg, m in zip(segs, matches):
                        items.append((seg, m))
                        where.append((job, d))
            try:
                out = translate_segments(self.engine, items, options, self._constrainer, self.config.align)
            except Exception as exc:  # noqa: BLE001
                err = exc if isinstance(exc, PipeError) else PipeError(f"internal error: {type(exc).__name__}: {exc}")
                for job in group:
                    job.future.set_exception(err)
                continue
            for (job, d), res in zip(where, out):
                job.results[d].append(res)
            self._done.put(group)  # decoded together, stored together

    # -- writer -----------------------------------------------------------------------------
    def _write_loop(self) -> None:
        try:
            store = Store(self.config.db)
        except PipeError as exc:  # answer every job with the error rather than hang
            while (jobs := self._done.get()) is not _STOP:
                for job in jobs:
                    job.future.set_exception(exc)
            return
        try:
            stop = False
            while not stop:
                first = self._done.get()
                if first is _STOP:
                    break
                group = list(first)
                while len(group) < self.config.max_write_group:
                    try:
                        more = self._done.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    group.extend(more)
                self._write(store, group)
        finally:
            store.close()

    def _write(self, store: Store, group: list[Job]) -> None:
        """Store a group of jobs in one transaction; if that fails, each job on its own, so that
        one bad job cannot fail the others."""
        try:
            with store.transaction():
                stored = [(job, self._write_job(store, job)) for job in group]
        except Exception:  # noqa: BLE001 - rolled back; retried one by one below
            stored = []
            for job in group:
                try:
                    with store.transaction():
                        stored.append((job, self._write_job(store, job)))
                except Exception as exc:  # noqa: BLE001
                    err = exc if isinstance(exc, PipeError) else PipeError(f"cannot store the translation: {exc}")
                    job.future.set_exception(err)
        self.store_groups = [*self.store_groups[-999:], len(stored)]
        for job, result in stored:
            job.future.set_result(result)

    def _write_job(self, store: Store, job: Job) -> JobResult:
        pkg = self.engine.package
        settings = {
            "service": True,
            "glossary": job.glossary,
            "glossary_version": job.glossary_version,
            "alternatives": job.alternatives,
            "beam_size": max(self.config.beam_size, job.alternatives + 1),
            "max_source_tokens": self.config.max_source_tokens,
            "align": self.config.align,
        }
        run_id = store.start_run(
            model_name=pkg.name,
            model_version=pkg.package_version,
            model_checksum=pkg.checksum,
            source_lang=pkg.from_code,
            target_lang=pkg.to_code,
            settings=settings,
            glossary_id=job.glossary_id,
            glossary_version=job.glossary_version,
            kind=job.kind,
        )
        doc_ids: list[int] = []
        seen: dict[str, int] = {}  # a text sent twice in one request is one document of the run
        for position, (text, res) in enumerate(zip(job.texts, job.results)):
            if not res:
                doc_ids.append(0)
            elif text in seen:
                doc_ids.append(seen[text])
            else:
                seen[text] = store.write_document_result(
                    run_id=run_id,
                    position=position,
                    text=text,
                    source_lang=pkg.from_code,
                    path=None,
                    output_path=None,
                    results=[s for s, _ in res],
                    glossary_version=job.glossary_version,
                )
                doc_ids.append(seen[text])
        store.finish_run(run_id, "completed")
        return JobResult(run_id, doc_ids, job.results)


# -- rendering ----------------------------------------------------------------------------------
def render(text: str, segments: Sequence[tuple[SegmentTranslation, Sequence[str]]], alternative: int = 0) -> str:
    """``text`` with each segment replaced by its translation (``alternative`` k > 0: its k-th
    alternative where it has one), everything between segments kept as it is."""
    out = []
    pos = 0
    for st, alts in sorted(segments, key=lambda r: r[0].segment.start):
        out.append(text[pos : st.segment.start])
        out.append(alts[alternative - 1] if 0 < alternative <= len(alts) else st.target)
        pos = st.segment.end
    out.append(text[pos:])
    return "".join(out)


def details(result: JobResult, texts: Sequence[str], model_name: str, model_version: str) -> dict[str, Any]:
    """The ``translate --json`` shape of a stored request."""
    from .pipeline import DocumentResult, RunResult
    from .report import run_json

    docs = tuple(
        DocumentResult(
            name=f"q[{i}]",
            output_path=None,
            document_id=doc_id,
            source_text=text,
            count=len(segs),
            load=lambda segs=segs: iter([(s, tuple(a)) for s, a in segs]),  # type: ignore[misc]
        )
        for i, (text, doc_id, segs) in enumerate(zip(texts, result.document_ids, result.segments))
    )
    return run_json(RunResult(result.run_id, model_name, model_version, docs))


def unique_alternatives(text: str, alternatives: Sequence[str]) -> list[str]:
    seen = {text}
    out = []
    for a in alternatives:
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


__all__ = [
    "NO_GLOSSARY",
    "Job",
    "JobResult",
    "QueueFull",
    "ServiceConfig",
    "TranslationService",
    "details",
    "render",
    "unique_alternatives",
]
