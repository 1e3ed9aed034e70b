"""Library entry points, one per CLI command: open what is needed, run the pipeline, return data.

Usable without the CLI::

    from translate_pipe import api
    result = api.translate(["bulletin.txt"], db=Path("t.db"), packages_dir=Path("pkgs"))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import DecodeOptions, Engine
from .models import PackageInfo, find_package
from .pipeline import (
    RunResult,
    TranslateSettings,
    plan_outputs,
    read_input,
    render_document,
    translate_documents,
)
from .store import Store

_ENGINES: dict[tuple[Any, ...], Engine] = {}


def load_engine(package: PackageInfo, *, device: str = "cpu", threads: int = 0, compute_type: str = "default") -> Engine:
    """One Engine per (package, device, threads, compute type) per process."""
    key = (str(package.path), package.package_version, device, threads, compute_type)
    if key not in _ENGINES:
        _ENGINES[key] = Engine(package, device=device, intra_threads=threads, compute_type=compute_type)
    return _ENGINES[key]


@dataclass(frozen=True)
class TranslateResult:
    run: RunResult
    texts: list[str]  # the rendered translation of each document


def translate(
    inputs: Sequence[str],
    *,
    db: Path,
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
    threads: int = 0,
    compute_type: str = "default",
    glossary: str | None = None,
    soft: bool = False,
    allow_failures: bool = False,
    translation_memory: bool = True,
    stdin: Callable[[], bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TranslateResult:
    """Translate files (``"-"`` is standard input) as one run, stored in ``db``."""
    # Check everything cheap before loading the model or touching the database.
    from .errors import InputError

    if not inputs:
        raise InputError("no input given; pass files or - for standard input")
    if list(inputs).count("-") > 1:
        raise InputError("standard input (-) can be given only once")
    docs = [read_input(name, stdin) for name in inputs]
    outputs = plan_outputs([d.name for d in docs], output_dir, from_code, to_code)
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
    )
    with Store(db) as store:
        matcher = constrainer = None
        glossary_id = None
        if glossary is not None:  # checked before the model is loaded
            matcher, constrainer, glossary_id, settings = _glossary_setup(
                store, glossary, package, settings
            )
        engine = load_engine(package, device=device, threads=threads, compute_type=compute_type)
        run = translate_documents(
            store,
            engine,
            docs,
            settings=settings,
            outputs=outputs,
            matcher=matcher,
            constrainer=constrainer,
            glossary_id=glossary_id,
            progress=progress,
        )
    texts = [render_document(d.text, r.segments) for d, r in zip(docs, run.documents)]
    return TranslateResult(run, texts)


def _glossary_setup(store: Store, name: str, package: PackageInfo, settings: TranslateSettings) -> Any:
    """Matcher and constrainer for the glossary's current version."""
    from dataclasses import replace as dc_replace

    from .constrain import Constrainer
    from .errors import GlossaryError

    info = store.glossary(name)
    if (info.source_lang, info.target_lang) != (package.from_code, package.to_code):
        raise GlossaryError(
            f"glossary {name!r} is {info.source_lang}->{info.target_lang} but the model translates "
            f"{package.from_code}->{package.to_code}"
        )
    matcher = glossary_matcher(store, name, info.version)
    settings = dc_replace(settings, glossary=name, glossary_version=info.version)
    return matcher, Constrainer(soft=settings.soft), info.id, settings


# -- glossaries -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TermChange:
    source: str
    context: str
    change: str  # "added" | "changed" | "deprecated" | "restored"
    old: Any  # Term | None
    new: Any  # Term | None


def _check_field(name: str, value: str) -> None:
    from .errors import GlossaryError

    if not value.strip():
        raise GlossaryError(f"the {name} is empty")
    if value != value.strip():
        raise GlossaryError(f"the {name} {value!r} has leading or trailing spaces; trim it")


def _primary(lang: str) -> str:
    """'ar-SA' -> 'ar' (TBX files carry regional codes; glossaries are per language pair)."""
    return lang.replace("_", "-").split("-")[0].lower()


def glossary_import(
    store: Store,
    name: str,
    path: Path,
    *,
    fmt: str | None = None,
    author: str,
    source_lang: str = "ar",
    target_lang: str = "en",
    replace: bool = False,
) -> tuple[int | None, int]:
    """Import a CSV/TSV/PO/TBX file into glossary ``name`` as one new version (all or nothing).

    Terms already identical are not touched.  With ``replace``, terms of the glossary that the
    file does not contain are deprecated.  Returns (new version or None if nothing changed,
    number of terms read).
    """
    from dataclasses import replace as dc_replace

    from .formats import read_glossary

    data = read_glossary(path, fmt, source_lang=source_lang, target_lang=target_lang)
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
    store: Store,
    name: str,
    source: str,
    target: str,
    *,
    author: str,
    variants: Sequence[str] | None = None,
    note: str | None = None,
    domain: str | None = None,
    context: str = "",
    source_lang: str = "ar",
    target_lang: str = "en",
) -> tuple[int | None, str]:
    """Add a term, or update it if its source exists (fields not given keep their value).

    Returns (new version or None when nothing changed, "added" | "updated" | "unchanged").
    """
    from .records import Term

    _check_field("source", source)
    _check_field("target", target)
    for v in variants or ():
        _check_field("variant", v)
    with store.transaction():
        info = store.ensure_glossary(name, source_lang, target_lang)
        old = {(st.term.source, st.term.context): st.term for st in store.glossary_terms(info.id)}.get(
            (source, context)
        )
        term = Term(
            source=source,
            target=target,
            variants=tuple(variants) if variants is not None else (old.variants if old else ()),
            note=note if note is not None else (old.note if old else ""),
            domain=domain if domain is not None else (old.domain if old else ""),
            status="approved",
            context=context,
        )
        action = "add" if old is None else "update"
        version = store.apply_glossary_changes(
            info.id, [term], author=author, action=action, summary=f"{action} {source!r} -> {target!r}"
        )
    if version is None:
        return None, "unchanged"
    return version, "added" if old is None else "updated"


def _find_term(store: Store, glossary_id: int, name: str, source: str, context: str) -> Any:
    from .errors import GlossaryError

    for st in store.glossary_terms(glossary_id):
        if (st.term.source, st.term.context) == (source, context):
            return st
    raise GlossaryError(f"glossary {name!r} has no term {source!r}; `translate-pipe glossary list {name}` lists them")


def glossary_remove(store: Store, name: str, source: str, *, author: str, context: str = "") -> int | None:
    """Deprecate a term (history keeps it).  Returns the new version (None if already deprecated)."""
    from dataclasses import replace as dc_replace

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


def glossary_terms(store: Store, name: str, version: int | None = None, *, deprecated: bool = False) -> list[Any]:
    from .errors import GlossaryError

    info = store.glossary(name)
    if version is not None and not 1 <= version <= info.version:
        raise GlossaryError(f"glossary {name!r} has versions 1 to {info.version}, not {version}")
    return [st for st in store.glossary_terms(info.id, version) if deprecated or st.term.status != "deprecated"]


def glossary_show(store: Store, name: str, source: str, context: str = "") -> list[Any]:
    """Every revision of a term, oldest first."""
    info = store.glossary(name)
    _find_term(store, info.id, name, source, context)
    return store.term_history(info.id, source, context)


def glossary_log(store: Store, name: str) -> list[Any]:
    info = store.glossary(name)
    return store.glossary_log(info.id)


def glossary_diff(store: Store, name: str, v1: int, v2: int) -> list[TermChange]:
    """What changed from version v1 to version v2 (v1 may be 0: the empty glossary)."""
    from .errors import GlossaryError

    info = store.glossary(name)
    for v in (v1, v2):
        if not 0 <= v <= info.version:
            raise GlossaryError(f"glossary {name!r} has versions 1 to {info.version}, not {v}")
    old = {(s.term.source, s.term.context): s.term for s in store.glossary_terms(info.id, v1)} if v1 else {}
    new = {(s.term.source, s.term.context): s.term for s in store.glossary_terms(info.id, v2)}
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None:
            kind = "added"
        elif b is None:
            kind = "removed"
        elif a.status != "deprecated" and b.status == "deprecated":
            kind = "deprecated"
        elif a.status == "deprecated" and b.status != "deprecated":
            kind = "restored"
        else:
            kind = "changed"
        changes.append(TermChange(key[0], key[1], kind, a, b))
    return changes


def glossary_lint(store: Store, name: str) -> list[Any]:
    from .glossary import lint

    info = store.glossary(name)
    terms = [st.term for st in store.glossary_terms(info.id) if st.term.status != "deprecated"]
    return lint(terms, info.source_lang)


def glossary_export(
    store: Store,
    name: str,
    fmt: str,
    *,
    output: Path | None = None,
    version: int | None = None,
    tbx_version: str = "basic",
    include_dates: bool = False,
) -> str:
    """Export a glossary (all terms, deprecated ones marked) and return the text; write it if ``output``."""
    from .formats import dumps_glossary, write_glossary

    info = store.glossary(name)
    terms = [st.term for st in glossary_terms(store, name, version, deprecated=True)]
    kwargs = dict(
        source_lang=info.source_lang,
        target_lang=info.target_lang,
        name=name,
        tbx_version=tbx_version,
        include_dates=include_dates,
    )
    if output is not None:
        write_glossary(output, terms, fmt, **kwargs)  # type: ignore[arg-type]
    return dumps_glossary(terms, fmt, **kwargs)  # type: ignore[arg-type]


def glossary_matcher(store: Store, name: str, version: int | None = None) -> Any:
    from .glossary import Matcher

    info = store.glossary(name)
    stored = store.glossary_terms(info.id, version)
    return Matcher([(st.id, st.term) for st in stored], info.source_lang)


def glossary_match(store: Store, name: str, text: str) -> list[Any]:
    return glossary_matcher(store, name).find(text)


# -- references and scores --------------------------------------------------------------------
def _paragraph_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def refs_import(
    store: Store, source: Path, reference: Path, *, name: str | None = None, source_lang: str = "ar"
) -> tuple[int, str, int, bool]:
    """Tie a reference translation (one paragraph per line) to a source document.

    Returns (document id, reference set name, number of lines, whether it replaced a reference
    set of that name; the stored scores of runs over the document are then dropped).  The source's non-empty lines
    (paragraphs) and the reference's lines must correspond one to one.
    """
    from .errors import ReferenceFileError
    from .pipeline import read_input
    from .score import read_lines

    doc = read_input(str(source))
    lines = read_lines(reference)
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


@dataclass(frozen=True)
class RunTexts:
    """A run's output grouped for scoring: one entry per paragraph (or per segment)."""

    documents: tuple[int, ...]
    sources: list[str]
    hyps: list[str]
    refs: list[list[str]]  # reference sets
    refset_names: tuple[str, ...]
    level: str  # "segment" when every paragraph is one segment, else "paragraph"


def run_texts(store: Store, run_id: int) -> RunTexts:
    from .errors import ScoreError
    from .score import group_by_paragraph

    store.run(run_id)  # raises for an unknown run
    docs = store.run_documents(run_id)
    if not docs:
        raise ScoreError(f"run {run_id} stored no documents")
    names: set[str] | None = None
    per_doc_refs: list[dict[str, list[str]]] = []
    for document_id, path, _ in docs:
        refsets = dict(store.refsets(document_id))
        if not refsets:
            raise ScoreError(
                f"no reference for {path or f'document {document_id}'} of run {run_id}; add one with "
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
    for (document_id, path, _), refsets in zip(docs, per_doc_refs):
        text = store.document_text(document_id)
        trs = store.translations(run_id, document_id)
        paragraphs = [t.segment.paragraph for t in trs]
        grouped = group_by_paragraph(paragraphs, [t.target for t in trs])
        if len(grouped) != len(trs):
            level = "paragraph"
        spans: dict[int, list[int]] = {}
        for t in trs:
            span = spans.setdefault(t.segment.paragraph, [t.segment.start, t.segment.end])
            span[0], span[1] = min(span[0], t.segment.start), max(span[1], t.segment.end)
        sources.extend(text[s:e] for s, e in (spans[p] for p in sorted(spans)))
        hyps.extend(grouped)
        for k, name in enumerate(ordered):
            lines = refsets[name]
            if len(lines) != len(grouped):
                raise ScoreError(
                    f"reference {name!r} of {path or document_id} has {len(lines)} lines but the run has "
                    f"{len(grouped)} paragraphs for it"
                )
            refs[k].extend(lines)
    return RunTexts(tuple(d for d, _, _ in docs), sources, hyps, refs, ordered, level)


def _json_report(scores: Any, term_report: Any | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bleu": scores.get("bleu").rounded(1),
        "chrf": scores.get("chrf").rounded(1),
        "ter": scores.get("ter").rounded(1),
        "signatures": scores.signatures(),
        "term_success": None if term_report is None or term_report.term_success is None else round(term_report.term_success, 4),
        "segments": scores.segments,
    }
    return out


def _term_details(report: Any) -> dict[str, Any]:
    return {
        "occurrences": report.occurrences,
        "hits": report.hits,
        "misses": [
            {"segment": m.segment, "source": m.source, "text": m.source_text, "target": m.target, "hypothesis": m.hypothesis}
            for m in report.misses
        ],
        "consistency": report.consistency_rate,
        "inconsistent": [
            {"source": c.source, "target": c.target, "translations": [list(t) for t in c.translations]}
            for c in report.inconsistent
        ],
        "reference_agreement": report.reference_agreement,
        "reference_disagreements": [
            {"segment": d.segment, "source": d.source, "target": d.target, "references": list(d.references)}
            for d in report.reference_disagreements
        ],
    }


def score_files(
    store: Store | None,
    hyp: Path,
    refs: Sequence[Path],
    *,
    glossary: str | None = None,
    src: Path | None = None,
) -> dict[str, Any]:
    """Score a hypothesis file against reference files (line-aligned)."""
    from .errors import ScoreError
    from .score import check_parallel, corpus_scores, read_lines, term_metrics

    if not refs:
        raise ScoreError("give at least one --refs file")
    hyps = read_lines(hyp, role="hypothesis", allow_empty=True)
    ref_sets = [read_lines(r) for r in refs]
    check_parallel(hyps, ref_sets, [hyp, *refs])
    scores = corpus_scores(hyps, ref_sets)
    report = None
    if glossary is not None:
        if src is None or store is None:
            raise ScoreError("terminology metrics need the source: give --src FILE with --glossary")
        sources = read_lines(src, role="source")
        check_parallel(hyps, [sources], [hyp, src])
        report = term_metrics(sources, hyps, ref_sets, glossary_matcher(store, glossary).find)
    out = _json_report(scores, report)
    if report is not None:
        out["terms"] = _term_details(report)
        out["term_presence"] = out["term_success"]
        assert store is not None and glossary is not None
        out["terms_wmt"] = {
            m: {"value": v, "signature": sig, **details}
            for m, v, sig, details in _wmt_rows(store, glossary, sources, hyps, ref_sets)
        }
    return out


def score_run(
    store: Store, run_id: int, *, glossary: str | None = None, recompute: bool = False
) -> dict[str, Any]:
    """Score a stored run against the stored references of its documents; results are stored.

    Stored scores are returned as they are unless ``recompute`` (or a metric is missing).
    """
    from .score import corpus_scores, term_metrics

    texts = run_texts(store, run_id)
    refset = "+".join(texts.refset_names)
    stored = {(r["metric"], r["level"]): r for r in store.scores(run_id, refset)}
    wanted = ["bleu", "chrf", "ter"] + (["term_success", *_WMT_TERM_METRICS] if glossary else [])
    term_sig = None
    if glossary:
        info = store.glossary(glossary)
        term_sig = f"glossary:{glossary}|version:{info.version}|case:insensitive|match:whole-word"
    have = all((m, texts.level) in stored for m in wanted)
    if have and glossary and stored[("term_success", texts.level)]["signature"] != term_sig:
        have = False
    if not have or recompute:
        scores = corpus_scores(texts.hyps, texts.refs)
        rows: list[tuple[str, float | None, str, dict[str, Any]]] = [
            (s.metric, s.value, s.signature, {}) for s in scores.scores
        ]
        if glossary:
            report = term_metrics(texts.sources, texts.hyps, texts.refs, glossary_matcher(store, glossary).find)
            rows.append(("term_success", report.term_success, term_sig or "", _term_details(report)))
            rows.extend(_wmt_rows(store, glossary, texts.sources, texts.hyps, texts.refs))
        store.save_scores(run_id, refset, texts.level, rows)
        stored = {(r["metric"], r["level"]): r for r in store.scores(run_id, refset)}
    out: dict[str, Any] = {
        "run_id": run_id,
        "references": list(texts.refset_names),
        "level": texts.level,
        "bleu": round(stored[("bleu", texts.level)]["value"], 1),
        "chrf": round(stored[("chrf", texts.level)]["value"], 1),
        "ter": round(stored[("ter", texts.level)]["value"], 1),
        "signatures": {m: stored[(m, texts.level)]["signature"] for m in ("bleu", "chrf", "ter")},
        "term_success": None,
        "segments": len(texts.hyps),
    }
    if glossary:
        row = stored[("term_success", texts.level)]
        out["term_success"] = None if row["value"] is None else round(row["value"], 4)
        out["signatures"]["term_success"] = row["signature"]
        out["terms"] = row["details"]
        out["term_presence"] = out["term_success"]  # what term_success measures (termscore.py)
        out["terms_wmt"] = {
            m: {"value": stored[(m, texts.level)]["value"], "signature": stored[(m, texts.level)]["signature"],
                **stored[(m, texts.level)]["details"]}
            for m in _WMT_TERM_METRICS
        }
    return out


# -- WMT terminology measures (issue 12, termscore.py) -----------------------------------------
_WMT_TERM_METRICS = ("term_exact_match", "term_window_overlap", "term_ter")


def _wmt_rows(
    store: Store, glossary: str, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[Sequence[str]]
) -> list[tuple[str, float | None, str, dict[str, Any]]]:
    from .termscore import wmt_measures

    info = store.glossary(glossary)
    measures = wmt_measures(
        sources, hyps, refs, glossary_matcher(store, glossary).find, glossary=f"{glossary}@v{info.version}"
    )
    return [(m.metric, m.value, m.signature, m.details) for m in measures]


def score_compare(store: Store, run_a: int, run_b: int, *, n_samples: int = 1000, seed: int = 12345) -> Any:
    """Paired bootstrap resampling between two runs over the same documents."""
    from .errors import ScoreError
    from .score import compare_runs

    a, b = run_texts(store, run_a), run_texts(store, run_b)
    if a.documents != b.documents:
        raise ScoreError(f"runs {run_a} and {run_b} did not translate the same documents; compare runs over one input")
    if a.refset_names != b.refset_names or a.level != b.level:
        raise ScoreError(f"runs {run_a} and {run_b} are scored against different references or levels")
    return compare_runs(a.hyps, b.hyps, a.refs, n_samples=n_samples, seed=seed)


# -- retranslation after glossary edits -------------------------------------------------------
@dataclass(frozen=True)
class Rerun:
    document: str
    segment_index: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RetranslateResult:
    run: RunResult | None  # None when nothing needed re-running
    reruns: list[Rerun]
    checked: int  # segments translated with the glossary that were checked
    version: int  # the glossary version now used


def _match_keys(matches: Sequence[Any]) -> dict[tuple[int, int, str], str]:
    return {(m.start, m.end, m.source): m.target for m in matches}


def _reasons(old: dict[tuple[int, int, str], str], new: dict[tuple[int, int, str], str]) -> list[str]:
    reasons = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            reasons.append(f"new term {key[2]!r} -> {new[key]!r}")
        elif key not in new:
            reasons.append(f"term {key[2]!r} no longer applies (deprecated or replaced)")
        elif old[key] != new[key]:
            reasons.append(f"target of {key[2]!r} changed: {old[key]!r} -> {new[key]!r}")
    return reasons


def retranslate(
    glossary: str,
    *,
    db: Path,
    packages_dir: Path,
    device: str = "cpu",
    threads: int = 0,
    compute_type: str = "default",
    allow_failures: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RetranslateResult:
    """Re-run, as a new run, only the segments whose matched terms changed since the glossary
    version their latest translation used (new terms, changed targets, deprecated terms)."""
    from dataclasses import fields

    from .constrain import Constrainer
    from .errors import GlossaryError
    from .pipeline import InputDoc

    with Store(db) as store:
        info = store.glossary(glossary)
        rows = store.glossary_translations(info.id)
        if not rows:
            raise GlossaryError(
                f"nothing was translated with glossary {glossary!r} yet; use `translate --glossary {glossary}`"
            )
        current = glossary_matcher(store, glossary, info.version)
        matchers: dict[int, Any] = {}
        changed: list[tuple[Any, list[str]]] = []
        for st, used in rows:
            if used == info.version:
                continue
            if used not in matchers:
                matchers[used] = glossary_matcher(store, glossary, used)
            reasons = _reasons(
                _match_keys(matchers[used].find(st.segment.text)), _match_keys(current.find(st.segment.text))
            )
            if reasons:
                changed.append((st, reasons))
        if not changed:
            return RetranslateResult(None, [], len(rows), info.version)

        parent = store.run(max(st.run_id for st, _ in changed))
        package = find_package(packages_dir, parent.source_lang, parent.target_lang)
        engine = load_engine(package, device=device, threads=threads, compute_type=compute_type)
        saved = dict(parent.settings)
        decode = DecodeOptions(**{f.name: saved.get("decode", {}).get(f.name, f.default) for f in fields(DecodeOptions)})
        settings = TranslateSettings(
            decode=decode,
            max_source_tokens=int(saved.get("max_source_tokens", 200)),
            device=device,
            intra_threads=threads,
            compute_type=compute_type,
            glossary=glossary,
            glossary_version=info.version,
            soft=bool(saved.get("soft", False)),
            allow_failures=allow_failures,
        )
        by_doc: dict[int, list[Any]] = {}
        for st, _ in changed:
            by_doc.setdefault(st.document_id, []).append(st)
        doc_ids = sorted(by_doc)
        paths = {d: p for run_id in {st.run_id for st, _ in changed} for d, p, _ in store.run_documents(run_id)}
        docs = [InputDoc(paths.get(d) or f"document-{d}", store.document_text(d)) for d in doc_ids]
        segmented = [[st.segment for st in by_doc[d]] for d in doc_ids]
        run = translate_documents(
            store,
            engine,
            docs,
            settings=settings,
            outputs=[None] * len(docs),
            matcher=current,
            constrainer=Constrainer(soft=settings.soft),
            glossary_id=info.id,
            progress=progress,
            kind="retranslate",
            segmented=segmented,
            parent_run_id=parent.id,
        )
        # refresh the output files of the affected documents with the merged translations
        outputs = {
            d: o for run_id in {st.run_id for st, _ in rows} for d, _, o in store.run_documents(run_id) if o
        }
        latest = {(st.document_id, st.segment.start): st for st, _ in store.glossary_translations(info.id)}
        from .pipeline import write_atomic
        from .records import SegmentTranslation

        for d, doc in zip(doc_ids, docs):
            if d in outputs:
                merged = [
                    SegmentTranslation(segment=st.segment, target=st.target)
                    for st in latest.values()
                    if st.document_id == d
                ]
                write_atomic(Path(outputs[d]), render_document(doc.text, merged))
    reruns = [
        Rerun(paths.get(st.document_id) or f"document-{st.document_id}", st.segment.index, tuple(r))
        for st, r in changed
    ]
    return RetranslateResult(run, reruns, len(rows), info.version)


# == review loop, translation memory, report (issue 12) =======================================
def review_export(store: Store, run_id: int, fmt: str, *, output: Path | None = None, fuzzy: float = 75.0) -> str:
    """A run's review file (XLIFF 1.2 or PO) as text; written atomically to ``output`` if given."""
    from .pipeline import write_atomic
    from .review import export_run

    text = export_run(store, run_id, fmt, fuzzy=fuzzy)
    if output is not None:
        write_atomic(output, text)
    return text


def review_import(store: Store, path: Path, *, reviewer: str, fmt: str | None = None, run: int | None = None) -> Any:
    """Check and store a reviewed file (see review.py); returns a ``review.ImportResult``."""
    from .review import import_review

    return import_review(store, path, reviewer=reviewer, fmt=fmt, run=run)


def tm_export(store: Store, *, source_lang: str = "ar", target_lang: str = "en", output: Path | None = None) -> tuple[str, int]:
    """The translation memory of a language pair as TMX 1.4b text (and the number of units)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    from .pipeline import write_atomic
    from .tm import TMUnit, write_tmx

    units = [TMUnit(**r) for r in store.tm_units(source_lang, target_lang)]
    try:
        version = pkg_version("translate-pipe")
    except PackageNotFoundError:  # pragma: no cover
        version = "0"
    text = write_tmx(units, source_lang, target_lang, version)
    if output is not None:
        write_atomic(output, text)
    return text, len(units)


def tm_import(
    store: Store, path: Path, *, source_lang: str = "ar", target_lang: str = "en", author: str = ""
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


def report_html(store: Store, run_id: int, *, output: Path | None = None) -> str:
    """The bilingual HTML report of a run (report_html.py); written atomically to ``output`` if given."""
    from .pipeline import write_atomic
    from .report_html import render_report

    html = render_report(store, run_id)
    if output is not None:
        write_atomic(output, html)
    return html


def glossary_suggest(store: Store, name: str, *, min_count: int = 3) -> list[Any]:
    """Entries proposed from repeated reviewer corrections (review.suggest)."""
    from .review import suggest

    return suggest(store, name, min_count=min_count)
