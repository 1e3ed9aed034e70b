"""Word alignment from attention, and constraints with a model that generalises.

The template model (tests/tinymodel.py) is trained with guided alignment on synthetic
sentences, so its attention aligns words on sentences it never saw; the held-out sentences come
with gold word links.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from translate_pipe import api
from translate_pipe.align import word_alignment, word_spans
from translate_pipe.models import install_from_file
from translate_pipe.store import Store

from .tinymodel import WRONG_RENDERINGS, AlignedPair


def _word_char_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    return [(m.start() + offset, m.end() + offset) for m in re.finditer(r"\S+", text)]


def _gold(pair: AlignedPair, doc_offset: int) -> set[tuple[int, int, int, int]]:
    src = _word_char_spans(pair.source, doc_offset)
    tgt = _word_char_spans(pair.target)
    return {(*src[s], *tgt[t]) for s, t in pair.links}


def _strip_punct(link: tuple[int, int, int, int], doc: str, target: str) -> tuple[int, int, int, int]:
    """Whitespace words keep their trailing punctuation ("Homs."); compare without it."""
    ss, se, ts, te = link
    while se > ss and not doc[se - 1].isalnum():
        se -= 1
    while te > ts and not target[te - 1].isalnum():
        te -= 1
    return ss, se, ts, te


def _translate(tmp: Path, package: Path, lines: list[str], **kw: Any) -> Any:
    packages = tmp / "packages"
    install_from_file(package, packages, force=True)  # called twice per test directory
    doc = tmp / "heldout.ar.txt"
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    api._ENGINES.clear()
    return api.translate([str(doc)], db=tmp / "t.db", packages_dir=packages, output_dir=tmp / "out", **kw)


def test_alignment_matches_gold_links_on_unseen_sentences(
    tmp_path: Path, template_package: Path, template_heldout: list[AlignedPair]
) -> None:
    pairs = template_heldout[:60]
    doc = "\n".join(p.source for p in pairs) + "\n"
    # attention is this model's alignment: it was trained with guided alignment
    result = _translate(tmp_path, template_package, [p.source for p in pairs], align="attention")
    segs = result.run.documents[0].segments
    assert len(segs) == len(pairs)
    exact = [(p, s) for p, s in zip(pairs, segs) if s.target == p.target]
    assert len(exact) >= 0.9 * len(pairs), "the template model translates unseen combinations"
    ours: set[tuple[int, ...]] = set()
    gold: set[tuple[int, ...]] = set()
    for p, s in exact:
        g = {_strip_punct(link, doc, s.target) + (s.segment.index,) for link in _gold(p, s.segment.start)}
        linked_targets = {(x[2], x[3]) for x in g}
        gold |= g
        # gold links cover content words only: judge our links of those target words
        ours |= {
            x
            for x in (_strip_punct(link, doc, s.target) + (s.segment.index,) for link in s.alignment)
            if (x[2], x[3]) in linked_targets
        }
    precision = len(ours & gold) / len(ours)
    recall = len(ours & gold) / len(gold)
    assert precision >= 0.9, precision
    assert recall >= 0.8, recall


def test_stored_alignment_equals_returned(tmp_path: Path, template_package: Path, template_heldout: list[AlignedPair]) -> None:
    result = _translate(tmp_path, template_package, [p.source for p in template_heldout[:5]])
    with Store(tmp_path / "t.db") as store:
        stored = store.translations(result.run.run_id)
        assert [store.alignment(t.translation_id) for t in stored] == [
            list(s.alignment) for s in result.run.documents[0].segments
        ]


def test_hard_constraints_fix_wrong_renderings_on_unseen_sentences(
    tmp_path: Path, wrong_terms_package: Path, wrong_terms_heldout: list[AlignedPair]
) -> None:
    approved = {"مناطق خفض التصعيد": "de-escalation zones", "أستانا": "Astana", "وقف إطلاق النار": "ceasefire"}
    pairs = [p for p in wrong_terms_heldout if any(k in p.source for k in approved)][:40]
    assert len(pairs) >= 20
    with Store(tmp_path / "t.db") as store:
        for src, tgt in approved.items():
            api.glossary_add(store, "g", src, tgt, author="test")
    plain = _translate(tmp_path, wrong_terms_package, [p.source for p in pairs])
    wrong_before = sum(
        1 for s in plain.run.documents[0].segments for bad in WRONG_RENDERINGS.values() if bad in s.target
    )
    assert wrong_before >= len(pairs) * 0.9, "the model renders the terms wrongly"
    result = _translate(tmp_path, wrong_terms_package, [p.source for p in pairs], glossary="g")
    outcomes = [o for s in result.run.documents[0].segments for o in s.terms]
    assert len(outcomes) >= len(pairs)
    for s in result.run.documents[0].segments:
        for o in s.terms:
            assert o.status in {"enforced", "present"}
            assert s.target[o.target_start : o.target_end].lower() == o.match.target.lower()
        for bad in WRONG_RENDERINGS.values():
            assert bad not in s.target, s.target
    # word alignment is consistent with the constrained text
    for s in result.run.documents[0].segments:
        for ss, se, ts, te in s.alignment:
            assert s.segment.start <= ss < se <= s.segment.end and 0 <= ts < te <= len(s.target)


@pytest.mark.parametrize(
    "pieces,spans,words",
    [
        (["▁The", "▁minis", "try", "."], [(0, 3), (4, 9), (9, 12), (12, 13)], [(0, 3), (4, 13)]),
        (["▁", "<0xE2>", "▁de", "-", "escalation"], [(0, 0), (0, 1), (2, 4), (4, 5), (5, 15)], [(0, 1), (2, 15)]),
    ],
    ids=["trailing-punct-joins-word", "lone-space-piece"],
)
def test_word_spans(pieces: list[str], spans: list[tuple[int, int]], words: list[tuple[int, int]]) -> None:
    assert word_spans(pieces, spans)[1] == words


def test_word_alignment_argmax_and_offsets() -> None:
    src = ["▁مناطق", "▁خفض", "▁التصعيد"]
    src_spans = [(0, 5), (6, 9), (10, 17)]
    tgt = ["▁de", "-", "escalation", "▁zones"]
    tgt_spans = [(0, 2), (2, 3), (3, 13), (14, 19)]
    attention = [[0.1, 0.8, 0.1], [0.1, 0.7, 0.2], [0.0, 0.2, 0.8], [0.9, 0.05, 0.05]]
    links = word_alignment(src, src_spans, tgt, tgt_spans, attention, src_offset=100, target_text="de-escalation zones")
    assert links == [(106, 109, 0, 13), (110, 117, 0, 13), (100, 105, 14, 19)]
