"""Records -> what the user sees: the ``--json`` contracts and the text lines of every command.

Pure functions: each takes the records an :mod:`.api` function returned and gives back a
JSON-ready value (``*_json``) or lines of text (``*_lines``).  Nothing here prints; ``cli.py``
prints what these return.  README documents the ``translate --json`` contract; the others
follow the same habits (offsets as Python string indices, null for "not applicable").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from .api import GlossarySummary, LogEntry, RunDetail, RunSummary, ScoreResult
from .glossary import LintIssue, TermChange
from .models import PackageInfo
from .pipeline import RetranslateResult, RunResult
from .records import RefSetInfo, RunInfo, SegmentTranslation, StoredTerm, Term, TermMatch, TermOutcome
from .review import ImportResult, Suggestion
from .score import Comparison, round_score

JSON = Any  # a value json.dumps accepts


# -- translate / retranslate --------------------------------------------------------------------
def run_json(result: RunResult) -> dict[str, JSON]:
    """The ``translate --json`` contract."""
    return json.loads("".join(iter_run_json(result)))  # type: ignore[no-any-return]


def _segment_json(st: SegmentTranslation, alts: tuple[str, ...]) -> dict[str, JSON]:
    return {
        "index": st.segment.index,
        "source": st.segment.text,
        "target": st.target,
        "source_start": st.segment.start,
        "source_end": st.segment.end,
        "alignment": [list(link) for link in st.alignment],
        "status": st.origin,  # "mt" | "tm" | "repeat" (tm.py)
        "terms": [
            {
                "source": o.match.source,
                "target": o.match.target,
                "source_start": o.match.start,
                "source_end": o.match.end,
                "target_start": o.target_start,
                "target_end": o.target_end,
                "status": o.status,
                "method": o.method,
                **({"reason": o.reason} if o.reason else {}),
                "number": o.match.number,
                "target_form": o.match.target_form,
            }
            for o in st.terms
        ],
        **({"alternatives": list(alts)} if alts else {}),
        **({"truncated": True} if st.truncated else {}),
    }


def iter_run_json(result: RunResult) -> Iterator[str]:
    """The ``translate --json`` contract as text, one segment at a time (the same text as
    ``json.dumps(run_json(result), ensure_ascii=False, indent=2)``): a run of any size is
    printed without being held."""
    head = {"run_id": result.run_id, "model": {"name": result.model_name, "version": result.model_version}}
    yield json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "documents": ['
    for d_index, doc in enumerate(result.documents):
        yield "," if d_index else ""
        doc_head = json.dumps({"path": doc.name, "output": doc.output_path}, ensure_ascii=False, indent=2)
        yield "\n    " + doc_head[:-2].replace("\n", "\n    ") + ',\n      "segments": ['
        n = 0
        for st, alts in doc.iter_segments():
            piece = json.dumps(_segment_json(st, alts), ensure_ascii=False, indent=2)
            yield ("," if n else "") + "\n        " + piece.replace("\n", "\n        ")
            n += 1
        yield "\n      ]\n    }" if n else "]\n    }"
    yield "\n  ]\n}" if result.documents else "]\n}"


def truncation_warning(result: RunResult) -> str | None:
    """One warning line naming the segments that reached the output length bound, or None."""
    cut: list[str] = []
    n_cut = 0
    for d in result.documents:
        for st, _ in d.iter_segments():
            if st.truncated:
                n_cut += 1
                if len(cut) < 10:
                    cut.append(f"{d.name} segment {st.segment.index}")
    if not n_cut:
        return None
    shown = ", ".join(cut) + (f" and {n_cut - 10} more" if n_cut > 10 else "")
    return (
        f"warning: {n_cut} segment(s) reached the output length bound and are probably cut "
        f"(raise --max-length): {shown}"
    )


TERM_STATUSES = ("present", "enforced", "inserted", "failed")


def term_summary(outcomes: Iterable[TermOutcome]) -> str:
    """``67 terms: 41 present, 24 enforced, 2 inserted, 0 failed``."""
    counts = dict.fromkeys(TERM_STATUSES, 0)
    n = 0
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        n += 1
    return f"{n} term{'s' if n != 1 else ''}: " + ", ".join(f"{counts[s]} {s}" for s in TERM_STATUSES)


def run_term_summary(result: RunResult) -> str | None:
    """The term summary line of a run with a glossary (None without one)."""
    if result.glossary is None:
        return None
    return term_summary(o for d in result.documents for st, _ in d.iter_segments() for o in st.terms)


def run_summary(result: RunResult) -> str:
    total = sum(d.count for d in result.documents)
    reused = dict.fromkeys(("tm", "repeat"), 0)
    for d in result.documents:
        for st, _ in d.iter_segments():
            if st.origin in reused:
                reused[st.origin] += 1
    extra = f" ({reused['tm']} from translation memory, {reused['repeat']} repeated)" if any(reused.values()) else ""
    resumed = f" ({result.resumed_from} were done before it was resumed)" if result.resumed_from else ""
    return f"run {result.run_id}: {total} segments{extra}{resumed}"


def retranslate_json(result: RetranslateResult) -> dict[str, JSON]:
    if result.run is None:
        return {"run_id": None, "model": None, "documents": [], "checked": result.checked}
    return {
        **run_json(result.run),
        "checked": result.checked,
        "reasons": [{"path": r.document, "index": r.segment_index, "reasons": list(r.reasons)} for r in result.reruns],
    }


def retranslate_lines(result: RetranslateResult, glossary: str) -> list[str]:
    lines = [f"{r.document}: segment {r.segment_index}: {'; '.join(r.reasons)}" for r in result.reruns]
    if result.run is None:
        lines.append(f"{result.checked} segment(s) checked against {glossary} v{result.version}: nothing to re-run")
    else:
        lines.append(
            f"run {result.run.run_id}: re-ran {len(result.reruns)} of {result.checked} segment(s) "
            f"translated with {glossary} (now v{result.version})"
        )
    return lines


# -- models -------------------------------------------------------------------------------------
def packages_json(pkgs: Sequence[PackageInfo]) -> list[JSON]:
    return [
        {"name": p.name, "from": p.from_code, "to": p.to_code, "version": p.package_version, "path": str(p.path)}
        for p in pkgs
    ]


def packages_lines(pkgs: Sequence[PackageInfo]) -> list[str]:
    return [f"{p.name}\t{p.pair}\t{p.package_version}\t{p.from_name} -> {p.to_name}" for p in pkgs]


# -- glossaries ---------------------------------------------------------------------------------
def glossaries_json(glossaries: Sequence[GlossarySummary]) -> list[JSON]:
    return [
        {
            "name": g.info.name,
            "source_lang": g.info.source_lang,
            "target_lang": g.info.target_lang,
            "version": g.info.version,
            "terms": g.terms,
            "deprecated": g.deprecated,
        }
        for g in glossaries
    ]


def glossaries_lines(glossaries: Sequence[GlossarySummary]) -> list[str]:
    return [
        f"{g.info.name}\t{g.info.source_lang}->{g.info.target_lang}\tv{g.info.version}\t{g.terms} term(s)"
        + (f", {g.deprecated} deprecated" if g.deprecated else "")
        for g in glossaries
    ]


def term_json(term: Term) -> dict[str, JSON]:
    return {
        "source": term.source,
        "target": term.target,
        "variants": list(term.variants),
        "note": term.note,
        "domain": term.domain,
        "status": term.status,
        "context": term.context,
        "target_plural": term.target_plural,
        "source_plurals": list(term.source_plurals),
        "blocked_in": list(term.blocked_in),
    }


def stored_term_json(st: StoredTerm) -> dict[str, JSON]:
    return {"id": st.id, "version": st.version, **term_json(st.term)}


def terms_lines(terms: Sequence[StoredTerm]) -> list[str]:
    lines = []
    for st in terms:
        t = st.term
        flag = " [deprecated]" if t.status == "deprecated" else ""
        ctx = f" ({t.context})" if t.context else ""
        lines.append(f"{t.source}{ctx}\t{t.target}{flag}")
    return lines


def term_show_json(history: Sequence[StoredTerm]) -> dict[str, JSON]:
    return {"current": stored_term_json(history[-1]), "history": [stored_term_json(h) for h in history]}


def term_show_lines(history: Sequence[StoredTerm]) -> list[str]:
    t = history[-1].term
    lines = [
        f"source:   {t.source}",
        f"target:   {t.target}",
        f"variants: {' | '.join(t.variants)}",
        f"note:     {t.note}",
        f"domain:   {t.domain}",
        f"status:   {t.status}",
    ]
    if t.context:
        lines.append(f"context:  {t.context}")
    if t.target_plural:
        lines.append(f"target plural:  {t.target_plural}")
    if t.source_plurals:
        lines.append(f"source plurals: {' | '.join(t.source_plurals)}")
    if t.blocked_in:
        lines.append(f"not inside:     {' | '.join(t.blocked_in)}")
    lines.append("history:")
    previous: Term | None = None
    for h in history:
        changed = _field_changes(previous, h.term, skip=("target", "status"))
        lines.append(f"  v{h.version}: {h.term.target} [{h.term.status}]" + (f"; {changed}" if changed else ""))
        previous = h.term
    return lines


def lint_json(issues: Sequence[LintIssue]) -> list[JSON]:
    return [{"level": i.level, "code": i.code, "source": i.source, "message": i.message} for i in issues]


def lint_lines(issues: Sequence[LintIssue]) -> list[str]:
    return [f"{i.level}: {i.code}: {i.source}: {i.message}" for i in issues]


def lint_summary(name: str, issues: Sequence[LintIssue], acknowledged: int = 0) -> str:
    errors = sum(1 for i in issues if i.level == "error")
    acked = f" ({acknowledged} more acknowledged)" if acknowledged else ""
    return f"{name}: {errors} error(s), {len(issues) - errors} warning(s){acked}"


def log_json(entries: Sequence[LogEntry]) -> list[JSON]:
    return [
        {
            "version": e.version.version,
            "created_at": e.version.created_at,
            "author": e.version.author,
            "action": e.version.action,
            "summary": e.version.summary,
            "terms": list(e.terms),
        }
        for e in entries
    ]


def log_lines(entries: Sequence[LogEntry]) -> list[str]:
    return [
        f"v{e.version.version}\t{e.version.created_at}\t{e.version.author}\t{e.version.summary} ({len(e.terms)} term(s))"
        for e in entries
    ]


def diff_json(changes: Sequence[TermChange]) -> list[JSON]:
    def side(t: Term | None) -> JSON:
        if t is None:
            return None
        lists = {"variants": list(t.variants), "source_plurals": list(t.source_plurals)}
        return {**t.__dict__, **lists, "blocked_in": list(t.blocked_in)}

    return [
        {
            "source": c.source,
            "context": c.context,
            "change": c.change,
            "fields": list(c.fields),
            "old": side(c.old),
            "new": side(c.new),
        }
        for c in changes
    ]


def _field_changes(old: Term | None, new: Term | None, skip: tuple[str, ...] = ()) -> str:
    """``note: 'a' -> 'b'; domain: '' -> 'un'`` for every field that differs."""
    if old is None or new is None:
        return ""
    change = TermChange(new.source, new.context, "changed", old, new)
    parts = []
    for name in change.fields:
        if name in skip:
            continue
        a, b = getattr(old, name), getattr(new, name)
        if name == "variants":
            a, b = " | ".join(a), " | ".join(b)
        parts.append(f"{name}: {a!r} -> {b!r}")
    return "; ".join(parts)


def _term_line(t: Term | None) -> str:
    if t is None:
        return "-"
    extra = f" [{t.status}]" if t.status != "approved" else ""
    return f"{t.target}{extra}"


def diff_lines(changes: Sequence[TermChange]) -> list[str]:
    """One line per term: the target (and status) change, then every other field that changed."""
    lines = []
    for c in changes:
        line = f"{c.change}\t{c.source}\t{_term_line(c.old)} -> {_term_line(c.new)}"
        others = _field_changes(c.old, c.new, skip=("target", "status"))
        lines.append(f"{line}\t{others}" if others else line)
    return lines


def matches_json(matches: Sequence[TermMatch]) -> list[JSON]:
    return [
        {
            "source": m.source,
            "target": m.target,
            "start": m.start,
            "end": m.end,
            "text": m.text,
            "number": m.number,
            "target_form": m.target_form,
        }
        for m in matches
    ]


def matches_lines(matches: Sequence[TermMatch]) -> list[str]:
    return [
        f"{m.start}-{m.end}\t{m.text}\t{m.source}\t{m.target}"
        + ("" if m.number == "singular" else f"\t[{m.number}, {m.target_form}]")
        for m in matches
    ]


# -- runs ---------------------------------------------------------------------------------------
def run_mode(info: RunInfo) -> str:
    """``plain`` (no glossary), ``hard`` or ``soft`` (glossary constraints)."""
    if info.glossary_id is None:
        return "plain"
    return "soft" if info.settings.get("soft") else "hard"


def _inputs(r: RunSummary) -> list[str]:
    return [d.path or "<stdin>" for d in r.documents]


def runs_json(runs: Sequence[RunSummary]) -> list[JSON]:
    return [
        {
            "id": r.info.id,
            "kind": r.info.kind,
            "model_name": r.info.model_name,
            "model_version": r.info.model_version,
            "model_checksum": r.info.model_checksum,
            "source_lang": r.info.source_lang,
            "target_lang": r.info.target_lang,
            "settings": r.info.settings,
            "glossary_id": r.info.glossary_id,
            "glossary_version": r.info.glossary_version,
            "started_at": r.info.started_at,
            "finished_at": r.info.finished_at,
            "status": r.info.status,
            "parent_run_id": r.info.parent_run_id,
            "documents": len(r.documents),
            "mode": run_mode(r.info),
            "inputs": _inputs(r),
        }
        for r in runs
    ]


def runs_lines(runs: Sequence[RunSummary]) -> list[str]:
    lines = []
    for r in runs:
        i = r.info
        gl = f" glossary v{i.glossary_version}" if i.glossary_id else ""
        lines.append(
            f"{i.id}\t{i.kind}\t{i.status}\t{i.started_at}\t{i.model_name} {i.model_version}\t"
            f"{run_mode(i)}{gl}\t{', '.join(_inputs(r))}"
        )
    return lines


def run_detail_json(d: RunDetail) -> dict[str, JSON]:
    (summary,) = runs_json([d.summary])
    return {
        **summary,
        "error": d.summary.info.error,
        "files": [{"input": doc.path, "output": doc.output_path} for doc in d.summary.documents],
        "segments": d.segments,
        "term_outcomes": d.outcomes,
    }


def run_detail_lines(d: RunDetail) -> list[str]:
    i = d.summary.info
    glossary = f", glossary {i.settings.get('glossary')} v{i.glossary_version}" if i.glossary_id else ""
    lines = [
        f"run {i.id} ({i.kind}{f' of run {i.parent_run_id}' if i.parent_run_id else ''}): {i.status}",
        f"model:    {i.model_name} {i.model_version} ({i.source_lang}->{i.target_lang})",
        f"mode:     {run_mode(i)}{glossary}",
        f"started:  {i.started_at}",
        f"finished: {i.finished_at or '-'}",
    ]
    lines += [f"file:     {doc.path or '<stdin>'} -> {doc.output_path or '-'}" for doc in d.summary.documents]
    outcomes = ", ".join(f"{n} {status}" for status, n in d.outcomes.items())
    lines.append(f"segments: {d.segments}" + (f"; terms: {outcomes}" if outcomes else ""))
    lines.append(f"settings: {json.dumps(i.settings, sort_keys=True)}")
    if i.error:
        lines.append(f"error:    {i.error}")
    return lines


# -- references ---------------------------------------------------------------------------------
def refs_json(refsets: Sequence[RefSetInfo]) -> list[JSON]:
    return [
        {
            "document_id": r.document_id,
            "document": r.document_path,
            "name": r.name,
            "path": r.path,
            "lines": r.lines,
            "created_at": r.created_at,
        }
        for r in refsets
    ]


def refs_lines(refsets: Sequence[RefSetInfo]) -> list[str]:
    return [
        f"{r.document_id}\t{r.document_path or '-'}\t{r.name}\t{r.lines} line(s)\t{r.path or '-'}" for r in refsets
    ]


# -- scores -------------------------------------------------------------------------------------
def scores_json(s: ScoreResult) -> dict[str, JSON]:
    """``score --json``: for a stored run (``run_id``, ``references``, ``level`` first) or for files."""
    out: dict[str, JSON] = {}
    if s.run_id is not None:
        out.update({"run_id": s.run_id, "references": list(s.references), "level": s.level})
    out.update({m: round_score(s.values[m], 1) for m in ("bleu", "chrf", "ter")})
    out["signatures"] = dict(s.signatures)
    out["term_success"] = None if s.term_success is None else round(s.term_success, 4)
    out["segments"] = s.segments
    if s.terms is not None:
        out["terms"] = s.terms
        out["term_presence"] = out["term_success"]  # what the success rate measures (termscore.py)
    if s.terms_wmt is not None:
        out["terms_wmt"] = s.terms_wmt
    return out


def scores_lines(out: dict[str, JSON]) -> list[str]:
    """Text for ``score`` from its JSON form."""
    level = f" ({out['level']} level)" if "level" in out else ""
    lines = [f"segments: {out['segments']}{level}"]
    for m, label in (("bleu", "BLEU"), ("chrf", "chrF"), ("ter", "TER")):
        lines.append(f"{label:5} {out[m]:5.1f}  {out['signatures'][m]}")
    if out.get("term_success") is not None or "terms" in out:
        ts = out.get("term_success")
        terms = out.get("terms", {})
        lines.append(
            f"term presence (success rate): {'n/a' if ts is None else f'{ts:.1%}'} "
            f"({terms.get('hits', 0)}/{terms.get('occurrences', 0)})"
        )
        for m, label in (("term_exact_match", "exact-match term accuracy"), ("term_window_overlap", "window overlap"),
                         ("term_ter", "terminology-aware TER")):
            v = out.get("terms_wmt", {}).get(m)
            if v is not None:
                shown = "n/a" if v["value"] is None else (f"{v['value']:.1f}" if m == "term_ter" else f"{v['value']:.1%}")
                lines.append(f"{label}: {shown}  {v['signature']}")
        lines.extend(f"  miss: segment {m['segment']}: {m['source']} -> {m['target']}" for m in terms.get("misses", []))
        if terms.get("consistency") is not None:
            lines.append(f"consistency: {terms['consistency']:.1%}")
        lines.extend(f"  inconsistent: {i['source']}: {i['translations']}" for i in terms.get("inconsistent", []))
        if terms.get("reference_agreement") is not None:
            lines.append(f"references use the approved target: {terms['reference_agreement']:.1%}")
        lines.extend(
            f"  reference disagrees: segment {d['segment']}: {d['source']} -> {d['target']}"
            for d in terms.get("reference_disagreements", [])
        )
    return lines


def compare_json(cmp: Comparison) -> dict[str, JSON]:
    return {
        "segments": cmp.segments,
        "samples": cmp.n_samples,
        "metrics": [
            {
                "metric": m.metric,
                "a": round(m.score_a, 1),
                "b": round(m.score_b, 1),
                "p_value": m.p_value,
                "signature": m.signature,
            }
            for m in cmp.metrics
        ],
        "wins": cmp.wins,
        "losses": cmp.losses,
        "ties": cmp.ties,
    }


def compare_lines(cmp: Comparison, run_a: int, run_b: int) -> list[str]:
    lines = [
        f"{m.name:6} run {run_a}: {m.score_a:5.1f}  run {run_b}: {m.score_b:5.1f}  p = {m.p_value:.4f}"
        + (" *" if m.significant() else "")
        for m in cmp.metrics
    ]
    lines.append(
        f"segments (by {cmp.segment_metric}): run {run_b} better in {cmp.wins}, worse in {cmp.losses}, tied in {cmp.ties}"
    )
    return lines


# -- review loop (issue 12) ---------------------------------------------------------------------
def review_import_json(res: ImportResult) -> dict[str, JSON]:
    return {
        "run_id": res.run_id,
        "import_id": res.import_id,
        "units": res.units,
        "post_edits": [{"unit": p.key, "hter": round(p.hter, 2), "approved": p.approved} for p in res.post_edits],
        "hter": None if res.hter is None else round(res.hter, 2),
        "signature": res.signature,
        "tm_units": res.tm_units,
        "glossary_breaks": [asdict(b) for b in res.glossary_breaks],
    }


def review_import_warnings(res: ImportResult) -> list[str]:
    return [
        f"warning: unit {b.key}: the post-edit drops the approved target {b.target!r} of {b.source_term}"
        for b in res.glossary_breaks
    ]


def review_import_lines(res: ImportResult) -> list[str]:
    hter = "n/a" if res.hter is None else f"{res.hter:.1f}"
    return [
        f"run {res.run_id}: {len(res.post_edits)} post-edit(s) of {res.units} unit(s), "
        f"{res.tm_units} added to the translation memory; run HTER {hter} ({res.signature})"
    ]


def suggestions_json(found: Sequence[Suggestion]) -> list[JSON]:
    return [{**asdict(s), "segments": list(s.segments)} for s in found]


def suggestions_lines(found: Sequence[Suggestion], glossary: str) -> list[str]:
    lines = []
    for s in found:
        now = f" (glossary now: {s.current_target})" if s.current_target else ""
        lines.append(f"{s.source}\t{s.mt} -> {s.post_edit}\t{s.count} segment(s){now}")
        lines.append(f"  accept: translate-pipe glossary add {glossary} '{s.source}' '{s.post_edit}'")
    return lines
