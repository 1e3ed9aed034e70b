"""Glossary lint (translate_pipe.glossary.lint): one case per lint code."""

from __future__ import annotations

import pytest

from translate_pipe.glossary import LintIssue, lint
from translate_pipe.records import Term

CLEAN = [
    Term("مناطق خفض التصعيد", "de-escalation zones", variants=("مناطق تخفيف التصعيد",)),
    Term("خفض التصعيد", "de-escalation", variants=("تخفيف التصعيد",)),
    Term("مجلس الأمن", "Security Council"),
    Term("الأمن", "security"),
    Term(
        "مذكرة تفاهم",
        "memorandum of understanding",
        note="usually indefinite",
        target_plural="memoranda of understanding",
    ),
]


def test_clean_glossary_has_no_issues() -> None:
    assert lint(CLEAN, "ar") == []


# (id, terms, expected (level, code, source) triples)
CASES = [
    (
        "conflicting-targets",
        [Term("هدنة", "truce"), Term("هدنة", "armistice")],
        [("error", "conflicting-targets", "هدنة")],
    ),
    (
        "duplicate-entry",
        [Term("هدنة", "truce"), Term("هدنة", "truce")],
        [("warning", "duplicate-entry", "هدنة")],
    ),
    (
        "same-key-different-targets",
        [Term("مذكرة تفاهم", "memorandum of understanding", note="plural: memoranda"), Term("مذكرة التفاهم", "the MoU")],
        [("error", "same-key", "مذكرة تفاهم")],
    ),
    (
        "same-key-same-target",
        [Term("الأمن", "security"), Term("أمن", "security")],
        [("warning", "same-key", "الأمن")],
    ),
    (
        "same-key-variant-vs-source",
        [Term("هدنة", "truce", variants=("تهدئة",)), Term("التهدئة", "calm")],
        [("error", "same-key", "هدنة")],
    ),
    (
        "redundant-variant",
        [Term("مذكرة تفاهم", "MoU", variants=("مُذكّرة التفاهم",))],
        [("warning", "redundant-variant", "مذكرة تفاهم")],
    ),
    (
        "variant-equals-source",
        [Term("هدنة", "truce", variants=("هدنة",))],
        [("warning", "variant-equals-source", "هدنة")],
    ),
    (
        "contained-term",
        [Term("وقف إطلاق النار", "ceasefire"), Term("اتفاق وقف إطلاق النار", "truce agreement")],
        [("warning", "contained-term", "اتفاق وقف إطلاق النار")],
    ),
    (
        "contained-term-blocked-there",
        [
            Term("وقف إطلاق النار", "ceasefire", blocked_in=("اتفاق وقف إطلاق النار",)),
            Term("اتفاق وقف إطلاق النار", "truce agreement"),
        ],
        [],
    ),
    (
        "contained-term-with-note",
        [
            Term("وقف إطلاق النار", "ceasefire"),
            Term("اتفاق وقف إطلاق النار", "truce agreement", note="a formal truce, not a ceasefire"),
        ],
        [("warning", "contained-term", "اتفاق وقف إطلاق النار")],  # a note does not silence it: ack does
    ),
    ("empty-source", [Term("", "truce")], [("error", "empty-field", "")]),
    ("empty-target", [Term("هدنة", " ")], [("error", "empty-field", "هدنة")]),
    ("empty-variant", [Term("هدنة", "truce", variants=("",))], [("error", "empty-field", "هدنة")]),
    ("untrimmed-source", [Term(" هدنة", "truce")], [("warning", "untrimmed", " هدنة")]),
    ("untrimmed-target", [Term("هدنة", "truce ")], [("warning", "untrimmed", "هدنة")]),
    ("untrimmed-note", [Term("هدنة", "truce", note="x\n")], [("warning", "untrimmed", "هدنة")]),
    (
        "line-break-inside-source",
        [Term("وقف\nإطلاق النار", "ceasefire")],
        [("warning", "untrimmed", "وقف\nإطلاق النار")],
    ),
    (
        "control-character-rlm",
        [Term("هدنة\u200f", "truce")],
        [("error", "control-character", "هدنة\u200f")],
    ),
    (
        "control-character-in-target",
        [Term("هدنة", "\u202btruce\u202c")],
        [("error", "control-character", "هدنة")],
    ),
    (
        "control-character-zwj-variant",
        [Term("هدنة", "truce", variants=("تهد\u200dئة",))],
        [("error", "control-character", "هدنة")],
    ),
    ("no-arabic-letters", [Term("truce", "هدنة")], [("error", "no-arabic-letters", "truce")]),
    (
        "no-arabic-letters-variant",
        [Term("هدنة", "truce", variants=("UN truce",))],
        [("error", "no-arabic-letters", "هدنة")],
    ),
]


def _lint(terms: list[Term], lang: str = "ar") -> list[LintIssue]:
    """Lint issues other than plural-missing (tested on its own, in PLURAL_CASES): most cases
    here have countable noun targets without a plural, which it reports."""
    return [i for i in lint(terms, lang) if i.code != "plural-missing"]


@pytest.mark.parametrize(("terms", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lint_codes(terms: list[Term], expected: list[tuple[str, str, str]]) -> None:
    assert [(i.level, i.code, i.source) for i in _lint(terms)] == expected


# plural-missing: (id, term, reported).  Reported for a countable noun term with a singular
# target and no target_plural, no source_plurals and no note.
PLURAL_CASES = [
    ("irregular", Term("أزمة", "crisis"), True),
    ("disputed", Term("مذكرة", "memorandum"), True),
    ("regular", Term("اتفاق إطاري", "framework agreement"), True),
    ("regular-one-word", Term("هدنة", "truce"), True),
    ("head-before-of", Term("جولة المحادثات", "round of talks"), True),
    ("adjective-before-noun", Term("زيارة رسمية", "official visit"), True),
    ("proper-modifier-common-head", Term("قرار مجلس الأمن", "Security Council resolution"), True),
    ("noun-with-adjective-ending", Term("اقتراح", "proposal"), True),
    ("noun-with-ive-ending", Term("مبادرة", "initiative"), True),
    ("target-plural-given", Term("أزمة", "crisis", target_plural="crises"), False),
    ("source-plural-given", Term("أزمة", "crisis", source_plurals=("أزمات",)), False),
    ("note-about-number", Term("أزمة", "crisis", note="plural: crises"), False),
    ("any-note", Term("هدنة", "truce", note="a local, temporary truce"), False),
    ("proper-name-place", Term("حمص", "Homs"), False),
    ("proper-name-person", Term("ستيفان دي ميستورا", "Staffan de Mistura"), False),
    ("proper-name-institution", Term("مجلس الأمن", "Security Council"), False),
    ("acronym", Term("الأمم المتحدة", "UN"), False),
    ("mass-noun", Term("السيادة", "sovereignty"), False),
    ("mass-noun-head", Term("المساعدات الإنسانية", "humanitarian aid"), False),
    ("mass-noun-ism", Term("التطرف العنيف", "violent extremism"), False),
    ("mass-noun-ness", Term("الجاهزية", "preparedness"), False),
    ("already-plural", Term("مناطق خفض التصعيد", "de-escalation zones"), False),
    ("already-plural-of", Term("جولات المحادثات", "rounds of talks"), False),
    ("uninflected", Term("سلسلة", "series"), False),
    ("adjective", Term("ثنائي", "bilateral"), False),
    ("participle", Term("نازح", "displaced"), False),
    ("compound-adjective", Term("رفيع المستوى", "high-level"), False),
    ("infinitive", Term("صادق", "to ratify"), False),
    ("adverb", Term("بالإجماع", "unanimously"), False),
]


@pytest.mark.parametrize(("term", "reported"), [c[1:] for c in PLURAL_CASES], ids=[c[0] for c in PLURAL_CASES])
def test_plural_missing(term: Term, reported: bool) -> None:
    issues = [(i.level, i.code, i.source) for i in lint([term], "ar") if i.code == "plural-missing"]
    assert issues == ([("warning", "plural-missing", term.source)] if reported else [])


def test_plural_missing_message_names_the_derived_plural() -> None:
    (issue,) = [i for i in lint([Term("هدنة", "truce")], "ar") if i.code == "plural-missing"]
    assert "'truces'" in issue.message and "target_plural" in issue.message


def test_contained_term_not_reported_when_translation_agrees() -> None:
    terms = [
        Term("وقف إطلاق النار", "ceasefire"),
        Term("اتفاق وقف إطلاق النار", "ceasefire agreement"),
    ]
    assert _lint(terms) == []


def test_same_source_with_different_contexts_is_allowed() -> None:
    terms = [Term("هدنة", "truce", context="military"), Term("هدنة", "armistice", context="legal")]
    assert _lint(terms) == []


def test_deprecated_terms_are_ignored() -> None:
    terms = [Term("هدنة", "truce"), Term("هدنة", "armistice", status="deprecated")]
    assert _lint(terms) == []


def test_no_arabic_check_off_for_other_languages() -> None:
    assert lint([Term("ceasefire", "cessez-le-feu")], "en") == []


def test_message_says_what_to_do() -> None:
    issues = _lint([Term("هدنة", "truce"), Term("هدنة", "armistice")])
    assert issues == [
        LintIssue(
            "error",
            "conflicting-targets",
            "هدنة",
            "The source appears 2 times with different targets (truce | armistice); "
            "keep one entry, or give each a different context.",
        )
    ]


def test_lint_issue_is_frozen() -> None:
    issue = LintIssue("warning", "untrimmed", "x", "y")
    with pytest.raises(AttributeError):
        issue.code = "other"  # type: ignore[misc]
