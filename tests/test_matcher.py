"""Glossary term matching (translate_pipe.glossary.Matcher): offsets into the original text."""

from __future__ import annotations

import pytest

from translate_pipe.glossary import Matcher, normalise_key
from translate_pipe.records import Term, TermMatch

GLOSSARY = [
    Term("نظام وقف الأعمال القتالية", "cessation of hostilities regime"),
    Term("وقف الأعمال القتالية", "cessation of hostilities"),
    Term("الأمم المتحدة", "United Nations"),
    Term("مناطق خفض التصعيد", "de-escalation zones", variants=("مناطق تخفيف التصعيد",)),
    Term("خفض التصعيد", "de-escalation"),
    Term("الأمن", "security"),
    Term("مجلس الأمن", "Security Council"),
    Term("الأمن القومي", "national security"),
    Term("حمص", "Homs"),
    Term("اللد", "Lod"),
    Term("اللجنة الدستورية", "Constitutional Committee"),
    Term("مذكرة تفاهم", "memorandum of understanding"),
    Term("الاتفاق النووي", "nuclear deal"),
    Term("الحرب", "war", status="deprecated"),
    Term("التزام", "commitment"),
    Term("بيان", "statement"),
    Term("رد", "response"),
    Term("حلف شمال الأطلسي", "NATO"),
    Term("سوريا", "Syria"),
    Term("إيران", "Iran"),
    Term("مَجْلِس حُقُوق الإِنْسَان", "Human Rights Council"),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(GLOSSARY, "ar")


# (id, text, [(start, end, text, canonical source), ...])
CASES = [
    # proclitics on the first word; the article belongs to the term and stays inside the span
    ("waw-al", "والأمم المتحدة", [(1, 14, "الأمم المتحدة", "الأمم المتحدة")]),
    ("fa-al", "فالأمم المتحدة", [(1, 14, "الأمم المتحدة", "الأمم المتحدة")]),
    ("ba-al", "بالأمم المتحدة", [(1, 14, "الأمم المتحدة", "الأمم المتحدة")]),
    ("ka-al", "كالأمم المتحدة", [(1, 14, "الأمم المتحدة", "الأمم المتحدة")]),
    ("wa-ba-al", "وبالأمم المتحدة", [(2, 15, "الأمم المتحدة", "الأمم المتحدة")]),
    ("lil", "للأمم المتحدة", [(2, 13, "أمم المتحدة", "الأمم المتحدة")]),
    ("wa-lil", "وللأمم المتحدة", [(3, 14, "أمم المتحدة", "الأمم المتحدة")]),
    ("waw", "وبيان", [(1, 5, "بيان", "بيان")]),
    ("ba-on-ba-initial-word", "ببيان", [(1, 5, "بيان", "بيان")]),
    ("fa", "فحمص", [(1, 4, "حمص", "حمص")]),
    ("ka", "كحمص", [(1, 4, "حمص", "حمص")]),
    ("lam", "لحمص", [(1, 4, "حمص", "حمص")]),
    ("wa-ba", "وبحمص", [(2, 5, "حمص", "حمص")]),
    # the article outside the term is outside the span
    (
        "article-not-in-term",
        "المناطق خفض التصعيد",
        [(2, 19, "مناطق خفض التصعيد", "مناطق خفض التصعيد")],
    ),
    ("lil-not-in-term", "للمناطق خفض التصعيد", [(2, 19, "مناطق خفض التصعيد", "مناطق خفض التصعيد")]),
    ("lam-bare", "لمناطق خفض التصعيد", [(1, 18, "مناطق خفض التصعيد", "مناطق خفض التصعيد")]),
    ("wa-lam", "ولمناطق خفض التصعيد", [(2, 19, "مناطق خفض التصعيد", "مناطق خفض التصعيد")]),
    ("article-on-al-initial-stem", "الالتزام", [(2, 8, "التزام", "التزام")]),
    ("ba-on-al-initial-stem", "بالتزام", [(1, 7, "التزام", "التزام")]),
    # ل + ال before a lam-initial word: one lam drops
    ("lil-lam-initial", "للجنة الدستورية", [(1, 15, "لجنة الدستورية", "اللجنة الدستورية")]),
    ("lil-lam-initial-short", "للد", [(1, 3, "لد", "اللد")]),
    ("waw-al-short", "واللد", [(1, 5, "اللد", "اللد")]),
    # the article optional on every word, both ways
    (
        "article-dropped-last-word",
        "مناطق خفض تصعيد",
        [(0, 15, "مناطق خفض تصعيد", "مناطق خفض التصعيد")],
    ),
    ("article-dropped-all-words", "لجنة دستورية", [(0, 12, "لجنة دستورية", "اللجنة الدستورية")]),
    ("article-added", "مذكرة التفاهم", [(0, 13, "مذكرة التفاهم", "مذكرة تفاهم")]),
    ("article-dropped-two-words", "أمم متحدة", [(0, 9, "أمم متحدة", "الأمم المتحدة")]),
    ("article-added-to-first-word", "الخفض التصعيد", [(2, 13, "خفض التصعيد", "خفض التصعيد")]),
    # two-letter stems: a bare term matches with the article, not the reverse
    ("short-bare", "رد", [(0, 2, "رد", "رد")]),
    ("short-with-article", "الرد", [(2, 4, "رد", "رد")]),
    ("short-waw-al", "والرد", [(3, 5, "رد", "رد")]),
    ("short-lil", "للرد", [(2, 4, "رد", "رد")]),
    # variants report the canonical source
    ("variant", "مناطق تخفيف التصعيد", [(0, 19, "مناطق تخفيف التصعيد", "مناطق خفض التصعيد")]),
    # leftmost-longest, non-overlapping
    (
        "longest-wins",
        "أعلن نظام وقف الأعمال القتالية",
        [(5, 30, "نظام وقف الأعمال القتالية", "نظام وقف الأعمال القتالية")],
    ),
    (
        "shorter-alone",
        "وقف الأعمال القتالية",
        [(0, 20, "وقف الأعمال القتالية", "وقف الأعمال القتالية")],
    ),
    (
        "longer-contains-shorter",
        "مناطق خفض التصعيد",
        [(0, 17, "مناطق خفض التصعيد", "مناطق خفض التصعيد")],
    ),
    ("leftmost-beats-longer-later", "مجلس الأمن القومي", [(0, 10, "مجلس الأمن", "مجلس الأمن")]),
    ("prefix-of-longer-term", "مجلس الأمن الدولي", [(0, 10, "مجلس الأمن", "مجلس الأمن")]),
    (
        "several",
        "سوريا وإيران والأمن",
        [(0, 5, "سوريا", "سوريا"), (7, 12, "إيران", "إيران"), (14, 19, "الأمن", "الأمن")],
    ),
    (
        "adjacent-terms",
        "الأمن الأمن",
        [(0, 5, "الأمن", "الأمن"), (6, 11, "الأمن", "الأمن")],
    ),
    # whitespace and line breaks between the words of a term
    ("line-break", "الأمم\nالمتحدة", [(0, 13, "الأمم\nالمتحدة", "الأمم المتحدة")]),
    ("crlf-tabs", "الأمم \r\n\t المتحدة", [(0, 17, "الأمم \r\n\t المتحدة", "الأمم المتحدة")]),
    ("three-lines", "حلف\nشمال\nالأطلسي", [(0, 16, "حلف\nشمال\nالأطلسي", "حلف شمال الأطلسي")]),
    # normalisation inside the text; offsets still index the original
    ("diacritics-in-text", "مَجْلِسُ الأَمْنِ", [(0, 17, "مَجْلِسُ الأَمْنِ", "مجلس الأمن")]),
    (
        "diacritics-in-term",
        "مجلس حقوق الإنسان",
        [(0, 17, "مجلس حقوق الإنسان", "مَجْلِس حُقُوق الإِنْسَان")],
    ),
    ("tatweel", "مجلـــس الأمن", [(0, 13, "مجلـــس الأمن", "مجلس الأمن")]),
    ("rlm-between-words", "مجلس\u200f الأمن", [(0, 11, "مجلس\u200f الأمن", "مجلس الأمن")]),
    ("zwnj-inside-word", "مجل\u200cس الأمن", [(0, 11, "مجل\u200cس الأمن", "مجلس الأمن")]),
    ("lam-alef-ligature", "اﻷمم المتحدة", [(0, 12, "اﻷمم المتحدة", "الأمم المتحدة")]),
    (
        "presentation-forms",
        "ﺍﻷﻣﻢ ﺍﻟﻤﺘﺤﺪﺓ",
        [(0, 12, "ﺍﻷﻣﻢ ﺍﻟﻤﺘﺤﺪﺓ", "الأمم المتحدة")],
    ),
    ("ligature-holding-clitic", "ﻟﻼﺗﻔﺎﻕ ﺍﻟﻨﻮﻭﻱ", [(1, 13, "ﻼﺗﻔﺎﻕ ﺍﻟﻨﻮﻭﻱ", "الاتفاق النووي")]),
    ("alef-wasla", "ٱلأمم المتحدة", [(0, 13, "ٱلأمم المتحدة", "الأمم المتحدة")]),
    ("bare-alef-for-hamza", "ايران", [(0, 5, "ايران", "إيران")]),
    ("alef-maqsura-for-ya", "حلف شمال الاطلسى", [(0, 16, "حلف شمال الاطلسى", "حلف شمال الأطلسي")]),
    ("persian-yeh", "حلف شمال الاطلسی", [(0, 16, "حلف شمال الاطلسی", "حلف شمال الأطلسي")]),
    ("ha-for-ta-marbuta", "الامم المتحده", [(0, 13, "الامم المتحده", "الأمم المتحدة")]),
    ("in-punctuation", "(«حمص»)،", [(2, 5, "حمص", "حمص")]),
    ("offset-after-earlier-text", "قال مجلس الأمن", [(4, 14, "مجلس الأمن", "مجلس الأمن")]),
    # negatives: never inside a longer word, no look-alikes
    ("suffix-nisba", "حمصي", []),
    ("suffix-adjective", "الأمني", []),
    ("suffix-plural-is-the-plural", "بيانات", [(0, 6, "بيانات", "بيان")]),
    ("suffix-feminine", "إيرانية", []),
    ("inside-word", "الحمصيون", []),
    ("walad-is-not-waw-lad", "ولد", []),
    ("balad-is-not-ba-lad", "بلد", []),
    ("warada-is-not-waw-radd", "ورد", []),
    ("bare-short-stem-needs-article", "لد", []),
    ("punctuation-between-words", "الأمم، المتحدة", []),
    ("hyphen-between-words", "حلف شمال-الأطلسي", []),
    ("different-word", "سورية", []),
    ("proclitic-on-second-word", "مجلس والأمن", [(6, 11, "الأمن", "الأمن")]),
    ("deprecated-term-ignored", "الحرب", []),
    ("no-tokens", "... ،", []),
    ("empty", "", []),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_find(matcher: Matcher, text: str, expected: list[tuple[int, int, str, str]]) -> None:
    found = matcher.find(text)
    assert [(m.start, m.end, m.text, m.source) for m in found] == expected
    assert all(text[m.start : m.end] == m.text for m in found)


def test_match_record_carries_target_and_id() -> None:
    m = Matcher([(7, GLOSSARY[2]), GLOSSARY[8]], "ar")
    assert m.find("حمص والأمم المتحدة") == [
        TermMatch("حمص", "Homs", 0, 3, "حمص", None),
        TermMatch("الأمم المتحدة", "United Nations", 5, 18, "الأمم المتحدة", 7),
    ]


def test_len_ignores_deprecated(matcher: Matcher) -> None:
    assert len(matcher) == len(GLOSSARY) - 1


def test_first_form_wins_on_key_collision() -> None:
    terms = [
        Term("الأمن", "security"),
        Term("أمن", "safety"),
        Term("سلم", "peace", variants=("الأمن",)),
    ]
    assert [(m.source, m.target) for m in Matcher(terms, "ar").find("أمن")] == [
        ("الأمن", "security")
    ]


def test_source_before_variant_on_collision() -> None:
    terms = [Term("سلم", "peace", variants=("أمن",)), Term("أمن", "security")]
    assert [(m.source, m.target) for m in Matcher(terms, "ar").find("الأمن")] == [
        ("أمن", "security")
    ]


def test_find_all_returns_overlaps(matcher: Matcher) -> None:
    found = matcher.find_all("نظام وقف الأعمال القتالية في مجلس الأمن")
    assert [(m.start, m.end, m.source) for m in found] == [
        (0, 25, "نظام وقف الأعمال القتالية"),
        (5, 25, "وقف الأعمال القتالية"),
        (29, 39, "مجلس الأمن"),
        (34, 39, "الأمن"),
    ]


PLAIN_GLOSSARY = [
    Term("United Nations", "الأمم المتحدة"),
    Term("UN", "الأمم المتحدة"),
    Term("Security Council", "مجلس الأمن"),
    Term("ceasefire", "وقف إطلاق النار", variants=("cease-fire",)),
]

PLAIN_CASES = [
    ("casefold", "the united NATIONS said", [(4, 18, "united NATIONS", "United Nations")]),
    ("line-break", "Security\nCouncil", [(0, 16, "Security\nCouncil", "Security Council")]),
    ("whole-word-only", "UNESCO and UNICEF", []),
    ("word-boundary", "the UN, again", [(4, 6, "UN", "UN")]),
    ("no-clitics-in-plain", "wceasefire", []),
    ("hyphenated-variant", "a cease-fire now", [(2, 12, "cease-fire", "ceasefire")]),
    ("arabic-rules-off", "والأمم", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in PLAIN_CASES], ids=[c[0] for c in PLAIN_CASES]
)
def test_find_plain_language(text: str, expected: list[tuple[int, int, str, str]]) -> None:
    found = Matcher(PLAIN_GLOSSARY, "en").find(text)
    assert [(m.start, m.end, m.text, m.source) for m in found] == expected


NORMALISE_KEY = [
    ("article-stripped", "مذكرة التفاهم", "ar", "مذكره تفاهم"),
    ("same-as-without", "مذكرة تفاهم", "ar", "مذكره تفاهم"),
    ("diacritics-and-forms", "مُذكّرة  تفاهُم", "ar", "مذكره تفاهم"),
    ("double-al", "الالتزام", "ar", "تزام"),
    ("short-stem-keeps-article", "الله", "ar", "الله"),
    ("punctuation-dropped", "حلف شمال الأطلسي (الناتو)", "ar", "حلف شمال اطلسي ناتو"),
    ("plain", "United  Nations", "en", "united nations"),
]


@pytest.mark.parametrize(
    ("source", "lang", "expected"),
    [c[1:] for c in NORMALISE_KEY],
    ids=[c[0] for c in NORMALISE_KEY],
)
def test_normalise_key(source: str, lang: str, expected: str) -> None:
    assert normalise_key(source, lang) == expected
