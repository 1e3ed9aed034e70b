"""The review loop: export a run for post-editing in a CAT tool, import the post-edits back.

Export (:func:`export_run`)
---------------------------
One unit per segment of the run, in document order:

* **XLIFF 1.2** (``urn:oasis:names:tc:xliff:document:1.2``): one ``<file>`` per document
  (``original`` = the document's path, ``tp:run``/``tp:document`` = run and document ids in the
  ``urn:translate-pipe:review`` namespace), one ``<trans-unit>`` per segment with ``id`` and
  ``resname`` = ``DOCUMENT_ID:SEGMENT_INDEX``; ``<source>`` as written, ``<target
  state="needs-review-translation">`` the MT (``state-qualifier="exact-match"`` when it came from
  the translation memory); one ``<note from="glossary">`` per glossary term
  (``SOURCE -> APPROVED TARGET [outcome]``) and one ``<alt-trans origin="translation-memory"
  match-quality="NN">`` per fuzzy match (:data:`translate_pipe.tm.FUZZY_THRESHOLD`).
* **PO** (polib): ``msgctxt`` = ``DOCUMENT_ID:SEGMENT_INDEX``, ``msgid`` = source, ``msgstr`` =
  MT, flag ``fuzzy`` = needs review, ``#:`` = document path and segment index, ``#.`` comments
  for the glossary terms (``glossary: SOURCE -> TARGET [outcome]``) and the fuzzy matches
  (``TM NN%: SOURCE => TARGET``); the header carries ``X-Translate-Pipe-Run``.

Exports are deterministic (no dates); Arabic is written exactly as stored.

Import (:func:`import_review`)
------------------------------
Every unit is checked before anything is written; any problem stops the import with one
:class:`ReviewError` and nothing is stored: a broken file, a file without a run id, a file of
another run (``run=`` given and different) or with units that are not segments of its run, a
changed source, a duplicate unit, or a file already imported.  Then, in one transaction:

* a unit is a **post-edit** when its target differs from the MT or it is approved; untouched
  units still waiting for review, and empty targets, are not post-edits;
* **approved** = XLIFF ``approved="yes"`` or ``state`` in ``translated``/``signed-off``/``final``;
  PO: no ``fuzzy`` flag.  The state is stored as XLIFF names it (PO: ``translated`` or
  ``needs-review-translation``);
* **HTER** per segment = sacrebleu TER of the MT against the post-edit (sentence level), and per
  run = corpus TER over the latest post-edit of every post-edited segment; both carry the
  signature ``hyp:mt|ref:post-edit|`` + sacrebleu's TER signature; the run value is also saved
  as the score ``hter`` (reference set ``post-edits``);
* approved post-edits become translation-memory units (tm.py);
* post-edits that drop an approved glossary target the MT had are reported (not refused).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ReviewError
from .tm import FUZZY_THRESHOLD, TranslationMemory, find_term, source_key

XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"
TP_NS = "urn:translate-pipe:review"
XML_NS = "http://www.w3.org/XML/1998/namespace"
FORMATS = ("xliff", "po")
APPROVED_STATES = frozenset({"translated", "signed-off", "final"})
NEEDS_REVIEW = "needs-review-translation"
HTER_PREFIX = "hyp:mt|ref:post-edit|"


def _x(tag: str) -> str:
    return f"{{{XLIFF_NS}}}{tag}"


def format_for(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ReviewError(f"unknown review format {fmt!r}; choose xliff or po")
        return fmt
    ext = path.suffix.lower()
    if ext in (".xlf", ".xliff", ".xlif"):
        return "xliff"
    if ext in (".po", ".pot"):
        return "po"
    raise ReviewError(f"{path}: cannot tell the format from the extension; use .xlf or .po, or give --format")


# -- export -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewUnit:
    key: str  # DOCUMENT_ID:SEGMENT_INDEX
    document_id: int
    document: str  # path as given to translate, or document-N
    segment_index: int
    source: str
    target: str
    origin: str  # mt | tm | repeat
    terms: tuple[tuple[str, str, str], ...]  # (source term, approved target, outcome)
    alternatives: tuple[tuple[float, str, str], ...]  # (similarity %, TM source, TM target)


def unit_key(document_id: int, segment_index: int) -> str:
    return f"{document_id}:{segment_index}"


def review_units(store: Any, run_id: int, *, fuzzy: float = FUZZY_THRESHOLD) -> list[ReviewUnit]:
    """The units of a run's review export, in document order."""
    run = store.run(run_id)
    docs = store.run_documents(run_id)
    if not docs:
        raise ReviewError(f"run {run_id} stored no documents; nothing to review")
    memory = TranslationMemory(store, run.source_lang, run.target_lang)
    origins = store.translation_origins(run_id)
    units = []
    for document_id, path, _ in docs:
        for st in store.translations(run_id, document_id):
            terms = tuple(
                (t["source_term"], t["target_term"], t["status"]) for t in store.term_alignments(st.translation_id)
            )
            alts = tuple(
                (m.similarity, m.unit.source, m.unit.target)
                for m in memory.fuzzy(st.segment.text, fuzzy)
                if m.unit.target != st.target
            )
            units.append(
                ReviewUnit(
                    key=unit_key(document_id, st.segment.index),
                    document_id=document_id,
                    document=path or f"document-{document_id}",
                    segment_index=st.segment.index,
                    source=st.segment.text,
                    target=st.target,
                    origin=origins.get(st.translation_id, ("mt", None))[0],
                    terms=terms,
                    alternatives=alts,
                )
            )
    return units


def _term_note(term: tuple[str, str, str]) -> str:
    return f"{term[0]} -> {term[1]} [{term[2]}]"


def dumps_xliff(run_id: int, source_lang: str, target_lang: str, units: Sequence[ReviewUnit], version: str) -> str:
    ET.register_namespace("", XLIFF_NS)
    ET.register_namespace("tp", TP_NS)
    root = ET.Element(_x("xliff"), {"version": "1.2"})
    by_doc: dict[int, list[ReviewUnit]] = {}
    for u in units:
        by_doc.setdefault(u.document_id, []).append(u)
    lang = f"{{{XML_NS}}}lang"
    for document_id, doc_units in by_doc.items():
        file_el = ET.SubElement(
            root,
            _x("file"),
            {
                "original": doc_units[0].document,
                "source-language": source_lang,
                "target-language": target_lang,
                "datatype": "plaintext",
                "tool-id": "translate-pipe",
                f"{{{TP_NS}}}run": str(run_id),
                f"{{{TP_NS}}}document": str(document_id),
            },
        )
        header = ET.SubElement(file_el, _x("header"))
        ET.SubElement(
            header, _x("tool"), {"tool-id": "translate-pipe", "tool-name": "translate-pipe", "tool-version": version}
        )
        body = ET.SubElement(file_el, _x("body"))
        for u in doc_units:
            tu = ET.SubElement(
                body, _x("trans-unit"), {"id": u.key, "resname": u.key, f"{{{XML_NS}}}space": "preserve"}
            )
            ET.SubElement(tu, _x("source"), {lang: source_lang}).text = u.source
            target_attrs = {lang: target_lang, "state": NEEDS_REVIEW}
            if u.origin == "tm":
                target_attrs["state-qualifier"] = "exact-match"
            ET.SubElement(tu, _x("target"), target_attrs).text = u.target
            for term in u.terms:
                ET.SubElement(tu, _x("note"), {"from": "glossary", "annotates": "source"}).text = _term_note(term)
            for sim, src, tgt in u.alternatives:
                alt = ET.SubElement(tu, _x("alt-trans"), {"match-quality": f"{sim:.0f}", "origin": "translation-memory"})
                ET.SubElement(alt, _x("source"), {lang: source_lang}).text = src
                ET.SubElement(alt, _x("target"), {lang: target_lang}).text = tgt
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _po_date(iso: str) -> str:
    """``2026-11-25T14:29:27.266+00:00`` -> ``2026-11-25 14:29+0000`` (the run's start: deterministic)."""
    return f"{iso[:10]} {iso[11:16]}{iso[-6:].replace(':', '')}" if len(iso) >= 22 else iso


def dumps_po(
    run_id: int, source_lang: str, target_lang: str, units: Sequence[ReviewUnit], version: str, started_at: str = ""
) -> str:
    import polib

    catalog = polib.POFile(wrapwidth=0)
    catalog.header = f"Review of translate-pipe run {run_id}: remove the fuzzy flag to approve a segment."
    catalog.metadata = {
        "Project-Id-Version": f"translate-pipe run {run_id}",
        "PO-Revision-Date": _po_date(started_at),
        "Last-Translator": "translate-pipe (machine translation)",
        "Language-Team": "none",
        "Language": target_lang,
        "X-Source-Language": source_lang,
        "X-Translate-Pipe-Run": str(run_id),
        "X-Generator": f"translate-pipe {version}",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    for u in units:
        comments = [f"glossary: {_term_note(t)}" for t in u.terms]
        comments += [f"TM {sim:.0f}%: {src} => {tgt}" for sim, src, tgt in u.alternatives]
        if u.origin == "tm":
            comments.insert(0, "from the translation memory (exact match)")
        catalog.append(
            polib.POEntry(
                msgctxt=u.key,
                msgid=u.source,
                msgstr=u.target,
                flags=["fuzzy"],
                occurrences=[(u.document, str(u.segment_index))],
                comment="\n".join(comments),
            )
        )
    text = str(catalog)
    return text if text.endswith("\n") else text + "\n"


def export_run(store: Any, run_id: int, fmt: str, *, fuzzy: float = FUZZY_THRESHOLD) -> str:
    """The review file of a run as text (``fmt`` = ``xliff`` or ``po``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    if fmt not in FORMATS:
        raise ReviewError(f"unknown review format {fmt!r}; choose xliff or po")
    run = store.run(run_id)
    units = review_units(store, run_id, fuzzy=fuzzy)
    try:
        version = pkg_version("translate-pipe")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "0"
    if fmt == "po":
        return dumps_po(run_id, run.source_lang, run.target_lang, units, version, run.started_at)
    return dumps_xliff(run_id, run.source_lang, run.target_lang, units, version)


# -- reading review files ---------------------------------------------------------------------
@dataclass(frozen=True)
class ReadUnit:
    key: str
    source: str
    target: str
    state: str
    approved: bool


@dataclass(frozen=True)
class ReviewFile:
    run_id: int
    units: list[ReadUnit]


_NATIVE = {"bpt", "ept", "ph", "it", "x", "bx", "ex"}


def _text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    parts = [el.text or ""]
    for child in el:
        if child.tag.rsplit("}", 1)[-1] not in _NATIVE:
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _run_id(path: Path, values: set[str]) -> int:
    values.discard("")
    if not values:
        raise ReviewError(
            f"{path}: no translate-pipe run id in the file; import only files made by "
            "`translate-pipe review export RUN`"
        )
    if len(values) > 1:
        raise ReviewError(f"{path}: mixes units of runs {', '.join(sorted(values))}; import one run's file at a time")
    value = values.pop()
    if not value.isdigit():
        raise ReviewError(f"{path}: run id {value!r} is not a number")
    return int(value)


def read_xliff(path: Path, data: bytes) -> ReviewFile:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ReviewError(f"{path}: not a valid XLIFF file (XML error at line {exc.position[0]}: {exc.msg})") from None
    if root.tag != _x("xliff"):
        raise ReviewError(f"{path}: not an XLIFF 1.2 file (root <{root.tag}>); export with --format xliff")
    files = root.findall(_x("file"))
    run_id = _run_id(path, {f.get(f"{{{TP_NS}}}run", "") for f in files})
    units = []
    for tu in root.iter(_x("trans-unit")):
        key = tu.get("resname") or tu.get("id") or ""
        target_el = tu.find(_x("target"))
        state = target_el.get("state", "") if target_el is not None else ""
        approved = tu.get("approved") == "yes" or state in APPROVED_STATES
        units.append(ReadUnit(key, _text(tu.find(_x("source"))), _text(target_el), state or "", approved))
    return ReviewFile(run_id, units)


def read_po(path: Path, data: bytes) -> ReviewFile:
    import polib

    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewError(f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the PO file as UTF-8") from None
    try:
        catalog = polib.pofile(str(path), encoding="utf-8", wrapwidth=0)
    except (OSError, ValueError) as exc:
        line = re.search(r"\(line (\d+)\)", str(exc))
        detail = f"syntax error at line {line.group(1)}" if line else str(exc)
        raise ReviewError(f"{path}: not a valid PO file ({detail})") from None
    run_id = _run_id(path, {catalog.metadata.get("X-Translate-Pipe-Run", "").strip()})
    units = []
    for entry in catalog:
        if entry.obsolete:
            continue
        approved = "fuzzy" not in entry.flags
        units.append(
            ReadUnit(entry.msgctxt or "", entry.msgid, entry.msgstr, "translated" if approved else NEEDS_REVIEW, approved)
        )
    return ReviewFile(run_id, units)


def read_review_file(path: Path, fmt: str | None = None) -> tuple[str, bytes, ReviewFile]:
    fmt = format_for(path, fmt)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReviewError(f"{path}: no such file") from None
    except OSError as exc:
        raise ReviewError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise ReviewError(f"{path}: empty file")
    reader = read_xliff if fmt == "xliff" else read_po
    return fmt, data, reader(path, data)


# -- import -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GlossaryBreak:
    key: str
    source_term: str
    target: str  # the approved target the post-edit dropped
    post_edit: str


@dataclass(frozen=True)
class SegmentHTER:
    key: str
    hter: float
    approved: bool


@dataclass
class ImportResult:
    run_id: int
    import_id: int
    units: int
    post_edits: list[SegmentHTER] = field(default_factory=list)
    hter: float | None = None  # corpus TER over the run's latest post-edits
    signature: str = ""
    glossary_breaks: list[GlossaryBreak] = field(default_factory=list)
    tm_units: int = 0


def hter_signature() -> str:
    from .score import corpus_scores

    # sacrebleu's signature includes nrefs, known once a score is computed: one reference here
    return HTER_PREFIX + corpus_scores(["x"], [["x"]], metrics=["ter"]).get("ter").signature


def segment_hter(mt: Sequence[str], post_edits: Sequence[str]) -> list[float]:
    from .score import segment_scores

    return segment_scores(list(mt), [list(post_edits)], "ter") if mt else []


def corpus_hter(mt: Sequence[str], post_edits: Sequence[str]) -> float | None:
    from .score import corpus_scores

    if not mt:
        return None
    return corpus_scores(list(mt), [list(post_edits)], metrics=["ter"]).value("ter")


def glossary_breaks(key: str, mt: str, post_edit: str, terms: Sequence[dict[str, Any]]) -> list[GlossaryBreak]:
    """Approved targets present in the MT that the post-edit no longer contains."""
    needed: Counter[str] = Counter()
    first: dict[str, str] = {}
    for t in terms:
        if t["status"] in ("present", "enforced", "inserted") and find_term(mt, t["target_term"]):
            needed[t["target_term"]] += 1
            first.setdefault(t["target_term"], t["source_term"])
    return [
        GlossaryBreak(key, first[target], target, post_edit)
        for target, n in sorted(needed.items())
        if len(find_term(post_edit, target)) < min(n, len(find_term(mt, target)))
    ]


def import_review(
    store: Any, path: Path, *, reviewer: str, fmt: str | None = None, run: int | None = None
) -> ImportResult:
    """Check a reviewed file completely, then store its post-edits in one transaction."""
    fmt, data, review = read_review_file(path, fmt)
    if run is not None and run != review.run_id:
        raise ReviewError(f"{path} is the review file of run {review.run_id}, not run {run}")
    info = store.run(review.run_id)
    digest = hashlib.sha256(data).hexdigest()
    if any(r["sha256"] == digest for r in store.review_imports(review.run_id)):
        raise ReviewError(f"{path}: this exact file was already imported for run {review.run_id}")
    stored = {
        unit_key(st.document_id, st.segment.index): st for st in store.translations(review.run_id)
    }
    seen: set[str] = set()
    edits: list[tuple[ReadUnit, Any]] = []
    for u in review.units:
        if u.key in seen:
            raise ReviewError(f"{path}: unit {u.key!r} appears twice; keep one of them")
        seen.add(u.key)
        st = stored.get(u.key)
        if st is None:
            raise ReviewError(
                f"{path}: unit {u.key!r} is not a segment of run {review.run_id} (a file from another run, "
                "or an edited id); export the run again"
            )
        if u.source != st.segment.text:
            raise ReviewError(
                f"{path}: the source of unit {u.key!r} was changed; sources must stay as exported "
                "(edit only the targets)"
            )
        if not u.target.strip():
            continue
        if u.target != st.target or u.approved:
            edits.append((u, st))
    mts = [st.target for _, st in edits]
    pes = [u.target for u, _ in edits]
    hters = segment_hter(mts, pes)
    signature = hter_signature()
    breaks: list[GlossaryBreak] = []
    for u, st in edits:
        breaks.extend(glossary_breaks(u.key, st.target, u.target, store.term_alignments(st.translation_id)))
    post_edits = [
        {"translation_id": st.translation_id, "target": u.target, "state": u.state or "", "approved": u.approved, "hter": h}
        for (u, st), h in zip(edits, hters)
    ]
    tm_units = [
        {
            "source_lang": info.source_lang,
            "target_lang": info.target_lang,
            "source": st.segment.text,
            "source_norm": source_key(st.segment.text, info.source_lang),
            "target": u.target,
            "post_edit": i,
        }
        for i, (u, st) in enumerate(edits)
        if u.approved
    ]
    with store.transaction():
        import_id = store.add_review_import(
            run_id=review.run_id,
            path=str(path),
            fmt=fmt,
            sha256=digest,
            reviewer=reviewer,
            units=len(review.units),
            post_edits=post_edits,
            hter=corpus_hter(mts, pes),
            hter_signature=signature,
            tm_units=tm_units,
        )
        latest = store.post_edits(review.run_id)
        run_hter = corpus_hter([p["mt"] for p in latest], [p["target"] for p in latest])
        if run_hter is not None:
            store.save_scores(review.run_id, "post-edits", "segment", [("hter", run_hter, signature, {"segments": len(latest)})])
    return ImportResult(
        run_id=review.run_id,
        import_id=import_id,
        units=len(review.units),
        post_edits=[SegmentHTER(u.key, h, u.approved) for (u, _), h in zip(edits, hters)],
        hter=run_hter,
        signature=signature,
        glossary_breaks=breaks,
        tm_units=len(tm_units),
    )


# -- glossary suggestions from post-edits -----------------------------------------------------
_WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class Suggestion:
    source: str  # the source phrase, as written most often
    mt: str  # what the model wrote
    post_edit: str  # what the reviewers wrote instead
    count: int  # distinct segments (by source text) where reviewers made this change
    segments: tuple[str, ...]  # their keys (RUN/DOCUMENT_ID:SEGMENT_INDEX)
    current_target: str | None  # the glossary's target for this source, if it has the term


MERGE_GAP = 2
"""Edits separated by at most this many unchanged words are one correction
("prisoner exchange" -> "exchange of prisoners" is a deletion and an insertion around "exchange")."""


def _edit_regions(mt_words: list[str], pe_words: list[str]) -> list[tuple[int, int, int, int]]:
    """Non-equal regions (i1, i2, j1, j2) of a case-insensitive word diff, merged across short gaps."""
    ops = difflib.SequenceMatcher(
        None, [w.casefold() for w in mt_words], [w.casefold() for w in pe_words], autojunk=False
    ).get_opcodes()
    regions: list[list[int]] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        if regions and i1 - regions[-1][1] <= MERGE_GAP:
            regions[-1][1], regions[-1][3] = i2, j2
        else:
            regions.append([i1, i2, j1, j2])
    return [(a, b, c, d) for a, b, c, d in regions]


def _phrase_pairs(
    document_text: str, mt: str, pe: str, links: Sequence[tuple[int, int, int, int]]
) -> list[tuple[str, str, str]]:
    """(source phrase, MT phrase, post-edited phrase) of each edited region of one segment: the
    source phrase spans the source words aligned to the edited MT words."""
    mt_spans, pe_spans = _words(mt), _words(pe)
    mt_words = [mt[s:e] for s, e in mt_spans]
    pe_words = [pe[s:e] for s, e in pe_spans]
    out = []
    for i1, i2, j1, j2 in _edit_regions(mt_words, pe_words):
        if i1 == i2 or j1 == j2:
            continue  # pure insertions have no source; pure deletions suggest no rendering
        t0, t1 = mt_spans[i1][0], mt_spans[i2 - 1][1]
        linked = [link for link in links if link[2] < t1 and t0 < link[3]]
        if not linked:
            continue
        source = document_text[min(lk[0] for lk in linked) : max(lk[1] for lk in linked)].strip()
        mt_phrase = mt[t0:t1]
        pe_phrase = pe[pe_spans[j1][0] : pe_spans[j2 - 1][1]]
        if source and mt_phrase != pe_phrase and len(source.split()) <= 2 * (i2 - i1) + 3:
            out.append((source, mt_phrase, pe_phrase))
    return out


def suggest(store: Any, glossary: str, *, min_count: int = 3) -> list[Suggestion]:
    """Phrases reviewers changed the same way in at least ``min_count`` segments (runs made with
    this glossary), with their source phrase found through the word alignment."""
    if min_count < 1:
        raise ReviewError("--min-count must be at least 1")
    info = store.glossary(glossary)
    current = {
        source_key(st.term.source, info.source_lang): st.term.target
        for st in store.glossary_terms(info.id)
        if st.term.status != "deprecated"
    }
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    texts: dict[int, str] = {}
    for pe in store.glossary_post_edits(info.id):
        if pe["target"] == pe["mt"]:
            continue
        if pe["document_id"] not in texts:
            texts[pe["document_id"]] = store.document_text(pe["document_id"])
        links = store.alignment(pe["translation_id"])
        where = f"{pe['run_id']}/{unit_key(pe['document_id'], pe['segment_index'])}"
        for source, mt_phrase, pe_phrase in _phrase_pairs(texts[pe["document_id"]], pe["mt"], pe["target"], links):
            key = (source_key(source, info.source_lang), mt_phrase.casefold(), pe_phrase)
            g = groups.setdefault(key, {"forms": Counter(), "mt": Counter(), "segments": [], "sources": set()})
            g["forms"][source] += 1
            g["mt"][mt_phrase] += 1
            if where not in g["segments"]:
                g["segments"].append(where)
            g["sources"].add(source_key(pe["source"], info.source_lang))
    out = []
    for (norm, _, pe_phrase), g in groups.items():
        # repeated segments (same source text) count once
        if len(g["sources"]) < min_count or current.get(norm) == pe_phrase:
            continue
        out.append(
            Suggestion(
                source=g["forms"].most_common(1)[0][0],
                mt=g["mt"].most_common(1)[0][0],
                post_edit=pe_phrase,
                count=len(g["sources"]),
                segments=tuple(g["segments"]),
                current_target=current.get(norm),
            )
        )
    return sorted(out, key=lambda s: (-s.count, s.source, s.post_edit))
