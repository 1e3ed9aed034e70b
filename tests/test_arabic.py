"""Normalisation, offset map, tokenizer and proclitic analysis (translate_pipe.arabic)."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from translate_pipe.arabic import (
    Reading,
    article_keys,
    has_arabic_letter,
    is_arabic,
    normalise,
    normalise_text,
    proclitic_readings,
    reading_keys,
    text_word_keys,
    token_spans,
    word_key,
)


class Token(NamedTuple):
    text: str
    start: int
    end: int


def tokenize(text: str, lang: str) -> list[Token]:
    """Tokens of the normalised text with their offsets mapped back to the original text."""
    norm = normalise(text, lang)
    return [Token(norm.text[s:e], *norm.span(s, e)) for s, e in token_spans(norm.text)]

# (id, input, expected normalised text, expected origin of every normalised character)
NORMALISE_AR = [
    ("alef-hamza-above", "أمن", "امن", [0, 1, 2]),
    ("alef-hamza-below", "إيران", "ايران", [0, 1, 2, 3, 4]),
    ("alef-madda", "آخر", "اخر", [0, 1, 2]),
    ("alef-wasla", "ٱلأمم", "الامم", [0, 1, 2, 3, 4]),
    ("ta-marbuta", "المتحدة", "المتحده", [0, 1, 2, 3, 4, 5, 6]),
    ("alef-maqsura", "على", "علي", [0, 1, 2]),
    ("fatha-damma-kasra", "مَجْلِسُ", "مجلس", [0, 2, 4, 6]),
    ("tanween", "سلامًا وكتابٌ وبابٍ", "سلاما وكتاب وباب", None),
    ("shadda-sukun", "السّلْم", "السلم", [0, 1, 2, 4, 6]),
    ("dagger-alef", "هٰذا", "هذا", [0, 2, 3]),
    ("wavy-hamza-below-u065f", "ا\u065fمن", "امن", [0, 2, 3]),
    ("tatweel", "مجلـــس", "مجلس", [0, 1, 2, 6]),
    ("persian-keheh", "کتاب", "كتاب", [0, 1, 2, 3]),
    ("persian-yeh", "سوری", "سوري", [0, 1, 2, 3]),
    ("presentation-letters", "ﺍﻟﻤﺘﺤﺪﺓ", "المتحده", [0, 1, 2, 3, 4, 5, 6]),
    ("presentation-alef-hamza-final", "ﺎﺄ", "اا", [0, 1]),
    ("lam-alef-ligature-two-chars", "ﻻ بد", "لا بد", [0, 0, 1, 2, 3]),
    ("lam-alef-hamza-ligature", "اﻷمم", "الامم", [0, 1, 1, 2, 3]),
    ("allah-ligature-four-chars", "ﷲ", "الله", [0, 0, 0, 0]),
    ("salla-ligature-with-spaces", "ﷺ", "صلي الله عليه وسلم", [0] * 18),
    ("isolated-fathatan-form-dropped", "با\ufe70ب", "باب", [0, 1, 3]),
    ("shadda-dammatan-ligature-dropped", "ب\ufc5eب", "بب", [0, 2]),
    ("persian-yeh-presentation", "\ufbfc", "ي", [0]),
    ("keheh-presentation", "\ufb8e", "ك", [0]),
    ("zwj-zwnj-zwsp", "م\u200dج\u200cل\u200bس", "مجلس", [0, 2, 4, 6]),
    ("lrm-rlm-alm", "\u200eا\u200fب\u061cت", "ابت", [1, 3, 5]),
    ("bidi-embeddings", "\u202bعرب\u202c \u202aUN\u202c", "عرب un", [1, 2, 3, 5, 7, 8]),
    ("bidi-overrides-isolates", "\u202eا\u2066ب\u2067ت\u2068ث\u2069", "ابتث", [1, 3, 5, 7]),
    ("bom-and-soft-hyphen", "\ufeffاب\u00adت", "ابت", [1, 2, 4]),
    ("whitespace-run", "ا  \t ب", "ا ب", [0, 1, 5]),
    ("line-breaks", "ا\r\n\nب", "ا ب", [0, 1, 4]),
    ("nbsp", "ا\u00a0ب", "ا ب", [0, 1, 2]),
    ("space-control-space", "ا \u200f ب", "ا ب", [0, 1, 4]),
    ("latin-casefold", "UN Security", "un security", None),
    ("eszett-expands", "Straße", "strasse", [0, 1, 2, 3, 4, 4, 5]),
    ("hamza-seats-folded", "مسؤول مسئول رئيس شيء", "مسءول مسءول رءيس شيء", None),
    ("eastern-arabic-digits", "٢٢٥٤", "2254", [0, 1, 2, 3]),
    ("persian-digits", "۲۲۵۴", "2254", [0, 1, 2, 3]),
    ("punctuation-kept", "«سوريا»،", "«سوريا»،", None),
    ("empty", "", "", []),
]


@pytest.mark.parametrize(
    ("text", "expected", "origin"), [c[1:] for c in NORMALISE_AR], ids=[c[0] for c in NORMALISE_AR]
)
def test_normalise_arabic(text: str, expected: str, origin: list[int] | None) -> None:
    norm = normalise(text, "ar")
    assert norm.text == expected
    if origin is not None:
        assert [norm.origin(i) for i in range(len(norm.text))] == origin


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:3] for c in NORMALISE_AR], ids=[c[0] for c in NORMALISE_AR]
)
def test_normalise_text_equals_normalise(text: str, expected: str) -> None:
    assert normalise_text(text, "ar") == expected


NORMALISE_PLAIN = [
    ("casefold", "United NATIONS", "united nations"),
    ("whitespace", "a \n\t b", "a b"),
    ("controls", "a\u200fb\u200d", "ab"),
    ("arabic-untouched", "أمنٌ ة", "أمنٌ ة"),
    ("eszett", "STRASSE straße", "strasse strasse"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in NORMALISE_PLAIN], ids=[c[0] for c in NORMALISE_PLAIN]
)
def test_normalise_plain(text: str, expected: str) -> None:
    assert normalise(text, "en").text == expected
    assert normalise_text(text, "en") == expected


# (id, text, normalised span, expected original span)
SPANS = [
    ("plain", "مجلس الأمن", (5, 10), (5, 10)),
    ("trailing-diacritics-included", "الأمنُ ", (0, 5), (0, 6)),
    ("trailing-tatweel-and-shadda", "قوةـّ x", (0, 3), (0, 5)),
    ("leading-control-excluded", "\u200fأمن", (0, 3), (1, 4)),
    ("trailing-control-excluded", "أمن\u200f", (0, 3), (0, 3)),
    ("ligature-inside", "ﻻ", (0, 2), (0, 1)),
    ("ligature-half", "ﻟﻼتفاق", (2, 7), (1, 6)),
    ("allah-ligature-part", "ﷲ", (1, 4), (0, 1)),
    ("collapsed-whitespace", "ا \n ب", (0, 3), (0, 5)),
]


@pytest.mark.parametrize(
    ("text", "nspan", "expected"), [c[1:] for c in SPANS], ids=[c[0] for c in SPANS]
)
def test_span_maps_to_original(
    text: str, nspan: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert normalise(text, "ar").span(*nspan) == expected


@pytest.mark.parametrize(("start", "end"), [(0, 0), (2, 1), (-1, 2), (0, 9)], ids=str)
def test_span_rejects_bad_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="empty or outside"):
        normalise("أمن", "ar").span(start, end)


TOKENIZE = [
    ("words", "مجلس الأمن", [Token("مجلس", 0, 4), Token("الامن", 5, 10)]),
    (
        "punctuation-split",
        "«سوريا»، (إيران)-تركيا.",
        [Token("سوريا", 1, 6), Token("ايران", 10, 15), Token("تركيا", 17, 22)],
    ),
    (
        "latin-and-digits",
        "القرار 2254 UN",
        [Token("القرار", 0, 6), Token("2254", 7, 11), Token("un", 12, 14)],
    ),
    ("arabic-digits", "٢٠١٧م", [Token("2017م", 0, 5)]),
    ("diacritics-inside", "مَجْلِسُ", [Token("مجلس", 0, 8)]),
    ("zwnj-inside-word", "مي\u200cخواهم", [Token("ميخواهم", 0, 8)]),
    ("presentation-forms", "ﺍﻷﻣﻢ", [Token("الامم", 0, 4)]),
    ("line-break", "خفض\nالتصعيد", [Token("خفض", 0, 3), Token("التصعيد", 4, 11)]),
    ("arabic-comma-question", "لماذا؟ نعم،", [Token("لماذا", 0, 5), Token("نعم", 7, 10)]),
    ("only-punctuation", "...، !", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TOKENIZE], ids=[c[0] for c in TOKENIZE]
)
def test_tokenize(text: str, expected: list[Token]) -> None:
    assert tokenize(text, "ar") == expected


def test_tokenize_plain_keeps_combining_marks_in_word() -> None:
    assert tokenize("Cafe\u0301 OK", "en") == [Token("cafe\u0301", 0, 5), Token("ok", 6, 8)]


R = Reading
READINGS = [
    ("bare", "مناطق", [R("", "مناطق", False)]),
    ("article", "المناطق", [R("", "المناطق", False), R("ال", "مناطق", True)]),
    ("waw", "ومناطق", [R("", "ومناطق", False), R("و", "مناطق", False)]),
    ("fa", "فمناطق", [R("", "فمناطق", False), R("ف", "مناطق", False)]),
    ("ba", "بمناطق", [R("", "بمناطق", False), R("ب", "مناطق", False)]),
    ("kaf", "كمناطق", [R("", "كمناطق", False), R("ك", "مناطق", False)]),
    (
        "lam-lil",
        "للمناطق",
        [
            R("", "للمناطق", False),
            R("ل", "لمناطق", False),
            R("ل", "لمناطق", True),
            R("لل", "مناطق", True),
        ],
    ),
    (
        "wal",
        "والمناطق",
        [R("", "والمناطق", False), R("و", "المناطق", False), R("وال", "مناطق", True)],
    ),
    (
        "bal",
        "بالمناطق",
        [R("", "بالمناطق", False), R("ب", "المناطق", False), R("بال", "مناطق", True)],
    ),
    (
        "fal",
        "فالمناطق",
        [R("", "فالمناطق", False), R("ف", "المناطق", False), R("فال", "مناطق", True)],
    ),
    (
        "kal",
        "كالمناطق",
        [R("", "كالمناطق", False), R("ك", "المناطق", False), R("كال", "مناطق", True)],
    ),
    (
        "wab",
        "وبمناطق",
        [R("", "وبمناطق", False), R("و", "بمناطق", False), R("وب", "مناطق", False)],
    ),
    (
        "wabal",
        "وبالامن",
        [
            R("", "وبالامن", False),
            R("و", "بالامن", False),
            R("وب", "الامن", False),
            R("وبال", "امن", True),
        ],
    ),
    (
        "walil",
        "وللامم",
        [
            R("", "وللامم", False),
            R("و", "للامم", False),
            R("ول", "لامم", False),
            R("ول", "لامم", True),
            R("ولل", "امم", True),
        ],
    ),
    (
        "lil-lam-initial-stem",
        "للجنه",
        [
            R("", "للجنه", False),
            R("ل", "لجنه", False),
            R("ل", "لجنه", True),
            R("لل", "جنه", True),
        ],
    ),
    ("walad-not-split", "ولد", [R("", "ولد", False)]),
    ("balad-not-split", "بلد", [R("", "بلد", False)]),
    ("fard-not-split", "فرد", [R("", "فرد", False)]),
    ("lillah-triple-lam", "لله", [R("", "لله", False), R("ل", "له", True)]),
    ("article-two-letter-stem", "الرد", [R("", "الرد", False), R("ال", "رد", True)]),
    ("article-one-letter-stem-refused", "الم", [R("", "الم", False)]),
    ("wal-one-letter-stem-refused", "والد", [R("", "والد", False), R("و", "الد", False)]),
    ("latin-untouched", "un", [R("", "un", False)]),
]


@pytest.mark.parametrize(
    ("token", "expected"), [c[1:] for c in READINGS], ids=[c[0] for c in READINGS]
)
def test_proclitic_readings(token: str, expected: list[Reading]) -> None:
    assert list(proclitic_readings(token)) == expected


@pytest.mark.parametrize(
    ("stem", "definite", "expected"),
    [("امن", True, "امن"), ("امن", False, "امن"), ("له", True, "الله"), ("له", False, "له")],
    ids=["long-definite", "long-bare", "short-definite-keeps-article", "short-bare"],
)
def test_word_key(stem: str, definite: bool, expected: str) -> None:
    assert word_key(stem, definite) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("الامن", ("الامن", "امن")),
        ("امن", ("امن",)),
        ("الله", ("الله",)),
        ("الم", ("الم",)),
        ("التزام", ("التزام", "تزام")),
    ],
    ids=["article-optional", "bare", "short-stem-keeps-article", "too-short", "ambiguous-al"],
)
def test_article_keys(word: str, expected: tuple[str, ...]) -> None:
    assert article_keys(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("الامن", ("الامن", "امن")), ("الرد", ("الرد", "رد")), ("له", ("له",)), ("امن", ("امن",))],
    ids=["long", "short-article-may-be-dropped", "short-bare", "bare"],
)
def test_text_word_keys(word: str, expected: tuple[str, ...]) -> None:
    assert text_word_keys(word) == expected


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (R("وال", "رد", True), ("الرد", "رد")),
        (R("لل", "رد", True), ("الرد", "رد")),
        (R("ل", "له", True), ("الله",)),
        (R("و", "امن", False), ("امن",)),
    ],
    ids=["written-article", "lil", "elided-lam-no-bare-key", "bare"],
)
def test_reading_keys(reading: Reading, expected: tuple[str, ...]) -> None:
    assert reading_keys(reading) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ar", True),
        ("AR", True),
        ("ar-SY", True),
        ("ar_EG", True),
        ("arb_Arab", True),
        ("ara", True),
        ("en", False),
        ("fa", False),
        ("arn", False),
    ],
    ids=str,
)
def test_is_arabic(lang: str, expected: bool) -> None:
    assert is_arabic(lang) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("مجلس", True), ("ﻻ", True), ("UN 2254", False), ("٢٠١٧", False), ("،؟", False), ("", False)],
    ids=["letters", "presentation-form", "latin", "arabic-digits", "arabic-punctuation", "empty"],
)
def test_has_arabic_letter(text: str, expected: bool) -> None:
    assert has_arabic_letter(text) is expected
