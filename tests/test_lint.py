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
    ("plural-missing-irregular", [Term("أزمة", "crisis")], [("warning", "plural-missing", "أزمة")]),
    (
        "plural-missing-disputed",
        [Term("مذكرة", "memorandum", note="a written note")],
        [("warning", "plural-missing", "مذكرة")],
    ),
    ("plural-given", [Term("أزمة", "crisis", target_plural="crises")], []),
    ("plural-in-note", [Term("أزمة", "crisis", note="plural: crises")], []),
    ("source-plural-given", [Term("أزمة", "crisis", source_plurals=("أزمات",))], []),
    ("plural-regular-is-derived", [Term("اتفاق إطاري", "framework agreement")], []),
    ("plural-proper-name", [Term("حمص", "Homs")], []),
    ("plural-already-plural-target", [Term("مناطق خفض التصعيد", "de-escalation zones")], []),
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


@pytest.mark.parametrize(("terms", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lint_codes(terms: list[Term], expected: list[tuple[str, str, str]]) -> None:
    assert [(i.level, i.code, i.source) for i in lint(terms, "ar")] == expected


def test_contained_term_not_reported_when_translation_agrees() -> None:
    terms = [
        Term("وقف إطلاق النار", "ceasefire"),
        Term("اتفاق وقف إطلاق النار", "ceasefire agreement"),
    ]
    assert lint(terms, "ar") == []


def test_same_source_with_different_contexts_is_allowed() -> None:
    terms = [Term("هدنة", "truce", context="military"), Term("هدنة", "armistice", context="legal")]
    assert lint(terms, "ar") == []


def test_deprecated_terms_are_ignored() -> None:
    terms = [Term("هدنة", "truce"), Term("هدنة", "armistice", status="deprecated")]
    assert lint(terms, "ar") == []


def test_no_arabic_check_off_for_other_languages() -> None:
    assert lint([Term("ceasefire", "cessez-le-feu")], "en") == []


def test_message_says_what_to_do() -> None:
    issues = lint([Term("هدنة", "truce"), Term("هدنة", "armistice")], "ar")
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
