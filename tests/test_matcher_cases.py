"""Suffixes, number, digits, hamza seats, brackets and blocking contexts in glossary matching.

The cases are a data table, ``tests/data/matching/cases.tsv`` (one row per case: category, id,
text, expected matches as ``start:end:source:number`` joined by `` ; `` or ``-`` for none), so
that they are easy to read and to extend.  Every category has negatives.  Offsets index the
text exactly as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from translate_pipe.formats import read_glossary
from translate_pipe.glossary import Matcher
from translate_pipe.records import Term

ROOT = Path(__file__).resolve().parents[1]
CASES_FILE = Path(__file__).parent / "data" / "matching" / "cases.tsv"

GLOSSARY = [
    Term("مذكرة تفاهم", "memorandum of understanding", target_plural="memoranda of understanding"),
    Term("مذكرة", "memorandum", target_plural="memoranda"),
    Term("منطقة خفض التصعيد", "de-escalation zone"),
    Term("مناطق خفض التصعيد", "de-escalation zones"),
    Term("وزير الخارجية", "foreign minister"),
    Term("السيادة والسلامة الإقليمية", "sovereignty and territorial integrity"),
    Term("السيادة", "sovereignty"),
    Term("القرار 2254", "resolution 2254"),
    Term("قرار مجلس الأمن رقم 2254", "Security Council resolution 2254"),
    Term("قرار", "resolution"),
    Term("آفاق مواتية", "favourable prospects"),
    Term("اتفاق إطاري", "framework agreement"),
    Term("بيان مشترك", "joint statement"),
    Term("وقف إطلاق النار", "ceasefire"),
    Term("مجلس الأمن", "Security Council", blocked_in=("مجلس الأمن القومي",)),
    Term("الأمن القومي", "national security"),
    Term("الأمن", "security"),
    Term("الأمم المتحدة", "United Nations"),
    Term("مسؤول", "official"),
    Term("مسؤول الأمم المتحدة", "United Nations official"),
    Term("الشؤون الخارجية", "foreign affairs"),
    Term("هيئة", "body"),
    Term("طرف", "party"),
    Term("منطقة عازلة", "buffer zone", source_plurals=("مناطق عازلة",)),
    Term("حمص", "Homs"),
    Term("حرب", "war"),
    Term("سلام", "peace"),
    Term("عمل", "work"),
    Term("عملة", "currency"),
]

Found = tuple[int, int, str, str]


class Case(NamedTuple):
    category: str
    id: str
    text: str
    expected: list[Found]


def _parse(cell: str) -> list[Found]:
    if cell == "-":
        return []
    out: list[Found] = []
    for item in cell.split(" ; "):
        start, end, source, number = item.split(":")
        out.append((int(start), int(end), source, number))
    return out


def load_cases() -> list[Case]:
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["category", "id", "text", "expected"]
    cases = []
    for line in lines[1:]:
        category, cid, text, expected = line.split("\t")
        cases.append(Case(category, cid, text, _parse(expected)))
    return cases


CASES = load_cases()


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(GLOSSARY, "ar")


def _found(matcher: Matcher, text: str) -> list[Found]:
    return [(m.start, m.end, m.source, m.number) for m in matcher.find(text)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}:{c.id}" for c in CASES])
def test_case(matcher: Matcher, case: Case) -> None:
    assert _found(matcher, case.text) == case.expected
    for start, end, _, _ in case.expected:
        assert case.text[start:end].strip() == case.text[start:end]


def test_table_covers_every_category_with_negatives() -> None:
    categories = {c.category for c in CASES}
    assert {
        "dual", "plural", "pronoun", "ta-marbuta", "tanween", "inner-proclitic", "digits", "hamza",
        "brackets", "blocking", "negative-longer-word", "negative-look-alike",
    } <= categories
    assert sum(1 for c in CASES if not c.expected) >= 12


def test_recall_and_precision_over_the_table(matcher: Matcher) -> None:
    expected = {(c.id, m[:3]) for c in CASES for m in c.expected}
    found = {(c.id, m[:3]) for c in CASES for m in _found(matcher, c.text)}
    true_pos = len(expected & found)
    recall = true_pos / len(expected)
    precision = true_pos / len(found)
    assert recall >= 0.95, sorted(expected - found)
    assert precision >= 0.98, sorted(found - expected)
    numbers_right = sum(
        1 for c in CASES for m in _found(matcher, c.text) if m in c.expected
    ) / max(1, len(found))
    assert numbers_right >= 0.95


# (id, text, expected (number, target, target_form) of the one match)
TARGETS = [
    ("singular-approved", "مذكرة تفاهم", ("singular", "memorandum of understanding", "approved")),
    ("dual-glossary-plural", "مذكرتي تفاهم", ("dual", "memoranda of understanding", "plural")),
    ("plural-glossary-plural", "مذكرات تفاهم", ("plural", "memoranda of understanding", "plural")),
    ("dual-derived", "منطقتي خفض التصعيد", ("dual", "de-escalation zones", "derived-plural")),
    ("plural-derived", "بيانات مشتركة", ("plural", "joint statements", "derived-plural")),
    ("source-plural-form", "المناطق العازلة", ("plural", "buffer zones", "derived-plural")),
    ("pronoun-stays-singular", "وزير خارجيتها", ("singular", "foreign minister", "approved")),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in TARGETS], ids=[c[0] for c in TARGETS])
def test_target_agrees_in_number(matcher: Matcher, text: str, expected: tuple[str, str, str]) -> None:
    (m,) = matcher.find(text)
    assert (m.number, m.target, m.target_form) == expected


def test_seed_bulletin_favourable_prospects() -> None:
    glossary = read_glossary(ROOT / "glossaries" / "diplomatic.csv")
    text = (ROOT / "seeds" / "astana-bulletin.ar.txt").read_text(encoding="utf-8")
    found = [m for m in Matcher(glossary.terms, "ar").find(text) if m.source == "آفاق مواتية"]
    assert [(m.text, m.target, m.number) for m in found] == [
        ("آفاقاً مواتية", "favourable prospects", "singular"),
        ("آفاق مواتية", "favourable prospects", "singular"),
    ]
    start = text.index("آفاقاً مواتية")
    assert (found[0].start, found[0].end) == (start, start + len("آفاقاً مواتية"))
