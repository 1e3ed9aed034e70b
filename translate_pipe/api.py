"""Library entry points, one short function per CLI command: open resources, call, return records.

Usable without the CLI::

    from translate_pipe import api
    result = api.translate(["bulletin.txt"], db=Path("t.db"), packages_dir=Path("pkgs"))

Functions that only touch the database take an open :class:`~translate_pipe.store.Store`
(``api.open_store(path)``, or ``Store(":memory:")`` in tests); ``translate`` and
``retranslate`` take the database path and the packages directory, open both, and hand them
to :mod:`.pipeline`, the only module that chains the stages.  Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, BinaryIO

from . import score
from .engine import DEFAULT_THREADS, Engine
from .errors import GlossaryError, InputError, PackageError, ReferenceFileError, ScoreError
from .files import DEFAULT_MAX_INPUT_BYTES, read_input
from .formats import dumps_glossary, read_glossary, write_glossary
from .glossary import LintIssue, Matcher, TermChange, diff_terms, entry_problem, lint
from .models import Installed, PackageInfo, find_package
from .pipeline import DecoderFactory, RetranslateResult, RunResult, TranslateSettings, materialize
from .pipeline import resume as _resume
from .pipeline import glossary_matcher as _glossary_matcher
from .pipeline import retranslate as _retranslate
from .pipeline import translate as _translate
from .records import (
    DecodeOptions,
    GlossaryInfo,
    RefSetInfo,
    RunDocument,
    RunInfo,
    StoredTerm,
    StoredTranslation,
    Term,
    TermMatch,
    VersionInfo,
)
from .store import DatabaseURL, SharedStore, Store, open_shared
from .store import database_target as database_target  # the CLI resolves --db with it

# -- resources --------------------------------------------------------------------------------
_ENGINES: dict[tuple[str, str, str, str, int, str], Engine] = {}


def load_engine(package: PackageInfo, *, device: str = "cpu", threads: int = DEFAULT_THREADS, compute_type: str = "default") -> Engine:
    """One Engine per (package, device, threads, compute type) per process."""
    key = (str(package.path), package.package_version, package.name, device, threads, compute_type)
    if key not in _ENGINES:
        _ENGINES[key] = Engine(package, device=device, intra_threads=threads, compute_type=compute_type)
    return _ENGINES[key]


def open_store(db: Path, *, create: bool = True, init: bool = False) -> Store:
    """The database at ``db``: created, with its folder, when missing, unless ``create`` is
    false (read-only commands); then a missing database is an error saying where we looked.
    A database holding other tables is refused unless ``init``."""
    if create:
        return Store(db, init=init)
    return Store.open_existing(db, hint=_NO_DATABASE_HINT, init=init)


def open_shared_store(db: Path | DatabaseURL, *, create: bool = True, init: bool = False) -> SharedStore:
    """As :func:`open_store`, for the commands a PostgreSQL database supports too (all but
    ``serve`` and ``db``): ``db`` may be a ``postgresql://`` URL."""
    return open_shared(db, create=create, init=init, hint=_NO_DATABASE_HINT)


def db_check(store: Store) -> list[str]:
    """Integrity and foreign-key problems of the database (empty: sound)."""
    return store.check()


def db_backup(store: Store, target: Path) -> None:
    """A consistent copy of the database at ``target`` (SQLite's online backup)."""
    store.backup(target)


_NO_DATABASE_HINT = (
    "nothing has been stored there yet; point at the database you used with --db PATH "
    "or the TRANSLATE_PIPE_DB environment variable"
)


def _engine_loader(
    packages_dir: Path, device: str, threads: int, compute_type: str, found: PackageInfo | None = None
) -> Callable[[str, str], Engine]:
    def load(from_code: str, to_code: str) -> Engine:
        package = found if found is not None else find_package(packages_dir, from_code, to_code)
        return load_engine(package, device=device, threads=threads, compute_type=compute_type)

    return load


# -- translate ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TranslateResult:
    run: RunResult

    @property
    def texts(self) -> list[str]:
        """The rendered translation of each document."""
        return [d.text for d in self.run.documents]


def translate(
    inputs: Sequence[str],
    *,
    db: Path | DatabaseURL,
    packages_dir: Path,
    from_code: str = "ar",
    to_code: str = "en",
    output_dir: Path | None = Path("outputs"),
    beam_size: int = 4,
    n_best: int = 1,
    max_length: int | None = None,
    max_source_tokens: int = 200,
    batch_tokens: int = 1024,
    chunk_segments: int = 512,
    device: str = "cpu",
    threads: int = DEFAULT_THREADS,
    compute_type: str = "default",
    glossary: str | None = None,
    soft: bool = False,
    allow_failures: bool = False,
    translation_memory: bool = True,
    align: str = "predict",
    stdin: Callable[[], BinaryIO | bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    store: SharedStore | None = None,
    cluster: ClusterOptions | None = None,
) -> TranslateResult:
    """Translate files (``"-"`` is standard input) as one run, stored in ``db``.

    Everything cheap is checked before the model is loaded or the database touched: inputs,
    outputs, the installed package, then the glossary.  Each input is read up to
    ``max_input_bytes``.  With an open ``store`` (then ``db`` is not opened), the result's
    translations are read from it when asked (streaming; keep it open meanwhile); without
    one they are read before the database is closed.  With ``cluster``, the segments are
    decoded on that Ray cluster (:mod:`.cluster`), joined before anything is stored.
    """
    from .files import plan_outputs

    if not inputs:
        raise InputError("no input given; pass files or - for standard input")
    if list(inputs).count("-") > 1:
        raise InputError("standard input (-) can be given only once")
    from . import documents  # issue 13: .html/.docx/.odt/.pdf inputs, written back after the run

    docs, formatted, originals = documents.read_inputs(inputs, stdin, max_input_bytes)
    outputs = plan_outputs([d.name for d in docs], output_dir, from_code, to_code)
    outputs, doc_outputs = documents.plan_outputs(inputs, outputs, formatted, from_code, to_code)
    package = find_package(packages_dir, from_code, to_code)
    settings = TranslateSettings(
        decode=DecodeOptions(
            beam_size=max(beam_size, n_best),
            num_hypotheses=n_best,
            max_length=max_length,
            max_batch_tokens=batch_tokens,
        ),
        max_source_tokens=max_source_tokens,
        chunk_segments=chunk_segments,
        device=device,
        intra_threads=threads,
        compute_type=compute_type,
        glossary=glossary,
        soft=soft,
        allow_failures=allow_failures,
        translation_memory=translation_memory,
        align=align,
    )
    with _cluster(cluster) as decoder, _store_for(db, store) as opened:
        run = _translate(
            opened,
            _engine_loader(packages_dir, device, threads, compute_type, package),
            docs,
            from_code=package.from_code,
            to_code=package.to_code,
            settings=settings,
            outputs=outputs,
            progress=progress,
            decoder=decoder,
            files={i: (originals[i], str(out)) for i, out in doc_outputs.items()},  # for --resume
        )
        run = documents.write_outputs(run, formatted, doc_outputs)  # issue 13
        return TranslateResult(run if store is not None else materialize(run))


def write_run_json(result: TranslateResult, path: Path) -> None:
    """Write the ``translate --json`` result to ``path``, segment by segment (a run of any
    size is never held), atomically: the file appears whole or not at all."""
    from itertools import chain

    from . import report
    from .files import atomic_write

    atomic_write(Path(path), chain(report.iter_run_json(result.run), ["\n"]))


def resume(
    run_id: int,
    *,
    db: Path | DatabaseURL,
    packages_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    store: SharedStore | None = None,
    cluster: ClusterOptions | None = None,
) -> TranslateResult:
    """Continue an interrupted translate run from its last committed chunk (see
    :func:`pipeline.resume`); ``store`` and ``cluster`` as in :func:`translate` (a run
    started locally may be resumed on a cluster, and the other way round)."""
    with _store_for(db, store, create=False) as opened, _cluster(cluster) as decoder:
        info = opened.run(run_id)
        saved = TranslateSettings.from_stored(info.settings)
        run = _resume(
            opened,
            _engine_loader(packages_dir, saved.device, saved.intra_threads, saved.compute_type),
            run_id,
            progress=progress,
            decoder=decoder,
        )
        from . import documents

        run = documents.rewrite_outputs(run, opened.run_files(run_id))  # formatted documents
        return TranslateResult(run if store is not None else materialize(run))


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how to decode on a Ray cluster (``--ray``; see :mod:`.cluster`)."""

    address: str = "auto"  # "auto" or the head node's HOST:PORT
    actors: int | None = None  # default: the cluster's CPUs / threads_per_actor
    threads_per_actor: int = 1
    package: str = "auto"  # how actors get the model: "auto" | "shared" | "ship"


@contextmanager
def _cluster(options: ClusterOptions | None) -> Iterator[DecoderFactory | None]:
    """The decoder factory of a run: None (this process), or Ray actors on the cluster
    (Ray is imported only then)."""
    if options is None:
        yield None
        return
    from .cluster import connect

    with connect(
        options.address, actors=options.actors, threads_per_actor=options.threads_per_actor, package=options.package
    ) as joined:
        yield joined.decoder()


@contextmanager
def _store_for(db: Path | DatabaseURL, store: SharedStore | None, create: bool = True) -> Iterator[SharedStore]:
    """``store`` when given (left open), else the database at ``db`` (closed afterwards)."""
    if store is not None:
        yield store
        return
    with open_shared_store(db, create=create) as opened:
        yield opened


def retranslate(
    glossary: str,
    *,
    db: Path | DatabaseURL,
    packages_dir: Path,
    device: str = "cpu",
    threads: int = DEFAULT_THREADS,
    compute_type: str = "default",
    allow_failures: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RetranslateResult:
    """Re-run only the segments whose matched glossary terms changed (see :func:`pipeline.retranslate`)."""
    with open_shared_store(db, create=False) as store:
        result = _retranslate(
            store,
            _engine_loader(packages_dir, device, threads, compute_type),
            glossary,
            device=device,
            threads=threads,
            compute_type=compute_type,
            allow_failures=allow_failures,
            overwrite=overwrite,
            progress=progress,
        )
        return dc_replace(result, run=materialize(result.run)) if result.run is not None else result


# -- models -------------------------------------------------------------------------------------
def models_install(
    packages_dir: Path,
    *,
    from_file: Path | None = None,
    from_code: str | None = None,
    to_code: str | None = None,
    index_url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    force: bool = False,
) -> Installed:
    """Install a package from a file, or from the package index (``index_url`` or argostranslate's);
    replacing an installed package of the same name needs ``force``."""
    from . import models

    if from_file is not None:
        return models.Installed(models.install_from_file(from_file, packages_dir, force=force), str(from_file))
    if not (from_code and to_code):
        raise PackageError("give the source and target language codes (e.g. ar en), or a package file")
    return models.install_from_index(
        from_code,
        to_code,
        packages_dir=packages_dir,
        index_url=index_url or models.default_index_url(),
        downloads_dir=models.default_downloads_dir(),
        progress=progress,
        force=force,
    )


def models_list(packages_dir: Path) -> list[PackageInfo]:
    from .models import installed_packages

    return installed_packages(packages_dir)


def models_remove(packages_dir: Path, name: str) -> None:
    from .models import remove_package

    remove_package(packages_dir, name)


def default_packages_dir() -> Path:
    """argostranslate's own packages directory (read only when a command needs models)."""
    from .models import default_packages_dir as default

    return default()


# -- glossaries ---------------------------------------------------------------------------------
def _check_field(name: str, value: str) -> None:
    if not value.strip():
        raise GlossaryError(f"the {name} is empty")
    if value != value.strip():
        raise GlossaryError(f"the {name} {value!r} has leading or trailing spaces; trim it")


def _primary(lang: str) -> str:
    """'ar-SA' -> 'ar' (TBX files carry regional codes; glossaries are per language pair)."""
    return lang.replace("_", "-").split("-")[0].lower()


def glossary_import(
    store: SharedStore,
    name: str,
    path: Path,
    *,
    fmt: str | None = None,
    author: str,
    source_lang: str = "ar",
    target_lang: str = "en",
    replace: bool = False,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
) -> tuple[int | None, int]:
    """Import a CSV/TSV/PO/TBX file into glossary ``name`` as one new version (all or nothing).

    Terms already identical are not touched.  With ``replace``, terms of the glossary that the
    file does not contain are deprecated.  Returns (new version or None if nothing changed,
    number of terms read).
    """
    data = read_glossary(path, fmt, source_lang=source_lang, target_lang=target_lang, max_bytes=max_input_bytes)
    with store.transaction():
        info = store.ensure_glossary(name, _primary(data.source_lang), _primary(data.target_lang))
        terms = list(data.terms)
        if replace:
            keys = {(t.source, t.context) for t in terms}
            terms += [
                dc_replace(st.term, status="deprecated")
                for st in store.glossary_terms(info.id)
                if (st.term.source, st.term.context) not in keys and st.term.status != "deprecated"
            ]
        version = store.apply_glossary_changes(
            info.id, terms, author=author, action="import", summary=f"import {Path(path).name} ({len(data.terms)} terms)"
        )
    return version, len(data.terms)


def glossary_add(
    store: SharedStore,
    name: str,
    source: str,
    target: str | None = None,
    *,
    author: str,
    variants: Sequence[str] | None = None,
    note: str | None = None,
    domain: str | None = None,
    context: str = "",
    source_lang: str = "ar",
    target_lang: str = "en",
    target_plural: str | None = None,
    source_plurals: Sequence[str] | None = None,
    blocked_in: Sequence[str] | None = None,
) -> tuple[int | None, str, Term]:
    """Add a term, or edit the term with this source: only the fields given change (a
    deprecated term given a target is approved again; without one it stays as it is).

    Returns (new version or None when nothing changed, "added" | "updated" | "unchanged",
    the term as stored).
    """
    _check_field("source", source)
    if target is not None:
        _check_field("target", target)
    for v in variants or ():
        _check_field("variant", v)
    for v in source_plurals or ():
        _check_field("source plural", v)
    for v in blocked_in or ():
        _check_field("blocking context", v)
    if target_plural:
        _check_field("target plural", target_plural)
    with store.transaction():
        info = store.ensure_glossary(name, source_lang, target_lang)
        old = _term_or_none(store, info.id, source, context)
        if old is None and target is None:
            raise GlossaryError(f"{source!r} is not in glossary {name!r}; give its TARGET to add it")
        base = old or Term(source=source, target=target or "", context=context)
        term = dc_replace(
            base,
            target=target if target is not None else base.target,
            variants=tuple(variants) if variants is not None else base.variants,
            note=note if note is not None else base.note,
            domain=domain if domain is not None else base.domain,
            status="approved" if target is not None else base.status,
            target_plural=target_plural if target_plural is not None else base.target_plural,
            source_plurals=tuple(source_plurals) if source_plurals is not None else base.source_plurals,
            blocked_in=tuple(blocked_in) if blocked_in is not None else base.blocked_in,
        )
        problem = entry_problem(term)
        if problem:
            raise GlossaryError(problem)
        action = "add" if old is None else "update"
        version = store.apply_glossary_changes(
            info.id, [term], author=author, action=action, summary=f"{action} {source!r} -> {term.target!r}"
        )
    if version is None:
        return None, "unchanged", term
    return version, "added" if old is None else "updated", term


def _term_or_none(store: SharedStore, glossary_id: int, source: str, context: str) -> Term | None:
    for st in store.glossary_terms(glossary_id):
        if (st.term.source, st.term.context) == (source, context):
            return st.term
    return None


def _find_term(store: SharedStore, glossary_id: int, name: str, source: str, context: str) -> StoredTerm:
    for st in store.glossary_terms(glossary_id):
        if (st.term.source, st.term.context) == (source, context):
            return st
    raise GlossaryError(f"glossary {name!r} has no term {source!r}; `translate-pipe glossary list {name}` lists them")


def glossary_remove(store: SharedStore, name: str, source: str, *, author: str, context: str = "") -> int | None:
    """Deprecate a term (history keeps it).  Returns the new version (None if already deprecated)."""
    with store.transaction():
        info = store.glossary(name)
        st = _find_term(store, info.id, name, source, context)
        return store.apply_glossary_changes(
            info.id,
            [dc_replace(st.term, status="deprecated")],
            author=author,
            action="deprecate",
            summary=f"deprecate {source!r}",
        )


@dataclass(frozen=True)
class GlossarySummary:
    info: GlossaryInfo
    terms: int  # approved terms
    deprecated: int


def glossaries(store: SharedStore) -> list[GlossarySummary]:
    """Every glossary with its language pair, current version and term counts."""
    out = []
    for info in store.glossaries():
        statuses = [st.term.status for st in store.glossary_terms(info.id)]
        out.append(GlossarySummary(info, statuses.count("approved"), statuses.count("deprecated")))
    return out


def glossary_terms(store: SharedStore, name: str, version: int | None = None, *, deprecated: bool = False) -> list[StoredTerm]:
    info = store.glossary(name)
    if version is not None and not 1 <= version <= info.version:
        raise GlossaryError(f"glossary {name!r} has versions 1 to {info.version}, not {version}")
    return [st for st in store.glossary_terms(info.id, version) if deprecated or st.term.status != "deprecated"]


def glossary_show(store: SharedStore, name: str, source: str, context: str = "") -> list[StoredTerm]:
    """Every revision of a term, oldest first."""
    info = store.glossary(name)
    _find_term(store, info.id, name, source, context)
    return store.term_history(info.id, source, context)


@dataclass(frozen=True)
class LogEntry:
    """One version of a glossary and the (source, context) of the terms it changed."""

    version: VersionInfo
    terms: tuple[tuple[str, str], ...]


def glossary_log(store: SharedStore, name: str) -> list[LogEntry]:
    info = store.glossary(name)
    return [LogEntry(v, tuple(store.term_changes(info.id, v.version))) for v in store.glossary_log(info.id)]


def glossary_diff(store: SharedStore, name: str, v1: int, v2: int) -> list[TermChange]:
    """What changed from version v1 to version v2 (v1 may be 0: the empty glossary)."""
    info = store.glossary(name)
    for v in (v1, v2):
        if not 0 <= v <= info.version:
            raise GlossaryError(f"glossary {name!r} has versions 1 to {info.version}, not {v}")
    old = [s.term for s in store.glossary_terms(info.id, v1)] if v1 else []
    return diff_terms(old, [s.term for s in store.glossary_terms(info.id, v2)])


@dataclass(frozen=True)
class LintResult:
    issues: tuple[LintIssue, ...]  # what needs attention
    acknowledged: tuple[LintIssue, ...]  # warnings acknowledged for the term's current revision


def glossary_lint(store: SharedStore, name: str) -> LintResult:
    """Lint the glossary's current terms; warnings acknowledged (``glossary ack``) for a term's
    current revision are set apart (a later edit of the term brings them back)."""
    info = store.glossary(name)
    current = [st for st in store.glossary_terms(info.id) if st.term.status != "deprecated"]
    versions = {st.term.source: st.version for st in current}
    acks = {(source, code): v for (source, _, code), v in store.acknowledgements(info.id).items()}
    issues: list[LintIssue] = []
    acknowledged: list[LintIssue] = []
    for issue in lint([st.term for st in current], info.source_lang):
        ok = issue.level == "warning" and acks.get((issue.source, issue.code)) == versions.get(issue.source)
        (acknowledged if ok else issues).append(issue)
    return LintResult(tuple(issues), tuple(acknowledged))


def glossary_ack(store: SharedStore, name: str, source: str, *, code: str, author: str, context: str = "") -> LintIssue:
    """Acknowledge the lint warning ``code`` of a term (e.g. a ``contained-term`` its note
    explains) until the term is edited.  Only a warning lint reports now can be acknowledged."""
    info = store.glossary(name)
    st = _find_term(store, info.id, name, source, context)
    linted = glossary_lint(store, name)
    found = [i for i in linted.issues + linted.acknowledged if i.source == source and i.code == code]
    if not found:
        raise GlossaryError(f"lint reports no {code} for {source!r} in glossary {name!r}; nothing to acknowledge")
    if found[0].level != "warning":
        raise GlossaryError(f"{code} of {source!r} is an error, not a warning; fix the entry instead")
    store.acknowledge(st.id, code, st.version, author)
    return found[0]


def glossary_export(
    store: SharedStore,
    name: str,
    fmt: str,
    *,
    output: Path | None = None,
    version: int | None = None,
    tbx_version: str = "basic",
    include_dates: bool = False,
    deprecated: bool = False,
) -> str:
    """Export a glossary and return the text; write it if ``output``.

    CSV, TSV and TBX carry every term with its status.  A PO file leaves deprecated terms out
    unless ``deprecated`` (PO tools would use them as translations; gettext drops the comments
    of obsolete ``#~`` entries, so marking them obsolete would lose their notes).
    """
    info = store.glossary(name)
    include_deprecated = deprecated or fmt.lower().lstrip(".") != "po"
    terms = [st.term for st in glossary_terms(store, name, version, deprecated=include_deprecated)]
    if output is not None:
        write_glossary(
            output, terms, fmt, source_lang=info.source_lang, target_lang=info.target_lang, name=name,
            tbx_version=tbx_version, include_dates=include_dates,
        )
    return dumps_glossary(
        terms, fmt, source_lang=info.source_lang, target_lang=info.target_lang, name=name,
        tbx_version=tbx_version, include_dates=include_dates,
    )


def glossary_matcher(store: SharedStore, name: str, version: int | None = None) -> Matcher:
    """A matcher over glossary ``name`` as it stood at ``version`` (default: current)."""
    return _glossary_matcher(store, store.glossary(name), version)


def glossary_match(store: SharedStore, name: str, text: str) -> list[TermMatch]:
    return glossary_matcher(store, name).find(text)


def glossary_match_input(
    store: SharedStore, name: str, path: str, stdin: Callable[[], bytes] | None = None
) -> list[TermMatch]:
    """The glossary's terms in a text file (``-``: standard input); offsets into the text as read."""
    return glossary_match(store, name, read_input(path, stdin).text)


# -- runs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    info: RunInfo
    documents: tuple[RunDocument, ...]


def runs(store: SharedStore) -> list[RunSummary]:
    return [RunSummary(r, tuple(store.run_documents(r.id))) for r in store.runs()]


@dataclass(frozen=True)
class RunDetail:
    summary: RunSummary
    segments: int
    outcomes: dict[str, int]  # term outcome status -> count


def runs_show(store: SharedStore, run_id: int) -> RunDetail:
    info = store.run(run_id)
    segments, outcomes = store.run_counts(run_id)
    return RunDetail(RunSummary(info, tuple(store.run_documents(run_id))), segments, outcomes)


# -- references and scores ----------------------------------------------------------------------
def _paragraph_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def refs_import(
    store: SharedStore,
    source: Path,
    reference: Path,
    *,
    name: str | None = None,
    source_lang: str = "ar",
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
) -> tuple[int, str, int, bool]:
    """Tie a reference translation (one paragraph per line) to a source document.

    Returns (document id, reference set name, number of lines, whether it replaced a reference
    set of that name; the stored scores of runs over the document are then dropped).  The
    source's non-empty lines (paragraphs) and the reference's lines must correspond one to one.
    """
    doc = read_input(str(source), limit=max_input_bytes)
    lines = score.read_lines(reference, limit=max_input_bytes)
    paragraphs = _paragraph_lines(doc.text)
    if len(lines) != len(paragraphs):
        raise ReferenceFileError(
            f"{reference}: {len(lines)} lines, but {source} has {len(paragraphs)} paragraphs (non-empty "
            "lines); a reference holds one translated paragraph per line"
        )
    refset = name or Path(reference).name
    with store.transaction():
        document_id = store.add_document(doc.text, source_lang, str(source))
        replaced = store.add_refset(document_id, refset, str(reference), lines)
    return document_id, refset, len(lines), replaced


def refs_list(store: SharedStore) -> list[RefSetInfo]:
    return store.refset_list()


@dataclass(frozen=True)
class RunTexts:
    """A run's output grouped for scoring: one entry per paragraph (or per segment)."""

    documents: tuple[int, ...]
    sources: list[str]
    hyps: list[str]
    refs: list[list[str]]  # reference sets
    refset_names: tuple[str, ...]
    level: str  # "segment" when every paragraph is one segment, else "paragraph"


def run_texts(store: SharedStore, run_id: int) -> RunTexts:
    store.run(run_id)  # raises for an unknown run
    docs = store.run_documents(run_id)
    if not docs:
        raise ScoreError(f"run {run_id} stored no documents")
    names: set[str] | None = None
    per_doc_refs: list[dict[str, list[str]]] = []
    for d in docs:
        refsets = dict(store.refsets(d.document_id))
        if not refsets:
            raise ScoreError(
                f"no reference for {d.path or f'document {d.document_id}'} of run {run_id}; add one with "
                "`translate-pipe refs import SOURCE REFERENCE`"
            )
        per_doc_refs.append(refsets)
        names = set(refsets) if names is None else names & set(refsets)
    if not names:
        raise ScoreError(f"the documents of run {run_id} share no reference set name; import references with one --name")
    ordered = tuple(sorted(names))
    sources: list[str] = []
    hyps: list[str] = []
    refs: list[list[str]] = [[] for _ in ordered]
    level = "segment"
    for d, refsets in zip(docs, per_doc_refs):
        text = store.document_text(d.document_id)
        trs = store.translations(run_id, d.document_id)
        grouped = score.group_by_paragraph([t.segment.paragraph for t in trs], [t.target for t in trs])
        if len(grouped) != len(trs):
            level = "paragraph"
        sources.extend(_paragraph_sources(text, trs))
        hyps.extend(grouped)
        for k, name in enumerate(ordered):
            lines = refsets[name]
            if len(lines) != len(grouped):
                raise ScoreError(
                    f"reference {name!r} of {d.path or d.document_id} has {len(lines)} lines but the run has "
                    f"{len(grouped)} paragraphs for it"
                )
            refs[k].extend(lines)
    return RunTexts(tuple(d.document_id for d in docs), sources, hyps, refs, ordered, level)


def _paragraph_sources(text: str, trs: Sequence[StoredTranslation]) -> list[str]:
    spans: dict[int, list[int]] = {}
    for t in trs:
        span = spans.setdefault(t.segment.paragraph, [t.segment.start, t.segment.end])
        span[0], span[1] = min(span[0], t.segment.start), max(span[1], t.segment.end)
    return [text[s:e] for s, e in (spans[p] for p in sorted(spans))]


@dataclass(frozen=True)
class ScoreResult:
    """Scores of a hypothesis file or of a stored run (``run_id`` set), values unrounded."""

    values: dict[str, float]  # bleu, chrf, ter
    signatures: dict[str, str]  # the same metrics, plus term_success when asked
    segments: int
    term_success: float | None = None
    terms: dict[str, Any] | None = None  # term details (score.TermReport.details()), when asked
    run_id: int | None = None
    references: tuple[str, ...] = ()
    level: str | None = None
    # WMT terminology measures (termscore.py): metric -> {"value", "signature", details...}
    terms_wmt: dict[str, dict[str, Any]] | None = None


def score_files(
    store: SharedStore | None,
    hyp: Path,
    refs: Sequence[Path],
    *,
    glossary: str | None = None,
    src: Path | None = None,
) -> ScoreResult:
    """Score a hypothesis file against reference files (line-aligned)."""
    if not refs:
        raise ScoreError("give at least one --refs file")
    hyps = score.read_lines(hyp, role="hypothesis", allow_empty=True)
    ref_sets = [score.read_lines(r) for r in refs]
    score.check_parallel(hyps, ref_sets, [hyp, *refs])
    scores = score.corpus_scores(hyps, ref_sets)
    values = {s.metric: s.value for s in scores.scores}
    if glossary is None:
        return ScoreResult(values, scores.signatures(), scores.segments)
    if src is None or store is None:
        raise ScoreError("terminology metrics need the source: give --src FILE with --glossary")
    sources = score.read_lines(src, role="source")
    score.check_parallel(hyps, [sources], [hyp, src])
    info = store.glossary(glossary)
    report = score.term_metrics(sources, hyps, ref_sets, _glossary_matcher(store, info).find)
    signatures = {**scores.signatures(), "term_success": score.term_signature(glossary, info.version)}
    wmt = {
        m: {"value": v, "signature": sig, **details}
        for m, v, sig, details in _wmt_rows(store, glossary, sources, hyps, ref_sets)
    }
    return ScoreResult(values, signatures, scores.segments, report.term_success, report.details(), terms_wmt=wmt)


def score_run(store: SharedStore, run_id: int, *, glossary: str | None = None, recompute: bool = False) -> ScoreResult:
    """Score a stored run against the stored references of its documents; results are stored.

    Stored scores are returned as they are unless ``recompute`` (or a metric is missing, or
    the glossary changed since the term success rate was stored).
    """
    texts = run_texts(store, run_id)
    refset = "+".join(texts.refset_names)
    stored = {(r["metric"], r["level"]): r for r in store.scores(run_id, refset)}
    wanted = ["bleu", "chrf", "ter"] + (["term_success", *_WMT_TERM_METRICS] if glossary else [])
    term_sig = score.term_signature(glossary, store.glossary(glossary).version) if glossary else None
    have = all((m, texts.level) in stored for m in wanted)
    if have and term_sig and stored[("term_success", texts.level)]["signature"] != term_sig:
        have = False
    if not have or recompute:
        scores = score.corpus_scores(texts.hyps, texts.refs)
        rows: list[tuple[str, float | None, str, dict[str, Any]]] = [
            (s.metric, s.value, s.signature, {}) for s in scores.scores
        ]
        if glossary and term_sig:
            report = score.term_metrics(texts.sources, texts.hyps, texts.refs, glossary_matcher(store, glossary).find)
            rows.append(("term_success", report.term_success, term_sig, report.details()))
            rows.extend(_wmt_rows(store, glossary, texts.sources, texts.hyps, texts.refs))
        store.save_scores(run_id, refset, texts.level, rows)
        stored = {(r["metric"], r["level"]): r for r in store.scores(run_id, refset)}
    metrics = ("bleu", "chrf", "ter", *(("term_success",) if glossary else ()))
    row = stored.get(("term_success", texts.level)) if glossary else None
    return ScoreResult(
        values={m: stored[(m, texts.level)]["value"] for m in ("bleu", "chrf", "ter")},
        signatures={m: stored[(m, texts.level)]["signature"] for m in metrics},
        segments=len(texts.hyps),
        term_success=None if row is None else row["value"],
        terms=None if row is None else row["details"],
        run_id=run_id,
        references=texts.refset_names,
        level=texts.level,
        terms_wmt=None if row is None else {
            m: {"value": stored[(m, texts.level)]["value"], "signature": stored[(m, texts.level)]["signature"],
                **stored[(m, texts.level)]["details"]}
            for m in _WMT_TERM_METRICS
        },
    )


# -- WMT terminology measures (issue 12, termscore.py) -----------------------------------------
_WMT_TERM_METRICS = ("term_exact_match", "term_window_overlap", "term_ter")


def _wmt_rows(
    store: SharedStore, glossary: str, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[Sequence[str]]
) -> list[tuple[str, float | None, str, dict[str, Any]]]:
    from .termscore import wmt_measures

    info = store.glossary(glossary)
    measures = wmt_measures(
        sources, hyps, refs, _glossary_matcher(store, info).find, glossary=f"{glossary}@v{info.version}"
    )
    return [(m.metric, m.value, m.signature, m.details) for m in measures]


def score_compare(store: SharedStore, run_a: int, run_b: int, *, n_samples: int = 1000, seed: int = 12345) -> score.Comparison:
    """Paired bootstrap resampling between two runs over the same documents."""
    store.run(run_a), store.run(run_b)  # an unknown run is named before anything else is checked
    a, b = run_texts(store, run_a), run_texts(store, run_b)
    if a.documents != b.documents:
        raise ScoreError(f"runs {run_a} and {run_b} did not translate the same documents; compare runs over one input")
    if a.refset_names != b.refset_names or a.level != b.level:
        raise ScoreError(f"runs {run_a} and {run_b} are scored against different references or levels")
    return score.compare_runs(a.hyps, b.hyps, a.refs, n_samples=n_samples, seed=seed)


# == review loop, translation memory, report (issue 12) =======================================
def review_export(
    store: SharedStore, run_id: int, fmt: str | None = None, *, output: Path | None = None, fuzzy: float = 75.0
) -> str:
    """A run's review file (``xliff``: XLIFF 1.2, or ``po``; default: from ``output``'s
    extension, else XLIFF) as text; written atomically to ``output`` if given."""
    from .files import atomic_write
    from .review import export_run, format_for

    chosen = fmt or (format_for(output, None) if output is not None else "xliff")
    text = export_run(store, run_id, chosen, fuzzy=fuzzy)
    if output is not None:
        atomic_write(output, text)
    return text


def review_import(store: SharedStore, path: Path, *, reviewer: str, fmt: str | None = None, run: int | None = None) -> Any:
    """Check and store a reviewed file (see review.py); returns a ``review.ImportResult``."""
    from .review import import_review

    return import_review(store, path, reviewer=reviewer, fmt=fmt, run=run)


def tm_export(store: SharedStore, *, source_lang: str = "ar", target_lang: str = "en", output: Path | None = None) -> tuple[str, int]:
    """The translation memory of a language pair as TMX 1.4b text (and the number of units)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    from .files import atomic_write
    from .tm import TMUnit, write_tmx

    units = [TMUnit(**r) for r in store.tm_units(source_lang, target_lang)]
    try:
        version = pkg_version("translate-pipe")
    except PackageNotFoundError:  # pragma: no cover
        version = "0"
    text = write_tmx(units, source_lang, target_lang, version)
    if output is not None:
        atomic_write(output, text)
    return text, len(units)


def tm_import(
    store: SharedStore, path: Path, *, source_lang: str = "ar", target_lang: str = "en", author: str = ""
) -> tuple[int, int]:
    """Add the units of a TMX file (all or nothing); returns (units stored, units skipped)."""
    from .errors import TMError
    from .tm import read_tmx, source_key

    data = read_tmx(path, source_lang, target_lang)
    if not data.units:
        raise TMError(f"{path}: no unit with both {source_lang} and {target_lang} text")
    units = [
        {
            "source_lang": source_lang,
            "target_lang": target_lang,
            "source": s,
            "source_norm": source_key(s, source_lang),
            "target": t,
            "origin": f"tmx:{Path(path).name}",
            "author": author,
        }
        for s, t in data.units
    ]
    return store.add_tm_units(units), data.skipped


def report_html(store: SharedStore, run_id: int, *, output: Path | None = None) -> str:
    """The bilingual HTML report of a run (report_html.py); written atomically to ``output`` if given."""
    from .files import atomic_write
    from .report_html import render_report

    html = render_report(store, run_id)
    if output is not None:
        atomic_write(output, html)
    return html


def glossary_suggest(store: SharedStore, name: str, *, min_count: int = 3) -> list[Any]:
    """Entries proposed from repeated reviewer corrections (review.suggest)."""
    from .review import suggest

    return suggest(store, name, min_count=min_count)
