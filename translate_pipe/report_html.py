"""The bilingual HTML report of a run: one static file, no network assets.

Layout: a summary (segments, translation-memory reuse, term outcomes, post-edits and run
HTER, stored scores with their signatures, links to every failed term and glossary break),
then per document a table with one row per segment: the source (``lang="ar" dir="rtl"``), the
translation (``lang="en"``), and the segment's figures (origin, model score, sentence chrF
against the document's reference when it has one line per segment, HTER and the post-edit
when there is one).

* Glossary terms are ``<mark class="term term-OUTCOME">`` on both sides, OUTCOME one of
  ``present`` (the model produced the approved target), ``enforced`` (the constrainer replaced
  a rendering), ``inserted`` (the constrainer inserted it), ``failed``; ``title`` and
  ``data-approved`` carry the approved target (shown on hover, and after the term in print).
* Every aligned word is a focusable ``<span class="w" data-w=ID data-links="ID ...">``;
  hovering or focusing it highlights it (class ``hl``) and its aligned words on the other side
  (class ``linked``), by a few lines of inline script.
* Print: colours become underlines, approved targets are printed after terms, rows do not
  break across pages.  Keyboard: a skip link, Tab through words and links, visible focus.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

OUTCOMES = ("present", "enforced", "inserted", "failed")


def outcome(status: str, method: str) -> str:
    """The report's outcome class of a stored term alignment."""
    if status == "enforced":
        return "inserted" if method == "insert" else "enforced"
    return status if status in OUTCOMES else "present"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    open_tag: str
    close_tag: str


def _mark(text: str, words: Sequence[_Span], terms: Sequence[_Span]) -> str:
    """``text`` with term spans (outer) and word spans (inner) as nested elements; a word that
    crosses a term boundary is split into two elements with the same ``data-w``."""
    points = {0, len(text)}
    for s in (*words, *terms):
        points.update((max(0, min(s.start, len(text))), max(0, min(s.end, len(text)))))
    cuts = sorted(points)
    out: list[str] = []
    cur_t: _Span | None = None
    cur_w: _Span | None = None
    for a, b in zip(cuts, cuts[1:]):
        if a == b:
            continue
        t = next((s for s in terms if s.start <= a and b <= s.end), None)
        w = next((s for s in words if s.start <= a and b <= s.end), None)
        if t is not cur_t:
            if cur_w is not None:
                out.append(cur_w.close_tag)
                cur_w = None
            if cur_t is not None:
                out.append(cur_t.close_tag)
            if t is not None:
                out.append(t.open_tag)
            cur_t = t
        if w is not cur_w:
            if cur_w is not None:
                out.append(cur_w.close_tag)
            if w is not None:
                out.append(w.open_tag)
            cur_w = w
        out.append(html.escape(text[a:b]))
    if cur_w is not None:
        out.append(cur_w.close_tag)
    if cur_t is not None:
        out.append(cur_t.close_tag)
    return "".join(out)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _diff_html(mt: str, pe: str) -> str:
    """The post-edit with the words changed from the MT in ``<ins>``."""
    a, b = mt.split(), pe.split()
    out = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        chunk = html.escape(" ".join(b[j1:j2]))
        if not chunk:
            continue
        out.append(chunk if tag == "equal" else f"<ins>{chunk}</ins>")
    return " ".join(out)


def _segment_row(
    doc_id: int, st: Any, links: Sequence[tuple[int, int, int, int]], terms: Sequence[dict[str, Any]],
    origin: str, post_edit: dict[str, Any] | None, problems: list[tuple[str, str]],
    ref_score: tuple[str, float] | None = None,
) -> str:
    seg = st.segment
    row_id = f"seg-{doc_id}-{seg.index}"
    src_words = sorted({(s - seg.start, e - seg.start) for s, e, _, _ in links})
    tgt_words = sorted({(ts, te) for _, _, ts, te in links})
    sid = {w: f"s{doc_id}-{seg.index}-{k}" for k, w in enumerate(src_words)}
    tid = {w: f"t{doc_id}-{seg.index}-{k}" for k, w in enumerate(tgt_words)}
    s_links: dict[str, set[str]] = {}
    t_links: dict[str, set[str]] = {}
    for s, e, ts, te in links:
        a, b = sid[(s - seg.start, e - seg.start)], tid[(ts, te)]
        s_links.setdefault(a, set()).add(b)
        t_links.setdefault(b, set()).add(a)

    def word_spans(words: dict[tuple[int, int], str], linked: dict[str, set[str]], lang: str) -> list[_Span]:
        return [
            _Span(
                s,
                e,
                f'<span class="w" data-w="{wid}" data-links="{" ".join(sorted(linked.get(wid, ())))}" tabindex="0" '
                f'aria-label="{_attr(lang)} word, aligned with {len(linked.get(wid, ()))} word(s)">',
                "</span>",
            )
            for (s, e), wid in words.items()
        ]

    src_terms, tgt_terms = [], []
    for k, t in enumerate(terms):
        cls = outcome(t["status"], t["method"])
        title = f"{t['source_term']} → {t['target_term']} ({cls})"
        if t["reason"]:
            title += f": {t['reason']}"
        attrs = f'class="term term-{cls}" data-approved="{_attr(t["target_term"])}" title="{_attr(title)}" data-term="{row_id}-{k}"'
        src_terms.append(_Span(t["src_start"] - seg.start, t["src_end"] - seg.start, f"<mark {attrs}>", "</mark>"))
        if t["tgt_start"] is not None:
            tgt_terms.append(_Span(t["tgt_start"], t["tgt_end"], f"<mark {attrs}>", "</mark>"))
        if cls == "failed":
            problems.append((row_id, f"segment {seg.index}: {t['source_term']} → {t['target_term']} failed"))
    src_html = _mark(seg.text, word_spans(sid, s_links, "Arabic"), src_terms)
    tgt_html = _mark(st.target, word_spans(tid, t_links, "English"), tgt_terms)
    info = [f'<span class="origin origin-{origin}">{ {"mt": "MT", "tm": "TM", "repeat": "repeat"}.get(origin, origin) }</span>']
    if st_score := getattr(st, "score", None):
        info.append(f'<span class="figure">model score {st_score:.2f}</span>')
    if ref_score is not None:
        info.append(f'<span class="figure" title="sentence chrF against reference {_attr(ref_score[0])}">'
                    f"chrF {ref_score[1]:.1f}</span>")
    if post_edit is not None:
        state = "approved" if post_edit["approved"] else html.escape(post_edit["state"] or "edited")
        info.append(f'<span class="figure hter">HTER {post_edit["hter"]:.1f}</span>')
        info.append(
            f'<div class="post-edit" lang="en"><span class="label">post-edit ({state}, '
            f'{html.escape(post_edit["reviewer"])}):</span> {_diff_html(st.target, post_edit["target"])}</div>'
        )
    return (
        f'<tr id="{row_id}" class="segment">'
        f'<th scope="row"><a href="#{row_id}" aria-label="segment {seg.index}">{seg.index}</a></th>'
        f'<td class="src" lang="ar" dir="rtl">{src_html}</td>'
        f'<td class="tgt" lang="en" dir="ltr">{tgt_html}</td>'
        f'<td class="info">{" ".join(info)}</td></tr>'
    )


_CSS = """
:root { --present: #1b7f3b; --enforced: #1f5fbf; --inserted: #b25e00; --failed: #c0182b; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 1.5rem; color: #111; background: #fff; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #ffd; padding: .3rem; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border-top: 1px solid #ccc; padding: .4rem .5rem; vertical-align: top; text-align: start; }
thead th { border-bottom: 2px solid #333; }
col.n { width: 3rem; } col.info { width: 16rem; }
td.src { font-size: 1.15em; font-family: "Noto Naskh Arabic", "Amiri", "DejaVu Sans", serif; }
mark.term { background: transparent; border-bottom: 3px solid; padding: 0 1px; }
mark.term-present { border-color: var(--present); background: #e5f4ea; }
mark.term-enforced { border-color: var(--enforced); background: #e4edfb; border-bottom-style: double; }
mark.term-inserted { border-color: var(--inserted); background: #fbeedd; border-bottom-style: dotted; }
mark.term-failed { border-color: var(--failed); background: #fbe3e6; border-bottom-style: dashed; }
.w { border-radius: 2px; cursor: default; }
.w:focus { outline: 2px solid #000; outline-offset: 1px; }
.w.hl { background: #ffe066; } .w.linked { background: #ffd0f0; box-shadow: 0 0 0 1px #a0307a; }
.origin { font-size: .8em; border: 1px solid #777; border-radius: 3px; padding: 0 .3em; }
.origin-tm { background: #e9e2ff; } .origin-repeat { background: #eee; }
.figure { display: inline-block; margin-inline-start: .5em; font-size: .9em; }
.post-edit { margin-top: .3rem; font-size: .95em; } .post-edit ins { background: #dff5e1; text-decoration: none; border-bottom: 1px solid #1b7f3b; }
.label { color: #555; font-size: .85em; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.summary dt { font-weight: 600; }
.legend mark { margin-inline-end: .6rem; }
table.scores td, table.scores th { font-size: .9em; }
@media print {
  body { margin: 0; font-size: 10pt; } .skip, .hint { display: none; }
  tr { break-inside: avoid; } mark.term { background: none !important; }
  td.src mark.term::after { content: " [" attr(data-approved) "]"; font-size: 8pt; direction: ltr; unicode-bidi: isolate; }
  a { color: inherit; text-decoration: none; }
}
"""

_JS = """
(function () {
  function words(el) {
    var out = [];
    (el.getAttribute('data-links') || '').split(' ').forEach(function (id) {
      if (id) { document.querySelectorAll('[data-w="' + id + '"]').forEach(function (w) { out.push(w); }); }
    });
    return out;
  }
  function same(el) { return document.querySelectorAll('[data-w="' + el.getAttribute('data-w') + '"]'); }
  function on(e) {
    var el = e.target.closest && e.target.closest('.w'); if (!el) return;
    same(el).forEach(function (w) { w.classList.add('hl'); });
    words(el).forEach(function (w) { w.classList.add('linked'); });
  }
  function off(e) {
    var el = e.target.closest && e.target.closest('.w'); if (!el) return;
    same(el).forEach(function (w) { w.classList.remove('hl'); });
    words(el).forEach(function (w) { w.classList.remove('linked'); });
  }
  document.addEventListener('mouseover', on); document.addEventListener('mouseout', off);
  document.addEventListener('focusin', on); document.addEventListener('focusout', off);
})();
"""


def _reference_chrf(store: Any, document_id: int, translations: Sequence[Any]) -> list[tuple[str, float]] | None:
    """Sentence chrF of each segment against the document's first reference set (by name),
    when the reference has one line per segment (every paragraph one segment); else None."""
    from .score import segment_scores

    refsets = store.refsets(document_id)
    paragraphs = [st.segment.paragraph for st in translations]
    if not refsets or not translations or len(set(paragraphs)) != len(paragraphs):
        return None
    name, lines = refsets[0][0], list(refsets[0][1])
    if len(lines) != len(translations):
        return None
    values = segment_scores([st.target for st in translations], [lines], "chrf")
    return [(name, v) for v in values]


def render_report(store: Any, run_id: int) -> str:
    """The report of a stored run as one HTML document (see the module docstring)."""
    run = store.run(run_id)
    docs = store.run_documents(run_id)
    origins = store.translation_origins(run_id)
    post_edits = {p["translation_id"]: p for p in store.post_edits(run_id)}
    counts = dict.fromkeys(OUTCOMES, 0)
    origin_counts = {"mt": 0, "tm": 0, "repeat": 0}
    problems: list[tuple[str, str]] = []
    sections = []
    n_segments = 0
    for document_id, path, _ in docs:
        rows = []
        translations = store.translations(run_id, document_id)
        ref_scores = _reference_chrf(store, document_id, translations)
        for k, st in enumerate(translations):
            n_segments += 1
            terms = store.term_alignments(st.translation_id)
            for t in terms:
                counts[outcome(t["status"], t["method"])] += 1
            origin = origins.get(st.translation_id, ("mt", None))[0]
            origin_counts[origin] = origin_counts.get(origin, 0) + 1
            pe = post_edits.get(st.translation_id)
            if pe is not None:
                from .review import glossary_breaks, unit_key

                for b in glossary_breaks(unit_key(document_id, st.segment.index), st.target, pe["target"], terms):
                    problems.append(
                        (f"seg-{document_id}-{st.segment.index}",
                         f"segment {st.segment.index}: the post-edit drops {b.target!r} ({b.source_term})")
                    )
            rows.append(
                _segment_row(
                    document_id, st, store.alignment(st.translation_id), terms, origin, pe, problems,
                    None if ref_scores is None else ref_scores[k],
                )
            )
        name = html.escape(path or f"document {document_id}")
        sections.append(
            f'<section class="document" id="doc-{document_id}" aria-label="{name}"><h2>{name}</h2>'
            '<table class="segments"><colgroup><col class="n"><col><col><col class="info"></colgroup>'
            '<thead><tr><th scope="col">#</th><th scope="col">Source (Arabic)</th>'
            '<th scope="col">Translation (English)</th><th scope="col">Scores and review</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>'
        )
    hter = [s for s in store.scores(run_id) if s["metric"] == "hter"]
    scores = [s for s in store.scores(run_id) if s["metric"] != "hter"]
    summary = [
        ("Run", f"{run_id} ({html.escape(run.kind)}, {html.escape(run.status)}), started {html.escape(run.started_at)}"),
        ("Model", f"{html.escape(run.model_name)} {html.escape(run.model_version)}"),
        ("Glossary", html.escape(str(run.settings.get("glossary") or "none"))
         + (f" v{run.glossary_version}" if run.glossary_version else "")),
        ("Segments", f"{n_segments} in {len(docs)} document(s): {origin_counts['mt']} decoded, "
         f"{origin_counts['tm']} from the translation memory, {origin_counts['repeat']} repeated"),
        ("Terms", ", ".join(f'<mark class="term term-{k}">{k}</mark> {v}' for k, v in counts.items())),
        ("Post-edited", f"{len(post_edits)} segment(s)"
         + (f"; run HTER {hter[0]['value']:.1f} <small>({html.escape(hter[0]['signature'])})</small>" if hter else "")),
    ]
    score_rows = "".join(
        f"<tr><td>{html.escape(s['metric'])}</td><td>{html.escape(s['refset'])}</td>"
        f"<td>{'n/a' if s['value'] is None else format(s['value'], '.4g')}</td><td><code>{html.escape(s['signature'])}</code></td></tr>"
        for s in scores
    )
    problem_items = "".join(f'<li><a href="#{rid}">{html.escape(text)}</a></li>' for rid, text in problems)
    body = (
        '<a class="skip" href="#segments">Skip to the segments</a>'
        f"<header><h1>translate-pipe run {run_id}</h1></header>"
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2><dl class="summary">'
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in summary)
        + "</dl>"
        + (f'<table class="scores"><thead><tr><th scope="col">Metric</th><th scope="col">References</th>'
           f'<th scope="col">Value</th><th scope="col">Signature</th></tr></thead><tbody>{score_rows}</tbody></table>'
           if score_rows else "")
        + (f'<h3>To check</h3><ul class="problems">{problem_items}</ul>' if problems else "")
        + '<p class="legend">Terms: <mark class="term term-present">present</mark><mark class="term term-enforced">enforced</mark>'
        '<mark class="term term-inserted">inserted</mark><mark class="term term-failed">failed</mark>'
        '<span class="hint">Hover or focus (Tab) a word to see its aligned words; hover a term for its approved target.</span></p>'
        '</section><main id="segments">' + "".join(sections) + "</main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">"
        f"<title>translate-pipe run {run_id}</title><style>{_CSS}</style></head><body>"
        + body
        + f"<script>{_JS}</script></body></html>\n"
    )
